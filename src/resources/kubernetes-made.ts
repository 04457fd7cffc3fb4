/**
 * What the cluster's Kubernetes made inside our VPC, and what nobody we know made there.
 *
 * The AWS cloud provider (and the AWS load balancer controller) create load balancers, target
 * groups, security groups — with an ingress rule on the nodes' group referencing them — and
 * network interfaces for Services, tagged `kubernetes.io/cluster/<cluster id>=owned` (or
 * `elbv2.k8s.aws/cluster=<cluster id>`). They are the cluster's, not kubeaz's graph's: destroy
 * sweeps them after the instances are gone (no controller left to re-create them) and before the
 * subnets, security groups and VPC they would block — the most common reason other tools' destroys
 * hang on DependencyViolation.
 *
 * Anything else in the VPC that would block a delete (a network interface or instance with neither
 * tag, a foreign security group or subnet) is NOT deleted: it is reported as a blocker, naming it
 * and what it blocks, so destroy stops with one clear error instead of retrying until its budget
 * runs out. Left alone as not blocking: interfaces of terminated instances (moto keeps them
 * attached; AWS removes them), of our NAT gateways, and AWS-managed (requester-managed) ones, which
 * go with their owner.
 */
import { isNotFound } from '../aws/errors.js';
import { fromTagList } from '../aws/tags.js';
import { k8sClusterTag } from '../model/names.js';
import { OWNER_TAG, type Tags } from '../model/types.js';
import { chunks } from '../util/lists.js';
import { drain, ignoreNotFound, whileDependent } from './common.js';
import type { Actual, RunContext } from './types.js';

export interface Blocker {
  /** the AWS id of the thing in the way (eni-…, i-…, sg-…, subnet-…) */
  id: string;
  /** what it is, in words */
  what: string;
  /** our resources it keeps from being deleted */
  blocks: Actual[];
}

export interface SweepResult {
  /** what was deleted, as `kind id` */
  deleted: string[];
  blockers: Blocker[];
}

/** Made by this cluster's Kubernetes (and not by kubeaz, whose handlers delete their own). */
export function isKubernetesMade(tags: Tags, clusterId: string): boolean {
  if (tags[OWNER_TAG]) return false;
  return tags[k8sClusterTag(clusterId)] === 'owned' || tags['elbv2.k8s.aws/cluster'] === clusterId;
}

/** Retries DependencyViolation (an ELB's interfaces still leaving) within the dependency budget; NotFound is done. */
const patiently = (ctx: RunContext, fn: () => Promise<unknown>): Promise<void> => whileDependent(ctx, () => ignoreNotFound(fn()));

async function sweepClassicElbs(ctx: RunContext, vpcId: string, deleted: string[]): Promise<void> {
  const elb = await import('@aws-sdk/client-elastic-load-balancing');
  const client = await ctx.aws.elb();
  const all = await drain(elb.paginateDescribeLoadBalancers({ client }, {}), (p) => p.LoadBalancerDescriptions);
  const inVpc = all.filter((l) => l.VPCId === vpcId && l.LoadBalancerName);
  for (const names of chunks(
    inVpc.map((l) => l.LoadBalancerName!),
    20,
  )) {
    const tags = await client.send(new elb.DescribeTagsCommand({ LoadBalancerNames: names }));
    for (const d of tags.TagDescriptions ?? []) {
      if (!d.LoadBalancerName || !isKubernetesMade(fromTagList(d.Tags), ctx.clusterId)) continue;
      await patiently(ctx, () => client.send(new elb.DeleteLoadBalancerCommand({ LoadBalancerName: d.LoadBalancerName! })));
      deleted.push(`load balancer ${d.LoadBalancerName}`);
    }
  }
}

