/**
 * plan against moto through the real CLI: an unchanged cluster's plan is empty with zero mutating
 * calls (exit 0 with --detailed-exitcode); a change is exit 4 with its JSON plan; a VPC CIDR change
 * is refused with its reason by plan and by create, and create then changes nothing at all. Add-on
 * versions the masters recorded that differ from the table are a note in plan and status (no change).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useMoto } from '../helpers/moto.js';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { addonVersionSet } from '../../src/model/addon-versions.js';
import { renderRecord, type AddonsRecord } from '../../src/records/etcd.js';
import {
  ConfigureHealthCheckCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingClient,
  ModifyLoadBalancerAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing';

const spec = (over: { cidr?: string; max?: number } = {}) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: plan, environment: qa }
spec:
  region: us-west-2
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: ${over.cidr ?? '172.20.0.0/20'}
    nat: single
    apiAccess: [203.0.113.0/24]
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: ${over.max ?? 3}, desiredCapacity: 1 }
`;

type PlanJson = Plan & { calls: { total: number; mutating: number; byAction: Record<string, number> } };

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('plan', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-plan-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec());
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let planned = 0;
  it('before the cluster exists: everything to create, exit 4, no mutating call', async () => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(4);
    const p = r.json<PlanJson>();
    expect(p.version).toBe(1);
    expect(p.summary.create).toBe(p.changes.length);
    // the example spec's whole graph (network, security groups, bucket and its objects, IAM, DNS, ELBs, groups)
    expect(p.summary.create).toBeGreaterThan(35);
    planned = p.summary.create;
    expect(p.calls.mutating).toBe(0);
    const dry = await kubeaz(['create', '-f', file, '--dry-run', '--output', 'json'], env);
    expect(dry.code).toBe(0);
    expect(dry.json<PlanJson>().summary).toEqual(p.summary);
    expect(dry.json<PlanJson>().calls.mutating).toBe(0);
  });

  it('an unchanged cluster: nothing to do, zero mutating calls, exit 0 with --detailed-exitcode', async () => {
    const c = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(c.code, c.stderr).toBe(0);
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<PlanJson>();
    expect(p.changes).toEqual([]);
    expect(p.summary).toMatchObject({ create: 0, update: 0, delete: 0, refuse: 0 });
    // every resource the plan said it would create is there and unchanged
    expect(p.summary.unchanged).toBe(planned);
    expect(p.calls.mutating).toBe(0);
    console.log(`plan of an unchanged cluster: ${p.calls.total} calls, 0 mutating`);
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/nothing to do/);
    // create of an unchanged cluster: no question needed, zero mutating calls
    const again = await kubeaz(['create', '-f', file, '--output', 'json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ calls: { mutating: number } }>().calls.mutating).toBe(0);
  });

  it('add-on versions the masters recorded (addons.json) that differ from the table: a note in plan and status, no change, exit 0; one GetObject more, none in create', async () => {
    const table = addonVersionSet('1.35.0');
    const record = {
      fingerprint: 'a'.repeat(64),
      by: 'i-0123456789abcdef0',
      group: 'master',
      state: 'installed',
      at: '2026-12-01T10:00:00Z',
      ...table,
      clusterAutoscalerChart: '9.59.1',
    };
    const s3 = new S3Client({
      region: 'us-west-2',
      forcePathStyle: true,
      endpoint: env.AWS_ENDPOINT_URL!,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: 'kubeaz-plan-qa-123456789012',
        Key: 'etcd/control-plane/addons.json',
        Body: renderRecord(record as AddonsRecord),
      }),
    );
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<PlanJson>();
    expect(p.changes).toEqual([]);
    expect(p.addonVersions?.differences).toEqual([
      { addon: 'cluster-autoscaler', what: 'chart', recorded: '9.59.1', table: table.clusterAutoscalerChart },
    ]);
    expect(p.calls.byAction['s3:GetObject']).toBe(1);
    expect(p.calls.mutating).toBe(0);
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.stdout).toContain(
      `note: add-on versions differ from this kubeaz's: cluster-autoscaler 9.59.1 → ${table.clusterAutoscalerChart}; a master rollout installs them`,
    );
    const st = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    expect(st.json<{ addonVersions?: { differences: unknown[] } }>().addonVersions?.differences).toHaveLength(1);
    // create never reads it
    const callsFile = path.join(dir, 'calls.json');
    const c = await kubeaz(['create', '-f', file, '--yes'], { ...env, KUBEAZ_CALLS_FILE: callsFile });
    expect(c.code, c.stderr).toBe(0);
    expect((JSON.parse(await readFile(callsFile, 'utf8')) as PlanJson['calls']).byAction['s3:GetObject'] ?? 0).toBe(0);
    // the record equal to the table: no note
    await s3.send(
      new PutObjectCommand({
        Bucket: 'kubeaz-plan-qa-123456789012',
        Key: 'etcd/control-plane/addons.json',
        Body: renderRecord({ ...record, ...table } as AddonsRecord),
      }),
    );
    expect((await kubeaz(['plan', '-f', file, '--output', 'json'], env)).json<PlanJson>().addonVersions).toBeUndefined();
  });

  it('a change: exit 4, field old → new, still no mutating call; create without a terminal or --yes refuses (exit 2)', async () => {
    await writeFile(file, spec({ max: 5 }));
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(4);
    const p = r.json<PlanJson>();
    expect(p.calls.mutating).toBe(0);
    expect(p.changes).toEqual([
      {
        key: 'asg/general',
        kind: 'auto-scaling-group',
        action: 'update',
        id: 'plan-qa-general',
        fields: [{ field: 'maxSize', from: 3, to: 5 }],
      },
    ]);
    console.log(`JSON plan of a resize:\n${JSON.stringify({ ...p, calls: undefined }, null, 2)}`);
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.stdout).toMatch(/~ asg\/general .*\n\s+maxSize: 3 → 5/);
    const refused = await kubeaz(['create', '-f', file], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes/);
    await writeFile(file, spec());
  });

  it('an API ELB still on the old SSL:6443 health check shows in plan as an in-place update that create applies', async () => {
    const elb = new ElasticLoadBalancingClient({
      region: 'us-west-2',
      endpoint: moto.url,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    for (const name of ['plan-qa-api', 'plan-qa-api-int']) {
      await elb.send(
        new ConfigureHealthCheckCommand({
          LoadBalancerName: name,
          HealthCheck: { Target: 'SSL:6443', Interval: 10, Timeout: 5, HealthyThreshold: 2, UnhealthyThreshold: 3 },
        }),
      );
      await elb.send(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerName: name,
          LoadBalancerAttributes: { ConnectionSettings: { IdleTimeout: 60 }, ConnectionDraining: { Enabled: false } },
        }),
      );
    }
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(4);
    const p = r.json<PlanJson>();
    expect(p.changes.map((c) => [c.key, c.action]).sort()).toEqual([
      ['elb/internal', 'update'],
      ['elb/public', 'update'],
    ]);
    for (const c of p.changes) {
      expect(c.fields.map((f) => f.field).sort()).toEqual(['connectionDraining', 'healthCheck', 'idleTimeout']);
      expect(c.fields.find((f) => f.field === 'healthCheck')).toMatchObject({ from: { target: 'SSL:6443' }, to: { target: 'TCP:6443' } });
    }
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.stdout).toMatch(/~ elb\/internal/);
    const c = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(c.code, c.stderr).toBe(0);
    for (const name of ['plan-qa-api', 'plan-qa-api-int']) {
      const lb = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }))).LoadBalancerDescriptions![0]!;
      expect(lb.HealthCheck?.Target).toBe('TCP:6443');
      const a = await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerName: name }));
      expect(a.LoadBalancerAttributes?.ConnectionSettings?.IdleTimeout).toBe(300);
      expect(a.LoadBalancerAttributes?.ConnectionDraining?.Enabled).toBe(true);
    }
    const again = await kubeaz(['plan', '-f', file, '--detailed-exitcode'], env);
    expect(again.code, again.stdout).toBe(0);
  });

  it('a VPC CIDR change is refused with a reason by plan and by create, and nothing is changed', async () => {
    await writeFile(file, spec({ cidr: '172.21.0.0/20' }));
    const r = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
    expect(r.code).toBe(1);
    const p = r.json<PlanJson>();
    const vpc = p.changes.find((c) => c.key === 'vpc')!;
    expect(vpc).toMatchObject({ action: 'refuse', fields: [{ field: 'cidr', from: '172.20.0.0/20', to: '172.21.0.0/20' }] });
    expect(vpc.reason).toMatch(/cannot be changed in place/);
    expect(
      p.changes
        .filter((c) => c.action === 'refuse')
        .map((c) => c.key)
        .sort(),
    ).toEqual(
      ['subnet/private/us-west-2a', 'subnet/private/us-west-2b', 'subnet/public/us-west-2a', 'subnet/public/us-west-2b', 'vpc'].sort(),
    );
    const c = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/refused: 5 changes cannot be made in place; nothing was changed/);
    expect(c.json<{ calls: { mutating: number } }>().calls.mutating).toBe(0);
    await writeFile(file, spec());
  });

  it('version skew: a minor skipped or lowered is refused by plan and create (exit 1, nothing changed); one minor up or a patch is planned', async () => {
    for (const [to, why] of [
      ['1.37.1', /1\.35\.0 → 1\.37\.1 skips 1 minor version\(s\).*one minor at a time.*Set 1\.36\.x/],
      ['1.34.9', /1\.35\.0 → 1\.34\.9 lowers the minor version/],
    ] as const) {
      await writeFile(file, spec().replace('"1.35.0"', `"${to}"`));
      const r = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
      expect(r.code, r.stderr).toBe(1);
      const p = r.json<PlanJson>();
      expect(p.calls.mutating).toBe(0);
      const refusal = p.changes.find((c) => c.action === 'refuse')!;
      expect(refusal).toMatchObject({ key: 'lt/master', fields: [{ field: 'kubernetesVersion', from: '1.35.0', to }] });
      expect(refusal.reason).toMatch(why);
      const c = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(why);
      expect(c.stderr).toMatch(/nothing was changed/);
      expect(c.json<{ calls: { mutating: number } }>().calls.mutating).toBe(0);
    }
    for (const to of ['1.35.4', '1.36.0']) {
      await writeFile(file, spec().replace('"1.35.0"', `"${to}"`));
      const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
      expect(r.code, r.stderr).toBe(4);
      const p = r.json<PlanJson>();
      expect(p.summary.refuse).toBe(0);
      expect(p.changes.find((c) => c.key === 'lt/master')).toMatchObject({ action: 'update' });
    }
    await writeFile(file, spec());
  });

  it('a zone change of an existing cluster is refused', async () => {
    await writeFile(file, spec().replace('[us-west-2a, us-west-2b]', '[us-west-2a, us-west-2c]'));
    const r = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
    expect(r.code).toBe(1);
    const vpc = r.json<PlanJson>().changes.find((c) => c.key === 'vpc' && c.action === 'refuse')!;
    expect(vpc.fields).toEqual([{ field: 'zones', from: ['us-west-2a', 'us-west-2b'], to: ['us-west-2a', 'us-west-2c'] }]);
    expect(vpc.reason).toMatch(/zones of an existing cluster cannot change/);
    await writeFile(file, spec());
  });
});
