/**
 * Node groups that scale (issue 14, first half): instanceTypes / spot in the spec, the
 * MixedInstancesPolicy in the model and the handler's diff, cluster-autoscaler's tags and their
 * share of the 50-tag budget.
 */
import { describe, expect, it } from 'vitest';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import type { DesiredNode } from '../../src/model/types.js';
import { autoScalingGroup, DESIRED_CAPACITY_TAG } from '../../src/resources/auto-scaling-group.js';
import type { ResolvedNode } from '../../src/resources/types.js';
import { autoscalerTags, KUBEAZ_NODE_GROUP_ASG_TAGS } from '../../src/spec/autoscaler-tags.js';
import { parseSpec, SpecError, type SpecIssue } from '../../src/spec/load.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const BASE = `apiVersion: kubeaz/v1
kind: Cluster
metadata:
  name: demo
  environment: dev
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 10.0.0.0/16
  controlPlane:
    instanceType: m5.large
  nodeGroups:
    - name: workers
      GROUP
      minSize: 0
      maxSize: 20
`;
const withGroup = (lines: string, tail = '') =>
  BASE.replace(
    '      GROUP\n',
    lines
      .split('\n')
      .map((l) => `      ${l}\n`)
      .join(''),
  ) + tail;

function issuesOf(text: string): SpecIssue[] {
  try {
    parseSpec(text, 'c.yaml', NOW);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  return [];
}
const at = (text: string, path: string) =>
  issuesOf(text)
    .filter((i) => i.path === path)
    .map((i) => i.message);
const facts: Facts = {
  accountId: '123456789012',
  images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' },
  templates: new Proxy({}, { get: (_t, k) => `# ${String(k)}\n`, has: () => true }) as Record<string, string>,
};
const asgOf = (text: string, key: string) =>
  deriveGraph(parseSpec(text, 'c.yaml', NOW).spec, facts).nodes.find((n) => n.key === key) as DesiredNode<'auto-scaling-group'>;

describe('spec: instanceTypes and spot', () => {
  it("accepts instanceTypes with spot, filling the spot defaults; the first type is the group's instanceType", () => {
    const spec = parseSpec(
      withGroup('instanceTypes: [m6i.large, m6a.large, m5.large]\nspot: { onDemandBase: 1, onDemandPercentage: 20 }'),
      'c.yaml',
      NOW,
    ).spec;
    const g = spec.spec.nodeGroups[0]!;
    expect(g.instanceTypes).toEqual(['m6i.large', 'm6a.large', 'm5.large']);
    expect(g.instanceType).toBe('m6i.large');
    expect(g.spot).toEqual({ onDemandBase: 1, onDemandPercentage: 20, allocationStrategy: 'price-capacity-optimized' });
    const bare = parseSpec(withGroup('instanceType: m5.large\nspot: {}'), 'c.yaml', NOW).spec.spec.nodeGroups[0]!;
    expect(bare.spot).toEqual({ onDemandBase: 0, onDemandPercentage: 0, allocationStrategy: 'price-capacity-optimized' });
  });

  it('instanceType and instanceTypes together are a bad spec; neither is one too', () => {
    expect(at(withGroup('instanceType: m5.large\ninstanceTypes: [m5.large, m6i.large]'), 'spec.nodeGroups[0].instanceTypes')).toEqual([
      'instanceType and instanceTypes are alternatives: give instanceTypes alone (its first type is the preferred one)',
    ]);
    expect(at(withGroup('labels: {}'), 'spec.nodeGroups[0].instanceType')).toEqual(['instanceType (or instanceTypes) is required']);
  });

  it('refuses an empty list, more than 20 types, a type listed twice, and a bad type', () => {
    expect(at(withGroup('instanceTypes: []'), 'spec.nodeGroups[0].instanceTypes')).toEqual(['instanceTypes must list at least one type']);
    const many = Array.from({ length: 21 }, (_, i) => `m${i + 1}.large`).join(', ');
    expect(at(withGroup(`instanceTypes: [${many}]`), 'spec.nodeGroups[0].instanceTypes')[0]).toMatch(/at most 20 types/);
    expect(at(withGroup('instanceTypes: [m5.large, m6i.large, m5.large]'), 'spec.nodeGroups[0].instanceTypes[2]')).toEqual([
      'instance type m5.large is listed twice',
    ]);
    expect(at(withGroup('instanceTypes: [m5.large, M6I]'), 'spec.nodeGroups[0].instanceTypes[1]')[0]).toMatch(/EC2 instance type/);
  });

  it("refuses a mix of architectures, naming each type's", () => {
    expect(at(withGroup('instanceTypes: [m6i.large, m6g.large]'), 'spec.nodeGroups[0].instanceTypes')).toEqual([
      'the types of one group must share an architecture (one image, one launch template): m6i.large (x86_64), m6g.large (arm64)',
    ]);
    expect(issuesOf(withGroup('instanceTypes: [m6g.large, m7g.large, c7g.large]'))).toEqual([]);
  });

  it('refuses out-of-range spot numbers and an allocation strategy the API does not know', () => {
    expect(
      at(withGroup('instanceType: m5.large\nspot: { onDemandPercentage: 101 }'), 'spec.nodeGroups[0].spot.onDemandPercentage'),
    ).toEqual(['onDemandPercentage must be 0–100']);
    expect(at(withGroup('instanceType: m5.large\nspot: { onDemandBase: -1 }'), 'spec.nodeGroups[0].spot.onDemandBase')).toEqual([
      'onDemandBase must be 0 or more',
    ]);
    expect(
      at(withGroup('instanceType: m5.large\nspot: { allocationStrategy: cheapest }'), 'spec.nodeGroups[0].spot.allocationStrategy')[0],
    ).toMatch(/one of price-capacity-optimized, capacity-optimized, capacity-optimized-prioritized, lowest-price/);
    expect(at(withGroup('instanceType: m5.large\nspot: { maxPrice: 1 }'), 'spec.nodeGroups[0].spot.maxPrice')[0]).toMatch(/unknown field/);
  });
});