async function sweepElbv2(ctx: RunContext, vpcId: string, deleted: string[]): Promise<void> {
  const v2 = await import('@aws-sdk/client-elastic-load-balancing-v2');
  const client = await ctx.aws.elbv2();
  const ours = async (arns: string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const batch of chunks(arns, 20)) {
      const t = await client.send(new v2.DescribeTagsCommand({ ResourceArns: batch }));
      for (const d of t.TagDescriptions ?? [])
        if (d.ResourceArn && isKubernetesMade(fromTagList(d.Tags), ctx.clusterId)) out.push(d.ResourceArn);
    }
    return out;
  };
  const lbs = (await drain(v2.paginateDescribeLoadBalancers({ client }, {}), (p) => p.LoadBalancers)).filter(
    (l) => l.VpcId === vpcId && l.LoadBalancerArn,
  );
  const lbArns = await ours(lbs.map((l) => l.LoadBalancerArn!));
  await Promise.all(
    lbArns.map(async (arn) => {
      await patiently(ctx, () => client.send(new v2.DeleteLoadBalancerCommand({ LoadBalancerArn: arn })));
      deleted.push(`load balancer ${arn.split('/').slice(-2, -1)[0] ?? arn}`);
    }),
  );
  const tgs = (await drain(v2.paginateDescribeTargetGroups({ client }, {}), (p) => p.TargetGroups)).filter(
    (g) => g.VpcId === vpcId && g.TargetGroupArn,
  );
  for (const arn of await ours(tgs.map((g) => g.TargetGroupArn!))) {
    // ResourceInUse while its load balancer's listeners are still being removed: retried.
    await patiently(ctx, () => client.send(new v2.DeleteTargetGroupCommand({ TargetGroupArn: arn })));
    deleted.push(`target group ${arn.split('/').slice(-2, -1)[0] ?? arn}`);
  }
}

/**
 * The IAM actions the sweep calls. What it deletes is Kubernetes', tagged `kubernetes.io/cluster/<id>`
 * but not `kubeaz:cluster`: the operator policy grants these deletes with no condition on kubeaz's tag.
 */
export const SWEEP_CALLS: readonly string[] = [
  'ec2:DescribeInstances',
  'ec2:DescribeNatGateways',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeTags',
  'elasticloadbalancing:DescribeTargetGroups',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupEgress',
  'ec2:DeleteNetworkInterface',
  'ec2:DeleteSecurityGroup',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteTargetGroup',
];

/**
 * Deletes what the cluster's Kubernetes made in `vpcId`, then lists what still stands in the way
 * of deleting our subnets, security groups and VPC. `owned` is what destroy observed as ours.
 */
