/**
 * etcd snapshots from a master: the backup (from the LEADER found through Maintenance.Status —
 * finding 1: the leader was read from a column of etcdctl's table that moved in etcd 3.6 —, or any
 * healthy member; uploaded with `If-None-Match: *` and its SHA-256 in the metadata; pruned by the one
 * retention rule, src/etcd/retention.ts) and the restore of the newest VALID snapshot before etcd
 * first starts (checksum against the metadata, `etcdutl snapshot status`, then `etcdutl snapshot
 * restore --bump-revision 1000000000 --mark-compacted`).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { isLeader } from '../../etcd/client.js';
import { shouldBackup } from '../decide/backup.js';
import { listSnapshots, pruneSnapshots, uploadSnapshotInFreeSecond } from '../../etcd/snapshots.js';
import { hostPath, type AgentContext } from '../context.js';
import { runChecked } from '../programs.js';
import { clientUrl, snapshotSource, type EtcdAccess } from './etcd-access.js';
import { ETCD_DATA_DIR } from './kubeadm-config.js';
import { readRecords } from './records.js';

/** --bump-revision/--mark-compacted (kubernetes #118501, etcd #16028): watchers relist instead of missing events. */
export const RESTORE_FLAGS = ['--bump-revision', '1000000000', '--mark-compacted'] as const;

/** The etcd client URLs a master may ask: every recorded member's and its own. */
export async function knownEndpoints(ctx: AgentContext): Promise<string[]> {
  const records = await readRecords(ctx.aws, ctx.config.bucket);
  const urls = new Set<string>([clientUrl(ctx.identity.privateIp)]);
  for (const m of Object.values(records.members)) if (m.clientURL) urls.add(m.clientURL);
  return [...urls];
}

export interface BackupResult {
  key: string;
  from: string;
  sha256: string;
  bytes: number;
  pruned: string[];
}

/**
 * One snapshot, from the leader (or a healthy member), to etcd/<UTC stamp>.db. `leaderOnly`: the
 * timer's run on every master — only the master whose own member leads takes it (one per interval);
 * undefined when it skipped.
 */