describe('spec: cluster-autoscaler tags fit the auto scaling group', () => {
  // a label key Kubernetes accepts (prefix ≤ 253, name ≤ 63) but too long for the node-template tag (46 + key ≤ 128)
  const longKey = `${'a'.repeat(40)}.example.com/${'n'.repeat(30)}`; // 83 characters
  const fitKey = `${'a'.repeat(39)}.example.com/${'n'.repeat(30)}`; // 82: exactly 128 with the prefix

  it('refuses a label whose node-template key would exceed 128 characters, with the reason; 128 fits', () => {
    const msgs = at(withGroup(`instanceType: m5.large\nlabels: { ${longKey}: x }`), `spec.nodeGroups[0].labels.${longKey}`);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toBe(
      `label ${longKey} does not fit cluster-autoscaler's node-template tag: k8s.io/cluster-autoscaler/node-template/label/${longKey} is 129 characters and an auto scaling group's tag key holds at most 128 (the autoscaler could not scale this group from zero knowing the label); use a key of at most 82 characters`,
    );
    expect(issuesOf(withGroup(`instanceType: m5.large\nlabels: { ${fitKey}: x }`))).toEqual([]);
  });

  it('refuses such a taint key, and one taint key twice in a group (one tag per key)', () => {
    expect(
      at(withGroup(`instanceType: m5.large\ntaints: [{ key: ${longKey}, effect: NoSchedule }]`), 'spec.nodeGroups[0].taints[0].key')[0],
    ).toMatch(/^taint \S+ does not fit cluster-autoscaler's node-template tag: .* is 129 characters/);
    expect(
      at(
        withGroup('instanceType: m5.large\ntaints: [{ key: gpu, effect: NoSchedule }, { key: gpu, effect: NoExecute }]'),
        'spec.nodeGroups[0].taints[1].key',
      ),
    ).toEqual(["taint key gpu is used twice in this group: cluster-autoscaler's node-template tag holds one taint per key"]);
  });

  it('refuses a group whose tags would exceed 50, counting each share; one fewer fits', () => {
    const tags = (n: number) => `  tags: { ${Array.from({ length: n }, (_, i) => `t${i}: v`).join(', ')} }\n`;
    // 36 spec tags + 9 kubeaz + (2 discovery + kubeaz.io/role + 2 labels + 1 taint) = 51
    const group = 'instanceType: m5.large\nlabels: { a: "1", b: "2" }\ntaints: [{ key: gpu, effect: NoSchedule }]';
    expect(at(withGroup(group, tags(36)), 'spec.nodeGroups[0]')).toEqual([
      "the auto scaling group of node group 'workers' would carry 51 tags and AWS allows 50: 36 from spec.tags, 9 of kubeaz's and 6 for cluster-autoscaler (2 for discovery, one per label — kubeaz.io/role included — and one per taint); drop 1 tags, labels or taints",
    ]);
    expect(issuesOf(withGroup(group, tags(35)))).toEqual([]);
  });

  it("KUBEAZ_NODE_GROUP_ASG_TAGS is what the model really puts on a node group's group (besides spec.tags and the autoscaler's)", () => {
    const text = withGroup(
      'instanceType: m5.large\nlabels: { a: "1" }\ntaints: [{ key: gpu, value: "yes", effect: NoSchedule }]',
      '  tags: { team: platform, cost: c1 }\n',
    );
    const n = asgOf(text, 'asg/workers');
    const all = new Set([...Object.keys(n.tags), ...Object.keys(n.props.instanceTags), DESIRED_CAPACITY_TAG]);
    const scaler = autoscalerTags('demo-dev', { 'kubeaz.io/role': 'node', a: '1' }, [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }]);
    expect(all.size).toBe(2 + KUBEAZ_NODE_GROUP_ASG_TAGS + Object.keys(scaler).length);
    for (const [k, v] of Object.entries(scaler)) expect(n.tags[k]).toBe(v);
  });
});

