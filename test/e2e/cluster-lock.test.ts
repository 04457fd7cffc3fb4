/**
 * The cluster lock every checkout sees (issue 9, item 6), through the real CLI against moto: the same
 * spec in two directories (two local locks) shares `kubeaz/<id>.lock` in the cluster's bucket.
 *   - a destroy started in one checkout while a create runs in the other is refused, naming the holder;
 *   - a no-op create writes nothing but its lock (one PutObject, one DeleteObject) and leaves no lock;
 *   - a holder that is gone does not lock the cluster forever: a lock past its lease, or held by a
 *     pid that no longer runs on this host, is taken over; a live lease is not; --force-unlock works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { motoEnv, startMoto, type Moto } from '../../src/devtools/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const ACCOUNT = '123456789012';
const BUCKET = `kubeaz-lk-dev-${ACCOUNT}`;
const KEY = 'kubeaz/lk-dev.lock';
const SPEC = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: lk, environment: dev }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: workers, instanceType: t3.medium, minSize: 1, maxSize: 2 }
`;

describe('the cluster lock every checkout sees', { timeout: 900_000 }, () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let dir: string;
  let env: Record<string, string>;
  let s3: S3Client;
  const fileA = () => path.join(dir, 'a', 'cluster.yaml');
  const fileB = () => path.join(dir, 'b', 'cluster.yaml');
  const lockThere = () => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY })).then(() => true, () => false);

  beforeAll(async () => {
    moto = await startMoto();
    env = { ...motoEnv(moto.url), KUBEAZ_LOCK_LEASE_SECONDS: '60' };
    Object.assign(process.env, motoEnv(moto.url));
    delete process.env.AWS_PROFILE;
    s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true });
    proxy = await startFaultProxy(moto.url);
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-lock-'));
    for (const f of [fileA(), fileB()]) {
      await mkdir(path.dirname(f), { recursive: true });
      await writeFile(f, SPEC);
    }
    const c = await kubeaz(['create', '-f', fileA(), '--yes'], env);
    expect(c.code, c.stderr).toBe(0);
  });
  afterAll(async () => {
    await proxy?.close();
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a destroy in one checkout while a create runs in the other is refused, naming the holder', async () => {
    // checkout A's create goes through a slow proxy, so it holds the lock for a while
    proxy.configure({ latencyMs: 400 });
    let pidA = 0;
    const a = kubeaz(['create', '-f', fileA(), '--yes'], { ...env, ...motoEnv(proxy.url) }, { onSpawn: (p) => (pidA = p) });
    const deadline = Date.now() + 60_000;
    while (!(await lockThere()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const held = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))).Body!.transformToString()) as Record<string, unknown>;
    expect(held).toMatchObject({ pid: pidA, host: hostname(), command: 'create' });
    expect(Date.parse(String(held.expiresAt))).toBeGreaterThan(Date.now());
    const b = await kubeaz(['destroy', '-f', fileB(), '--yes'], env);
    const doneA = await a;
    proxy.configure({ latencyMs: 0 });
    expect(b.code, `${b.stderr}\n--- A:\n${doneA.stderr}`).toBe(1);
    expect(b.stderr).toContain(`another kubeaz run holds the lock on this cluster: `);
    expect(b.stderr).toContain(`on ${hostname()}, pid ${pidA} (create, since ${String(held.startedAt)}); lock id ${String(held.lockId)} (s3://${BUCKET}/${KEY}`);
    expect(doneA.code, doneA.stderr).toBe(0);
    // A released its lock; B's refused destroy touched nothing: A's cluster plans clean from B
    expect(await lockThere()).toBe(false);
    const plan = await kubeaz(['plan', '-f', fileB(), '--output', 'json'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json<{ summary: Record<string, number> }>().summary).toMatchObject({ create: 0, update: 0, delete: 0 });
  });

  it('a no-op create writes nothing but its lock: one PutObject and one DeleteObject on it, within the 40-call budget', async () => {
    const callsFile = path.join(dir, 'noop.calls.json');
    // the default lease (120 s): a run this short never renews
    const r = await kubeaz(['create', '-f', fileB(), '--yes'], { ...env, KUBEAZ_LOCK_LEASE_SECONDS: undefined, KUBEAZ_CALLS_FILE: callsFile });
    expect(r.code, r.stderr).toBe(0);
    const calls = JSON.parse(await readFile(callsFile, 'utf8')) as { total: number; mutating: number; lock: number; byAction: Record<string, number> };
    expect(calls.mutating).toBe(0);
    expect(calls.lock).toBe(2);
    expect(calls.byAction['s3:PutObject']).toBe(1);
    expect(calls.byAction['s3:DeleteObject']).toBe(1);
    expect(calls.total, JSON.stringify(calls.byAction)).toBeLessThanOrEqual(40);
    expect(await lockThere()).toBe(false);
  });

  const plant = (lock: Record<string, unknown>) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: JSON.stringify(lock) }));
  const other = { holder: 'alice', host: 'laptop-7', pid: 4242, command: 'create', startedAt: '2026-01-01T00:00:00.000Z', lockId: '11111111-2222-3333-4444-555555555555' };

  it('a lock within its lease is refused; past its lease it is taken over (the holder stopped renewing)', async () => {
    await plant({ ...other, expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const refused = await kubeaz(['create', '-f', fileB(), '--yes'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/alice on laptop-7, pid 4242 \(create, since 2026-01-01T00:00:00.000Z\); lock id 11111111-2222-3333-4444-555555555555 \(s3:\/\/\S+, lease renewed until /);
    await plant({ ...other, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const taken = await kubeaz(['create', '-f', fileB(), '--yes'], env);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(/took over the lock s3:\/\/\S+ of alice on laptop-7, pid 4242 .*its lease ran out/);
    expect(await lockThere()).toBe(false);
  });

  it('a lock of a pid that no longer runs on this host is taken over; --force-unlock names a lock to take over', async () => {
    const dead = 2 ** 22 - 3; // above the usual pid_max
    await plant({ ...other, host: hostname(), pid: dead, expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const taken = await kubeaz(['create', '-f', fileA(), '--yes'], env);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(new RegExp(`pid ${dead} no longer runs on this host`));
    await plant({ ...other, expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const forced = await kubeaz(['create', '-f', fileA(), '--yes', '--force-unlock', other.lockId], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force-unlock 11111111/);
    expect(await lockThere()).toBe(false);
  });

  it('a run that lives longer than its lease renews it, so nobody takes it over; destroy leaves no lock and no bucket', async () => {
    // a lease of 15 s; the create through a slow proxy runs longer: past its first lease, the lock is
    // still its, renewed (a loaded machine can stall a process for seconds: the lease leaves room)
    proxy.configure({ latencyMs: 2500 });
    const lease = { ...env, KUBEAZ_LOCK_LEASE_SECONDS: '15' };
    const a = kubeaz(['create', '-f', fileA(), '--yes'], { ...lease, ...motoEnv(proxy.url) }, { timeoutMs: 600_000 });
    while (!(await lockThere())) await new Promise((r) => setTimeout(r, 50));
    const read = async () => JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))).Body!.transformToString()) as { lockId: string; expiresAt: string };
    const first = await read();
    while (Date.now() < Date.parse(first.expiresAt) + 1000) await new Promise((r) => setTimeout(r, 100));
    const renewed = await read();
    expect(renewed.lockId).toBe(first.lockId);
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    const b = await kubeaz(['destroy', '-f', fileB(), '--yes'], lease);
    const doneA = await a;
    proxy.configure({ latencyMs: 0 });
    expect(doneA.code, doneA.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(1);
    expect(b.stderr).toMatch(/another kubeaz run holds the lock/);
    const d = await kubeaz(['destroy', '-f', fileB(), '--yes'], env);
    expect(d.code, d.stderr).toBe(0);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY }))).rejects.toThrow();
  });
});
