/**
 * Auto scaling groups. Waits are coalesced per run: one DescribeAutoScalingGroups call polls every
 * group being created (or deleted) at the same time.
 *
 * One file per kind (DESIGN.md), over 300 lines because the group's coalesced create/delete waits
 * and its instances' health belong to the group and to nothing else.
 */
import {
  AttachLoadBalancerTargetGroupsCommand,
  AttachLoadBalancersCommand,
  CreateAutoScalingGroupCommand,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DetachLoadBalancerTargetGroupsCommand,
  DetachLoadBalancersCommand,
  UpdateAutoScalingGroupCommand,
  paginateDescribeAutoScalingGroups,
  type AutoScalingGroup,
  type MixedInstancesPolicy,
  type Tag as AsgTag,
  type UpdateAutoScalingGroupCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { isAlreadyExists } from '../aws/errors.js';
import { fromTagList } from '../aws/tags.js';
import { CoalescingWaiter, type PollOutcome } from '../aws/wait.js';
import { KEY_TAG, OWNER_TAG, type MixedInstances, type Tags } from '../model/types.js';
import { chunks } from '../util/lists.js';
import { change, drain, ignoreNotFound, keyed } from './common.js';
import { DELETING, describeOwnedScalingGroups } from './own-scaling-groups.js';
import type { Actual, ActualOf, Change, Health, ResolvedNode, ResourceHandler, RunContext } from './types.js';

export interface AsgInstance {
  id: string;
  lifecycleState: string;
  healthStatus: string;
  zone: string;
  /** the type it runs (with a MixedInstancesPolicy, one of the overrides) */
  instanceType?: string;
  /** the launch template and version it was launched from */
  launchTemplateId?: string;
  launchTemplateVersion?: string;
}

/** The distribution part of a MixedInstancesPolicy, as kubeaz sets it (the fields it compares). */
type Distribution = Omit<MixedInstances, 'instanceTypes'>;

interface Observed {
  min: number;
  max: number;
  desired: number;
  /** the launch template, whether named directly or by the MixedInstancesPolicy */
  launchTemplateId: string;
  launchTemplateVersion: string;
  subnetIds: string[];
  loadBalancerNames: string[];
  targetGroupArns: string[];
  instances: AsgInstance[];
  /** tag keys propagated to instances at launch */
  propagate: string[];
  /** the MixedInstancesPolicy's override types in order ([] for a group without one) */
  instanceTypes?: string[];
  distribution?: Distribution;
  capacityRebalance?: boolean;
}

type Node = ResolvedNode<'auto-scaling-group'>;

/** A group's capacity as status shows it: bounds, the types it may use and runs, the spot/on-demand split. */
export interface GroupCapacity {
  min: number;
  desired: number;
  max: number;
  /** the MixedInstancesPolicy's types ([] for a plain launch-template group) */
  instanceTypes: string[];
  /** instances per type, as running now */
  typesInUse: Record<string, number>;
  onDemand: number;
  spot: number;
}

/** The group's own desired capacity as observed (the cluster autoscaler moves it), for status. */
export function observedDesired(actual: Actual | undefined): number | undefined {
  const o = actual?.observed as Partial<Observed> | undefined;
  return typeof o?.desired === 'number' ? o.desired : undefined;
}

/** The group's instances as observed (id, lifecycle, health, zone), for status. */
export function observedInstances(actual: Actual | undefined): AsgInstance[] {
  const o = actual?.observed as Partial<Observed> | undefined;
  return Array.isArray(o?.instances) ? o.instances : [];
}

/** The spec's desiredCapacity as last applied: a change of that field in the spec is applied, the group's own drift within [min, max] is not. */
export const DESIRED_CAPACITY_TAG = 'kubeaz:desired-capacity';
/** names per DescribeAutoScalingGroups call (the API's limit is 100) */
const NAMES_PER_CALL = 50;
/** instance ids per DescribeInstances filter */
const IDS_PER_CALL = 100;

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

function observedOf(g: AutoScalingGroup): Observed {
  const mip = g.MixedInstancesPolicy;
  const lt = g.LaunchTemplate ?? mip?.LaunchTemplate?.LaunchTemplateSpecification;
  const d = mip?.InstancesDistribution;
  return {
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    launchTemplateId: lt?.LaunchTemplateId ?? '',
    launchTemplateVersion: lt?.Version ?? '',
    instanceTypes: mip ? (mip.LaunchTemplate?.Overrides ?? []).map((o) => o.InstanceType ?? '') : [],
    ...(mip
      ? {
          distribution: {
            onDemandBase: d?.OnDemandBaseCapacity ?? 0,
            onDemandPercentage: d?.OnDemandPercentageAboveBaseCapacity ?? 100,
            onDemandAllocationStrategy: (d?.OnDemandAllocationStrategy ?? 'prioritized') as Distribution['onDemandAllocationStrategy'],
            spotAllocationStrategy: d?.SpotAllocationStrategy ?? 'lowest-price',
          },
        }
      : {}),
    capacityRebalance: g.CapacityRebalance ?? false,
    subnetIds: sorted(
      (g.VPCZoneIdentifier ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    loadBalancerNames: sorted(g.LoadBalancerNames ?? []),
    targetGroupArns: sorted(g.TargetGroupARNs ?? []),
    instances: (g.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? '',
      lifecycleState: i.LifecycleState ?? '',
      healthStatus: i.HealthStatus ?? '',
      zone: i.AvailabilityZone ?? '',
      ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
      ...(i.LaunchTemplate?.LaunchTemplateId ? { launchTemplateId: i.LaunchTemplate.LaunchTemplateId } : {}),
      ...(i.LaunchTemplate?.Version ? { launchTemplateVersion: i.LaunchTemplate.Version } : {}),
    })),
    propagate: sorted((g.Tags ?? []).filter((t) => t.PropagateAtLaunch && t.Key).map((t) => t.Key!)),
  };
}

function toActual(g: AutoScalingGroup, key: string, tags: Tags): ActualOf<Observed> {
  const name = g.AutoScalingGroupName!;
  return {
    key,
    kind: 'auto-scaling-group',
    id: name,
    attrs: { name },
    tags,
    observed: observedOf(g),
    ...(g.Status ? { state: g.Status } : {}),
  };
}

/** The desired tags: the node's own (not propagated) and the instances' (propagated); a key in both propagates with the node's value. */
function desiredTags(node: Node): Array<{ key: string; value: string; propagate: boolean }> {
  const all: Tags = { ...node.props.instanceTags, ...node.tags, [DESIRED_CAPACITY_TAG]: String(node.props.desiredCapacity) };
  return Object.keys(all)
    .sort()
    .map((key) => ({ key, value: all[key]!, propagate: key in node.props.instanceTags }));
}

/**
 * The group's MixedInstancesPolicy: the launch template, one override per type (in the spec's
 * order: on-demand capacity takes them in that order), and the spot/on-demand distribution. Sent
 * whole on every update, so nothing of an earlier policy lingers.
 */
function mixedPolicy(p: Node['props'], m: MixedInstances): MixedInstancesPolicy {
  return {
    LaunchTemplate: {
      LaunchTemplateSpecification: { LaunchTemplateId: p.launchTemplateId, Version: p.launchTemplateVersion },
      Overrides: m.instanceTypes.map((t) => ({ InstanceType: t })),
    },
    InstancesDistribution: {
      OnDemandAllocationStrategy: m.onDemandAllocationStrategy,
      OnDemandBaseCapacity: m.onDemandBase,
      OnDemandPercentageAboveBaseCapacity: m.onDemandPercentage,
      SpotAllocationStrategy: m.spotAllocationStrategy,
    },
  };
}

const distributionOf = (m: MixedInstances | undefined): Distribution | undefined =>
  m
    ? {
        onDemandBase: m.onDemandBase,
        onDemandPercentage: m.onDemandPercentage,
        onDemandAllocationStrategy: m.onDemandAllocationStrategy,
        spotAllocationStrategy: m.spotAllocationStrategy,
      }
    : undefined;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const asgTags = (name: string, tags: Array<{ key: string; value: string; propagate: boolean }>): AsgTag[] =>
  tags.map((t) => ({ ResourceId: name, ResourceType: 'auto-scaling-group', Key: t.key, Value: t.value, PropagateAtLaunch: t.propagate }));

const inService = (g: AutoScalingGroup): number => (g.Instances ?? []).filter((i) => i.LifecycleState === 'InService').length;

async function describeByNames(ctx: RunContext, names: readonly string[]): Promise<AutoScalingGroup[]> {
  const asg = await ctx.aws.autoscaling();
  const out: AutoScalingGroup[] = [];
  for (const batch of chunks(names, NAMES_PER_CALL)) {
    out.push(
      ...(await drain(paginateDescribeAutoScalingGroups({ client: asg }, { AutoScalingGroupNames: batch }), (p) => p.AutoScalingGroups)),
    );
  }
  return out;
}

/**
 * The zone an existing group of this cluster runs in, for the model's facts (an HA control plane
 * keeps its `master` group where its instance already is): the group's only zone once it is
 * pinned, else the zone of its instance. undefined when there is no such group (or not ours).
 */
export async function runningZone(ctx: RunContext, name: string): Promise<string | undefined> {
  const [g] = await describeByNames(ctx, [name]);
  if (!g || g.Status === DELETING || fromTagList(g.Tags)[OWNER_TAG] !== ctx.clusterId) return undefined;
  if (g.AvailabilityZones?.length === 1) return g.AvailabilityZones[0];
  const live = (g.Instances ?? []).filter((i) => i.LifecycleState !== 'Terminating' && i.LifecycleState !== 'Terminated');
  return (live.find((i) => i.LifecycleState === 'InService') ?? live[0])?.AvailabilityZone;
}

// ── coalesced waits, one set per run ───────────────────────────────────────────────────────────

interface RunWaits {
  inService: CoalescingWaiter;
  gone: CoalescingWaiter;
  /** the last answer seen for a group (create returns it) */
  lastSeen: Map<string, AutoScalingGroup>;
  /** the instances a deleted group had, which must be terminated before its subnets and groups can go */
  instancesOf: Map<string, Set<string>>;
}

function waitsOf(ctx: RunContext): RunWaits {
  return ctx.perRun('auto-scaling-group:waits', () => makeWaits(ctx));
}

function makeWaits(ctx: RunContext): RunWaits {
  const lastSeen = new Map<string, AutoScalingGroup>();
  const instancesOf = new Map<string, Set<string>>();
  const progress = (what: string) => (ready: number, total: number, seconds: number) =>
    ctx.progress.emit({ type: 'wait', what, ready, total, seconds });
  const inServiceWaiter = new CoalescingWaiter({
    what: 'instances to be in service',
    timing: () => ctx.timing,
    signal: ctx.signal,
    onProgress: progress('instances to be in service'),
    check: async (names) => {
      const groups = await describeByNames(ctx, names);
      const out = new Map<string, PollOutcome>();
      for (const g of groups) {
        const name = g.AutoScalingGroupName!;
        lastSeen.set(name, g);
        if (g.Status === DELETING) out.set(name, { state: 'failed', reason: 'the group is being deleted' });
        else
          out.set(name, {
            state: inService(g) >= (g.DesiredCapacity ?? 0) ? 'ready' : 'pending',
            reason: `${inService(g)}/${g.DesiredCapacity ?? 0} in service`,
          });
      }
      // A group not listed yet (eventual consistency right after its create) stays pending.
      return out;
    },
  });
  const goneWaiter = new CoalescingWaiter({
    what: 'auto scaling groups and their instances to be deleted',
    timing: () => ctx.timing,
    signal: ctx.signal,
    onProgress: progress('auto scaling groups and their instances to be deleted'),
    check: async (names) => {
      const groups = await describeByNames(ctx, names);
      const out = new Map<string, PollOutcome>();
      const present = new Set<string>();
      for (const g of groups) {
        const name = g.AutoScalingGroupName!;
        present.add(name);
        const ids = instancesOf.get(name) ?? new Set<string>();
        for (const i of g.Instances ?? []) if (i.InstanceId) ids.add(i.InstanceId);
        instancesOf.set(name, ids);
        out.set(name, { state: 'pending', reason: `group ${g.Status ?? 'still listed'}` });
      }
      const gone = names.filter((n) => !present.has(n));
      const ids = [...new Set(gone.flatMap((n) => [...(instancesOf.get(n) ?? [])]))];
      const alive = new Set<string>();
      if (ids.length) {
        const ec2 = await ctx.aws.ec2();
        for (const batch of chunks(ids, IDS_PER_CALL)) {
          // A filter, not InstanceIds: an instance AWS has already forgotten is simply not listed.
          const reservations = await drain(
            paginateDescribeInstances({ client: ec2 }, { Filters: [{ Name: 'instance-id', Values: batch }] }),
            (p) => p.Reservations,
          );
          for (const r of reservations)
            for (const i of r.Instances ?? []) if (i.InstanceId && i.State?.Name !== 'terminated') alive.add(i.InstanceId);
        }
      }
      for (const n of gone) {
        const left = [...(instancesOf.get(n) ?? [])].filter((i) => alive.has(i));
        out.set(n, left.length ? { state: 'pending', reason: `instances not yet terminated: ${left.join(', ')}` } : { state: 'ready' });
      }
      return out;
    },
  });
  return { inService: inServiceWaiter, gone: goneWaiter, lastSeen, instancesOf };
}

// ── the handler ────────────────────────────────────────────────────────────────────────────────

export const autoScalingGroup: ResourceHandler<'auto-scaling-group', Observed> = {
  calls: {
    observe: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'],
    create: [
      'autoscaling:AttachLoadBalancerTargetGroups',
      'autoscaling:AttachLoadBalancers',
      'autoscaling:CreateAutoScalingGroup',
      'autoscaling:CreateOrUpdateTags',
    ],
    update: ['autoscaling:UpdateAutoScalingGroup'],
    delete: ['autoscaling:DeleteAutoScalingGroup', 'autoscaling:DetachLoadBalancerTargetGroups', 'autoscaling:DetachLoadBalancers'],
  },
  kind: 'auto-scaling-group',
  edges: {
    waitsFor: [
      'launch-template',
      'subnet',
      'load-balancer',
      'network-load-balancer',
      'target-group',
      'route-table',
      // a group in the private subnets starts once its NAT gateways are available (destroy lets
      // them go first: nat-gateway.ts)
      'nat-gateway',
      'bucket-object',
      'pki',
      'dns-record',
      // loadbalancer instances hold the pool's addresses until their group is gone
      'elastic-ip',
      'security-group-rules',
    ],
  },

  async observe(ctx) {
    // the same answer the lifecycle-hook kind reads the node groups from (one call for both)
    return keyed(await describeOwnedScalingGroups(ctx), (g) => g.Tags, ctx).map(({ item, key, tags }) => toActual(item, key, tags));
  },

  async nameHolders(ctx, names) {
    const want = new Set(names);
    return (await describeByNames(ctx, names))
      .filter((g) => want.has(g.AutoScalingGroupName ?? '') && g.Status !== DELETING)
      .map((g) => ({ name: g.AutoScalingGroupName!, tags: fromTagList(g.Tags) }));
  },

  async create(ctx, node) {
    const p = node.props;
    const asg = await ctx.aws.autoscaling();
    const w = waitsOf(ctx);
    try {
      await asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: p.name,
          // a group of several types or with spot: a MixedInstancesPolicy, and capacity rebalancing
          // (a spot instance at elevated risk of interruption is replaced before it is taken)
          ...(p.mixedInstances
            ? { MixedInstancesPolicy: mixedPolicy(p, p.mixedInstances), CapacityRebalance: true }
            : { LaunchTemplate: { LaunchTemplateId: p.launchTemplateId, Version: p.launchTemplateVersion } }),
          MinSize: p.minSize,
          MaxSize: p.maxSize,
          DesiredCapacity: p.desiredCapacity,
          VPCZoneIdentifier: p.subnetIds.join(','),
          ...(p.loadBalancerNames.length ? { LoadBalancerNames: [...p.loadBalancerNames] } : {}),
          ...(p.targetGroupArns?.length ? { TargetGroupARNs: [...p.targetGroupArns] } : {}),
          HealthCheckType: 'EC2',
          HealthCheckGracePeriod: p.healthCheckGracePeriod,
          Tags: asgTags(p.name, desiredTags(node)),
        }),
      );
    } catch (e) {
      // No idempotency token here: a name already taken is ours only when it carries our tags.
      if (!isAlreadyExists(e)) throw e;
      const [g] = await describeByNames(ctx, [p.name]);
      const tags = fromTagList(g?.Tags);
      if (!g || tags[OWNER_TAG] !== ctx.clusterId || tags[KEY_TAG] !== node.key) throw e;
    }
    await w.inService.wait(p.name);
    const g = w.lastSeen.get(p.name);
    if (g) return toActual(g, node.key, fromTagList(g.Tags));
    const observed: Observed = {
      min: p.minSize,
      max: p.maxSize,
      desired: p.desiredCapacity,
      launchTemplateId: p.launchTemplateId,
      launchTemplateVersion: p.launchTemplateVersion,
      subnetIds: sorted(p.subnetIds),
      loadBalancerNames: sorted(p.loadBalancerNames),
      targetGroupArns: sorted(p.targetGroupArns ?? []),
      instances: [],
      propagate: sorted(Object.keys(p.instanceTags)),
      instanceTypes: p.mixedInstances ? [...p.mixedInstances.instanceTypes] : [],
      ...(p.mixedInstances ? { distribution: distributionOf(p.mixedInstances)! } : {}),
      capacityRebalance: p.mixedInstances !== undefined,
    };
    return {
      key: node.key,
      kind: 'auto-scaling-group',
      id: p.name,
      attrs: { name: p.name },
      tags: Object.fromEntries(desiredTags(node).map((t) => [t.key, t.value])),
      observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    if (actual.id !== p.name) out.push(change('name', actual.id, p.name, false));
    if (o.min !== p.minSize) out.push(change('minSize', o.min, p.minSize, true));
    if (o.max !== p.maxSize) out.push(change('maxSize', o.max, p.maxSize, true));
    // The cluster autoscaler owns the desired capacity while it stays within the bounds.
    // The spec's desiredCapacity applies when the group is made and when that field itself changes
    // in the spec (the last applied value is the group's kubeaz:desired-capacity tag).
    const applied = actual.tags[DESIRED_CAPACITY_TAG];
    const specChanged = applied !== undefined && applied !== String(p.desiredCapacity) && o.desired !== p.desiredCapacity;
    if (specChanged || o.desired < p.minSize || o.desired > p.maxSize)
      out.push(change('desiredCapacity', o.desired, p.desiredCapacity, true));
    if (o.launchTemplateId !== p.launchTemplateId) out.push(change('launchTemplateId', o.launchTemplateId, p.launchTemplateId, true));
    if (o.launchTemplateVersion !== p.launchTemplateVersion)
      out.push(change('launchTemplateVersion', o.launchTemplateVersion, p.launchTemplateVersion, true));
    // The instance types and their spot/on-demand distribution: updated in place (the group's running
    // instances stay; new ones follow the new policy). A state entry from before these fields were
    // observed has them undefined: read as a plain group.
    const types = p.mixedInstances?.instanceTypes ?? [];
    if (!same(o.instanceTypes ?? [], types)) out.push(change('instanceTypes', o.instanceTypes ?? [], types, true));
    if (!same(o.distribution, distributionOf(p.mixedInstances)))
      out.push(change('instancesDistribution', o.distribution ?? null, distributionOf(p.mixedInstances) ?? null, true));
    if ((o.capacityRebalance ?? false) !== (p.mixedInstances !== undefined))
      out.push(change('capacityRebalance', o.capacityRebalance ?? false, p.mixedInstances !== undefined, true));
    const subnets = sorted(p.subnetIds);
    if (o.subnetIds.join(',') !== subnets.join(',')) out.push(change('subnetIds', o.subnetIds, subnets, true));
    const lbs = sorted(p.loadBalancerNames);
    if (o.loadBalancerNames.join(',') !== lbs.join(',')) out.push(change('loadBalancerNames', o.loadBalancerNames, lbs, true));
    const tgs = sorted(p.targetGroupArns ?? []);
    if (o.targetGroupArns.join(',') !== tgs.join(',')) out.push(change('targetGroupArns', o.targetGroupArns, tgs, true));
    const from: Tags = {};
    const to: Tags = {};
    for (const t of desiredTags(node)) {
      if (actual.tags[t.key] !== t.value || o.propagate.includes(t.key) !== t.propagate) {
        if (actual.tags[t.key] !== undefined) from[t.key] = actual.tags[t.key]!;
        to[t.key] = t.value;
      }
    }
    if (Object.keys(to).length) out.push(change('tags', from, to, true));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const asg = await ctx.aws.autoscaling();
    const p = node.props;
    const o = actual.observed;
    const has = (f: string) => changes.some((c) => c.field === f);
    const input: UpdateAutoScalingGroupCommandInput = { AutoScalingGroupName: actual.id };
    if (has('minSize')) input.MinSize = p.minSize;
    if (has('maxSize')) input.MaxSize = p.maxSize;
    if (has('desiredCapacity')) input.DesiredCapacity = p.desiredCapacity;
    if (has('launchTemplateId') || has('launchTemplateVersion') || has('instanceTypes') || has('instancesDistribution')) {
      // A mixed group names its launch template inside the policy; a plain one directly (which, on
      // a group that had a policy, replaces it).
      if (p.mixedInstances) input.MixedInstancesPolicy = mixedPolicy(p, p.mixedInstances);
      else input.LaunchTemplate = { LaunchTemplateId: p.launchTemplateId, Version: p.launchTemplateVersion };
    }
    if (has('capacityRebalance')) input.CapacityRebalance = p.mixedInstances !== undefined;
    if (has('subnetIds')) input.VPCZoneIdentifier = p.subnetIds.join(',');
    if (Object.keys(input).length > 1) await asg.send(new UpdateAutoScalingGroupCommand(input));

    if (has('targetGroupArns')) {
      // attach before anything is detached (the classic ELBs just below): a switch between load
      // balancer kinds never leaves the masters behind none
      const want = p.targetGroupArns ?? [];
      const attach = want.filter((a) => !o.targetGroupArns.includes(a));
      const detach = o.targetGroupArns.filter((a) => !want.includes(a));
      if (attach.length)
        await asg.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: actual.id, TargetGroupARNs: attach }));
      if (detach.length)
        await asg.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: actual.id, TargetGroupARNs: detach }));
    }
    if (has('loadBalancerNames')) {
      const attach = p.loadBalancerNames.filter((n) => !o.loadBalancerNames.includes(n));
      const detach = o.loadBalancerNames.filter((n) => !p.loadBalancerNames.includes(n));
      if (attach.length) await asg.send(new AttachLoadBalancersCommand({ AutoScalingGroupName: actual.id, LoadBalancerNames: attach }));
      if (detach.length) await asg.send(new DetachLoadBalancersCommand({ AutoScalingGroupName: actual.id, LoadBalancerNames: detach }));
    }

    let tags = actual.tags;
    let propagate = o.propagate;
    const t = changes.find((c) => c.field === 'tags');
    if (t) {
      const changed = desiredTags(node).filter((d) => d.key in (t.to as Tags));
      await asg.send(new CreateOrUpdateTagsCommand({ Tags: asgTags(actual.id, changed) }));
      tags = { ...tags, ...(t.to as Tags) };
      propagate = sorted([
        ...propagate.filter((k) => !changed.some((c) => c.key === k)),
        ...changed.filter((c) => c.propagate).map((c) => c.key),
      ]);
    }

    const desired = input.DesiredCapacity ?? Math.min(Math.max(o.desired, input.MinSize ?? o.min), input.MaxSize ?? o.max);
    if (desired > o.desired) await waitsOf(ctx).inService.wait(actual.id);
    const observed: Observed = {
      ...o,
      min: input.MinSize ?? o.min,
      max: input.MaxSize ?? o.max,
      desired,
      launchTemplateId: input.LaunchTemplate || input.MixedInstancesPolicy ? p.launchTemplateId : o.launchTemplateId,
      launchTemplateVersion: input.LaunchTemplate || input.MixedInstancesPolicy ? p.launchTemplateVersion : o.launchTemplateVersion,
      ...(input.LaunchTemplate || input.MixedInstancesPolicy
        ? { instanceTypes: p.mixedInstances ? [...p.mixedInstances.instanceTypes] : [], distribution: distributionOf(p.mixedInstances) }
        : {}),
      capacityRebalance: input.CapacityRebalance ?? o.capacityRebalance ?? false,
      subnetIds: input.VPCZoneIdentifier ? sorted(p.subnetIds) : o.subnetIds,
      loadBalancerNames: has('loadBalancerNames') ? sorted(p.loadBalancerNames) : o.loadBalancerNames,
      targetGroupArns: has('targetGroupArns') ? sorted(p.targetGroupArns ?? []) : o.targetGroupArns,
      propagate,
    };
    return { ...actual, tags, observed };
  },

  planUpdate(_node, _actual, changes) {
    const v = changes.find((c) => c.field === 'launchTemplateVersion');
    if (v)
      return {
        note: `the group will launch version ${String(v.to)}; its running instances keep version ${String(v.from)} until \`kubeaz rollout\` replaces them`,
      };
    if (changes.some((c) => c.field === 'instanceTypes' || c.field === 'instancesDistribution'))
      return {
        note: 'updated in place: new instances follow the new types and spot/on-demand split; running ones stay until the autoscaler, a rebalance or `kubeaz rollout` replaces them',
      };
    return {};
  },

  deleteNote: 'the group is deleted with its instances (they terminate)',

  async delete(ctx, actual) {
    const w = waitsOf(ctx);
    const ids = w.instancesOf.get(actual.id) ?? new Set<string>();
    for (const i of actual.observed?.instances ?? []) if (i.id) ids.add(i.id);
    w.instancesOf.set(actual.id, ids);
    // ForceDelete terminates the instances with the group. ScalingActivityInProgress (and
    // ResourceInUse) propagate for the engine to retry.
    await ignoreNotFound(
      (await ctx.aws.autoscaling()).send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: actual.id, ForceDelete: true })),
    );
    // Launch templates, security groups and subnets can only go once the instances are gone.
    await w.gone.wait(actual.id);
  },

  async health(ctx, actuals) {
    // Which instances run on spot: the group's Instances do not say (only their type); the
    // instances' own InstanceLifecycle does ('spot'; absent for on-demand). One filtered read for all.
    const ids = actuals.flatMap((a) => a.observed.instances.map((i) => i.id)).filter(Boolean);
    const spot = new Set<string>();
    const typeOf = new Map<string, string>();
    if (ids.length) {
      const ec2 = await ctx.aws.ec2();
      for (const batch of chunks(ids, IDS_PER_CALL)) {
        const reservations = await drain(
          paginateDescribeInstances({ client: ec2 }, { Filters: [{ Name: 'instance-id', Values: batch }] }),
          (p) => p.Reservations,
        );
        for (const r of reservations)
          for (const i of r.Instances ?? []) {
            if (!i.InstanceId) continue;
            if (i.InstanceLifecycle === 'spot') spot.add(i.InstanceId);
            if (i.InstanceType) typeOf.set(i.InstanceId, i.InstanceType);
          }
      }
    }
    return actuals.map((a): Health => {
      const o = a.observed;
      const ready = o.instances.filter((i) => i.lifecycleState === 'InService').length;
      const unhealthy = o.instances.filter((i) => i.healthStatus && i.healthStatus !== 'Healthy').map((i) => i.id);
      const types: Record<string, number> = {};
      for (const i of o.instances) {
        const t = i.instanceType ?? typeOf.get(i.id) ?? 'unknown';
        types[t] = (types[t] ?? 0) + 1;
      }
      const spotCount = o.instances.filter((i) => spot.has(i.id)).length;
      const group: GroupCapacity = {
        min: o.min,
        desired: o.desired,
        max: o.max,
        instanceTypes: o.instanceTypes?.length ? [...o.instanceTypes] : [],
        typesInUse: types,
        onDemand: o.instances.length - spotCount,
        spot: spotCount,
      };
      return {
        key: a.key,
        ok: ready >= o.desired,
        summary: `${ready}/${o.desired} in service`,
        details: { min: o.min, max: o.max, desired: o.desired, instances: o.instances, group, ...(unhealthy.length ? { unhealthy } : {}) },
      };
    });
  },
};