describe('model: mixed instances and autoscaler tags', () => {
  it('a group with only instanceType has no MixedInstancesPolicy (as before)', () => {
    expect(asgOf(withGroup('instanceType: m5.large'), 'asg/workers').props).not.toHaveProperty('mixedInstances');
  });

  it('instanceTypes with spot: the overrides in order and the distribution; the launch template takes the first type', () => {
    const text = withGroup(
      'instanceTypes: [m6i.large, m6a.large, m5.large]\nspot: { onDemandBase: 1, onDemandPercentage: 20, allocationStrategy: capacity-optimized }',
    );
    expect(asgOf(text, 'asg/workers').props.mixedInstances).toEqual({
      instanceTypes: ['m6i.large', 'm6a.large', 'm5.large'],
      onDemandBase: 1,
      onDemandPercentage: 20,
      onDemandAllocationStrategy: 'prioritized',
      spotAllocationStrategy: 'capacity-optimized',
    });
    const lt = deriveGraph(parseSpec(text, 'c.yaml', NOW).spec, facts).nodes.find(
      (n) => n.key === 'lt/workers',
    ) as DesiredNode<'launch-template'>;
    expect(lt.props.instanceType).toBe('m6i.large');
  });

  it('instanceTypes without spot: all on-demand; spot without instanceTypes: the one type', () => {
    expect(asgOf(withGroup('instanceTypes: [m6i.large, m5.large]'), 'asg/workers').props.mixedInstances).toMatchObject({
      instanceTypes: ['m6i.large', 'm5.large'],
      onDemandBase: 0,
      onDemandPercentage: 100,
    });
    expect(asgOf(withGroup('instanceType: c5.large\nspot: {}'), 'asg/workers').props.mixedInstances).toMatchObject({
      instanceTypes: ['c5.large'],
      onDemandPercentage: 0,
    });
  });

  it('node groups carry the discovery and node-template tags (not propagated); the master group does not', () => {
    const text = withGroup(
      'instanceType: m5.large\nlabels: { tier: apps }\ntaints: [{ key: dedicated, value: apps, effect: NoSchedule }, { key: spot, effect: PreferNoSchedule }]',
    );
    const n = asgOf(text, 'asg/workers');
    expect(n.tags).toMatchObject({
      'k8s.io/cluster-autoscaler/enabled': 'true',
      'k8s.io/cluster-autoscaler/demo-dev': 'owned',
      'k8s.io/cluster-autoscaler/node-template/label/tier': 'apps',
      'k8s.io/cluster-autoscaler/node-template/label/kubeaz.io/role': 'node',
      'k8s.io/cluster-autoscaler/node-template/taint/dedicated': 'apps:NoSchedule',
      'k8s.io/cluster-autoscaler/node-template/taint/spot': ':PreferNoSchedule',
    });
    expect(Object.keys(n.props.instanceTags).filter((k) => k.startsWith('k8s.io/'))).toEqual([]);
    const master = asgOf(text, 'asg/master');
    expect(Object.keys(master.tags).filter((k) => k.startsWith('k8s.io/cluster-autoscaler'))).toEqual([]);
  });
});