export async function sweepKubernetesMade(ctx: RunContext, owned: readonly Actual[]): Promise<SweepResult> {
  const vpc = owned.find((a) => a.kind === 'vpc');
  const result: SweepResult = { deleted: [], blockers: [] };
  if (!vpc || ctx.signal.aborted) return result;
  const vpcId = vpc.id;
  const ec2m = await import('@aws-sdk/client-ec2');
  const ec2 = await ctx.aws.ec2();
  const inVpc = [{ Name: 'vpc-id', Values: [vpcId] }];

  // 1. Load balancers (they hold interfaces in our subnets and use the Service groups).
  await Promise.all([sweepClassicElbs(ctx, vpcId, result.deleted), sweepElbv2(ctx, vpcId, result.deleted)]);

  // 2. Security groups: first the rules that reference a Kubernetes group from ours (the cloud
  //    provider opens the node ports on the nodes' group to its load balancer's group), then the groups.
  const groups = await drain(ec2m.paginateDescribeSecurityGroups({ client: ec2 }, { Filters: inVpc }), (p) => p.SecurityGroups);
  const k8sGroups = new Set(groups.filter((g) => isKubernetesMade(fromTagList(g.Tags), ctx.clusterId)).map((g) => g.GroupId!));
  const ourGroupIds = new Set(owned.filter((a) => a.kind === 'security-group').map((a) => a.id));
  for (const g of groups) {
    if (!g.GroupId || !(ourGroupIds.has(g.GroupId) || k8sGroups.has(g.GroupId))) continue;
    for (const [direction, perms] of [
      ['ingress', g.IpPermissions],
      ['egress', g.IpPermissionsEgress],
    ] as const) {
      const refs = (perms ?? [])
        .map((p) => ({
          ...p,
          UserIdGroupPairs: (p.UserIdGroupPairs ?? [])
            .filter((u) => u.GroupId && k8sGroups.has(u.GroupId))
            .map((u) => ({ GroupId: u.GroupId! })),
          IpRanges: [],
          Ipv6Ranges: [],
          PrefixListIds: [],
        }))
        .filter((p) => p.UserIdGroupPairs.length);
      if (!refs.length) continue;
      try {
        if (direction === 'ingress')
          await ec2.send(new ec2m.RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId, IpPermissions: refs }));
        else await ec2.send(new ec2m.RevokeSecurityGroupEgressCommand({ GroupId: g.GroupId, IpPermissions: refs }));
      } catch (e) {
        if (!isNotFound(e)) throw e; // revoked already (our own rules' delete may have been first)
      }
    }
  }

  // 3. Network interfaces Kubernetes left detached.
  const enis = await drain(ec2m.paginateDescribeNetworkInterfaces({ client: ec2 }, { Filters: inVpc }), (p) => p.NetworkInterfaces);
  for (const n of enis) {
    if (n.NetworkInterfaceId && n.Status === 'available' && isKubernetesMade(fromTagList(n.TagSet), ctx.clusterId)) {
      await patiently(ctx, () => ec2.send(new ec2m.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: n.NetworkInterfaceId! })));
      result.deleted.push(`network interface ${n.NetworkInterfaceId}`);
    }
  }
  await Promise.all(
    [...k8sGroups].map(async (id) => {
      await patiently(ctx, () => ec2.send(new ec2m.DeleteSecurityGroupCommand({ GroupId: id })));
      result.deleted.push(`security group ${id}`);
    }),
  );

  // 4. What is left that is neither ours nor Kubernetes': blockers, never deleted.
  result.blockers = await findBlockers(
    ctx,
    owned,
    vpcId,
    new Set(result.deleted.filter((d) => d.startsWith('network interface ')).map((d) => d.split(' ').pop()!)),
    k8sGroups,
  );
  return result;
}

