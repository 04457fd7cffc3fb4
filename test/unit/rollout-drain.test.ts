/**
 * rollout waits for Ready and drains (issue 20): the groups on the SDK mock (test/helpers/asg-sim.ts),
 * the new instances' nodes read by the real probe from a local HTTPS stand-in for the API server
 * answering NodeLists as the API returns them (test/fixtures/k8s-api.ts), their boot reports from
 * an in-memory bucket. A batch goes on only once its replacements' nodes are Ready; a new instance
 * that never is stops the rollout with its boot phase as the reason; a drain that outlasts
 * --drain-timeout stops it, unless --force, which completes the pending termination (CONTINUE).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { S3Client } from '@aws-sdk/client-s3';
import { RecordingProgress } from '../../src/engine/progress.js';
import { generateCa, signClientCert } from '../../src/pki/ca.js';
import { renderKubeconfig } from '../../src/pki/kubeconfig.js';
import { rollout, type RolloutDeps } from '../../src/operations/rollout.js';
import { readyProbe, type ReadyProbe } from '../../src/operations/rollout-watch.js';
import type { BootReport } from '../../src/records/boot.js';
import { list, node, systemPods, VERSION } from '../fixtures/k8s-api.js';
import { asgSim, simGroup, type AsgSim } from '../helpers/asg-sim.js';
import { startFakeApi, type FakeApi } from '../helpers/k8s-api-server.js';
import { MemoryBucket } from '../helpers/memory-s3.js';
import { sdkMock } from '../helpers/sdk-mock.js';

const asgMock = sdkMock(AutoScalingClient);
const s3Mock = sdkMock(S3Client);
const BUCKET = 'kubeaz-c-qa-123456789012';

let api: FakeApi;
let kubeconfig: string;
let closed: string;
beforeAll(async () => {
  const ca = await generateCa('kubernetes');
  api = await startFakeApi(ca.cert, ca.key);
  const client = await signClientCert(ca.cert, ca.key, 'kubernetes-admin', ['system:masters'], 1);
  const render = (server: string) =>
    renderKubeconfig({
      clusterName: 'c-qa',
      server,
      caCert: ca.cert,
      user: 'kubernetes-admin',
      clientCert: client.cert,
      clientKey: client.key,
    });
  kubeconfig = render(api.url);
  // nothing listens on port 1 of the loopback: the API does not answer
  closed = render('https://127.0.0.1:1');
});
afterAll(async () => {
  await api?.stop();
});

let bucket: MemoryBucket;
beforeEach(() => {
  asgMock.reset();
  s3Mock.reset();
  bucket = new MemoryBucket(BUCKET);
  bucket.attach(s3Mock);
});

const s3 = () => new S3Client({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

/** A node of `group` on `instanceId` (the fixture's node, its providerID naming the instance). */
function nodeOf(instanceId: string, group: string, ready: boolean) {
  const n = node(`ip-172-20-1-${parseInt(instanceId.slice(-4), 16) % 250}.us-west-2.compute.internal`, group, { ready });
  n.spec.providerID = `aws:///us-west-2a/${instanceId}`;
  n.metadata.creationTimestamp = '2026-11-28T20:05:00Z';
  return n;
}

function report(instanceId: string, group: string, result: BootReport['result'], phase: string, error?: BootReport['error']): BootReport {
  return {
    instanceId,
    group,
    role: 'node',
    result,
    updatedAt: new Date().toISOString(),
    phases: [
      { name: 'host', start: '2026-11-28T20:01:00Z', end: '2026-11-28T20:02:00Z' },
      { name: phase, start: '2026-11-28T20:02:00Z', ...(result === 'ready' ? { end: '2026-11-28T20:03:00Z' } : {}) },
    ],
    ...(error ? { error } : {}),
  };
}
const putReport = (r: BootReport) => bucket.put(`boot/${r.instanceId}.json`, JSON.stringify(r));

function deps(sim: AsgSim, probe: ReadyProbe, over: Partial<RolloutDeps> = {}): RolloutDeps & { progress: RecordingProgress } {
  return {
    asg: new AutoScalingClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    clusterId: 'c-qa',
    progress: new RecordingProgress(),
    pollSeconds: 0.01,
    maxWaitSeconds: 10,
    minHealthyPercentage: 90,
    drainTimeoutSeconds: 360,
    force: false,
    probe,
    loadBackup: async () => async () => void sim.log.push('backup'),
    ...over,
  } as RolloutDeps & { progress: RecordingProgress };
}

const waits = (p: RecordingProgress) => p.events.flatMap((e) => (e.type === 'wait' ? [e.what] : []));
const stripIds = (log: string[]) => log.map((l) => l.replace(/ i-[0-9a-f]+$/, ''));

