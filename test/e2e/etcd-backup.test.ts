/**
 * `kubeaz backup-etcd` with a REAL etcd (Debian's etcd-server) and a cluster created in moto:
 * keys written with etcdctl → a snapshot taken through etcd's gRPC Maintenance/Snapshot stream →
 * s3://<bucket>/etcd/<UTC>.db with its sha256 in the metadata → downloaded, restored into a fresh
 * data dir, a second etcd started there, the keys read back. Also multipart for a large snapshot,
 * --list, --prune against planRetention, status, and the SSM path's "no new object" error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { freePort } from '../../src/devtools/moto.js';
import { useMoto } from '../helpers/moto.js';
import { planRetention, snapshotKey } from '../../src/etcd/retention.js';
import { kubeaz } from '../helpers/cli.js';
import { etcdClusterIdHex } from '../helpers/etcd.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-eb-qa-${ACCOUNT}`;
const RETENTION_DAYS = 7;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: eb, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
  etcd: { backupIntervalMinutes: 15, backupRetentionDays: ${RETENTION_DAYS} }
`;

const which = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};
const HAVE_ETCD = which('etcd') && which('etcdctl');
const ETCD_ENV = { ...process.env, ETCDCTL_API: '3' };

interface Etcd {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts etcd on free loopback ports with `dataDir`; resolves once it answers. */
async function startEtcd(dataDir: string, name = 'default'): Promise<Etcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawn(
    'etcd',
    [
      '--name',
      name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `${name}=${peerUrl}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  for (let i = 0; i < 100; i++) {
    try {
      etcdctl(url, ['endpoint', 'health']);
      return { url, proc, stop };
    } catch {
      if (proc.exitCode !== null) throw new Error(`etcd exited: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`etcd did not become healthy: ${log}`);
}

const etcdctl = (url: string, args: string[], input?: string): string =>
  execFileSync('etcdctl', ['--endpoints', url, '--command-timeout', '5s', ...args], {
    env: ETCD_ENV,
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  }).toString();