async function findBlockers(
  ctx: RunContext,
  owned: readonly Actual[],
  vpcId: string,
  deletedEnis: ReadonlySet<string>,
  k8sGroups: ReadonlySet<string>,
): Promise<Blocker[]> {
  const ec2m = await import('@aws-sdk/client-ec2');
  const ec2 = await ctx.aws.ec2();
  const inVpc = [{ Name: 'vpc-id', Values: [vpcId] }];
  const [enis, reservations, nats, groups, subnets] = await Promise.all([
    drain(ec2m.paginateDescribeNetworkInterfaces({ client: ec2 }, { Filters: inVpc }), (p) => p.NetworkInterfaces),
    drain(ec2m.paginateDescribeInstances({ client: ec2 }, { Filters: inVpc }), (p) => p.Reservations),
    drain(ec2m.paginateDescribeNatGateways({ client: ec2 }, { Filter: inVpc }), (p) => p.NatGateways),
    drain(ec2m.paginateDescribeSecurityGroups({ client: ec2 }, { Filters: inVpc }), (p) => p.SecurityGroups),
    drain(ec2m.paginateDescribeSubnets({ client: ec2 }, { Filters: inVpc }), (p) => p.Subnets),
  ]);
  const byId = new Map(owned.map((a) => [a.id, a]));
  const vpc = owned.find((a) => a.kind === 'vpc')!;
  const k8sTag = k8sClusterTag(ctx.clusterId);
  const instances = new Map(reservations.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId!, i]));
  const natEnis = new Set(nats.flatMap((n) => (n.NatGatewayAddresses ?? []).map((a) => a.NetworkInterfaceId)).filter(Boolean));
  const ours = (tags: Tags) => tags[OWNER_TAG] === ctx.clusterId;
  const ourOrK8s = (tags: Tags) => ours(tags) || isKubernetesMade(tags, ctx.clusterId);
  const ourGroups = new Set(owned.filter((a) => a.kind === 'auto-scaling-group').map((a) => a.id));
  const ourInstance = (tags: Tags) => ours(tags) || ourGroups.has(tags['aws:autoscaling:groupName'] ?? '');
  const gone = (state: string | undefined) => state === 'terminated' || state === 'shutting-down';
  const blockers: Blocker[] = [];
  const blocked = (ids: Array<string | undefined>): Actual[] => {
    const out = ids.map((id) => (id ? byId.get(id) : undefined)).filter((a): a is Actual => Boolean(a));
    return [...new Set([...out, vpc])];
  };
  const reported = new Set<string>();

  for (const i of instances.values()) {
    if (!i.InstanceId || gone(i.State?.Name) || ourInstance(fromTagList(i.Tags))) continue;
    reported.add(i.InstanceId);
    blockers.push({
      id: i.InstanceId,
      what: `instance ${i.InstanceId} (${i.State?.Name ?? 'unknown state'}, ${i.InstanceType ?? ''}, neither kubeaz's nor Kubernetes': no ${OWNER_TAG} or ${k8sTag} tag)`,
      blocks: blocked([i.SubnetId, ...(i.SecurityGroups ?? []).map((g) => g.GroupId)]),
    });
  }
  for (const n of enis) {
    const id = n.NetworkInterfaceId;
    if (!id || deletedEnis.has(id) || natEnis.has(id)) continue;
    if (n.RequesterManaged || (n.InterfaceType && n.InterfaceType !== 'interface')) continue; // AWS's own: goes with its owner
    if (ourOrK8s(fromTagList(n.TagSet))) continue;
    const attached = n.Attachment?.InstanceId;
    if (attached) {
      const inst = instances.get(attached);
      // moto keeps a terminated instance's interface attached; AWS removes it. Not a blocker.
      if (!inst || gone(inst.State?.Name) || ourInstance(fromTagList(inst.Tags)) || reported.has(attached)) continue;
    }
    blockers.push({
      id,
      what:
        `network interface ${id} (neither kubeaz's nor Kubernetes': no ${OWNER_TAG} or ${k8sTag} tag` +
        `${n.Description ? `, description "${n.Description}"` : ''}${attached ? `, attached to ${attached}` : ''}, in ${n.SubnetId})`,
      blocks: blocked([n.SubnetId, ...(n.Groups ?? []).map((g) => g.GroupId)]),
    });
  }
  for (const g of groups) {
    if (!g.GroupId || g.GroupName === 'default' || byId.has(g.GroupId) || k8sGroups.has(g.GroupId) || ours(fromTagList(g.Tags))) continue;
    blockers.push({
      id: g.GroupId,
      what: `security group ${g.GroupId} "${g.GroupName}" (neither kubeaz's nor Kubernetes')`,
      blocks: [vpc],
    });
  }
  for (const s of subnets) {
    if (!s.SubnetId || byId.has(s.SubnetId) || ours(fromTagList(s.Tags))) continue;
    blockers.push({ id: s.SubnetId, what: `subnet ${s.SubnetId} ${s.CidrBlock ?? ''} (neither kubeaz's nor Kubernetes')`, blocks: [vpc] });
  }
  return blockers;
}

/** One line for the user: what is in the way, what it blocks, what to do. */
export function describeBlocker(b: Blocker): string {
  return `${b.what} blocks deleting ${b.blocks.map((a) => `${a.key} (${a.id})`).join(', ')}; kubeaz deletes only what it or the cluster's Kubernetes made: remove it or move it out of the VPC, then run destroy again`;
}
