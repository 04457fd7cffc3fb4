/**
 * rollout against the SDK mock (moto runs no lifecycle hook): only groups whose instances run an
 * older launch template version are replaced, node groups first, the master last and only after a
 * fresh etcd backup; a batch at a time (as many as --min-healthy-percentage lets go), each
 * terminated in its group without decrementing it, the next only once the replacements are Ready
 * (here a probe that says so at once: rollout-drain.test.ts reads a fake API server and boot
 * reports); a replacement that does not come up stops the rollout before the master.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { RecordingProgress } from '../../src/engine/progress.js';
import { groupStates, rollout, type RolloutDeps } from '../../src/operations/rollout.js';
import type { ReadyProbe } from '../../src/operations/rollout-watch.js';
import { asgSim, simGroup, type AsgSim } from '../helpers/asg-sim.js';

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

/** Every new instance's node Ready at once; each look is logged as "up <group>". */
const readyAtOnce =
  (log: string[]): ReadyProbe =>
  async (instances) => {
    log.push(`up ${[...new Set(instances.map((i) => i.group))].join(',')}`);
    return {
      api: { reachable: true },
      nodes: new Map(instances.map((i) => [i.id, { name: `node-${i.id}`, ready: true }])),
      boots: new Map(),
    };
  };

function deps(sim: AsgSim, over: Partial<RolloutDeps> = {}): RolloutDeps & { progress: RecordingProgress; order: string[] } {
  const order = sim.log;
  return {
    asg: new AutoScalingClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    clusterId: 'c-qa',
    progress: new RecordingProgress(),
    pollSeconds: 0.01,
    maxWaitSeconds: 5,
    minHealthyPercentage: 90,
    drainTimeoutSeconds: 360,
    force: false,
    probe: readyAtOnce(order),
    loadBackup: async () => async () => void order.push('backup'),
    order,
    ...over,
  } as RolloutDeps & { progress: RecordingProgress; order: string[] };
}

