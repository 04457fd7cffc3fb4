/**
 * kubeaz backup-etcd: an etcd snapshot now, into s3://<bucket>/etcd/<YYYYMMDDTHHMMSSZ>.db.
 *   --etcd-endpoint URL   take it ourselves through etcd's gRPC Maintenance/Snapshot stream
 *   (default)             ask the master through SSM Run Command to run its installed backup
 *   --list                the snapshots with key, time, size, sha256, age
 *   --prune               apply the retention policy now (planRetention; never the newest)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorCode, KubeazError } from '../aws/errors.js';
import { silentProgress, ConsoleProgress } from '../engine/progress.js';
import { snapshotToFile } from '../etcd/client.js';
import { snapshotKey } from '../etcd/retention.js';
import { ETCD_PREFIX, listSnapshots, newestSnapshot, pruneSnapshots, snapshotSha256, uploadSnapshot, type SnapshotObject } from '../etcd/snapshots.js';
import { bucketName } from '../model/names.js';
import { GROUP_TAG, OWNER_TAG } from '../model/types.js';
import { sleep } from '../util/async.js';
import { table } from './output.js';
import { openSession, UsageError, type GlobalOptions, type Session } from './session.js';

export interface BackupEtcdOptions extends GlobalOptions {
  etcdEndpoint?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  list?: boolean;
  prune?: boolean;
  output?: string;
}

/** The systemd unit the master's bootstrap installs (templates/bootstrap/kubeaz-etcd-backup.service). */
export const BACKUP_UNIT = 'kubeaz-etcd-backup.service';

const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 3 : 1)} MiB`;
function age(seconds: number): string {
  if (seconds < 0) return 'in the future';
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

export async function backupEtcdCommand(opts: BackupEtcdOptions): Promise<number> {
  const modes = [opts.list, opts.prune, opts.etcdEndpoint !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError('use one of --list, --prune and --etcd-endpoint at a time');
  if (!opts.etcdEndpoint && (opts.cacert || opts.cert || opts.key)) throw new UsageError('--cacert, --cert and --key go with --etcd-endpoint');
  const json = opts.output === 'json';
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    const Bucket = bucketName(s.clusterId, s.ctx.accountId);
    if (opts.list) return await list(s, Bucket, json);
    if (opts.prune) return await prune(s, Bucket, json);
    if (opts.etcdEndpoint) return await direct(s, Bucket, opts, json);
    return await viaSsm(s, Bucket, json);
  } finally {
    s.dispose();
  }
}

async function snapshotsOrFail(s: Session, Bucket: string): Promise<SnapshotObject[]> {
  const snaps = await listSnapshots(await s.aws.s3(), Bucket, s.ctx.accountId);
  if (!snaps) throw new KubeazError(`the bucket ${Bucket} of ${s.clusterId} does not exist: run kubeaz create first`, 'NoSuchBucket', 'bucket');
  return snaps;
}

async function list(s: Session, Bucket: string, json: boolean): Promise<number> {
  const s3 = await s.aws.s3();
  const snaps = await snapshotsOrFail(s, Bucket);
  const now = Date.now() / 1000;
  const sums: Array<string | undefined> = new Array(snaps.length);
  for (let i = 0; i < snaps.length; i += 8)
    await Promise.all(snaps.slice(i, i + 8).map(async (x, j) => (sums[i + j] = await snapshotSha256(s3, Bucket, x.key, s.ctx.accountId))));
  const rows = snaps.map((x, i) => ({ key: x.key, time: iso(x.time), size: x.size, sha256: sums[i] ?? null, ageSeconds: Math.round(now - x.time) })).reverse();
  if (json) {
    process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, snapshots: rows }, null, 2)}\n`);
  } else if (!rows.length) {
    process.stdout.write(`no etcd snapshots in s3://${Bucket}/${ETCD_PREFIX}\n`);
  } else {
    process.stdout.write(
      `${table([['KEY', 'TIME', 'SIZE', 'SHA256', 'AGE'], ...rows.map((r) => [r.key, r.time, mib(r.size), r.sha256 ?? '(none)', age(r.ageSeconds)])])}\n` +
        `${rows.length} snapshot(s) in s3://${Bucket}/${ETCD_PREFIX} — a snapshot holds every Secret of the cluster\n`,
    );
  }
  return 0;
}

