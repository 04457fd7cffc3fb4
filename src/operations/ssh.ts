/**
 * ssh's operation: a shell on one of the cluster's instances through AWS Systems Manager Session
 * Manager — no port 22, no key pair, no bastion (eksctl's `ssh.enableSsm` is the anchor): every
 * role carries the SSM agent's session permissions (model/policies.ts), and the session is the
 * AWS CLI's `aws ssm start-session`, which hands the terminal to the session-manager-plugin. A
 * group resolves to one of its InService instances, picked by instance id (`--index` for another).
 */
import { KubeazError } from '../aws/errors.js';
import { UsageError } from '../errors.js';
import { masterGroups } from '../model/names.js';
import { inServiceInstances, instanceById } from '../resources/index.js';
import type { ExternalPrograms } from '../util/programs.js';
import type { Session } from './session.js';

/** The IAM actions `kubeaz ssh` needs: the instance found (by id, or its group's in service), then the session the AWS CLI starts and ends. */
export const SSH_CALLS: readonly string[] = [
  'ec2:DescribeInstances',
  'autoscaling:DescribeAutoScalingGroups',
  'ssm:StartSession',
  'ssm:TerminateSession',
];

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** Where the two programs come from (AWS's own install pages). */
export const INSTALL = {
  aws: 'https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html',
  plugin: 'https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
} as const;

/** The programs a session needs that PATH does not have, each with how to install it; empty when both are there. */
export function missingPrograms(programs: ExternalPrograms): string[] {
  const missing: string[] = [];
  if (!programs.which('aws')) missing.push(`the AWS CLI (aws) is not on PATH: install version 2 (${INSTALL.aws})`);
  if (!programs.which('session-manager-plugin'))
    missing.push(`the Session Manager plugin (session-manager-plugin) is not on PATH: install it (${INSTALL.plugin})`);
  return missing;
}

/** The instance a session goes to, and the others the group had (for the note). */
export interface SshTarget {
  instanceId: string;
  group?: string;
  /** the group's InService instances in pick order, when a group was named */
  candidates?: Array<{ id: string; zone?: string }>;
}

/** An instance id of this cluster (refused otherwise), or a group's InService instance at `index` (by instance id). */
export async function resolveSshTarget(s: Session, target: string, index = 0): Promise<SshTarget> {
  if (INSTANCE_ID.test(target)) {
    const found = await instanceById(s.ctx, target);
    if ('notMine' in found)
      throw new KubeazError(
        `${target} is not an instance of ${s.clusterId} (${found.notMine}): refusing to open a session`,
        'NotThisCluster',
        target,
      );
    if ('gone' in found || found.mine.state !== 'running')
      throw new KubeazError(
        `${target} is not running (${'gone' in found ? 'EC2 no longer lists it' : found.mine.state}): no session to open`,
        'NotRunning',
        target,
      );
    return { instanceId: target, group: found.mine.group };
  }
  const groups = [...masterGroups(s.spec).map((m) => m.name), ...s.spec.spec.nodeGroups.map((g) => g.name)];
  if (!groups.includes(target))
    throw new UsageError(`${target}: not an instance id (i-…) nor a group of ${s.clusterId} (groups: ${groups.join(', ')})`);
  const candidates = await inServiceInstances(s.ctx, target);
  if (!candidates.length)
    throw new KubeazError(
      `the group ${target} of ${s.clusterId} has no InService instance: nothing to open a session to`,
      'NoInstances',
      `asg/${target}`,
    );
  if (index >= candidates.length)
    throw new UsageError(
      `--index ${index}: the group ${target} has ${candidates.length} InService instance(s) (--index 0–${candidates.length - 1})`,
    );
  return { instanceId: candidates[index]!.id, group: target, candidates };
}

/** The AWS CLI's arguments for a session to `instanceId` in `region` (with the profile kubeaz was given). */
export function startSessionArgs(instanceId: string, region: string, profile?: string): string[] {
  return ['ssm', 'start-session', '--target', instanceId, '--region', region, ...(profile ? ['--profile', profile] : [])];
}