/** The log with instance ids left out: "terminate general", "up general", "backup", … */
const steps = (log: string[]) => log.map((l) => l.replace(/ i-[0-9a-f]+$/, ''));

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

  it('node groups first, one instance at a time, each next only once the replacement is Ready; the master last after a fresh backup', async () => {
    const sim = asgSim(asgMock, [
      simGroup('master', 'a', '3', ['2']),
      simGroup('general', 'b', '2', ['1', '1']),
      simGroup('edge', 'c', '1', ['1']),
    ]);
    const d = deps(sim);
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => [s.group, s.status, s.replaced])).toEqual([
      ['edge', 'up-to-date', undefined],
      ['general', 'Successful', 2],
      ['master', 'Successful', 1],
    ]);
    expect(steps(d.order)).toEqual([
      'terminate general',
      'up general',
      'terminate general',
      'up general',
      'backup',
      'terminate master',
      'up master',
    ]);
    const terms = asgMock.commandCalls(TerminateInstanceInAutoScalingGroupCommand).map((c) => c.args[0].input);
    expect(terms).toEqual([
      { InstanceId: 'i-0b0000', ShouldDecrementDesiredCapacity: false },
      { InstanceId: 'i-0b0001', ShouldDecrementDesiredCapacity: false },
      { InstanceId: 'i-0a0000', ShouldDecrementDesiredCapacity: false },
    ]);
    // every instance now runs its group's version, none replaced twice
    for (const g of sim.groups) expect(g.instances.map((i) => i.version)).toEqual(g.instances.map(() => g.version));
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('--min-healthy-percentage sets the batch: 50% of four goes two at a time, each pair waited for', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1', '1', '1'])]);
    const d = deps(sim, { minHealthyPercentage: 50 });
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(steps(d.order)).toEqual([
      'terminate general',
      'terminate general',
      'up general',
      'terminate general',
      'terminate general',
      'up general',
    ]);
    expect(d.progress.events).toContainEqual({
      type: 'info',
      message: 'general: replacing 4 of 4 instances (launch template version 2), 2 at a time (min healthy 50%)',
    });
  });

  it('waits while the replacement is not Ready, showing why; goes on once it is', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])]);
    let looks = 0;
    const d = deps(sim, {
      probe: async (instances) => {
        looks++;
        sim.log.push('look');
        return {
          api: { reachable: true },
          nodes: new Map(looks % 3 === 0 ? instances.map((i) => [i.id, { name: `node-${i.id}`, ready: true }]) : []),
          boots: new Map(),
        };
      },
    });
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(steps(d.order)).toEqual(['terminate general', 'look', 'look', 'look', 'terminate general', 'look', 'look', 'look']);
    const waits = d.progress.events.filter((e) => e.type === 'wait');
    expect(waits).toHaveLength(4);
    expect(waits[0]).toMatchObject({ ready: 0, total: 1 });
    expect((waits[0] as { what: string }).what).toMatch(
      /^general replacement \(0\/1 new Ready; i-0f[0-9a-f]+: node never registered \(no boot report read\)\)$/,
    );
  });

  it('without takeBackup the master is refused and not touched; node groups still roll', async () => {
    const sim = asgSim(asgMock, [simGroup('master', 'a', '3', ['2']), simGroup('general', 'b', '2', ['1'])]);
    const r = await rollout(deps(sim, { loadBackup: async () => undefined, minHealthyPercentage: 50 }));
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => [s.group, s.status])).toEqual([
      ['general', 'Successful'],
      ['master', 'refused'],
    ]);
    expect(r.steps[1]!.reason).toMatch(/only after a fresh etcd backup/);
    expect(steps(sim.log)).toEqual(['terminate general', 'up general']);
  });

  it('a replacement whose boot fails stops the rollout before the master (no backup, no master touched), its phase the reason', async () => {
    const sim = asgSim(asgMock, [simGroup('master', 'a', '3', ['2']), simGroup('general', 'b', '2', ['1', '1'])]);
    const d = deps(sim, {
      probe: async (instances) => ({
        api: { reachable: false, reason: 'https://api.qa.kube:443: ECONNREFUSED' },
        nodes: new Map(),
        boots: new Map(
          instances.map((i) => [
            i.id,
            {
              instanceId: i.id,
              group: i.group,
              phase: 'kubeadm-join',
              result: 'failed' as const,
              error: { phase: 'kubeadm-join', message: 'kubeadm join exited 1' },
              stalled: false,
              updatedAt: '2026-11-28T20:05:00Z',
            },
          ]),
        ),
      }),
    });
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(r.steps).toEqual([
      {
        group: 'general',
        asgName: 'c-qa-general',
        status: 'stopped',
        replaced: 0,
        reason: `general: new instance ${sim.launched.get('general')![0]} does not come up: boot failed at kubeadm-join: kubeadm join exited 1`,
      },
    ]);
    expect(steps(d.order)).toEqual(['terminate general']);
  });

  it('--group picks one group; an unknown one is an error naming the groups', async () => {
    const sim = asgSim(asgMock, [simGroup('master', 'a', '3', ['2']), simGroup('general', 'b', '2', ['1'])]);
    const r = await rollout(deps(sim, { only: 'general' }));
    expect(r.steps.map((s) => s.group)).toEqual(['general']);
    expect(steps(sim.log)).toEqual(['terminate general', 'up general']);
    await expect(rollout(deps(sim, { only: 'nope' }))).rejects.toThrow(/no group named nope in cluster c-qa \(groups: master, general\)/);
  });
});

