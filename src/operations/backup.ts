/**
 * backup-etcd's operations: an etcd snapshot now into s3://<bucket>/etcd/<YYYYMMDDTHHMMSSZ>.db —
 * through SSM Run Command on a master (the default; what rollout takes before the master) or
 * directly from etcd's gRPC Maintenance/Snapshot stream (--etcd-endpoint) — and the snapshots
 * listed (--list) or pruned by the retention policy (--prune).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorCode, KubeazError } from '../aws/errors.js';
import { anyHealthy, isLeader, parseEndpoint, sameId, snapshotToFile } from '../etcd/client.js';
import { idToHex, isHexId, normalizeHexId } from '../etcd/ids.js';
import { UsageError } from '../errors.js';
import {
  CLUSTER_ID_RECORD_KEY,
  ETCD_PREFIX,
  listSnapshots,
  newestSnapshot,
  pruneSnapshots,
  readClusterIdRecord,
  snapshotSha256,
  uploadSnapshotInFreeSecond,
  SNAPSHOT_READ_CALLS,
  SNAPSHOT_WRITE_CALLS,
  type SnapshotObject,
} from '../etcd/snapshots.js';
import { bucketName, masterGroups } from '../model/names.js';
import { GROUP_TAG, OWNER_TAG } from '../model/types.js';
import { groupInstances } from '../resources/index.js';
import { NODEJS } from '../spec/versions.js';
import { sleep } from '../util/async.js';
import type { Session } from './session.js';

/**
 * The IAM actions backup-etcd calls (and rollout, through takeBackup): the masters found, the agent
 * asked through SSM Run Command, the snapshots listed, uploaded (--etcd-endpoint) and pruned.
 */
export const BACKUP_CALLS: readonly string[] = [
  'ec2:DescribeInstances',
  'ssm:SendCommand',
  'ssm:GetCommandInvocation',
  ...SNAPSHOT_READ_CALLS,
  ...SNAPSHOT_WRITE_CALLS,
];

/** --etcd-endpoint's URLs (comma-separated), the client TLS files and the cluster id the etcd must have. */
export interface EtcdAccess {
  etcdEndpoint?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  /** hex: the etcd cluster id to expect when the masters recorded none (or another one) */
  etcdClusterId?: string;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[?::1\]?)$/i;

/**
 * --etcd-endpoint's URLs, each checked before anything is asked: a URL, and plain http:// only to
 * this machine's loopback (a tunnel's end): elsewhere the snapshot — every Secret — would cross a
 * network unencrypted and unauthenticated, from an etcd nobody proved to be the cluster's.
 * --etcd-cluster-id, when given, is a hex uint64. A UsageError (exit 2) names what is wrong.
 */
export function etcdEndpoints(opts: EtcdAccess): string[] {
  const endpoints = (opts.etcdEndpoint ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!endpoints.length) throw new UsageError('--etcd-endpoint names no URL');
  for (const e of endpoints) {
    parseEndpoint(e);
    const u = new URL(e);
    if (u.protocol === 'http:' && !LOOPBACK.test(u.hostname))
      throw new UsageError(
        `--etcd-endpoint ${e}: plain http:// is refused away from loopback (the snapshot holds every Secret of the cluster); use https:// with --cacert, --cert and --key, or a tunnel to 127.0.0.1`,
      );
  }
  if (opts.etcdClusterId !== undefined && !isHexId(opts.etcdClusterId))
    throw new UsageError(`--etcd-cluster-id ${opts.etcdClusterId}: not an etcd cluster id (a hex uint64 such as cdf818194e3a8c32)`);
  return endpoints;
}

/**
 * The etcd cluster id the snapshot must come from: --etcd-cluster-id, else the one the masters
 * recorded at their last init or restore; undefined when neither is there (or the record does not
 * parse: `missing` says which) — then nothing is snapshotted (sameCluster).
 */
