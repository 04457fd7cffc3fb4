/**
 * Durations as kops and kubectl take them (Go's time.ParseDuration: 18h, 1h30m, 90s, 500ms) plus
 * days (7d). PURE.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration read at all (100 years): beyond it a date is out of any certificate's or clock's range. */
export const MAX_DURATION_MS = 36_500 * 86_400_000;

/** Milliseconds, or undefined when `text` is not a positive duration of at most MAX_DURATION_MS. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t.length > 64 || !/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** 64800000 → "18h", 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, secs] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / secs);
    if (n) parts.push(`${n}${unit}`);
    rest -= n * secs;
  }
  return parts.join('') || '0s';
}