describe('rollout of a minor Kubernetes upgrade', () => {
  beforeEach(() => {
    asgMock.reset();
  });

  it('the master first after a fresh backup, then waits for the API at the new version, then the node groups', async () => {
    const sim = asgSim(asgMock, [
      simGroup('general', 'b', '2', ['1']),
      simGroup('master', 'a', '3', ['2']),
      simGroup('edge', 'c', '2', ['1']),
    ]);
    const d = deps(sim);
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async (v) => void d.order.push(`api ${v}`) };
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(steps(d.order).filter((o) => !o.startsWith('up'))).toEqual([
      'backup',
      'terminate master',
      'api 1.36.0',
      'terminate edge',
      'api 1.36.0',
      'terminate general',
    ]);
    expect(r.steps.map((s) => s.group)).toEqual(['master', 'edge', 'general']);
  });

  it('when no API answers with the new version, no node group is touched and the reason is clear', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1']), simGroup('master', 'a', '3', ['2'])]);
    const d = deps(sim);
    d.minorUpgrade = {
      from: '1.35.2',
      to: '1.36.0',
      waitForApi: async () => {
        throw new Error('no Kubernetes API answers at https://master.qa.kube:443: connect ECONNREFUSED');
      },
    };
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(steps(d.order)).toEqual(['backup', 'terminate master', 'up master']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'general', status: 'refused' });
    expect(r.steps.at(-1)!.reason).toMatch(/API server must run 1\.36\.0 before any kubelet does — no Kubernetes API answers at/);
  });

  it('--group of a node group during a minor upgrade is refused while the master still runs the old minor', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1']), simGroup('master', 'a', '3', ['2'])]);
    const d = deps(sim, { only: 'general' });
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async () => undefined };
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
  const ha = () => [
    simGroup('master-3', 'd', '2', ['1']),
    simGroup('general', 'b', '2', ['1']),
    simGroup('master', 'a', '2', ['1']),
    simGroup('master-2', 'e', '2', ['1']),
  ];

  it('one master at a time, in order, each only once the previous one is back (node Ready, API Ready, etcd healthy); one backup first', async () => {
    const sim = asgSim(asgMock, ha());
    const d = deps(sim);
    const since: Date[] = [];
    d.waitForControlPlane = async (g, at) => {
      since.push(at);
      d.order.push(`back ${g}`);
    };
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(steps(d.order)).toEqual([
      'terminate general',
      'up general',
      'backup',
      'terminate master',
      'up master',
      'back master',
      'terminate master-2',
      'up master-2',
      'back master-2',
      'terminate master-3',
      'up master-3',
      'back master-3',
    ]);
    // never two at once: every master's replacement starts after the previous master is back
    expect(r.steps.map((s) => [s.group, s.status])).toEqual([
      ['general', 'Successful'],
      ['master', 'Successful'],
      ['master-2', 'Successful'],
      ['master-3', 'Successful'],
    ]);
    expect(since).toHaveLength(3);
  });

  it('a master that does not come back stops the rollout: the next master is not touched', async () => {
    const sim = asgSim(asgMock, ha());
    const d = deps(sim);
    d.waitForControlPlane = async (g) => {
      d.order.push(`back? ${g}`);
      throw new Error('etcd not healthy (/readyz/etcd: HTTP 500)');
    };
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(steps(d.order).filter((o) => o.startsWith('terminate'))).toEqual(['terminate general', 'terminate master']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'master', status: 'refused' });
    expect(r.steps.at(-1)!.reason).toMatch(/not healthy again.*readyz\/etcd: HTTP 500/);
  });

  it('without a way to check the control plane, no master of several is replaced', async () => {
    const sim = asgSim(asgMock, ha());
    const d = deps(sim);
    const r = await rollout(d);
    expect(r.ok).toBe(false);
    expect(steps(d.order).filter((o) => o.startsWith('terminate'))).toEqual(['terminate general']);
    expect(r.steps.at(-1)).toMatchObject({ group: 'master', status: 'refused' });
  });

  it('a minor upgrade: every master first (one at a time), then the API at the new version, then the node groups', async () => {
    const sim = asgSim(asgMock, ha());
    const d = deps(sim);
    d.waitForControlPlane = async (g) => void d.order.push(`back ${g}`);
    d.minorUpgrade = { from: '1.35.2', to: '1.36.0', waitForApi: async (v) => void d.order.push(`api ${v}`) };
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(steps(d.order).filter((o) => !o.startsWith('up'))).toEqual([
      'backup',
      'terminate master',
      'back master',
      'terminate master-2',
      'back master-2',
      'terminate master-3',
      'back master-3',
      'api 1.36.0',
      'terminate general',
    ]);
  });
});