async function expectedClusterId(
  s: Session,
  Bucket: string,
  given: string | undefined,
): Promise<{ hex: string; source: string } | { missing: string }> {
  const record = await readClusterIdRecord(await s.aws.s3(), Bucket, s.ctx.accountId);
  const where = `s3://${Bucket}/${CLUSTER_ID_RECORD_KEY}`;
  if (given !== undefined) {
    const hex = normalizeHexId(given);
    if (record && !('invalid' in record) && record.clusterId !== hex)
      s.progress.emit({
        type: 'warn',
        message: `--etcd-cluster-id ${hex} is not the cluster id the masters recorded (${record.clusterId}, ${where})`,
      });
    return { hex, source: '--etcd-cluster-id' };
  }
  if (record && !('invalid' in record))
    return { hex: record.clusterId, source: `${where} (after ${record.after} by ${record.by}, ${record.at})` };
  return {
    missing: record
      ? record.invalid
      : `no etcd cluster id is recorded in ${where} (the masters write it at every init and restore; masters an older kubeaz booted did not)`,
  };
}

/**
 * The member's etcd is the cluster's, or a refusal: another cluster id than expected — or none
 * expected: an etcd kubeaz cannot tell from any other would become the cluster's newest snapshot,
 * which a rebuilt master restores.
 */
function sameCluster(
  s: Session,
  member: { endpoint: string; status: { clusterId: string } },
  expected: { hex: string; source: string } | { missing: string },
): void {
  const has = idToHex(member.status.clusterId);
  if ('missing' in expected)
    throw new KubeazError(
      `${expected.missing}: kubeaz cannot tell whether the etcd at ${member.endpoint} (cluster ${has}) is ${s.clusterId}'s, and nothing was snapshotted. ` +
        `If it is, run again with --etcd-cluster-id ${has}`,
      'NoEtcdClusterId',
      'etcd',
    );
  if (!sameId({ dec: member.status.clusterId }, { hex: expected.hex }))
    throw new KubeazError(
      `the etcd at ${member.endpoint} is cluster ${has}, not ${s.clusterId}'s etcd cluster ${expected.hex} (${expected.source}): ` +
        `refusing to store its snapshot as the cluster's (a rebuilt master restores the newest); nothing was snapshotted`,
      'ForeignEtcd',
      'etcd',
    );
  s.progress.emit({ type: 'info', message: `${member.endpoint} is etcd cluster ${expected.hex}, as ${expected.source} says` });
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

export const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
export const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 3 : 1)} MiB`;
export function age(seconds: number): string {
  if (seconds < 0) return 'in the future';
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

export async function snapshotsOrFail(s: Session, Bucket: string): Promise<SnapshotObject[]> {
  const snaps = await listSnapshots(await s.aws.s3(), Bucket, s.ctx.accountId);
  if (!snaps)
    throw new KubeazError(`the bucket ${Bucket} of ${s.clusterId} does not exist: run kubeaz create first`, 'NoSuchBucket', 'bucket');
  return snaps;
}

/** One snapshot as --list shows it: newest first. */
export interface SnapshotRow {
  key: string;
  time: string;
  size: number;
  sha256: string | null;
  ageSeconds: number;
}

/** The snapshots in the bucket, newest first, each with its sha256 (eight reads at a time). */
export async function listBackups(s: Session, Bucket: string): Promise<SnapshotRow[]> {
  const s3 = await s.aws.s3();
  const snaps = await snapshotsOrFail(s, Bucket);
  const now = Date.now() / 1000;
  const sums: Array<string | undefined> = new Array(snaps.length);
  for (let i = 0; i < snaps.length; i += 8)
    await Promise.all(snaps.slice(i, i + 8).map(async (x, j) => (sums[i + j] = await snapshotSha256(s3, Bucket, x.key, s.ctx.accountId))));
  return snaps
    .map((x, i) => ({ key: x.key, time: iso(x.time), size: x.size, sha256: sums[i] ?? null, ageSeconds: Math.round(now - x.time) }))
    .reverse();
}

/** The retention policy applied now (never the newest); each pruned key is reported as it goes. */
export async function pruneBackups(s: Session, Bucket: string): Promise<{ days: number; deleted: string[]; kept: string[] }> {
  await snapshotsOrFail(s, Bucket);
  const days = s.spec.spec.etcd.backupRetentionDays;
  const r = await pruneSnapshots(await s.aws.s3(), Bucket, new Date(), days, s.ctx.accountId);
  for (const k of r.deleted) s.progress.emit({ type: 'info', message: `pruned s3://${Bucket}/${k}` });
  return { days, deleted: r.deleted, kept: r.kept };
}

