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
import { anyHealthy, isLeader, snapshotToFile } from '../etcd/client.js';
import { ETCD_PREFIX, listSnapshots, newestSnapshot, pruneSnapshots, snapshotSha256, uploadSnapshotInFreeSecond, type SnapshotObject } from '../etcd/snapshots.js';
import { bucketName, masterGroups } from '../model/names.js';
import { GROUP_TAG, OWNER_TAG } from '../model/types.js';
import { NODEJS } from '../spec/versions.js';
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

/** The systemd unit the master's bootstrap scripts of an older kubeaz install (templates/bootstrap/kubeaz-etcd-backup.service). */
export const BACKUP_UNIT = 'kubeaz-etcd-backup.service';

/** Where user data puts the agent (templates/userdata.sh) and the binary the AL2023 nodejs22 package installs. */
export const AGENT_FILE = '/opt/kubeaz/kubeaz-agent.mjs';
/** the Node.js binary user data installs (src/spec/versions.ts NODEJS) */
export const AGENT_NODE = NODEJS.binary;

/**
 * What SSM runs on a master: the agent's backup (it finds the etcd leader, or any healthy member,
 * itself) — or, on a master an older kubeaz booted (a rollout moving it to the agent), its backup unit.
 */
export const BACKUP_COMMAND = `if [ -f ${AGENT_FILE} ]; then exec ${AGENT_NODE} ${AGENT_FILE} backup; else systemctl start ${BACKUP_UNIT}; fi`;

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
  const first = new Date();
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-'));
  try {
    const endpoints = opts.etcdEndpoint!.split(',').map((e) => e.trim()).filter(Boolean);
    const { readFile } = await import('node:fs/promises');
    const [cacert, cert, keyPem] = await Promise.all([opts.cacert, opts.cert, opts.key].map((f) => (f ? readFile(f) : undefined)));
    const tls = { ...(cacert ? { cacert } : {}), ...(cert ? { cert } : {}), ...(keyPem ? { key: keyPem } : {}) };
    // the leader, by its own Status (never etcdctl's table), else any healthy member
    const member = await anyHealthy(endpoints, { tls });
    if (!member)
      throw new KubeazError(`no healthy etcd member (one that knows a leader and reports no alarm) answers at ${endpoints.join(', ')}: nothing was snapshotted`, 'NoHealthyMember', 'etcd');
    const role = isLeader(member.status) ? 'the leader' : 'a healthy member (no leader among the endpoints given)';
    s.progress.emit({ type: 'info', message: `taking a snapshot of ${member.endpoint}: ${role}` });
    const snap = await snapshotToFile(member.endpoint, path.join(dir, 'snapshot.db'), tls, { timeoutSeconds: s.ctx.timing.maxWaitSeconds, signal: s.ctx.signal });
    s.progress.emit({ type: 'info', message: `snapshot verified: ${mib(snap.bytes)} (etcd sha256 ${snap.dbSha256}) in ${snap.seconds.toFixed(2)}s` });
    const up0 = Date.now();
    // the key of `first`'s second; taken (the timer, another run): the next free second, never overwritten
    const { key, at, ...up } = await uploadSnapshotInFreeSecond(s3, Bucket, first, snap.file, snap.sha256, {
      owner: s.ctx.accountId,
      onTaken: (taken, next) => s.progress.emit({ type: 'info', message: `s3://${Bucket}/${taken} exists (another backup of the same second): writing ${next} instead` }),
    });
    const uploadSeconds = (Date.now() - up0) / 1000;
    s.progress.emit({ type: 'info', message: `uploaded s3://${Bucket}/${key} (${mib(up.bytes)}${up.multipart ? ', multipart' : ''}, sha256 ${snap.sha256}) in ${uploadSeconds.toFixed(2)}s` });
    const pruned = await pruneSnapshots(s3, Bucket, at, s.spec.spec.etcd.backupRetentionDays, s.ctx.accountId);
    for (const k of pruned.deleted) s.progress.emit({ type: 'info', message: `pruned s3://${Bucket}/${k}` });
    if (json)
      process.stdout.write(
        `${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, key, endpoint: member.endpoint, leader: isLeader(member.status), memberId: member.status.memberId, bytes: snap.bytes, sha256: snap.sha256, etcdSha256: snap.dbSha256, revision: snap.revision ?? null, multipart: up.multipart, seconds: { snapshot: snap.seconds, upload: uploadSeconds }, pruned: pruned.deleted }, null, 2)}\n`,
      );
    else process.stdout.write(`s3://${Bucket}/${key}\n`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Through SSM Run Command: the backup command on a running master — any master: the agent there
 * finds the etcd leader (or a healthy member) itself — then VERIFIED by a new object under etcd/.
 * A master whose command fails, or that reports success without a new snapshot (an older kubeaz's
 * script on a master that is not the leader exits 0 and snapshots nothing), is followed by the next.
 */
async function viaSsm(s: Session, Bucket: string, json: boolean): Promise<number> {
  const { SendCommandCommand, GetCommandInvocationCommand, waitUntilCommandExecuted } = await import('@aws-sdk/client-ssm');
  const { groupInstances } = await import('../resources/index.js');
  const ssm = await s.aws.ssm();
  const s3 = await s.aws.s3();
  const before = await snapshotsOrFail(s, Bucket);
  const groups = masterGroups(s.spec).map((m) => m.name);
  const masters = await groupInstances(s.ctx, groups, ['running']);
  if (!masters.length)
    throw new KubeazError(`no running master instance of ${s.clusterId} (tags ${OWNER_TAG}=${s.clusterId}, ${GROUP_TAG}=${groups.join('|')}): is the cluster created and a master up?`, 'NoMaster', 'asg/master');
  const known = new Set(before.map((x) => x.key));
  const t = s.ctx.timing;
  const tried: string[] = [];
  const started = Date.now();
  for (const m of masters) {
    const InstanceId = m.id;
    s.progress.emit({ type: 'info', message: `asking the master ${InstanceId} (${m.group}) through SSM to take a backup (kubeaz-agent backup, or ${BACKUP_UNIT} on an older master)` });
    let CommandId: string | undefined;
    try {
      const sent = await ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [InstanceId],
          Comment: `kubeaz backup-etcd ${s.clusterId}`.slice(0, 100),
          TimeoutSeconds: 600,
          Parameters: { commands: [BACKUP_COMMAND] },
        }),
      );
      CommandId = sent.Command?.CommandId;
    } catch (e) {
      if (errorCode(e) !== 'InvalidInstanceId') throw e;
      tried.push(`${InstanceId}: not reachable through SSM Run Command (no SSM agent registered there, or its role may not talk to SSM)`);
      continue;
    }
    if (!CommandId) throw new KubeazError('SSM SendCommand returned no command id', 'NoCommandId', `asg/${m.group}`);
    try {
      await waitUntilCommandExecuted(
        { client: ssm, maxWaitTime: Math.max(1, t.maxWaitSeconds), minDelay: Math.max(0.1, t.pollSeconds), maxDelay: Math.max(0.1, t.pollSeconds) /* fixed interval: no backoff overshoot */, abortSignal: s.ctx.signal as never },
        { CommandId, InstanceId },
      );
    } catch {
      let detail = '';
      try {
        const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId }));
        detail = ` (status ${inv.Status ?? '?'}${inv.StandardErrorContent ? `: ${inv.StandardErrorContent.trim().slice(-500)}` : ''})`;
      } catch {
        // the waiter's own error says enough
      }
      tried.push(`${InstanceId}: the backup command ${CommandId} did not succeed${detail}`);
      s.progress.emit({ type: 'warn', message: `${InstanceId}: the backup command did not succeed${detail}; trying the next master` });
      continue;
    }
    let fresh: SnapshotObject | undefined;
    for (let i = 0; i < 3 && !fresh; i++) {
      if (i) await sleep(t.pollSeconds * 1000);
      const after = (await listSnapshots(s3, Bucket, s.ctx.accountId)) ?? [];
      fresh = newestSnapshot(after.filter((x) => !known.has(x.key)));
    }
    if (!fresh) {
      tried.push(`${InstanceId}: reported the backup command ${CommandId} done, but no new snapshot appeared`);
      s.progress.emit({ type: 'warn', message: `${InstanceId}: command ${CommandId} done but no new snapshot in s3://${Bucket}/${ETCD_PREFIX}; trying the next master` });
      continue;
    }
    const seconds = (Date.now() - started) / 1000;
    const sha256 = await snapshotSha256(s3, Bucket, fresh.key, s.ctx.accountId);
    if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, bucket: Bucket, key: fresh.key, bytes: fresh.size, sha256: sha256 ?? null, instanceId: InstanceId, commandId: CommandId, seconds, tried }, null, 2)}\n`);
    else {
      s.progress.emit({ type: 'info', message: `s3://${Bucket}/${fresh.key} (${mib(fresh.size)}, sha256 ${sha256 ?? 'none'}) in ${seconds.toFixed(1)}s, by ${InstanceId}` });
      process.stdout.write(`s3://${Bucket}/${fresh.key}\n`);
    }
    return 0;
  }
  const newest = newestSnapshot(before);
  throw new KubeazError(
    `no new snapshot appeared in s3://${Bucket}/${ETCD_PREFIX} (newest: ${newest ? newest.key : 'none'}) after asking every running master: ${tried.join('; ')}. ` +
      `See the master's journal (journalctl -u ${BACKUP_UNIT}, or kubeaz logs MASTER), or take one directly with --etcd-endpoint`,
    'NoNewSnapshot',
    'asg/master',
  );
}

/** A fresh backup by the master's own script (SSM Run Command), confirmed in S3. Rollout takes one before it replaces the master. */
export async function takeBackup(s: Session): Promise<void> {
  const code = await viaSsm(s, bucketName(s.clusterId, s.ctx.accountId), false);
  if (code !== 0) throw new KubeazError('the etcd backup taken before replacing the master did not complete; the master was not touched', 'BackupFailed', 'asg/master');
}
