/**
 * Backups and restores, decided. PURE.
 *
 *  - shouldBackup: this master takes the interval's snapshot when its own member is the leader,
 *    per Maintenance.Status (leader === header.member_id). Finding 1 of issue 19: the scripts read
 *    column 5 of `etcdctl endpoint status`, which etcd 3.6 moved (column 5 is now the db size), so
 *    no HA cluster on 1.34+ ever took a backup. Status fields did not move.
 *  - chooseSnapshot: the newest snapshot whose downloaded file's SHA-256 equals the sha256 its
 *    metadata recorded at upload; none at all is a new cluster, some but none valid is a refusal
 *    (never start empty over a cluster's history).
 *  - pruneAfterUpload: what to delete after an upload — the ONE retention rule, planRetention in
 *    src/etcd/retention.ts, never the snapshot just uploaded.
 */
import { isLeader, type EtcdStatus } from '../../etcd/client.js';
import { planRetention } from '../../etcd/retention.js';
import type { SnapshotInfo } from '../../records/etcd.js';

export type BackupDecision = { backup: true; reason: string } | { backup: false; reason: string };

/** `status` is this master's own member's Status (undefined: it did not answer). */
export function shouldBackup(status: Pick<EtcdStatus, 'leader' | 'memberId' | 'version'> | undefined): BackupDecision {
  if (!status) return { backup: false, reason: "this master's etcd member does not answer: no backup from here" };
  if (status.leader === '0' || status.leader === '')
    return { backup: false, reason: "this master's etcd member knows no leader: skipping this interval" };
  if (isLeader(status))
    return {
      backup: true,
      reason: `this master's etcd member (${status.memberId}, etcd ${status.version}) is the leader: taking this interval's backup`,
    };
  return {
    backup: false,
    reason: `this master's etcd member is not the leader (${status.leader} is): the leader takes this interval's backup; skipping`,
  };
}

/** A snapshot after its download: what the file's SHA-256 came out as (undefined: the download failed). */
export interface DownloadedSnapshot extends SnapshotInfo {
  actualSha256?: string;
}

/** Snapshots in the order a restore tries them: newest first. */
export function restoreOrder(snapshots: readonly SnapshotInfo[]): SnapshotInfo[] {
  return [...snapshots].sort((a, b) => b.time - a.time || (a.key < b.key ? 1 : -1));
}

/** Whether one downloaded snapshot may be restored, and if not why. */
export function checkSnapshot(s: DownloadedSnapshot): { ok: true } | { ok: false; reason: string } {
  if (s.actualSha256 === undefined) return { ok: false, reason: `cannot download ${s.key}` };
  if (!s.sha256) return { ok: false, reason: `skipping ${s.key}: it has no sha256 metadata` };
  if (s.sha256 !== s.actualSha256.toLowerCase())
    return { ok: false, reason: `skipping ${s.key}: sha256 ${s.actualSha256} does not match its metadata '${s.sha256}'` };
  return { ok: true };
}

export type SnapshotChoice =
  | { kind: 'none'; reason: string }
  | { kind: 'restore'; key: string; skipped: string[] }
  | { kind: 'refuse'; reason: string; skipped: string[] };

/** From the snapshots checked so far (any order): the newest valid one, or none / refuse. */
export function chooseSnapshot(snapshots: readonly DownloadedSnapshot[]): SnapshotChoice {
  if (snapshots.length === 0) return { kind: 'none', reason: 'no etcd snapshot in etcd/: a new cluster' };
  const skipped: string[] = [];
  for (const s of restoreOrder(snapshots) as DownloadedSnapshot[]) {
    const c = checkSnapshot(s);
    if (c.ok) return { kind: 'restore', key: s.key, skipped };
    skipped.push(c.reason);
  }
  return { kind: 'refuse', reason: 'etcd/ holds snapshots but none is valid; refusing to start an empty cluster over them', skipped };
}

/** The snapshot keys to delete after `uploaded` went up at `now` (planRetention; never `uploaded`). */
export function pruneAfterUpload(keys: readonly string[], uploaded: string, now: Date, retentionDays: number): string[] {
  return planRetention([...keys, uploaded], now, retentionDays).delete.filter((k) => k !== uploaded);
}
