/**
 * Auto scaling groups as rollout sees them, played on the SDK mock (moto answers no lifecycle
 * action and runs no hook): DescribeAutoScalingGroups by tag or by name,
 * TerminateInstanceInAutoScalingGroup without decrementing (the instance waits in
 * Terminating:Wait on a group with the drain hook, Terminating on one without; the group launches
 * a replacement at its launch template version, Pending, InService on the next read), and
 * CompleteLifecycleAction. A draining instance leaves after `drainReads` reads of its group (the
 * termination handler's drain), or never when that is Infinity (a PodDisruptionBudget that holds).
 */
import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingClientResolvedConfig,
  type AutoScalingGroup,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-auto-scaling';
import type { AwsStub } from 'aws-sdk-client-mock';

export interface SimInstance {
  id: string;
  version: string;
  state: string;
  /** reads of its group since it began to drain */
  reads?: number;
}

export interface SimGroup {
  /** the kubeaz:node-group tag */
  group: string;
  asgName: string;
  version: string;
  /** has kubeaz's drain hook (node groups; never a master) */
  hook: boolean;
  instances: SimInstance[];
}

export interface AsgSim {
  groups: SimGroup[];
  /** every mutating call, in order: "terminate general i-…", "continue general i-…" (the test may add its own) */
  log: string[];
  /** new instances launched so far, by group */
  launched: Map<string, string[]>;
}

const asAsg = (g: SimGroup): AutoScalingGroup => ({
  AutoScalingGroupName: g.asgName,
  MinSize: 0,
  MaxSize: 10,
  DesiredCapacity: g.instances.filter((i) => !/^Terminat/.test(i.state)).length,
  DefaultCooldown: 300,
  AvailabilityZones: ['us-west-2a'],
  HealthCheckType: 'EC2',
  CreatedTime: new Date('2026-11-28T18:00:00Z'),
  LaunchTemplate: { LaunchTemplateId: `lt-${g.group}`, Version: g.version },
  Tags: [
    { Key: 'kubeaz:cluster', Value: 'c-qa' },
    { Key: 'kubeaz:node-group', Value: g.group },
  ],
  Instances: g.instances.map((i) => ({
    InstanceId: i.id,
    AvailabilityZone: 'us-west-2a',
    LifecycleState: i.state as never,
    HealthStatus: 'Healthy',
    ProtectedFromScaleIn: false,
    LaunchTemplate: { LaunchTemplateId: `lt-${g.group}`, Version: i.version },
  })),
});

/** One read of a group: Pending instances come in service, draining ones move on. */
function tick(g: SimGroup, drainReads: number): void {
  for (const i of g.instances) {
    if (i.state === 'Pending') i.state = 'InService';
    else if (i.state === 'Terminating:Wait') {
      i.reads = (i.reads ?? 0) + 1;
      if (i.reads >= drainReads) i.state = 'Terminating:Proceed';
    } else if (i.state === 'Terminating' || i.state === 'Terminating:Proceed') i.state = 'Terminated';
  }
  g.instances = g.instances.filter((i) => i.state !== 'Terminated');
}

let serial = 0;

export function asgSim(
  mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, AutoScalingClientResolvedConfig>,
  groups: SimGroup[],
  opts: { drainReads?: number } = {},
): AsgSim {
  const drainReads = opts.drainReads ?? 1;
  const sim: AsgSim = { groups, log: [], launched: new Map() };
  const byId = (id: string) => groups.find((g) => g.instances.some((i) => i.id === id));
  mock.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames?: string[] }) => {
    const chosen = input.AutoScalingGroupNames ? groups.filter((g) => input.AutoScalingGroupNames!.includes(g.asgName)) : groups;
    if (input.AutoScalingGroupNames) for (const g of chosen) tick(g, drainReads);
    return { AutoScalingGroups: chosen.map(asAsg) };
  });
  mock
    .on(TerminateInstanceInAutoScalingGroupCommand)
    .callsFake((input: { InstanceId: string; ShouldDecrementDesiredCapacity: boolean }) => {
      const g = byId(input.InstanceId)!;
      sim.log.push(`terminate ${g.group} ${input.InstanceId}`);
      const i = g.instances.find((x) => x.id === input.InstanceId)!;
      i.state = g.hook ? 'Terminating:Wait' : 'Terminating';
      i.reads = 0;
      if (!input.ShouldDecrementDesiredCapacity) {
        const id = `i-0f${(++serial).toString(16).padStart(6, '0')}`;
        g.instances.push({ id, version: g.version, state: 'Pending' });
        sim.launched.set(g.group, [...(sim.launched.get(g.group) ?? []), id]);
      }
      return {
        Activity: {
          ActivityId: `a-${serial}`,
          AutoScalingGroupName: g.asgName,
          Cause: 'terminate',
          StartTime: new Date(),
          StatusCode: 'InProgress',
        },
      };
    });
  mock
    .on(CompleteLifecycleActionCommand)
    .callsFake((input: { InstanceId: string; LifecycleHookName: string; LifecycleActionResult: string }) => {
      const g = byId(input.InstanceId);
      const i = g?.instances.find((x) => x.id === input.InstanceId);
      if (!i || i.state !== 'Terminating:Wait')
        throw Object.assign(new Error(`No active Lifecycle Action found with instance ID ${input.InstanceId}`), {
          name: 'ValidationError',
        });
      sim.log.push(`${input.LifecycleActionResult.toLowerCase()} ${g!.group} ${input.InstanceId}`);
      i.state = 'Terminating:Proceed';
      return {};
    });
  return sim;
}

/** A group of `count` instances at `from`, its template at `to`; instance ids i-0<tag><n> in hex. */
export function simGroup(group: string, tag: string, to: string, from: string[], hook = !/^master/.test(group)): SimGroup {
  return {
    group,
    asgName: `c-qa-${group}`,
    version: to,
    hook,
    instances: from.map((v, n) => ({ id: `i-0${tag}${n.toString(16).padStart(4, '0')}`, version: v, state: 'InService' })),
  };
}