async function prune(s: Session, Bucket: string, json: boolean): Promise<number> {
  await snapshotsOrFail(s, Bucket);
  const days = s.spec.spec.etcd.backupRetentionDays;
  const r = await pruneSnapshots(await s.aws.s3(), Bucket, new Date(), days, s.ctx.accountId);
  if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, retentionDays: days, deleted: r.deleted, kept: r.kept }, null, 2)}\n`);
  else {
    for (const k of r.deleted) s.progress.emit({ type: 'info', message: `pruned s3://${Bucket}/${k}` });
    process.stdout.write(`pruned ${r.deleted.length}, kept ${r.kept.length} snapshot(s) (retention ${days} days)\n`);
  }
  return 0;
}

async function direct(s: Session, Bucket: string, opts: BackupEtcdOptions, json: boolean): Promise<number> {
  const s3 = await s.aws.s3();
  await snapshotsOrFail(s, Bucket);
  const at = new Date();
  const key = snapshotKey(at);
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-'));
  try {
    s.progress.emit({ type: 'info', message: `taking a snapshot of ${opts.etcdEndpoint}` });
    const snap = await snapshotToFile(
      opts.etcdEndpoint!,
      path.join(dir, 'snapshot.db'),
      { ...(opts.cacert ? { cacert: opts.cacert } : {}), ...(opts.cert ? { cert: opts.cert } : {}), ...(opts.key ? { key: opts.key } : {}) },
      { timeoutSeconds: s.ctx.timing.maxWaitSeconds, signal: s.ctx.signal },
    );
    s.progress.emit({ type: 'info', message: `snapshot verified: ${mib(snap.bytes)} (etcd sha256 ${snap.dbSha256}) in ${snap.seconds.toFixed(2)}s` });
    const up0 = Date.now();
    const up = await uploadSnapshot(s3, Bucket, key, snap.file, snap.sha256, s.ctx.accountId);
    const uploadSeconds = (Date.now() - up0) / 1000;
    s.progress.emit({ type: 'info', message: `uploaded s3://${Bucket}/${key} (${mib(up.bytes)}${up.multipart ? ', multipart' : ''}, sha256 ${snap.sha256}) in ${uploadSeconds.toFixed(2)}s` });
    const pruned = await pruneSnapshots(s3, Bucket, at, s.spec.spec.etcd.backupRetentionDays, s.ctx.accountId);
    for (const k of pruned.deleted) s.progress.emit({ type: 'info', message: `pruned s3://${Bucket}/${k}` });
    if (json)
      process.stdout.write(
        `${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, key, bytes: snap.bytes, sha256: snap.sha256, etcdSha256: snap.dbSha256, revision: snap.revision ?? null, multipart: up.multipart, seconds: { snapshot: snap.seconds, upload: uploadSeconds }, pruned: pruned.deleted }, null, 2)}\n`,
      );
    else process.stdout.write(`s3://${Bucket}/${key}\n`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function viaSsm(s: Session, Bucket: string, json: boolean): Promise<number> {
  const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
  const { SendCommandCommand, GetCommandInvocationCommand, waitUntilCommandExecuted } = await import('@aws-sdk/client-ssm');
  const ec2 = await s.aws.ec2();
  const ssm = await s.aws.ssm();
  const s3 = await s.aws.s3();
  const before = await snapshotsOrFail(s, Bucket);
  const found = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${OWNER_TAG}`, Values: [s.clusterId] },
        { Name: `tag:${GROUP_TAG}`, Values: ['master'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
    }),
  );
  const instances = (found.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.InstanceId);
  const master = instances.sort((a, b) => (b.LaunchTime?.getTime() ?? 0) - (a.LaunchTime?.getTime() ?? 0))[0];
  if (!master?.InstanceId)
    throw new KubeazError(`no running master instance of ${s.clusterId} (tags ${OWNER_TAG}=${s.clusterId}, ${GROUP_TAG}=master): is the cluster created and its master up?`, 'NoMaster', 'asg/master');
  const InstanceId = master.InstanceId;
  const started = Date.now();
  s.progress.emit({ type: 'info', message: `asking the master ${InstanceId} through SSM to run ${BACKUP_UNIT}` });
  let CommandId: string | undefined;
  try {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [InstanceId],
        Comment: `kubeaz backup-etcd ${s.clusterId}`.slice(0, 100),
        TimeoutSeconds: 600,
        Parameters: { commands: [`systemctl start ${BACKUP_UNIT}`] },
      }),
    );
    CommandId = sent.Command?.CommandId;
  } catch (e) {
    if (errorCode(e) === 'InvalidInstanceId')
      throw new KubeazError(
        `the master ${InstanceId} is not reachable through SSM Run Command (no SSM agent running or registered there, or its role may not talk to SSM): ` +
          `take the snapshot directly with --etcd-endpoint https://127.0.0.1:2379 through a tunnel or on the master`,
        'NoSsmAgent',
        'asg/master',
        { cause: e },
      );
    throw e;
  }
  if (!CommandId) throw new KubeazError('SSM SendCommand returned no command id', 'NoCommandId', 'asg/master');
  const t = s.ctx.timing;
  try {
    await waitUntilCommandExecuted(
      { client: ssm, maxWaitTime: Math.max(1, t.maxWaitSeconds), minDelay: Math.max(0.1, t.pollSeconds), maxDelay: Math.max(0.1, t.pollSeconds) /* fixed interval: no backoff overshoot */, abortSignal: s.ctx.signal as never },
      { CommandId, InstanceId },
    );
  } catch (e) {
    let detail = '';
    try {
      const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId }));
      detail = ` (status ${inv.Status ?? '?'}${inv.StandardErrorContent ? `: ${inv.StandardErrorContent.trim().slice(-500)}` : ''})`;
    } catch {
      // the waiter's own error says enough
    }
    throw new KubeazError(`the backup command ${CommandId} on ${InstanceId} did not succeed${detail}; see journalctl -u ${BACKUP_UNIT} there`, 'BackupCommandFailed', 'asg/master', { cause: e });
  }
  const known = new Set(before.map((x) => x.key));
  let fresh: SnapshotObject | undefined;
  for (let i = 0; i < 3 && !fresh; i++) {
    if (i) await sleep(t.pollSeconds * 1000);
    const after = (await listSnapshots(s3, Bucket, s.ctx.accountId)) ?? [];
    fresh = newestSnapshot(after.filter((x) => !known.has(x.key)));
  }
  if (!fresh) {
    const newest = newestSnapshot(before);
    throw new KubeazError(
      `the master ${InstanceId} reported the backup command ${CommandId} done, but no new snapshot appeared in s3://${Bucket}/${ETCD_PREFIX} ` +
        `(newest: ${newest ? newest.key : 'none'}); see journalctl -u ${BACKUP_UNIT} on the master`,
      'NoNewSnapshot',
      'asg/master',
    );
  }
  const seconds = (Date.now() - started) / 1000;
  const sha256 = await snapshotSha256(s3, Bucket, fresh.key, s.ctx.accountId);
  if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, key: fresh.key, bytes: fresh.size, sha256: sha256 ?? null, instanceId: InstanceId, commandId: CommandId, seconds }, null, 2)}\n`);
  else {
    s.progress.emit({ type: 'info', message: `s3://${Bucket}/${fresh.key} (${mib(fresh.size)}, sha256 ${sha256 ?? 'none'}) in ${seconds.toFixed(1)}s` });
    process.stdout.write(`s3://${Bucket}/${fresh.key}\n`);
  }
  return 0;
}

/** A fresh backup by the master's own script (SSM Run Command), confirmed in S3. Rollout takes one before it replaces the master. */
export async function takeBackup(s: Session): Promise<void> {
  const code = await viaSsm(s, bucketName(s.clusterId, s.ctx.accountId), false);
  if (code !== 0) throw new KubeazError('the etcd backup taken before replacing the master did not complete; the master was not touched', 'BackupFailed', 'asg/master');
}
