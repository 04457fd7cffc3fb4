/**
 * kubeaz backup-etcd: an etcd snapshot now, into s3://<bucket>/etcd/<YYYYMMDDTHHMMSSZ>.db.
 *   --etcd-endpoint URL   take it ourselves through etcd's gRPC Maintenance/Snapshot stream, from
 *                         an etcd whose cluster id is the one the masters recorded (or --etcd-cluster-id)
 *   (default)             ask the master through SSM Run Command to run its installed backup
 *   --list                the snapshots with key, time, size, sha256, age
 *   --prune               apply the retention policy now (planRetention; never the newest)
 */
import { silentProgress, ConsoleProgress } from '../engine/progress.js';
import { ETCD_PREFIX } from '../etcd/snapshots.js';
import { bucketName } from '../model/names.js';
import { age, backupViaSsm, directBackup, etcdEndpoints, listBackups, mib, pruneBackups } from '../operations/backup.js';
import { openSession, UsageError, type GlobalOptions, type Session } from '../operations/session.js';
import { respond, watch } from '../operations/envelope.js';
import { table } from './output.js';

export interface BackupEtcdOptions extends GlobalOptions {
  etcdEndpoint?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  etcdClusterId?: string;
  list?: boolean;
  prune?: boolean;
  output?: string;
}

export async function backupEtcdCommand(opts: BackupEtcdOptions): Promise<number> {
  const modes = [opts.list, opts.prune, opts.etcdEndpoint !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('use one of --list, --prune and --etcd-endpoint at a time');
  if (!opts.etcdEndpoint && (opts.cacert || opts.cert || opts.key || opts.etcdClusterId !== undefined))
    throw new UsageError('--cacert, --cert, --key and --etcd-cluster-id go with --etcd-endpoint');
  // every URL checked (plain http:// only to loopback) before any AWS call
  if (opts.etcdEndpoint !== undefined) etcdEndpoints(opts);
  const json = opts.output === 'json';
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }), watch);
  try {
    const Bucket = bucketName(s.clusterId, s.ctx.accountId);
    if (opts.list) return await list(s, Bucket, json);
    if (opts.prune) {
      const r = await pruneBackups(s, Bucket);
      if (json) return respond(0, { bucket: Bucket, retentionDays: r.days, deleted: r.deleted, kept: r.kept });
      process.stdout.write(`pruned ${r.deleted.length}, kept ${r.kept.length} snapshot(s) (retention ${r.days} days)\n`);
      return 0;
    }
    const made = opts.etcdEndpoint ? await directBackup(s, Bucket, opts) : await backupViaSsm(s, Bucket);
    if (json) return respond(0, { ...made });
    process.stdout.write(`s3://${Bucket}/${made.key}\n`);
    return 0;
  } finally {
    s.dispose();
  }
}

async function list(s: Session, Bucket: string, json: boolean): Promise<number> {
  const rows = await listBackups(s, Bucket);
  if (json) return respond(0, { bucket: Bucket, snapshots: rows });
  if (!rows.length) {
    process.stdout.write(`no etcd snapshots in s3://${Bucket}/${ETCD_PREFIX}\n`);
  } else {
    process.stdout.write(
      `${table([['KEY', 'TIME', 'SIZE', 'SHA256', 'AGE'], ...rows.map((r) => [r.key, r.time, mib(r.size), r.sha256 ?? '(none)', age(r.ageSeconds)])])}\n` +
        `${rows.length} snapshot(s) in s3://${Bucket}/${ETCD_PREFIX} — a snapshot holds every Secret of the cluster\n`,
    );
  }
  return 0;
}
