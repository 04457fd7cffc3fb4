/**
 * Shared state in S3 against moto (which honours If-None-Match): two creates at once on the same
 * cluster and state location — one proceeds, the other is refused naming the holder; the lock is
 * gone afterwards; the state's history is in the bucket's versions; a stale lock is taken over only
 * with --force-unlock naming its id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const BUCKET = 'team-state';
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: team, environment: qa }
spec:
  region: us-west-2
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
`;

// a story on one cluster: its steps build on each other, so they keep their order under --sequence.shuffle
describe('state in S3', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    s3 = new S3Client({ region: 'us-west-2', forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-s3state-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two creates at once: one proceeds, the other is told who holds the lock', async () => {
    const args = ['create', '-f', file, '--yes', '--state', `s3://${BUCKET}/clusters`];
    const [a, b] = await Promise.all([kubeaz(args, env), kubeaz(args, env)]);
    const codes = [a.code, b.code].sort();
    expect(codes, a.stderr + b.stderr).toEqual([0, 1]);
    const loser = a.code === 1 ? a : b;
    expect(loser.stderr).toMatch(
      /another kubeaz run holds the lock on this cluster: \S+ on \S+, pid \d+ \(create, since [0-9T:.-]+Z\); lock id [0-9a-f-]{36}/,
    );
    expect(loser.stderr).toMatch(/--force-unlock [0-9a-f-]{36}/);
    // the state is in S3, not beside the spec; the lock is released
    expect(existsSync(path.join(dir, '.kubeaz'))).toBe(false);
    const doc = JSON.parse(
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'clusters/team-qa.json' }))).Body!.transformToString(),
    );
    expect(doc.phase).toBe('ready');
    expect(doc.resources.vpc.id).toMatch(/^vpc-/);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'clusters/team-qa.lock' }))).rejects.toThrow();
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'clusters/team-qa.json' }));
    expect((versions.Versions ?? []).length).toBeGreaterThan(2);
  });

  it('a stale lock: refused naming it; taken over only with --force-unlock and its id', async () => {
    const stale = {
      holder: 'alice',
      host: 'laptop-7',
      pid: 4242,
      command: 'create',
      startedAt: '2026-01-01T00:00:00.000Z',
      lockId: '11111111-2222-3333-4444-555555555555',
    };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clusters/team-qa.lock', Body: JSON.stringify(stale) }));
    const refused = await kubeaz(['create', '-f', file, '--yes', '--state', `s3://${BUCKET}/clusters`], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /alice on laptop-7, pid 4242 \(create, since 2026-01-01T00:00:00.000Z\); lock id 11111111-2222-3333-4444-555555555555/,
    );
    const wrong = await kubeaz(
      ['create', '-f', file, '--yes', '--state', `s3://${BUCKET}/clusters`, '--force-unlock', 'not-this-one'],
      env,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/does not name this lock/);
    const ok = await kubeaz(['create', '-f', file, '--yes', '--state', `s3://${BUCKET}/clusters`, '--force-unlock', stale.lockId], env);
    expect(ok.code, ok.stderr).toBe(0);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'clusters/team-qa.lock' }))).rejects.toThrow();
  });

  it('state: in the spec selects S3 too', async () => {
    await writeFile(file, spec.replace('  controlPlane:', `  state: s3://${BUCKET}/clusters\n  controlPlane:`));
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'clusters/team-qa.lock',
        Body: JSON.stringify({ holder: 'bob', host: 'ci', pid: 1, command: 'destroy', startedAt: 'x', lockId: 'abc' }),
      }),
    );
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bob on ci, pid 1 \(destroy/);
  });
});
