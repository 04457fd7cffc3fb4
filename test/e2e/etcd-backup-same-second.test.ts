/**
 * Two etcd backups in the same second (issue 23 #11): the master's timer and an on-demand
 * `kubeaz backup-etcd`, or two runs. A loopback proxy in front of moto plays the other backup: on
 * the CLI's first snapshot upload it writes that very key to moto first (the timer won the
 * second), then forwards the CLI's conditional write, which S3 refuses. The CLI must then wait for
 * the next second and write there — never overwrite, never fail with "run again" — under a key
 * retention still parses. REAL etcd (snapshot through gRPC), moto on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { freePort, motoEnv } from '../../src/devtools/moto.js';
import { useMoto } from '../helpers/moto.js';
import { planRetention, snapshotKey, snapshotTime } from '../../src/etcd/retention.js';
import { kubeaz } from '../helpers/cli.js';
import { etcdClusterIdHex } from '../helpers/etcd.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-ss-qa-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ss, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
  etcd: { backupIntervalMinutes: 15, backupRetentionDays: 7 }
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
const SNAPSHOT_PATH = new RegExp(`^/${BUCKET}/(etcd/\\d{8}T\\d{6}Z\\.db)(\\?|$)`);

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe.skipIf(!HAVE_ETCD)('backup-etcd: two backups in the same second', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let s3: S3Client;
  let etcd: ChildProcess;
  let etcdUrl: string;
  let proxy: Server;
  let proxyUrl: string;
  /** keys the proxy wrote as "the other backup", and every snapshot PUT it saw */
  const planted: string[] = [];
  const puts: string[] = [];
  let plant = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-ss-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));

    const upstream = new URL(moto.url);
    const forward = (req: IncomingMessage, body: Buffer) =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
        const headers = { ...req.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        const up = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
            res.on('error', reject);
          },
        );
        up.on('error', reject);
        up.end(body);
      });
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        try {
          const m = req.method === 'PUT' ? SNAPSHOT_PATH.exec(req.url ?? '') : null;
          if (m) {
            puts.push(m[1]!);
            if (plant > 0) {
              // the other backup of the same second gets there first
              plant--;
              await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: m[1]!, Body: `the timer's snapshot ${m[1]}`, IfNoneMatch: '*' }));
              planted.push(m[1]!);
            }
          }
          const a = await forward(req, Buffer.concat(chunks));
          res.writeHead(a.status, a.headers);
          res.end(a.body);
        } catch (e) {
          res.writeHead(502);
          res.end(String(e));
        }
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const [client, peer] = [await freePort(), await freePort()];
    etcdUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    etcd = spawn(
      'etcd',
      [
        '--name',
        'default',
        '--data-dir',
        path.join(dir, 'etcd'),
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `default=${peerUrl}`,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; ; i++) {
      try {
        execFileSync('etcdctl', ['--endpoints', etcdUrl, '--command-timeout', '5s', 'put', 'greeting', 'hello'], {
          env: { ...process.env, ETCDCTL_API: '3' },
          stdio: 'ignore',
        });
        break;
      } catch (e) {
        if (i > 150) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 120_000);
  afterAll(async () => {
    if (etcd && etcd.exitCode === null) {
      const gone = new Promise((r) => etcd.once('exit', r));
      etcd.kill('SIGTERM');
      await gone;
    }
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const backup = () =>
    kubeaz(
      ['backup-etcd', '-f', file, '--etcd-endpoint', etcdUrl, '--etcd-cluster-id', etcdClusterIdHex(etcdUrl), '--output', 'json'],
      motoEnv(proxyUrl),
    );

  it('the second backup of a second waits for the next one and writes there; the first stays as it was', async () => {
    plant = 1;
    const r = await backup();
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ key: string; sha256: string }>();
    expect(planted).toHaveLength(1);
    const taken = planted[0]!;
    expect(puts).toEqual([taken, out.key]);
    expect(snapshotTime(out.key)).toBe(snapshotTime(taken)! + 1);
    expect(out.key).toBe(snapshotKey(new Date((snapshotTime(taken)! + 1) * 1000)));
    // written when that second had come, not ahead of the clock
    expect(snapshotTime(out.key)! * 1000).toBeLessThanOrEqual(Date.now());
    const other = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: taken }));
    expect(await other.Body!.transformToString()).toBe(`the timer's snapshot ${taken}`);
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: out.key }))).Metadata?.sha256).toBe(out.sha256);
    // retention parses both: the two newest, both kept
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents ?? []).map((o) => o.Key!);
    expect(keys.sort()).toEqual([taken, out.key].sort());
    expect(planRetention(keys, new Date(), 7).keep).toEqual([taken, out.key].sort());
  }, 180_000);

  it('three taken seconds in a row: still written, in the fourth', async () => {
    planted.length = 0;
    puts.length = 0;
    plant = 3;
    const r = await backup();
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ key: string }>();
    expect(planted).toHaveLength(3);
    expect(puts).toEqual([...planted, out.key]);
    expect(planted.map((k) => snapshotTime(k)! - snapshotTime(planted[0]!)!)).toEqual([0, 1, 2]);
    expect(snapshotTime(out.key)).toBe(snapshotTime(planted[0]!)! + 3);
    for (const k of planted)
      expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }))).Body!.transformToString()).toBe(
        `the timer's snapshot ${k}`,
      );
  }, 180_000);
});
