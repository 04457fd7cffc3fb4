/**
 * rollout against the SDK mock (moto answers 500 to instance refresh): only groups whose instances
 * run an older launch template version are refreshed, node groups first, the master last and only
 * after a fresh etcd backup; progress is polled until the refresh completes; a failed refresh stops
 * the rollout before the master.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { RecordingProgress } from '../../src/engine/progress.js';
import { groupStates, rollout, type RolloutDeps } from '../../src/operations/rollout.js';

const asgMock = sdkMock(AutoScalingClient);

const group = (name: string, version: string, instanceVersions: string[]): AutoScalingGroup => ({
  AutoScalingGroupName: `c-qa-${name}`,
  MinSize: 1,
  MaxSize: 3,
  DesiredCapacity: instanceVersions.length,
  DefaultCooldown: 300,
  AvailabilityZones: ['us-west-2a'],
  HealthCheckType: 'EC2',
  CreatedTime: new Date(),
  LaunchTemplate: { LaunchTemplateId: `lt-${name}`, Version: version },
  Tags: [
    { Key: 'kubeaz:cluster', Value: 'c-qa' },
    { Key: 'kubeaz:node-group', Value: name },
  ],
  Instances: instanceVersions.map((v, i) => ({
    InstanceId: `i-${name}${i}`,
    AvailabilityZone: 'us-west-2a',
    LifecycleState: 'InService',
    HealthStatus: 'Healthy',
    ProtectedFromScaleIn: false,
    LaunchTemplate: { LaunchTemplateId: `lt-${name}`, Version: v },
  })),
});

function deps(over: Partial<RolloutDeps> = {}): RolloutDeps & { progress: RecordingProgress; order: string[] } {
  const order: string[] = [];
  return {
    asg: new AutoScalingClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    clusterId: 'c-qa',
    progress: new RecordingProgress(),
    pollSeconds: 0.01,
    maxWaitSeconds: 5,
    minHealthyPercentage: 90,
    loadBackup: async () => async () => void order.push('backup'),
    order,
    ...over,
  } as RolloutDeps & { progress: RecordingProgress; order: string[] };
}

describe('rollout', () => {
  beforeEach(() => {
    asgMock.reset();
  });

  it('finds the instances that run an older version than their group launches', () => {
    const s = groupStates([group('general', '2', ['1', '2', '1']), group('edge', '1', ['1'])]);
    expect(s.map((g) => [g.group, g.stale])).toEqual([
      ['general', ['i-general0', 'i-general2']],
      ['edge', []],
    ]);
  });

  it('node groups first, the master last after a fresh backup; polls each refresh to Successful', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('master', '3', ['2']), group('general', '2', ['1', '1']), group('edge', '1', ['1'])] });
    const d = deps();
    asgMock.on(StartInstanceRefreshCommand).callsFake((input: { AutoScalingGroupName: string }) => {
      d.order.push(`start ${input.AutoScalingGroupName}`);
      return { InstanceRefreshId: `ir-${input.AutoScalingGroupName}` };
    });
    const polls = new Map<string, number>();
    asgMock.on(DescribeInstanceRefreshesCommand).callsFake((input: { AutoScalingGroupName: string; InstanceRefreshIds: string[] }) => {
      const n = (polls.get(input.AutoScalingGroupName) ?? 0) + 1;
      polls.set(input.AutoScalingGroupName, n);
      const done = n >= 3;
      return {
        InstanceRefreshes: [
          {
            InstanceRefreshId: input.InstanceRefreshIds[0],
            Status: done ? 'Successful' : n === 1 ? 'Pending' : 'InProgress',
            PercentageComplete: done ? 100 : 50,
            InstancesToUpdate: done ? 0 : 1,
          },
        ],
      };
    });
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => [s.group, s.status])).toEqual([
      ['edge', 'up-to-date'],
      ['general', 'Successful'],
      ['master', 'Successful'],
    ]);
    expect(d.order).toEqual(['start c-qa-general', 'backup', 'start c-qa-master']);
    const starts = asgMock.commandCalls(StartInstanceRefreshCommand).map((c) => c.args[0].input);
    expect(starts[0]).toEqual({
      AutoScalingGroupName: 'c-qa-general',
      Strategy: 'Rolling',
      Preferences: { MinHealthyPercentage: 90, SkipMatching: true },
    });
    expect(polls.get('c-qa-general')).toBe(3);
    const waits = d.progress.events.filter((e) => e.type === 'wait');
    expect(waits.length).toBe(6);
    expect(waits[0]).toMatchObject({ what: 'instance refresh of general (Pending, 1 to replace)', ready: 50, total: 100 });
  });

  it('without takeBackup the master is refused and not touched; node groups still roll', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('master', '3', ['2']), group('general', '2', ['1'])] });
    asgMock.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'ir-1' });
    asgMock
      .on(DescribeInstanceRefreshesCommand)
      .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'ir-1', Status: 'Successful', PercentageComplete: 100 }] });
    const r = await rollout(deps({ loadBackup: async () => undefined, minHealthyPercentage: 50 }));
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => [s.group, s.status])).toEqual([
      ['general', 'Successful'],
      ['master', 'refused'],
    ]);
    expect(r.steps[1]!.reason).toMatch(/only after a fresh etcd backup/);
    const starts = asgMock.commandCalls(StartInstanceRefreshCommand).map((c) => c.args[0].input.AutoScalingGroupName);
    expect(starts).toEqual(['c-qa-general']);
    expect(asgMock.commandCalls(StartInstanceRefreshCommand)[0]!.args[0].input.Preferences?.MinHealthyPercentage).toBe(50);
  });

  it('a failed refresh stops before the master (no backup, no master refresh)', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('master', '3', ['2']), group('general', '2', ['1'])] });
    asgMock.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'ir-1' });
    asgMock
      .on(DescribeInstanceRefreshesCommand)
      .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'ir-1', Status: 'Failed', StatusReason: 'instances failed health checks' }] });
    const d = deps();
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(r.steps).toEqual([
      {
        group: 'general',
        asgName: 'c-qa-general',
        status: 'Failed',
        refreshId: 'ir-1',
        replaced: 1,
        reason: 'instances failed health checks',
      },
    ]);
    expect(d.order).toEqual([]);
    expect(asgMock.commandCalls(StartInstanceRefreshCommand)).toHaveLength(1);
  });

  it('--group picks one group; an unknown one is an error naming the groups', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('master', '3', ['2']), group('general', '2', ['1'])] });
    asgMock.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: 'ir-1' });
    asgMock.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'ir-1', Status: 'Successful' }] });
    const r = await rollout(deps({ only: 'general' }));
    expect(r.steps.map((s) => s.group)).toEqual(['general']);
    await expect(rollout(deps({ only: 'nope' }))).rejects.toThrow(/no group named nope in cluster c-qa \(groups: master, general\)/);
  });

  it('an instance refresh already running is followed, not started twice', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [group('general', '2', ['1'])] });
    asgMock
      .on(StartInstanceRefreshCommand)
      .rejects(Object.assign(new Error('An Instance Refresh is already in progress'), { name: 'InstanceRefreshInProgress' }));
    asgMock.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'ir-old', Status: 'Successful' }] });
    const r = await rollout(deps());
    expect(r.steps).toEqual([{ group: 'general', asgName: 'c-qa-general', status: 'Successful', refreshId: 'ir-old', replaced: 1 }]);
  });
});

describe('rollout of a minor Kubernetes upgrade', () => {
  beforeEach(() => {
    asgMock.reset();
  });
  const refreshes = (d: { order: string[] }) => {
    asgMock.on(StartInstanceRefreshCommand).callsFake((input: { AutoScalingGroupName: string }) => {
      d.order.push(`start ${input.AutoScalingGroupName}`);
      return { InstanceRefreshId: `ir-${input.AutoScalingGroupName}` };
    });
    asgMock.on(DescribeInstanceRefreshesCommand).callsFake((input: { InstanceRefreshIds: string[] }) => ({
      InstanceRefreshes: [{ InstanceRefreshId: input.InstanceRefreshIds[0], Status: 'Successful', PercentageComplete: 100 }],
    }));
  };

  it('the master first after a fresh backup, then waits for the API at the new version, then the node groups', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('general', '2', ['1']), group('master', '3', ['2']), group('edge', '2', ['1'])] });
    const d = deps();
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async (v) => void d.order.push(`api ${v}`) };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(d.order).toEqual(['backup', 'start c-qa-master', 'api 1.36.0', 'start c-qa-edge', 'api 1.36.0', 'start c-qa-general']);
    expect(r.steps.map((s) => s.group)).toEqual(['master', 'edge', 'general']);
  });

  it('when no API answers with the new version, no node group is touched and the reason is clear', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('general', '2', ['1']), group('master', '3', ['2'])] });
    const d = deps();
    d.minorUpgrade = {
      from: '1.35.2',
      to: '1.36.0',
      waitForApi: async () => {
        throw new Error('no Kubernetes API answers at https://master.qa.kube:443: connect ECONNREFUSED');
      },
    };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(d.order).toEqual(['backup', 'start c-qa-master']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'general', status: 'refused' });
    expect(r.steps.at(-1)!.reason).toMatch(/API server must run 1\.36\.0 before any kubelet does — no Kubernetes API answers at/);
  });

  it('--group of a node group during a minor upgrade is refused while the master still runs the old minor', async () => {
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group('general', '2', ['1']), group('master', '3', ['2'])] });
    const d = deps({ only: 'general' });
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async () => undefined };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(r.steps[0]!.reason).toMatch(/master is replaced first/);
    expect(d.order).toEqual([]);
  });
});

describe('rollout of a highly available control plane (issue 13)', () => {
  beforeEach(() => {
    asgMock.reset();
  });
  /** Each refresh reports Successful on its second poll; the order of starts, polls and waits is recorded. */
  const refreshes = (d: { order: string[] }) => {
    asgMock.on(StartInstanceRefreshCommand).callsFake((input: { AutoScalingGroupName: string }) => {
      d.order.push(`start ${input.AutoScalingGroupName}`);
      return { InstanceRefreshId: `ir-${input.AutoScalingGroupName}` };
    });
    const polls = new Map<string, number>();
    asgMock.on(DescribeInstanceRefreshesCommand).callsFake((input: { AutoScalingGroupName: string; InstanceRefreshIds: string[] }) => {
      const n = (polls.get(input.AutoScalingGroupName) ?? 0) + 1;
      polls.set(input.AutoScalingGroupName, n);
      if (n === 2) d.order.push(`done ${input.AutoScalingGroupName}`);
      return {
        InstanceRefreshes: [
          {
            InstanceRefreshId: input.InstanceRefreshIds[0],
            Status: n >= 2 ? 'Successful' : 'InProgress',
            PercentageComplete: n >= 2 ? 100 : 0,
          },
        ],
      };
    });
  };
  const ha = () => [
    group('master-3', '2', ['1']),
    group('general', '2', ['1']),
    group('master', '2', ['1']),
    group('master-2', '2', ['1']),
  ];

  it('one master at a time, in order, each only once the previous one is back (node Ready, API Ready, etcd healthy); one backup first', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: ha() });
    const d = deps();
    const since: Date[] = [];
    d.waitForControlPlane = async (g, at) => {
      since.push(at);
      d.order.push(`back ${g}`);
    };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(d.order).toEqual([
      'start c-qa-general',
      'done c-qa-general',
      'backup',
      'start c-qa-master',
      'done c-qa-master',
      'back master',
      'start c-qa-master-2',
      'done c-qa-master-2',
      'back master-2',
      'start c-qa-master-3',
      'done c-qa-master-3',
      'back master-3',
    ]);
    // never two at once: every master's refresh starts after the previous master is back
    expect(r.steps.map((s) => [s.group, s.status])).toEqual([
      ['general', 'Successful'],
      ['master', 'Successful'],
      ['master-2', 'Successful'],
      ['master-3', 'Successful'],
    ]);
    expect(since).toHaveLength(3);
  });

  it('a master that does not come back stops the rollout: the next master is not touched', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: ha() });
    const d = deps();
    d.waitForControlPlane = async (g) => {
      d.order.push(`back? ${g}`);
      throw new Error('etcd not healthy (/readyz/etcd: HTTP 500)');
    };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(d.order.filter((o) => o.startsWith('start'))).toEqual(['start c-qa-general', 'start c-qa-master']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'master', status: 'refused' });
    expect(r.steps.at(-1)!.reason).toMatch(/not healthy again.*readyz\/etcd: HTTP 500/);
  });

  it('without a way to check the control plane, no master of several is replaced', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: ha() });
    const d = deps();
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(d.order.filter((o) => o.startsWith('start'))).toEqual(['start c-qa-general']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'master', status: 'refused' });
  });

  it('a minor upgrade: every master first (one at a time), then the API at the new version, then the node groups', async () => {
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: ha() });
    const d = deps();
    d.waitForControlPlane = async (g) => void d.order.push(`back ${g}`);
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async (v) => void d.order.push(`api ${v}`) };
    refreshes(d);
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(d.order.filter((o) => !o.startsWith('done'))).toEqual([
      'backup',
      'start c-qa-master',
      'back master',
      'start c-qa-master-2',
      'back master-2',
      'start c-qa-master-3',
      'back master-3',
      'api 1.36.0',
      'start c-qa-general',
    ]);
  });
});
