/**
 * Tiered retention of etcd snapshots in s3://<bucket>/etcd/ (kops' etcd-manager is the anchor).
 * PURE. The agent runs it on the masters (src/agent/master/snapshots.ts) and the CLI in backup-etcd:
 * one rule, held to test/fixtures/retention-cases.json.
 *
 * With D = retentionDays:
 *  - the newest snapshot is always kept, however old;
 *  - every snapshot younger than 1 hour is kept (also any dated in the future);
 *  - younger than min(7 days, D days): the first snapshot of each UTC hour is kept;
 *  - younger than D days: the first snapshot of each UTC day is kept;
 *  - everything else is deleted.
 * "First of an hour/day" is over all parseable snapshots of that hour/day. Keys that are not
 * etcd/YYYYMMDDTHHMMSSZ.db (a real UTC time) are ignored: neither kept nor deleted.
 */

const KEY_RE = /^etcd\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/;
const HOUR = 3600;
const DAY = 86400;

/** Seconds since the epoch of a snapshot key, or undefined if it is not one. */
export function snapshotTime(key: string): number | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms / 1000;
}

/** The snapshot key for a moment: etcd/YYYYMMDDTHHMMSSZ.db (UTC). */
export function snapshotKey(at: Date): string {
  const iso = at.toISOString(); // 2026-11-25T10:15:00.000Z
  return `etcd/${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z.db`;
}

export function planRetention(keys: string[], now: Date, retentionDays: number): { keep: string[]; delete: string[] } {
  const snaps = [...new Set(keys)]
    .map((key) => ({ key, t: snapshotTime(key) }))
    .filter((s): s is { key: string; t: number } => s.t !== undefined)
    .sort((a, b) => a.t - b.t);
  if (snaps.length === 0) return { keep: [], delete: [] };
  const nowS = Math.floor(now.getTime() / 1000);
  const newest = snaps[snaps.length - 1]!;
  const firstOfHour = new Map<number, number>();
  const firstOfDay = new Map<number, number>();
  for (const s of snaps) {
    const h = Math.floor(s.t / HOUR);
    const d = Math.floor(s.t / DAY);
    if (!firstOfHour.has(h)) firstOfHour.set(h, s.t);
    if (!firstOfDay.has(d)) firstOfDay.set(d, s.t);
  }
  const horizon = retentionDays * DAY;
  const hourly = Math.min(7 * DAY, horizon);
  const keep: string[] = [];
  const del: string[] = [];
  for (const s of snaps) {
    const age = nowS - s.t;
    const kept =
      s === newest ||
      age < HOUR ||
      (age < hourly && firstOfHour.get(Math.floor(s.t / HOUR)) === s.t) ||
      (age < horizon && firstOfDay.get(Math.floor(s.t / DAY)) === s.t);
    (kept ? keep : del).push(s.key);
  }
  return { keep: keep.sort(), delete: del.sort() };
}