describe('rollout waits for Ready, from the Kubernetes API', () => {
  it("each batch waits until its replacement's node is registered and Ready: only then the next instance goes", async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])]);
    const old = sim.groups[0]!.instances.map((i) => i.id);
    const requestsBefore = api.requests.length;
    const reads = new Map<string, number>();
    // on each read of the API: a new instance's node is absent the first time, NotReady the second, Ready after
    const probe = readyProbe({
      kubeconfig: async () => {
        const fresh = [...(sim.launched.get('general') ?? [])];
        for (const id of fresh) reads.set(id, (reads.get(id) ?? 0) + 1);
        const nodes = [
          ...old.filter((id) => sim.groups[0]!.instances.some((i) => i.id === id)).map((id) => nodeOf(id, 'general', true)),
          ...fresh.filter((id) => reads.get(id)! >= 2).map((id) => nodeOf(id, 'general', reads.get(id)! >= 3)),
        ];
        for (const id of fresh) putReport(report(id, 'general', reads.get(id)! >= 3 ? 'ready' : 'running', 'kubeadm-join'));
        api.serve({ version: VERSION, nodes: list('NodeList', nodes), pods: list('PodList', systemPods('ip-172-20-0-10', [])) });
        sim.log.push(`api read ${reads.size}`);
        return kubeconfig;
      },
      s3: s3(),
      bucket: BUCKET,
    });
    const d = deps(sim, probe);
    const r = await rollout(d);
    expect(r.ok, JSON.stringify(r.steps)).toBe(true);
    expect(r.steps).toEqual([{ group: 'general', asgName: 'c-qa-general', status: 'Successful', replaced: 2 }]);
    expect(stripIds(sim.log)).toEqual([
      'terminate general',
      'api read 1',
      'api read 1',
      'api read 1',
      'terminate general',
      'api read 2',
      'api read 2',
      'api read 2',
    ]);
    const [first] = sim.launched.get('general')!;
    // the boot report is read before the node registers (the first read put it there), and shown
    expect(waits(d.progress).slice(0, 2)).toEqual([
      `general replacement (0/1 new Ready; ${first}: node never registered (boot at kubeadm-join (running)))`,
      `general replacement (0/1 new Ready; ${first}: node ip-172-20-1-${parseInt(first!.slice(-4), 16) % 250}.us-west-2.compute.internal not Ready (boot at kubeadm-join (running)))`,
    ]);
    expect(api.requests.slice(requestsBefore).filter((p) => p === '/api/v1/nodes')).toHaveLength(6);
  });

  it('a new instance that never registers stops the rollout with its boot phase as the reason; nothing more is replaced', async () => {
    const sim = asgSim(asgMock, [simGroup('master', 'a', '3', ['2']), simGroup('general', 'b', '2', ['1', '1'])]);
    api.serve({ version: VERSION, nodes: list('NodeList', []), pods: list('PodList', []) });
    const probe = readyProbe({
      kubeconfig: async () => {
        for (const id of sim.launched.get('general') ?? []) putReport(report(id, 'general', 'running', 'kubeadm-join'));
        return kubeconfig;
      },
      s3: s3(),
      bucket: BUCKET,
    });
    const r = await rollout(deps(sim, probe, { maxWaitSeconds: 0.3 }));
    expect(r.ok).toBe(false);
    const [fresh] = sim.launched.get('general')!;
    expect(r.steps).toEqual([
      {
        group: 'general',
        asgName: 'c-qa-general',
        status: 'stopped',
        replaced: 0,
        reason: `general: not Ready after 0.3s, so nothing more is replaced — ${fresh}: node never registered (boot at kubeadm-join (running))`,
      },
    ]);
    expect(stripIds(sim.log)).toEqual(['terminate general']);
    expect(asgMock.commandCalls(TerminateInstanceInAutoScalingGroupCommand)).toHaveLength(1);
  });
});

