/**
 * The calls rollout makes on the instances of one auto scaling group: read them with their
 * lifecycle states, terminate one so that the group launches its replacement (the termination
 * passes through the group's lifecycle hook: the termination handler drains the node first), and
 * — `rollout --force` — complete a termination's lifecycle action (CONTINUE) before the drain has.
 */
import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { DRAIN_HOOK } from '../model/names.js';
import { errorCode } from './errors.js';

/** An AutoScalingClient, or a mock of one. */
export interface AsgSender {
  send(command: unknown): Promise<unknown>;
}

export interface GroupInstance {
  id: string;
  /** Pending, InService, Terminating, Terminating:Wait, Terminating:Proceed, … */
  state: string;
  zone?: string;
  launchTemplateId?: string;
  version?: string;
}

/** One group's instances as Auto Scaling lists them (an empty list when the group is gone). */
export async function groupInstances(asg: AsgSender, asgName: string): Promise<GroupInstance[]> {
  const out = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }))) as {
    AutoScalingGroups?: AutoScalingGroup[];
  };
  return (out.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => ({
    id: i.InstanceId ?? '',
    state: i.LifecycleState ?? '',
    ...(i.AvailabilityZone ? { zone: i.AvailabilityZone } : {}),
    ...(i.LaunchTemplate?.LaunchTemplateId ? { launchTemplateId: i.LaunchTemplate.LaunchTemplateId } : {}),
    ...(i.LaunchTemplate?.Version ? { version: i.LaunchTemplate.Version } : {}),
  }));
}

/** Terminates one instance of its group, the group's desired capacity unchanged: the group launches a replacement. */
export async function terminateInGroup(asg: AsgSender, instanceId: string): Promise<void> {
  await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: false }));
}

/**
 * Completes an instance's termination lifecycle action (kubeaz's drain hook) with CONTINUE: Auto
 * Scaling terminates it now, drained or not. False when it has no action pending any more (the
 * drain finished, or the heartbeat ran out, meanwhile): Auto Scaling answers ValidationError then.
 */
export async function continueTermination(asg: AsgSender, asgName: string, instanceId: string): Promise<boolean> {
  try {
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: asgName,
        LifecycleHookName: DRAIN_HOOK,
        InstanceId: instanceId,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    return true;
  } catch (e) {
    if (errorCode(e) === 'ValidationError' && /no active lifecycle action/i.test((e as Error).message)) return false;
    throw e;
  }
}