/** `etcdutl` (etcd 3.5+) or, on 3.4, `etcdctl snapshot …`. */
const snapshotTool = (args: string[]): string =>
  execFileSync(which('etcdutl') ? 'etcdutl' : 'etcdctl', args, { env: ETCD_ENV, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

interface BackupJson {
  key: string;
  bytes: number;
  sha256: string;
  etcdSha256: string;
  multipart: boolean;
  seconds: { snapshot: number; upload: number };
  pruned: string[];
}

describe.skipIf(!HAVE_ETCD)('backup-etcd with a real etcd', () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let etcd: Etcd;
  /** its etcd cluster id: these tests are about the snapshot, not about which etcd (etcd-backup-identity.test.ts) */
  let cid: string;
  const figures: string[] = [];

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-e2e-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const [created, started] = await Promise.all([kubeaz(['create', '-f', file, '--yes'], env), startEtcd(path.join(dir, 'etcd-a'))]);
    etcd = started;
    cid = etcdClusterIdHex(etcd.url);
    expect(created.code, created.stderr).toBe(0);
  });
  afterAll(async () => {
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (figures.length) console.log(`etcd snapshot round trip:\n  ${figures.join('\n  ')}`);
  });

  const download = async (key: string) => {
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { body: Buffer.from(await o.Body!.transformToByteArray()), sha256: o.Metadata?.sha256, sse: o.ServerSideEncryption };
  };

  /** Restores `snap` into a fresh data dir, starts etcd there and returns it. */
  const restoreAndStart = async (snap: string, name: string): Promise<Etcd> => {
    const data = path.join(dir, `restored-${name}`);
    const peer = await freePort();
    // the restored member's own peer URL must match what it is started with
    snapshotTool([
      'snapshot',
      'restore',
      snap,
      '--data-dir',
      data,
      '--name',
      name,
      '--initial-cluster',
      `${name}=http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
    ]);
    const [client] = [await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const proc = spawn(
      'etcd',
      [
        '--name',
        name,
        '--data-dir',
        data,
        '--listen-client-urls',
        url,
        '--advertise-client-urls',
        url,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `${name}=http://127.0.0.1:${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    const stop = () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    for (let i = 0; i < 100; i++) {
      try {
        etcdctl(url, ['endpoint', 'health']);
        return { url, proc, stop };
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await stop();
    throw new Error('restored etcd did not become healthy');
  };

  /** Every version and delete marker under etcd/ removed: each test starts from an empty prefix. */
  const clearSnapshots = async () => {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'etcd/' }));
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: v.Key!, VersionId: v.VersionId! }));
    expect(page.IsTruncated).toBeFalsy();
  };
  const plant = async (keys: string[], body: string | Buffer = 'x') => {
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: body, ServerSideEncryption: 'AES256' }));
  };
  /** One real snapshot through the CLI's gRPC path. */
  const backup = async (): Promise<BackupJson> => {
    const r = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', etcd.url, '--etcd-cluster-id', cid, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    return r.json<BackupJson>();
  };
  /**
   * status' text with its wrapped lines joined again: status wraps at 100 columns, and whether a
   * line wraps depends on the byte counts in it (how large etcd's database happens to be), which is
   * how this file once failed under load.
   */
  const unwrapped = (text: string) => text.replace(/\n {5,7}(?=\S)/g, ' ');

  it('--etcd-endpoint: snapshot through gRPC, verified, uploaded with its sha256; restored, the keys come back', async () => {
    etcdctl(etcd.url, ['put', '/registry/secrets/default/db', 's3cr3t']);
    etcdctl(etcd.url, ['put', '/registry/configmaps/kube-system/x', 'hello']);
    etcdctl(etcd.url, ['put', '/registry/secrets/default/db', 's3cr3t-v2']); // a second revision
    const t0 = Date.now();
    const r = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', etcd.url, '--etcd-cluster-id', cid, '--output', 'json'], env);
    const wall = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<BackupJson>();
    expect(out.key).toMatch(/^etcd\/\d{8}T\d{6}Z\.db$/);
    expect(
      Math.abs(Date.parse(out.key.replace(/^etcd\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/, '$1-$2-$3T$4:$5:$6Z')) - Date.now()),
    ).toBeLessThan(60_000);
    expect(out.multipart).toBe(false);
    const obj = await download(out.key);
    expect(obj.body.length).toBe(out.bytes);
    const sum = createHash('sha256').update(obj.body).digest('hex');
    expect(obj.sha256).toBe(sum);
    expect(out.sha256).toBe(sum);
    expect(obj.sse).toBe('AES256');
    // etcd's own trailer: the last 32 bytes are the sha256 of the database before them
    expect(obj.body.subarray(-32).toString('hex')).toBe(createHash('sha256').update(obj.body.subarray(0, -32)).digest('hex'));
    const snap = path.join(dir, 'downloaded.db');
    await writeFile(snap, obj.body);
    expect(snapshotTool(['snapshot', 'status', snap, '-w', 'json'])).toMatch(/"totalKey"/);
    const t1 = Date.now();
    const restored = await restoreAndStart(snap, 'restored-a');
    try {
      expect(etcdctl(restored.url, ['get', '/registry/secrets/default/db', '--print-value-only']).trim()).toBe('s3cr3t-v2');
      expect(etcdctl(restored.url, ['get', '/registry/configmaps/kube-system/x', '--print-value-only']).trim()).toBe('hello');
    } finally {
      await restored.stop();
    }
    figures.push(
      `small: ${out.bytes} bytes; snapshot ${out.seconds.snapshot.toFixed(3)}s, upload ${out.seconds.upload.toFixed(3)}s, whole CLI run ${wall.toFixed(2)}s; restore+start+read ${((Date.now() - t1) / 1000).toFixed(2)}s`,
    );
  });

  it('a large snapshot goes up in parts and still restores byte for byte', async () => {
    const values: string[] = [];
    for (let i = 0; i < 7; i++) {
      const v = randomBytes(600 * 1024).toString('base64'); // 800 KiB of text each
      values.push(v);
      etcdctl(etcd.url, ['put', `/big/${i}`], v); // value from stdin
    }
    const t0 = Date.now();
    const r = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', etcd.url, '--etcd-cluster-id', cid, '--output', 'json'], {
      ...env,
      KUBEAZ_S3_PART_MIB: '5',
    });
    const wall = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<BackupJson>();
    expect(out.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(out.multipart).toBe(true);
    const obj = await download(out.key);
    expect(createHash('sha256').update(obj.body).digest('hex')).toBe(out.sha256);
    expect(obj.sha256).toBe(out.sha256);
    const snap = path.join(dir, 'big.db');
    await writeFile(snap, obj.body);
    const restored = await restoreAndStart(snap, 'restored-b');
    try {
      for (const i of [0, 6]) expect(etcdctl(restored.url, ['get', `/big/${i}`, '--print-value-only']).trim(), `/big/${i}`).toBe(values[i]);
    } finally {
      await restored.stop();
    }
    figures.push(
      `large: ${(out.bytes / 1048576).toFixed(1)} MiB in 5 MiB parts; snapshot ${out.seconds.snapshot.toFixed(3)}s, upload ${out.seconds.upload.toFixed(3)}s, whole CLI run ${wall.toFixed(2)}s`,
    );
  });

  it('an etcd that is not there: a clear error and nothing uploaded', async () => {
    const before = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).KeyCount;
    const r = await kubeaz(
      ['backup-etcd', '-f', file, '--etcd-endpoint', `http://127.0.0.1:${await freePort()}`, '--etcd-cluster-id', cid],
      env,
    );
    expect(r.code).toBe(1);
    // asked first who leads (Maintenance.Status): nobody answers, so no snapshot is even started
    expect(r.stderr).toMatch(
      /no healthy etcd member \(one that knows a leader and reports no alarm\) answers at http:\/\/127\.0\.0\.1:\d+: nothing was snapshotted/,
    );
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).KeyCount).toBe(before);
  });

  it('--list shows key, time, size, sha256 and age, newest first', async () => {
    await clearSnapshots();
    const older = snapshotKey(new Date(Date.now() - 120_000));
    await plant([older], randomBytes(2048));
    const firstKey = (await backup()).key;
    const r = await kubeaz(['backup-etcd', '-f', file, '--list', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{
      bucket: string;
      snapshots: Array<{ key: string; time: string; size: number; sha256: string; ageSeconds: number }>;
    }>();
    expect(out.bucket).toBe(BUCKET);
    expect(out.snapshots.map((x) => x.key)).toEqual([firstKey, older]);
    expect(out.snapshots[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const x of out.snapshots) {
      expect(x.size).toBeGreaterThan(512);
      expect(x.ageSeconds).toBeLessThan(600);
      expect(x.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    const text = await kubeaz(['backup-etcd', '-f', file, '--list'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/KEY\s+TIME\s+SIZE\s+SHA256\s+AGE/);
    expect(text.stdout).toContain(firstKey);
  });

  it('status shows the newest snapshot, parsed as retention parses it', async () => {
    await clearSnapshots();
    const firstKey = snapshotKey(new Date(Date.now() - 120_000));
    await plant([firstKey]);
    const newest = (await backup()).key;
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const out = r.json<{ etcdBackups: { count: number; newestKey: string; ageMinutes: number }; warnings: string[] }>();
    expect(out.etcdBackups.count).toBe(2);
    expect(out.etcdBackups.newestKey).toBe(newest);
    expect(out.etcdBackups.ageMinutes).toBeLessThan(10);
    expect(out.warnings.join('\n')).not.toMatch(/etcd backup/);
  });

  it('--prune deletes exactly what planRetention says and keeps the newest', async () => {
    await clearSnapshots();
    const firstKey = (await backup()).key;
    const now = Date.now();
    const at = (secondsAgo: number) => snapshotKey(new Date(now - secondsAgo * 1000));
    const H = 3600;
    const D = 86400;
    // Away from the 1 h / 7 d age edges, so the second between planning here and in the CLI does
    // not matter; pairs meant to share a clock hour are placed inside one (10 and 20 minutes past
    // its start), whatever time the test runs at.
    const hourOf = (secondsAgo: number) => Math.floor((now - secondsAgo * 1000) / (H * 1000)) * H * 1000;
    const inHour = (secondsAgo: number, minutes: number) => snapshotKey(new Date(hourOf(secondsAgo) + minutes * 60_000));
    const planted = [
      at(30 * 60), // < 1 h: kept
      inHour(5 * H, 20),
      inHour(5 * H, 10), // one hour twice: the first kept
      inHour(3 * D, 20),
      inHour(3 * D, 10),
      at(3 * D + 4 * H), // 3 days: first of each hour
      at(10 * D),
      at(10 * D + 2 * H), // beyond retention: gone
    ];
    for (const Key of [...planted, 'etcd/notes.txt'])
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x', ServerSideEncryption: 'AES256' }));
    const listed = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents!.map((o) => o.Key!);
    const plan = planRetention(listed, new Date(now), RETENTION_DAYS);
    expect(plan.delete.length).toBeGreaterThanOrEqual(4);
    const r = await kubeaz(['backup-etcd', '-f', file, '--prune', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ deleted: string[]; kept: string[] }>();
    expect([...out.deleted].sort()).toEqual(plan.delete);
    const left = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents!.map((o) => o.Key!).sort();
    expect(left).toEqual([...plan.keep, 'etcd/notes.txt'].sort());
    expect(left).toContain(firstKey); // < 1 h old
  });

  it('--prune never deletes the newest, however old', async () => {
    await clearSnapshots();
    const old = [snapshotKey(new Date(Date.now() - 40 * 86400_000)), snapshotKey(new Date(Date.now() - 30 * 86400_000))];
    for (const Key of old) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
    const r = await kubeaz(['backup-etcd', '-f', file, '--prune', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ deleted: string[] }>().deleted).toEqual([old[0]]);
    const left = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents!.map((o) => o.Key!);
    expect(left).toEqual([old[1]]);
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: old[1] }));
    expect(h.ContentLength).toBe(1);
  });

  it('status shows the bytes every snapshot version takes, the pruned (noncurrent) ones included', async () => {
    await clearSnapshots();
    // a 1.5 MiB snapshot pruned (now a noncurrent version behind a delete marker) and a small current one
    const pruned = snapshotKey(new Date(Date.now() - 20 * 86400_000));
    await plant([pruned], randomBytes(1536 * 1024));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: pruned }));
    await plant([snapshotKey(new Date(Date.now() - 60_000))], randomBytes(4096));
    const versions = (await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'etcd/' }))).Versions ?? [];
    const sum = (vs: typeof versions) => vs.reduce((n, v) => n + (v.Size ?? 0), 0);
    const noncurrent = versions.filter((v) => !v.IsLatest);
    expect(noncurrent.map((v) => v.Key)).toEqual([pruned]);
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const out = r.json<{ etcdBackups: { bytes: number; noncurrentBytes: number } }>();
    expect(out.etcdBackups.bytes).toBe(sum(versions));
    expect(out.etcdBackups.noncurrentBytes).toBe(sum(noncurrent));
    expect(out.etcdBackups.noncurrentBytes).toBe(1536 * 1024); // the pruned snapshot, still counted
    expect(out.etcdBackups.bytes).toBe(1536 * 1024 + 4096);
    const text = await kubeaz(['status', '-f', file], env);
    expect(unwrapped(text.stdout)).toContain(
      'etcd backups take 1.5 MiB in the bucket (1.5 MiB of it pruned versions awaiting the lifecycle rule)',
    );
    expect(unwrapped(text.stdout)).toMatch(
      /etcd backups take [\d.]+ (KiB|MiB|GiB) in the bucket \([\d.]+ (B|KiB|MiB|GiB) of it pruned versions awaiting the lifecycle rule\)/,
    );
  });

  it('through SSM: moto runs nothing, so no new object appears — and that is a clear error', async () => {
    const r = await kubeaz(['backup-etcd', '-f', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /asking the master i-[0-9a-f]+ \(master\) through SSM to take a backup \(kubeaz-agent backup, or kubeaz-etcd-backup\.service on an older master\)/,
    );
    // verified: the command's "Success" alone is not a backup
    expect(r.stderr).toMatch(
      /no new snapshot appeared in s3:\/\/kubeaz-eb-qa-123456789012\/etcd\/ .*after asking every running master: i-[0-9a-f]+: reported the backup command \S+ done, but no new snapshot appeared/,
    );
  });

  it('--etcd-endpoint with several endpoints: the member that answers Status as leader is snapshotted, one that does not answer is passed over', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await kubeaz(
      ['backup-etcd', '-f', file, '--etcd-endpoint', `${dead},${etcd.url}`, '--etcd-cluster-id', cid, '--output', 'json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ endpoint: string; leader: boolean; memberId: string }>()).toMatchObject({
      endpoint: etcd.url,
      leader: true,
      memberId: expect.stringMatching(/^\d+$/),
    });
    const text = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', `${dead},${etcd.url}`, '--etcd-cluster-id', cid], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toContain(`taking a snapshot of ${etcd.url}: the leader`);
    const none = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', dead, '--etcd-cluster-id', cid], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `no healthy etcd member (one that knows a leader and reports no alarm) answers at ${dead}: nothing was snapshotted`,
    );
  });

  it('the snapshot file kubeaz verified is what etcdctl would have saved', async () => {
    // etcdctl's own snapshot of the same (now quiet) etcd has the same shape: database + sha256 trailer
    const own = path.join(dir, 'etcdctl.db');
    etcdctl(etcd.url, ['snapshot', 'save', own]);
    const body = await readFile(own);
    expect(body.subarray(-32).toString('hex')).toBe(createHash('sha256').update(body.subarray(0, -32)).digest('hex'));
    const r = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', etcd.url, '--etcd-cluster-id', cid, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const ours = await download(r.json<BackupJson>().key);
    expect(ours.body.length).toBe((await stat(own)).size);
  });
});