describe('rollout waits for Ready, from the boot reports when the API does not answer', () => {
  it('the boot report ready counts as Ready: the batch goes on', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1'])]);
    const probe = readyProbe({
      kubeconfig: async () => {
        for (const id of sim.launched.get('general') ?? []) putReport(report(id, 'general', 'ready', 'kubeadm-join'));
        return closed;
      },
      s3: s3(),
      bucket: BUCKET,
      connectTimeoutMs: 500,
    });
    const r = await rollout(deps(sim, probe));
    expect(r.ok).toBe(true);
    expect(bucket.log.filter((l) => l.startsWith('get boot/'))).toEqual([`get boot/${sim.launched.get('general')![0]}.json`]);
  });

  it('a boot that stays at one phase stops the rollout with that phase (and why the API was not asked) as the reason', async () => {
    const sim = asgSim(asgMock, [simGroup('master', 'a', '3', ['2']), simGroup('general', 'b', '2', ['1', '1'])]);
    const probe = readyProbe({
      kubeconfig: async () => {
        for (const id of sim.launched.get('general') ?? []) putReport(report(id, 'general', 'running', 'kubelet-start'));
        return closed;
      },
      s3: s3(),
      bucket: BUCKET,
      connectTimeoutMs: 500,
    });
    const r = await rollout(deps(sim, probe, { maxWaitSeconds: 0.3 }));
    expect(r.ok).toBe(false);
    const [fresh] = sim.launched.get('general')!;
    expect(r.steps.at(-1)).toMatchObject({ group: 'general', status: 'stopped' });
    expect(r.steps.at(-1)!.reason).toBe(
      `general: not Ready after 0.3s, so nothing more is replaced — ${fresh}: boot at kubelet-start (running); Kubernetes API not reachable: https://127.0.0.1:1: ECONNREFUSED`,
    );
    // the master is never touched after a group that did not come up
    expect(stripIds(sim.log)).toEqual(['terminate general']);
  });

  it('a failed boot stops at once, with the failing phase and its message', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])]);
    const probe = readyProbe({
      kubeconfig: async () => {
        for (const id of sim.launched.get('general') ?? [])
          putReport(
            report(id, 'general', 'failed', 'kubeadm-join', { phase: 'kubeadm-join', message: 'kubeadm join exited 1: token expired' }),
          );
        return closed;
      },
      s3: s3(),
      bucket: BUCKET,
      connectTimeoutMs: 500,
    });
    const r = await rollout(deps(sim, probe));
    expect(r.steps.at(-1)!.reason).toBe(
      `general: new instance ${sim.launched.get('general')![0]} does not come up: boot failed at kubeadm-join: kubeadm join exited 1: token expired`,
    );
    expect(stripIds(sim.log)).toEqual(['terminate general']);
  });
});

describe('rollout drains: --drain-timeout and --force', () => {
  const upAtOnce: ReadyProbe = async (instances) => ({
    api: { reachable: true },
    nodes: new Map(instances.map((i) => [i.id, { name: `node-${i.id}`, ready: true }])),
    boots: new Map(),
  });

  it('a node group instance waits in its drain hook; rollout goes on only once it has left', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])], { drainReads: 4 });
    const d = deps(sim, upAtOnce);
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    // the replacement is Ready at once, but the old instance drains for four reads of its group
    expect(waits(d.progress).slice(0, 3)).toEqual([
      'general replacement (1 draining; 1/1 new Ready)',
      'general replacement (1 draining; 1/1 new Ready)',
      'general replacement (1 draining; 1/1 new Ready)',
    ]);
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
  });

  it('a drain that outlasts --drain-timeout stops the rollout (a PodDisruptionBudget may hold it); nothing is forced', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])], { drainReads: Infinity });
    const r = await rollout(deps(sim, upAtOnce, { drainTimeoutSeconds: 0.2 }));
    expect(r.ok).toBe(false);
    const [old] = sim.groups[0]!.instances;
    expect(r.steps.at(-1)!.reason).toBe(
      `general: ${old!.id} (Terminating:Wait) not drained after 0.2s — a PodDisruptionBudget may hold its pods; run rollout again to go on waiting, or with --force to terminate without a finished drain`,
    );
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(0);
    expect(stripIds(sim.log)).toEqual(['terminate general']);
  });

  it('--force completes the pending termination itself (CONTINUE on the drain hook), with a warning, and goes on', async () => {
    const sim = asgSim(asgMock, [simGroup('general', 'b', '2', ['1', '1'])], { drainReads: Infinity });
    const d = deps(sim, upAtOnce, { drainTimeoutSeconds: 0.05, force: true });
    const r = await rollout(d);
    expect(r.ok).toBe(true);
    expect(stripIds(sim.log)).toEqual(['terminate general', 'continue general', 'terminate general', 'continue general']);
    expect(asgMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual(
      ['i-0b0000', 'i-0b0001'].map((InstanceId) => ({
        AutoScalingGroupName: 'c-qa-general',
        LifecycleHookName: 'kubeaz-drain',
        InstanceId,
        LifecycleActionResult: 'CONTINUE',
      })),
    );
    expect(d.progress.events.filter((e) => e.type === 'warn').map((e) => (e as { message: string }).message)).toEqual(
      ['i-0b0000', 'i-0b0001'].map(
        (id) =>
          `--force: completing the termination of general ${id} (CONTINUE) without waiting for its drain — pods still on its node stop now, PodDisruptionBudgets or not`,
      ),
    );
  });

  it("--force first completes a termination already pending in the group (an earlier run's); without it, it is left to its drain", async () => {
    const pending = () => {
      const g = simGroup('general', 'b', '2', ['1', '1']);
      g.instances[1]!.state = 'Terminating:Wait';
      g.instances[1]!.reads = -Infinity; // never drained by itself
      return g;
    };
    let sim = asgSim(asgMock, [pending()]);
    let r = await rollout(deps(sim, upAtOnce, { force: true }));
    expect(r.ok).toBe(true);
    expect(sim.log).toEqual(['continue general i-0b0001', 'terminate general i-0b0000']);
    asgMock.reset();
    sim = asgSim(asgMock, [pending()]);
    r = await rollout(deps(sim, upAtOnce));
    expect(r.ok).toBe(true);
    expect(sim.log).toEqual(['terminate general i-0b0000']);
  });
});