export async function takeBackup(
  ctx: AgentContext,
  etcd: EtcdAccess,
  retentionDays: number,
  opts: { leaderOnly?: boolean } = {},
): Promise<BackupResult | undefined> {
  const endpoints = await knownEndpoints(ctx);
  const probes = await etcd.probe(endpoints);
  if (opts.leaderOnly) {
    const own = probes.find((p) => p.endpoint === clientUrl(ctx.identity.privateIp));
    const d = shouldBackup(own?.ok ? own.status : undefined);
    if (!d.backup) {
      ctx.log(`${d.reason}: the leader's timer takes this interval's snapshot`);
      return undefined;
    }
  }
  const src = snapshotSource(probes);
  if (!src)
    throw new Error(
      `no etcd member answers with a leader at ${endpoints.join(', ')}: ${probes.map((p) => `${p.endpoint}: ${p.ok ? 'no leader' : p.error.message}`).join('; ')}`,
    );
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-backup-'));
  try {
    const file = path.join(dir, 'snapshot.db');
    const snap = await etcd.snapshot(src.endpoint, file);
    const s3 = await ctx.aws.s3();
    // a key taken in the same second (the timer and a run through SSM, two masters): the next second, never an overwrite
    const { key, at } = await uploadSnapshotInFreeSecond(s3, ctx.config.bucket, ctx.now(), file, snap.sha256, {
      now: ctx.now,
      sleep: ctx.sleep,
      onTaken: (taken, next) =>
        ctx.log(`s3://${ctx.config.bucket}/${taken} exists (another backup of the same second): writing ${next} instead`),
    });
    ctx.log(
      `uploaded s3://${ctx.config.bucket}/${key} (sha256 ${snap.sha256}, ${snap.bytes} bytes, from ${isLeader(src.status) ? 'the leader' : 'a healthy member'} at ${src.endpoint})`,
    );
    const { deleted } = await pruneSnapshots(s3, ctx.config.bucket, at, retentionDays);
    for (const d of deleted) ctx.log(`pruned s3://${ctx.config.bucket}/${d}`);
    return { key, from: src.endpoint, sha256: snap.sha256, bytes: snap.bytes, pruned: deleted };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function download(ctx: AgentContext, key: string, file: string): Promise<{ sha256: string; want?: string }> {
  const out = await (await ctx.aws.s3()).send(new GetObjectCommand({ Bucket: ctx.config.bucket, Key: key }));
  const hash = createHash('sha256');
  const body = out.Body as Readable;
  body.on('data', (c: Buffer) => hash.update(c));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  return { sha256: hash.digest('hex'), ...(out.Metadata?.sha256 ? { want: out.Metadata.sha256 } : {}) };
}

export interface RestoreOutcome {
  /** the snapshot restored; undefined when the bucket holds none (a new cluster) */
  key?: string;
}

/**
 * Restores the newest valid snapshot into the etcd data dir before etcd first starts. None at all:
 * nothing to do. Snapshots but none valid: refuses (never start empty over a cluster's history).
 * `etcdutl` is fetched (etcdutlOf) only when there is a snapshot to check.
 */
export async function restoreNewest(ctx: AgentContext, etcdutlOf: () => Promise<string>, nodeName: string): Promise<RestoreOutcome> {
  const dataDir = hostPath(ctx, ETCD_DATA_DIR);
  if (await stat(path.join(dataDir, 'member')).catch(() => undefined)) {
    ctx.log(`etcd data already present in ${ETCD_DATA_DIR}; not restoring`);
    return {};
  }
  const snaps = (await listSnapshots(await ctx.aws.s3(), ctx.config.bucket)) ?? [];
  if (snaps.length === 0) {
    ctx.log(`no etcd snapshot in s3://${ctx.config.bucket}/etcd/: a new cluster`);
    return {};
  }
  const work = await mkdtemp(path.join(tmpdir(), 'kubeaz-restore-'));
  try {
    for (const s of [...snaps].reverse()) {
      const file = path.join(work, 'snapshot.db');
      await rm(file, { force: true });
      let got;
      try {
        got = await download(ctx, s.key, file);
      } catch (e) {
        ctx.log(`cannot download ${s.key} (${(e as Error).message}); trying the next`);
        continue;
      }
      if (!got.want || got.want !== got.sha256) {
        ctx.log(`skipping ${s.key}: sha256 ${got.sha256} does not match its metadata '${got.want ?? ''}'`);
        continue;
      }
      const etcdutl = await etcdutlOf();
      const st = await ctx.programs.run(etcdutl, ['snapshot', 'status', file]);
      if (st.code !== 0) {
        ctx.log(`skipping ${s.key}: etcdutl cannot read it`);
        continue;
      }
      ctx.log(`restoring ${s.key} into ${ETCD_DATA_DIR}`);
      await mkdir(path.dirname(dataDir), { recursive: true });
      const peer = `https://${ctx.identity.privateIp}:2380`;
      await runChecked(ctx.programs, etcdutl, [
        'snapshot',
        'restore',
        file,
        '--data-dir',
        dataDir,
        '--name',
        nodeName,
        '--initial-cluster',
        `${nodeName}=${peer}`,
        '--initial-advertise-peer-urls',
        peer,
        ...RESTORE_FLAGS,
      ]);
      await chmod(dataDir, 0o700);
      return { key: s.key };
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  throw new Error(`s3://${ctx.config.bucket}/etcd/ holds snapshots but none is valid; refusing to start an empty cluster over them`);
}

/** "YYYYMMDDTHHMMSSZ" of a snapshot key as ISO 8601, for restore.json's snapshotTime. */
export function snapshotTimeIso(key: string | undefined): string | undefined {
  const m = key ? /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/.exec(key) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : undefined;
}
