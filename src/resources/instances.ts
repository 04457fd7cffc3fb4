/**
 * The cluster's EC2 instances as `logs`, `ssh` and `backup-etcd` need them — not a kind kubeaz creates
 * (the auto scaling groups launch them), so no handler: the instances of a group or by id, each
 * proved this cluster's by its tags on what comes back, and an instance's console output.
 */
import {
  DescribeInstancesCommand,
  GetConsoleOutputCommand,
  paginateDescribeInstances,
  type Filter,
  type Instance,
} from '@aws-sdk/client-ec2';
import { errorCode, isNotFound } from '../aws/errors.js';
import { fromTagList } from '../aws/tags.js';
import { GROUP_TAG, OWNER_TAG } from '../model/types.js';
import { claims, drain } from './common.js';
import { describeOwnedScalingGroups } from './own-scaling-groups.js';
import type { RunContext } from './types.js';

/** The IAM actions these reads call (the operator policy is built from them). */
export const INSTANCE_CALLS: readonly string[] = ['ec2:DescribeInstances', 'ec2:GetConsoleOutput'];

export interface ClusterInstance {
  id: string;
  /** the node group (kubeaz:node-group tag) */
  group: string;
  /** pending | running | stopping | stopped | shutting-down | terminated */
  state: string;
  zone?: string;
  privateIp?: string;
  launchTime?: Date;
}

const toInstance = (i: Instance): ClusterInstance => {
  const tags = fromTagList(i.Tags);
  return {
    id: i.InstanceId ?? '',
    group: tags[GROUP_TAG] ?? '',
    state: i.State?.Name ?? '',
    ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {}),
    ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
    ...(i.LaunchTime ? { launchTime: i.LaunchTime } : {}),
  };
};

/**
 * The cluster's instances in these groups (every state EC2 still lists, terminated included),
 * oldest first. Each is checked against the cluster's ownership tags: a filter an emulator
 * ignores must not hand us another cluster's instance.
 */
export async function groupInstances(ctx: RunContext, groups: readonly string[], states?: readonly string[]): Promise<ClusterInstance[]> {
  const ec2 = await ctx.aws.ec2();
  const Filters: Filter[] = [
    { Name: `tag:${OWNER_TAG}`, Values: [ctx.clusterId] },
    { Name: `tag:${GROUP_TAG}`, Values: [...groups] },
    ...(states ? [{ Name: 'instance-state-name', Values: [...states] }] : []),
  ];
  const found = await drain(paginateDescribeInstances({ client: ec2 }, { Filters }), (p) =>
    p.Reservations?.flatMap((r) => r.Instances ?? []),
  );
  return found
    .filter((i) => i.InstanceId && claims(ctx, fromTagList(i.Tags), `instance ${i.InstanceId}`))
    .map(toInstance)
    .filter((i) => groups.includes(i.group) && (!states || states.includes(i.state)))
    .sort((a, b) => (a.launchTime?.getTime() ?? 0) - (b.launchTime?.getTime() ?? 0) || a.id.localeCompare(b.id));
}

/**
 * One instance by id: this cluster's, another's (its owner tag, or none), or gone (EC2 no longer
 * knows it: terminated more than about an hour ago, or never in this account and region).
 */
export async function instanceById(ctx: RunContext, id: string): Promise<{ mine: ClusterInstance } | { notMine: string } | { gone: true }> {
  const ec2 = await ctx.aws.ec2();
  let found: Instance | undefined;
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    found = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
  } catch (e) {
    if (isNotFound(e) || errorCode(e) === 'InvalidInstanceID.Malformed') return { gone: true };
    throw e;
  }
  if (!found) return { gone: true };
  const tags = fromTagList(found.Tags);
  if (!claims(ctx, tags, `instance ${id}`))
    return { notMine: tags[OWNER_TAG] ? `it belongs to ${tags[OWNER_TAG]}` : `it carries no ${OWNER_TAG} tag` };
  return { mine: toInstance(found) };
}

/**
 * The instance's console output (the serial console: kernel, cloud-init and the agent's phases),
 * decoded from base64: the newest AWS has (`Latest`, on Nitro instances; older types answer with
 * what they kept at boot). Empty text when the instance has written none yet.
 */
export async function consoleOutput(ctx: RunContext, id: string): Promise<{ text: string; timestamp?: Date }> {
  const ec2 = await ctx.aws.ec2();
  let out;
  try {
    out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
  } catch (e) {
    // Latest is for Nitro instances only: ask again for what the instance kept
    if (errorCode(e) !== 'UnsupportedOperation' && errorCode(e) !== 'InvalidParameterCombination') throw e;
    out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
  }
  const text = out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : '';
  return { text, ...(out.Timestamp ? { timestamp: out.Timestamp } : {}) };
}

/**
 * The instances of a group its auto scaling group has InService (launched, past its lifecycle
 * hooks, not terminating), by instance id: the order `ssh` picks from. The group is found by its
 * tags and proved this cluster's.
 */
export async function inServiceInstances(ctx: RunContext, group: string): Promise<Array<{ id: string; zone?: string }>> {
  const groups = (await describeOwnedScalingGroups(ctx)).filter(
    (g) => fromTagList(g.Tags)[GROUP_TAG] === group && claims(ctx, fromTagList(g.Tags), `auto scaling group ${g.AutoScalingGroupName}`),
  );
  return groups
    .flatMap((g) => g.Instances ?? [])
    .filter((i) => i.InstanceId && i.LifecycleState === 'InService')
    .map((i) => ({ id: i.InstanceId!, ...(i.AvailabilityZone ? { zone: i.AvailabilityZone } : {}) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}
