/**
 * Node groups that scale (issue 14) through the real CLI against moto, one cluster for the file:
 * a mixed-instances spot group's MixedInstancesPolicy, CapacityRebalance, the autoscaler's discovery
 * and node-template tags read back from AWS; a changed types list is an in-place update that plan
 * shows; a re-run makes no mutating call; status shows the groups; destroy leaves nothing.
 * (moto launches every instance with the launch template's type and none on spot — MOTO-NOTES — so
 * the split is checked as AWS reports it: every instance on-demand.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { useMoto } from '../helpers/moto.js';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const REGION = 'us-west-2';
const ID = 'scl-qa';

const spec = (
  types: string[],
  spot = '{ onDemandBase: 1, onDemandPercentage: 20, allocationStrategy: price-capacity-optimized }',
) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: scl, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.21.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - name: workers
      instanceTypes: [${types.join(', ')}]
      spot: ${spot}
      minSize: 0
      maxSize: 20
      desiredCapacity: 2
      labels: { tier: batch }
      taints: [{ key: spot, value: "true", effect: NoSchedule }]
    - { name: steady, instanceType: m5.large, minSize: 1, maxSize: 3 }
  tags: { team: platform }
`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  plan: Plan;
}
type PlanJson = Plan & { calls: { mutating: number } };
interface StatusJson {
  ok: boolean;
  groups: Array<{
    name: string;
    min: number;
    desired: number;
    max: number;
    instanceTypes: string[];
    typesInUse: Record<string, number>;
    onDemand: number;
    spot: number;
  }>;
}

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('node groups that scale', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let asg: AutoScalingClient;
  let before: Inventory;
  const group = async (name: string): Promise<AutoScalingGroup> =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${ID}-${name}`] }))).AutoScalingGroups![0]!;
  const tagsOf = (g: AutoScalingGroup) =>
    Object.fromEntries((g.Tags ?? []).map((t) => [t.Key!, { value: t.Value, propagate: t.PropagateAtLaunch }]));
  const create = async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    return { r, out: r.json<CreateJson>() };
  };
  const plan = async () => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
  };

  beforeAll(async () => {
    env = moto.env;
    asg = new AutoScalingClient({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-scaling-'));
    file = path.join(dir, 'cluster.yaml');
    before = await inventory(REGION);
    await writeFile(file, spec(['m6i.large', 'm6a.large', 'm5.large']));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the mixed-instances spot group: MixedInstancesPolicy (launch template + one override per type, the distribution) and CapacityRebalance read back', async () => {
    const g = await group('workers');
    expect(g.LaunchTemplate).toBeUndefined();
    const mip = g.MixedInstancesPolicy!;
    expect(mip.LaunchTemplate?.LaunchTemplateSpecification?.LaunchTemplateName).toBe(`${ID}-workers`);
    expect(mip.LaunchTemplate?.LaunchTemplateSpecification?.Version).toBe('1');
    expect(mip.LaunchTemplate?.Overrides?.map((o) => o.InstanceType)).toEqual(['m6i.large', 'm6a.large', 'm5.large']);
    expect(mip.InstancesDistribution).toMatchObject({
      OnDemandAllocationStrategy: 'prioritized',
      OnDemandBaseCapacity: 1,
      OnDemandPercentageAboveBaseCapacity: 20,
      SpotAllocationStrategy: 'price-capacity-optimized',
    });
    expect(g.CapacityRebalance).toBe(true);
    expect([g.MinSize, g.DesiredCapacity, g.MaxSize]).toEqual([0, 2, 20]);
    expect(g.Instances).toHaveLength(2);
    console.log(`read back: ${JSON.stringify({ MixedInstancesPolicy: mip, CapacityRebalance: g.CapacityRebalance })}`);
    // a one-type group stays a plain launch-template group without rebalancing
    const steady = await group('steady');
    expect(steady.MixedInstancesPolicy).toBeUndefined();
    expect(steady.LaunchTemplate?.LaunchTemplateName).toBe(`${ID}-steady`);
    expect(steady.CapacityRebalance ?? false).toBe(false);
  });

  it("the autoscaler discovery and node-template tags are on every node group's ASG (not propagated), not on the master's", async () => {
    const t = tagsOf(await group('workers'));
    expect(t).toMatchObject({
      'k8s.io/cluster-autoscaler/enabled': { value: 'true', propagate: false },
      [`k8s.io/cluster-autoscaler/${ID}`]: { value: 'owned', propagate: false },
      'k8s.io/cluster-autoscaler/node-template/label/tier': { value: 'batch', propagate: false },
      'k8s.io/cluster-autoscaler/node-template/label/kubeaz.io/role': { value: 'node', propagate: false },
      'k8s.io/cluster-autoscaler/node-template/taint/spot': { value: 'true:NoSchedule', propagate: false },
    });
    expect(Object.keys(t).length).toBeLessThanOrEqual(50);
    expect(tagsOf(await group('steady'))[`k8s.io/cluster-autoscaler/${ID}`]?.value).toBe('owned');
    expect(Object.keys(tagsOf(await group('master'))).filter((k) => k.startsWith('k8s.io/cluster-autoscaler'))).toEqual([]);
    console.log(
      `autoscaler tags on ${ID}-workers: ${JSON.stringify(
        Object.fromEntries(
          Object.entries(t)
            .filter(([k]) => k.startsWith('k8s.io/'))
            .map(([k, v]) => [k, v.value]),
        ),
      )}`,
    );
  });

  it('a re-run makes no mutating call and plan shows nothing to do', async () => {
    const { r, out } = await create();
    expect(r.code, r.stderr).toBe(0);
    expect(out.calls.mutating, JSON.stringify(out.calls.byAction)).toBe(0);
    expect((await plan()).code).toBe(0);
  });

  it('status shows each group: min/desired/max, types in use, the on-demand/spot split (text and --output json)', async () => {
    const j = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const groups = j.json<StatusJson>().groups;
    const workers = groups.find((g) => g.name === 'workers')!;
    expect(workers).toMatchObject({
      min: 0,
      desired: 2,
      max: 20,
      instanceTypes: ['m6i.large', 'm6a.large', 'm5.large'],
      onDemand: 2,
      spot: 0,
    });
    // moto launches the template's type (the first); AWS may run any of the three
    expect(Object.values(workers.typesInUse).reduce((a, b) => a + b, 0)).toBe(2);
    for (const t of Object.keys(workers.typesInUse)) expect(['m6i.large', 'm6a.large', 'm5.large']).toContain(t);
    expect(groups.find((g) => g.name === 'steady')).toMatchObject({
      min: 1,
      desired: 1,
      max: 3,
      instanceTypes: [],
      typesInUse: { 'm5.large': 1 },
      onDemand: 1,
      spot: 0,
    });
    expect(groups.find((g) => g.name === 'master')).toMatchObject({ min: 1, desired: 1, max: 1, typesInUse: { 't3.medium': 1 } });
    const text = await kubeaz(['status', '-f', file], env);
    const lines = text.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('GROUP'))).toMatch(
      /^GROUP\s+MIN\s+DESIRED\s+MAX\s+TYPES IN USE\s+ON-DEMAND\s+SPOT\s+ALLOWED TYPES$/,
    );
    expect(lines.find((l) => l.startsWith('workers '))).toMatch(
      /^workers\s+0\s+2\s+20\s+m6i\.large×2\s+2\s+0\s+m6i\.large,m6a\.large,m5\.large$/,
    );
    expect(lines.find((l) => l.startsWith('steady '))).toMatch(/^steady\s+1\s+1\s+3\s+m5\.large×1\s+1\s+0\s+\(launch template\)$/);
  });

  it('changing the types list and the split is an in-place update of the group (plan shows it), applied with one UpdateAutoScalingGroup', async () => {
    await writeFile(
      file,
      spec(['m6i.large', 'm5.large'], '{ onDemandBase: 0, onDemandPercentage: 50, allocationStrategy: capacity-optimized }'),
    );
    const { code, p } = await plan();
    expect(code).toBe(4); // --detailed-exitcode: something would change
    expect(p.changes.map((c) => `${c.action} ${c.key}`)).toEqual(['update asg/workers']);
    expect(p.changes[0]!.fields).toEqual([
      { field: 'instanceTypes', from: ['m6i.large', 'm6a.large', 'm5.large'], to: ['m6i.large', 'm5.large'] },
      {
        field: 'instancesDistribution',
        from: {
          onDemandBase: 1,
          onDemandPercentage: 20,
          onDemandAllocationStrategy: 'prioritized',
          spotAllocationStrategy: 'price-capacity-optimized',
        },
        to: {
          onDemandBase: 0,
          onDemandPercentage: 50,
          onDemandAllocationStrategy: 'prioritized',
          spotAllocationStrategy: 'capacity-optimized',
        },
      },
    ]);
    expect(p.changes[0]!.note).toMatch(/updated in place/);
    const ids = (await group('workers')).Instances!.map((i) => i.InstanceId).sort();
    const { r, out } = await create();
    expect(r.code, r.stderr).toBe(0);
    // and the spec kept in the bucket for get-spec (issue 21)
    expect(Object.entries(out.calls.byAction).filter(([k]) => !/:(Describe|List|Get|Head)/.test(k))).toEqual([
      ['autoscaling:UpdateAutoScalingGroup', 1],
      ['s3:PutObject', 1],
    ]);
    const g = await group('workers');
    expect(g.MixedInstancesPolicy?.LaunchTemplate?.Overrides?.map((o) => o.InstanceType)).toEqual(['m6i.large', 'm5.large']);
    expect(g.MixedInstancesPolicy?.InstancesDistribution).toMatchObject({
      OnDemandBaseCapacity: 0,
      OnDemandPercentageAboveBaseCapacity: 50,
      SpotAllocationStrategy: 'capacity-optimized',
    });
    expect(g.CapacityRebalance).toBe(true);
    // in place: the same group, the same instances
    expect(g.Instances!.map((i) => i.InstanceId).sort()).toEqual(ids);
    const again = await create();
    expect(again.out.calls.mutating).toBe(0);
  });

  it('a mixed group back to one instanceType: a plain launch template again, rebalancing off, in place', async () => {
    await writeFile(
      file,
      spec(['m6i.large']).replace(/ {6}instanceTypes: \[m6i\.large\]\n {6}spot: .*\n/, '      instanceType: m6i.large\n'),
    );
    const { p } = await plan();
    expect(p.changes.map((c) => `${c.action} ${c.key}`)).toEqual(['update asg/workers']);
    expect(p.changes[0]!.fields.map((f) => f.field)).toEqual(['instanceTypes', 'instancesDistribution', 'capacityRebalance']);
    const { r } = await create();
    expect(r.code, r.stderr).toBe(0);
    const g = await group('workers');
    expect(g.MixedInstancesPolicy).toBeUndefined();
    expect(g.LaunchTemplate?.LaunchTemplateName).toBe(`${ID}-workers`);
    expect(g.CapacityRebalance).toBe(false);
    expect((await plan()).code).toBe(0);
  });

  it('destroy leaves nothing', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await inventory(REGION)).toEqual(before);
  });
});
