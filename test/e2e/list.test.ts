/**
 * Finding and recovering clusters without a spec file (issue 21): `kubeaz list` finds every
 * cluster of the account by kubeaz's tags (one region, the SDK's default region, every region);
 * `kubeaz get-spec NAME-ENV` prints the spec a cluster was last created from, kept in its bucket —
 * after a destroy too while the backups are kept, and not after destroy --delete-backups; `-f`
 * defaults to ./cluster.yaml.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { snapshotKey } from '../../src/etcd/retention.js';
import { parseSpec } from '../../src/spec/load.js';
import { kubeaz } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

const ALPHA = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: alpha, environment: dev }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  controlPlane: { instanceType: m4.large }
  nodeGroups:
    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }
`;

// another name and environment, two groups, the forms the schema completes (instanceTypes, desiredCapacity, labels)
const BETA = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: beta, environment: prod }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.34.2"
  network: { vpcCidr: 10.1.0.0/16, nat: single }
  controlPlane: { instanceType: m4.large }
  nodeGroups:
    - { name: workers, instanceType: m4.large, minSize: 1, desiredCapacity: 2, maxSize: 3, labels: { tier: web } }
    - { name: batch, instanceTypes: [m4.large, m5.large], minSize: 0, maxSize: 2 }
  tags: { team: shop }
`;

interface Listed {
  command: string;
  cluster: null;
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  regions: string[];
  clusters: Array<{
    id: string;
    name: string;
    environment: string;
    region: string;
    kubernetesVersion: string;
    masters: number;
    nodeGroups: Array<{ name: string; min: number; desired: number; max: number }>;
    created: string;
    vpcId: string;
  }>;
}

const NOW = new Date();
const same = (stored: string, input: string) =>
  expect(parseSpec(stored, 'stored.yaml', NOW).spec).toEqual(parseSpec(input, 'in.yaml', NOW).spec);

// The tests of this suite are the steps of one story (create two, list, recover, destroy), each
// building on the one before: declared in order, so a shuffled run keeps it.
describe('list and get-spec: clusters found by their tags, specs recovered from their buckets', { shuffle: false }, () => {
  const moto = useMoto({ processEnv: true });
  let dir: string;
  let env: Record<string, string>;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-list-'));
    for (const [name, text] of [
      ['alpha', ALPHA],
      ['beta', BETA],
    ] as const) {
      files[name] = path.join(dir, `${name}.yaml`);
      await writeFile(files[name]!, text);
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('with no cluster, list says so (exit 0)', async () => {
    const r = await kubeaz(['list', '--region', REGION], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`no kubeaz clusters in ${REGION}\n`);
  });

  it('create two clusters of different names and environments', async () => {
    for (const f of [files.alpha!, files.beta!]) {
      const r = await kubeaz(['create', '-f', f, '--yes'], env);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('list --output json: both, with masters, version and every node group with min/desired/max, in the envelope', async () => {
    const r = await kubeaz(['list', '--region', REGION, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<Listed>();
    expect(out).toMatchObject({ command: 'list', cluster: null, ok: true, regions: [REGION] });
    expect(out.calls.mutating).toBe(0);
    expect(out.calls.byAction).toEqual({ 'ec2:DescribeVpcs': 1, 'autoscaling:DescribeAutoScalingGroups': 1 });
    expect(out.calls.total).toBe(2);
    expect(out.clusters.map((c) => c.id)).toEqual(['alpha-dev', 'beta-prod']);
    const [alpha, beta] = out.clusters;
    expect(alpha).toMatchObject({
      name: 'alpha',
      environment: 'dev',
      region: REGION,
      kubernetesVersion: '1.35.0',
      masters: 1,
      nodeGroups: [{ name: 'workers', min: 1, desired: 1, max: 2 }],
    });
    expect(beta).toMatchObject({
      name: 'beta',
      environment: 'prod',
      region: REGION,
      kubernetesVersion: '1.34.2',
      masters: 1,
      nodeGroups: [
        { name: 'batch', min: 0, desired: 0, max: 2 },
        { name: 'workers', min: 1, desired: 2, max: 3 },
      ],
    });
    for (const c of out.clusters) {
      expect(c.vpcId, c.id).toMatch(/^vpc-/);
      expect(Date.parse(c.created), c.id).not.toBeNaN();
    }
  });

  it("list without --region looks in the SDK's default region, and says how to give one when there is none", async () => {
    const r = await kubeaz(['list'], { ...env, AWS_REGION: REGION });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +ENVIRONMENT +REGION +KUBERNETES +MASTERS +NODE GROUPS \(min\/desired\/max\) +CREATED$/);
    expect(lines[1]).toMatch(/^alpha +dev +us-east-1 +1\.35\.0 +1 +workers 1\/1\/2 +\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(lines[2]).toMatch(/^beta +prod +us-east-1 +1\.34\.2 +1 +batch 0\/0\/2, workers 1\/2\/3 +\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(lines).toHaveLength(3);
    expect(r.stderr).toBe('(2 AWS calls (0 mutating))\n');
    const none = await kubeaz(['list'], { ...env, AWS_REGION: undefined, AWS_PROFILE: undefined, AWS_CONFIG_FILE: path.join(dir, 'none') });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: no AWS region: pass --region R \(or --all-regions\), set AWS_REGION/);
  });

  it('list --all-regions reads every enabled region and finds both clusters once, in theirs', async () => {
    const r = await kubeaz(['list', '--all-regions', '--output', 'json'], { ...env, AWS_REGION: 'eu-west-1' });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<Listed>();
    expect(out.regions.length).toBeGreaterThan(10);
    expect(out.regions).toContain(REGION);
    expect(out.clusters.map((c) => `${c.id}@${c.region}`)).toEqual([`alpha-dev@${REGION}`, `beta-prod@${REGION}`]);
    // one DescribeRegions, then the two reads per region
    expect(out.calls.byAction['ec2:DescribeRegions']).toBe(1);
    expect(out.calls.byAction['ec2:DescribeVpcs']).toBe(out.regions.length);
    expect(out.calls.byAction['autoscaling:DescribeAutoScalingGroups']).toBe(out.regions.length);
    const both = await kubeaz(['list', '--all-regions', '--region', REGION], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--region and --all-regions: give one of them/);
  });

  it('get-spec prints the spec each cluster was created from: parsed, it is the input', async () => {
    for (const [id, input] of [
      ['alpha-dev', ALPHA],
      ['beta-prod', BETA],
    ] as const) {
      const r = await kubeaz(['get-spec', id], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^# The spec cluster ${id} was last created from`));
      same(r.stdout, input);
      expect(r.stderr).toContain(`s3://kubeaz-${id}-${ACCOUNT}/spec/cluster.yaml`);
    }
    const j = await kubeaz(['get-spec', 'beta-prod', '--region', REGION, '--output', 'json'], env);
    expect(j.code, j.stderr).toBe(0);
    const out = j.json<{ command: string; cluster: string; ok: boolean; calls: { mutating: number }; location: string; spec: unknown }>();
    expect(out).toMatchObject({
      command: 'get-spec',
      cluster: 'beta-prod',
      ok: true,
      location: `s3://kubeaz-beta-prod-${ACCOUNT}/spec/cluster.yaml`,
    });
    expect(out.calls.mutating).toBe(0);
    same(JSON.stringify(out.spec), BETA);
  });

  it('get-spec refuses another region than the bucket’s, a cluster that has none, and a malformed id', async () => {
    const elsewhere = await kubeaz(['get-spec', 'alpha-dev', '--region', 'eu-west-1'], env);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toBe(
      `error: alpha-dev does not live in eu-west-1: its bucket s3://kubeaz-alpha-dev-${ACCOUNT} is in ${REGION} (run with --region ${REGION})\n`,
    );
    const missing = await kubeaz(['get-spec', 'gamma-dev', '--output', 'json'], env);
    expect(missing.code).toBe(1);
    expect(missing.json()).toMatchObject({ command: 'get-spec', cluster: 'gamma-dev', ok: false, error: { code: 'NoSpecKept' } });
    const bad = await kubeaz(['get-spec', 'alpha'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: alpha: expected a cluster id, NAME-ENVIRONMENT/);
  });

  it('-f defaults to ./cluster.yaml when it exists, and says so when neither is there', async () => {
    const here = path.join(dir, 'alpha');
    await mkdir(here);
    const empty = await kubeaz(['plan', '--detailed-exitcode'], env, { cwd: here });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe(
      `error: no spec file: pass -f FILE, or run where ./cluster.yaml is (there is none in ${here}); see 'kubeaz plan --help'\n`,
    );
    // the spec recovered with get-spec is the handle: plan in its directory finds nothing to change
    await writeFile(path.join(here, 'cluster.yaml'), (await kubeaz(['get-spec', 'alpha-dev'], env)).stdout);
    const plan = await kubeaz(['plan', '--detailed-exitcode'], env, { cwd: here });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const validate = await kubeaz(['validate'], env, { cwd: here });
    expect(validate.code, validate.stderr).toBe(0);
  });

  it('after destroy with the backups kept, list no longer shows the cluster and get-spec still prints its spec', async () => {
    const s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const body = randomBytes(1024);
    await s3.send(
      new PutObjectCommand({
        Bucket: `kubeaz-alpha-dev-${ACCOUNT}`,
        Key: snapshotKey(new Date(Date.now() - 60_000)),
        Body: body,
        ServerSideEncryption: 'AES256',
        Metadata: { sha256: createHash('sha256').update(body).digest('hex') },
      }),
    );
    const d = await kubeaz(['destroy', '-f', files.alpha!, '--yes'], env);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toContain(
      `and the spec it was last created from in s3://kubeaz-alpha-dev-${ACCOUNT}/spec/cluster.yaml (kubeaz get-spec alpha-dev prints it)`,
    );
    const listed = (await kubeaz(['list', '--region', REGION, '--output', 'json'], env)).json<Listed>();
    expect(listed.clusters.map((c) => c.id)).toEqual(['beta-prod']);
    const r = await kubeaz(['get-spec', 'alpha-dev'], env);
    expect(r.code, r.stderr).toBe(0);
    same(r.stdout, ALPHA);
  });

  it('after destroy --delete-backups, get-spec says no spec is kept', async () => {
    const d = await kubeaz(['destroy', '-f', files.alpha!, '--yes', '--delete-backups'], env);
    expect(d.code, d.stderr).toBe(0);
    const r = await kubeaz(['get-spec', 'alpha-dev'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: no spec is kept for alpha-dev in account ${ACCOUNT}: its bucket s3://kubeaz-alpha-dev-${ACCOUNT} does not exist (never created, destroyed with --delete-backups, or destroyed with no etcd backup to keep)\n`,
    );
  });

  it('destroy without backups takes the spec with the bucket', async () => {
    const d = await kubeaz(['destroy', '-f', files.beta!, '--yes'], env);
    expect(d.code, d.stderr).toBe(0);
    expect((await kubeaz(['get-spec', 'beta-prod'], env)).code).toBe(1);
    expect((await kubeaz(['list', '--region', REGION], env)).stdout).toBe(`no kubeaz clusters in ${REGION}\n`);
  });
});