describe('auto scaling group handler: the MixedInstancesPolicy is diffed and updated in place', () => {
  const text = withGroup('instanceTypes: [m6i.large, m6a.large]\nspot: { onDemandBase: 1, onDemandPercentage: 20 }');
  const node = asgOf(text, 'asg/workers');
  const resolved = {
    ...node,
    props: { ...node.props, launchTemplateId: 'lt-1', launchTemplateVersion: '3', subnetIds: ['subnet-a'], loadBalancerNames: [] },
  } as unknown as ResolvedNode<'auto-scaling-group'>;
  const tags = { ...node.props.instanceTags, ...node.tags, [DESIRED_CAPACITY_TAG]: '0' };
  const observed = {
    min: 0,
    max: 20,
    desired: 0,
    launchTemplateId: 'lt-1',
    launchTemplateVersion: '3',
    subnetIds: ['subnet-a'],
    loadBalancerNames: [],
    targetGroupArns: [] as string[],
    instances: [],
    propagate: Object.keys(node.props.instanceTags).sort(),
    instanceTypes: ['m6i.large', 'm6a.large'],
    distribution: {
      onDemandBase: 1,
      onDemandPercentage: 20,
      onDemandAllocationStrategy: 'prioritized' as const,
      spotAllocationStrategy: 'price-capacity-optimized',
    },
    capacityRebalance: true,
  };
  const actual = { key: node.key, kind: 'auto-scaling-group' as const, id: 'demo-dev-workers', attrs: {}, tags, observed };

  it('no change when AWS reports what the spec says', () => {
    expect(autoScalingGroup.diff(resolved, actual)).toEqual([]);
  });
  it('another types list, another split, capacity rebalancing off: each an in-place change', () => {
    const changes = autoScalingGroup.diff(resolved, {
      ...actual,
      observed: {
        ...observed,
        instanceTypes: ['m5.large'],
        distribution: { ...observed.distribution, onDemandPercentage: 100 },
        capacityRebalance: false,
      },
    });
    expect(changes).toEqual([
      { field: 'instanceTypes', from: ['m5.large'], to: ['m6i.large', 'm6a.large'], inPlace: true },
      {
        field: 'instancesDistribution',
        from: { ...observed.distribution, onDemandPercentage: 100 },
        to: observed.distribution,
        inPlace: true,
      },
      { field: 'capacityRebalance', from: false, to: true, inPlace: true },
    ]);
    expect(autoScalingGroup.planUpdate!(resolved, actual as never, changes).note).toMatch(
      /updated in place: new instances follow the new types/,
    );
  });
  it('a plain group (no policy observed) that the spec makes mixed: the policy is a change', () => {
    const plain = { ...observed, instanceTypes: [], capacityRebalance: false } as Record<string, unknown>;
    delete plain.distribution;
    expect(autoScalingGroup.diff(resolved, { ...actual, observed: plain as typeof observed }).map((c) => c.field)).toEqual([
      'instanceTypes',
      'instancesDistribution',
      'capacityRebalance',
    ]);
  });
  it('the autoscaler moving desired capacity within the bounds is still not drift', () => {
    expect(autoScalingGroup.diff(resolved, { ...actual, observed: { ...observed, desired: 7 } })).toEqual([]);
  });
});