/** What a backup taken directly from etcd (--etcd-endpoint) made: the JSON backup-etcd prints. */
export interface DirectBackup {
  cluster: string;
  bucket: string;
  key: string;
  endpoint: string;
  leader: boolean;
  memberId: unknown;
  bytes: number;
  sha256: string;
  etcdSha256: string;
  revision: unknown;
  multipart: boolean;
  seconds: { snapshot: number; upload: number };
  pruned: string[];
}

/** A snapshot taken through etcd's gRPC Maintenance/Snapshot stream (the leader, else a healthy member), uploaded to a free second, then pruned. */
export async function directBackup(s: Session, Bucket: string, opts: EtcdAccess): Promise<DirectBackup> {
  const s3 = await s.aws.s3();
  await snapshotsOrFail(s, Bucket);
  const first = new Date();
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-'));
  try {
    const endpoints = etcdEndpoints(opts);
    const expected = await expectedClusterId(s, Bucket, opts.etcdClusterId);
    const { readFile } = await import('node:fs/promises');
    const [cacert, cert, keyPem] = await Promise.all([opts.cacert, opts.cert, opts.key].map((f) => (f ? readFile(f) : undefined)));
    const tls = { ...(cacert ? { cacert } : {}), ...(cert ? { cert } : {}), ...(keyPem ? { key: keyPem } : {}) };
    // the leader, by its own Status (never etcdctl's table), else any healthy member
    const member = await anyHealthy(endpoints, { tls });
    if (!member)
      throw new KubeazError(
        `no healthy etcd member (one that knows a leader and reports no alarm) answers at ${endpoints.join(', ')}: nothing was snapshotted`,
        'NoHealthyMember',
        'etcd',
      );
    sameCluster(s, member, expected);
    const role = isLeader(member.status) ? 'the leader' : 'a healthy member (no leader among the endpoints given)';
    s.progress.emit({ type: 'info', message: `taking a snapshot of ${member.endpoint}: ${role}` });
    const snap = await snapshotToFile(member.endpoint, path.join(dir, 'snapshot.db'), tls, {
      timeoutSeconds: s.ctx.timing.maxWaitSeconds,
      signal: s.ctx.signal,
    });
    s.progress.emit({
      type: 'info',
      message: `snapshot verified: ${mib(snap.bytes)} (etcd sha256 ${snap.dbSha256}) in ${snap.seconds.toFixed(2)}s`,
    });
    const up0 = Date.now();
    // the key of `first`'s second; taken (the timer, another run): the next free second, never overwritten
    const { key, at, ...up } = await uploadSnapshotInFreeSecond(s3, Bucket, first, snap.file, snap.sha256, {
      owner: s.ctx.accountId,
      onTaken: (taken, next) =>
        s.progress.emit({
          type: 'info',
          message: `s3://${Bucket}/${taken} exists (another backup of the same second): writing ${next} instead`,
        }),
    });
    const uploadSeconds = (Date.now() - up0) / 1000;
    s.progress.emit({
      type: 'info',
      message: `uploaded s3://${Bucket}/${key} (${mib(up.bytes)}${up.multipart ? ', multipart' : ''}, sha256 ${snap.sha256}) in ${uploadSeconds.toFixed(2)}s`,
    });
    const pruned = await pruneSnapshots(s3, Bucket, at, s.spec.spec.etcd.backupRetentionDays, s.ctx.accountId);
    for (const k of pruned.deleted) s.progress.emit({ type: 'info', message: `pruned s3://${Bucket}/${k}` });
    return {
      cluster: s.clusterId,
      bucket: Bucket,
      key,
      endpoint: member.endpoint,
      leader: isLeader(member.status),
      memberId: member.status.memberId,
      bytes: snap.bytes,
      sha256: snap.sha256,
      etcdSha256: snap.dbSha256,
      revision: snap.revision ?? null,
      multipart: up.multipart,
      seconds: { snapshot: snap.seconds, upload: uploadSeconds },
      pruned: pruned.deleted,
    };
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
/** What a backup through SSM made: the JSON backup-etcd prints. */
export interface SsmBackup {
  cluster: string;
  bucket: string;
  key: string;
  bytes: number;
  sha256: string | null;
  instanceId: string;
  commandId: string;
  seconds: number;
  tried: string[];
}

export async function backupViaSsm(s: Session, Bucket: string): Promise<SsmBackup> {
  const ssm = await s.aws.ssm();
  const s3 = await s.aws.s3();
  const before = await snapshotsOrFail(s, Bucket);
  const groups = masterGroups(s.spec).map((m) => m.name);
  const masters = await groupInstances(s.ctx, groups, ['running']);
  if (!masters.length)
    throw new KubeazError(
      `no running master instance of ${s.clusterId} (tags ${OWNER_TAG}=${s.clusterId}, ${GROUP_TAG}=${groups.join('|')}): is the cluster created and a master up?`,
      'NoMaster',
      'asg/master',
    );
  const known = new Set(before.map((x) => x.key));
  const t = s.ctx.timing;
  const tried: string[] = [];
  const started = Date.now();
  for (const m of masters) {
    const InstanceId = m.id;
    s.progress.emit({
      type: 'info',
      message: `asking the master ${InstanceId} (${m.group}) through SSM to take a backup (kubeaz-agent backup, or ${BACKUP_UNIT} on an older master)`,
    });
    const CommandId = await runBackupCommand(s, ssm, m, tried);
    if (!CommandId) continue;
    let fresh: SnapshotObject | undefined;
    for (let i = 0; i < 3 && !fresh; i++) {
      if (i) await sleep(t.pollSeconds * 1000);
      const after = (await listSnapshots(s3, Bucket, s.ctx.accountId)) ?? [];
      fresh = newestSnapshot(after.filter((x) => !known.has(x.key)));
    }
    if (!fresh) {
      tried.push(`${InstanceId}: reported the backup command ${CommandId} done, but no new snapshot appeared`);
      s.progress.emit({
        type: 'warn',
        message: `${InstanceId}: command ${CommandId} done but no new snapshot in s3://${Bucket}/${ETCD_PREFIX}; trying the next master`,
      });
      continue;
    }
    const seconds = (Date.now() - started) / 1000;
    const sha256 = await snapshotSha256(s3, Bucket, fresh.key, s.ctx.accountId);
    // (backup-etcd --output json runs with a silent progress: this line is the text output's)
    s.progress.emit({
      type: 'info',
      message: `s3://${Bucket}/${fresh.key} (${mib(fresh.size)}, sha256 ${sha256 ?? 'none'}) in ${seconds.toFixed(1)}s, by ${InstanceId}`,
    });
    return {
      cluster: s.clusterId,
      bucket: Bucket,
      key: fresh.key,
      bytes: fresh.size,
      sha256: sha256 ?? null,
      instanceId: InstanceId,
      commandId: CommandId,
      seconds,
      tried,
    };
  }
  const newest = newestSnapshot(before);
  throw new KubeazError(
    `no new snapshot appeared in s3://${Bucket}/${ETCD_PREFIX} (newest: ${newest ? newest.key : 'none'}) after asking every running master: ${tried.join('; ')}. ` +
      `See the master's journal (journalctl -u ${BACKUP_UNIT}, or kubeaz logs MASTER), or take one directly with --etcd-endpoint`,
    'NoNewSnapshot',
    'asg/master',
  );
}

/** Runs the backup on one master through SSM Run Command: its command id once it succeeded, or undefined (why, in tried). */
async function runBackupCommand(
  s: Session,
  ssm: Awaited<ReturnType<Session['aws']['ssm']>>,
  m: { id: string; group: string },
  tried: string[],
): Promise<string | undefined> {
  const { SendCommandCommand, GetCommandInvocationCommand, waitUntilCommandExecuted } = await import('@aws-sdk/client-ssm');
  const InstanceId = m.id;
  const t = s.ctx.timing;
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
    return undefined;
  }
  if (!CommandId) throw new KubeazError('SSM SendCommand returned no command id', 'NoCommandId', `asg/${m.group}`);
  try {
    await waitUntilCommandExecuted(
      {
        client: ssm,
        maxWaitTime: Math.max(1, t.maxWaitSeconds),
        minDelay: Math.max(0.1, t.pollSeconds),
        maxDelay: Math.max(0.1, t.pollSeconds) /* fixed interval: no backoff overshoot */,
        abortSignal: s.ctx.signal as never,
      },
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
    return undefined;
  }
  return CommandId;
}

/** A fresh backup by the master's own script (SSM Run Command), confirmed in S3. Rollout takes one before it replaces the master. */
export async function takeBackup(s: Session): Promise<SsmBackup> {
  return backupViaSsm(s, bucketName(s.clusterId, s.ctx.accountId));
}
