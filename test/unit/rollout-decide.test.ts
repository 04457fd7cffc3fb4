/**
 * rollout's decisions (src/operations/rollout-decide.ts), as tables: the batch size from
 * --min-healthy-percentage, the instance a node runs on, and what to do about a terminated batch —
 * wait, go on, complete a drain (--force), or stop with the reason (the boot phase of a new
 * instance that does not come up).
 */
import { describe, expect, it } from 'vitest';
import type { BootEntry } from '../../src/operations/boots.js';
import { batchSize, instanceOfNode, nextRolloutAction, type BatchView, type RolloutAction } from '../../src/operations/rollout-decide.js';

describe('batchSize', () => {
  it.each([
    [1, 90, false, 1],
    [2, 90, false, 1],
    [10, 90, false, 1],
    [20, 90, false, 2],
    [4, 50, false, 2],
    [3, 0, false, 3],
    [5, 100, false, 1],
    [3, 0, true, 1],
  ])('%i instances, %i%% healthy, master %s: %i at a time', (n, min, master, want) => {
    expect(batchSize(n, min, master)).toBe(want);
  });
});

describe('instanceOfNode', () => {
  it.each([
    ['aws:///us-west-2a/i-0123456789abcdef0', 'i-0123456789abcdef0'],
    ['aws://us-west-2a/i-0abc', 'i-0abc'],
    ['', undefined],
    ['kind://docker/kind/kind-control-plane', undefined],
  ])('%s → %s', (providerID, want) => {
    expect(instanceOfNode({ spec: { providerID } })).toBe(want);
  });
});

const boot = (result: BootEntry['result'], phase: string | null, extra: Partial<BootEntry> = {}): BootEntry => ({
  instanceId: 'i-0new',
  group: 'general',
  phase,
  result,
  error: null,
  stalled: false,
  updatedAt: '2026-11-28T20:05:00Z',
  ...extra,
});

const base: BatchView = {
  group: 'general',
  seconds: 30,
  readyTimeoutSeconds: 600,
  drainTimeoutSeconds: 360,
  force: false,
  wanted: 1,
  leaving: [{ id: 'i-0old', state: undefined }],
  forced: new Set(),
  fresh: [{ id: 'i-0new', state: 'InService', node: { name: 'ip-a', ready: true } }],
  api: { reachable: true },
};
const down = { reachable: false as const, reason: 'https://api:443: ECONNREFUSED' };

const cases: Array<[string, Partial<BatchView>, RolloutAction]> = [
  ['the old one gone, the new node Ready: go on', {}, { action: 'proceed' }],
  [
    'old one past its hook (Terminating:Proceed) counts as gone',
    { leaving: [{ id: 'i-0old', state: 'Terminating:Proceed' }] },
    { action: 'proceed' },
  ],
  [
    'the new node Ready but the old one still draining: wait',
    { leaving: [{ id: 'i-0old', state: 'Terminating:Wait' }] },
    { action: 'wait', what: 'general replacement (1 draining; 1/1 new Ready)', ready: 1, total: 1 },
  ],
  [
    'no new instance yet: wait',
    { fresh: [], api: undefined },
    { action: 'wait', what: 'general replacement (0/1 new Ready)', ready: 0, total: 1 },
  ],
  [
    'the new node registered, not Ready: wait, saying so with the boot phase',
    { fresh: [{ id: 'i-0new', state: 'InService', node: { name: 'ip-a', ready: false }, boot: boot('running', 'kubeadm-join') }] },
    {
      action: 'wait',
      what: 'general replacement (0/1 new Ready; i-0new: node ip-a not Ready (boot at kubeadm-join (running)))',
      ready: 0,
      total: 1,
    },
  ],
  [
    'API reachable: a boot report ready without a Ready node is not enough',
    { fresh: [{ id: 'i-0new', state: 'InService', boot: boot('ready', 'kubeadm-join') }] },
    {
      action: 'wait',
      what: 'general replacement (0/1 new Ready; i-0new: node never registered (boot at kubeadm-join (ready)))',
      ready: 0,
      total: 1,
    },
  ],
  [
    'API down: the boot report ready is Ready',
    { api: down, fresh: [{ id: 'i-0new', state: 'InService', boot: boot('ready', 'kubeadm-join') }] },
    { action: 'proceed' },
  ],
  [
    'API down, still booting, Pending: wait with the phase',
    { api: down, fresh: [{ id: 'i-0new', state: 'Pending', boot: boot('running', 'host') }] },
    {
      action: 'wait',
      what: 'general replacement (0/1 new Ready; i-0new: Pending, boot at host (running); Kubernetes API not reachable: https://api:443: ECONNREFUSED)',
      ready: 0,
      total: 1,
    },
  ],
  [
    'a failed boot stops at once, with its phase and message',
    {
      api: down,
      fresh: [
        { id: 'i-0new', state: 'InService', boot: boot('failed', 'kubeadm-join', { error: { phase: 'kubeadm-join', message: 'exit 1' } }) },
      ],
    },
    { action: 'stop', reason: 'general: new instance i-0new does not come up: boot failed at kubeadm-join: exit 1' },
  ],
  [
    'timed out, node never registered: the boot phase is the reason',
    { seconds: 600, fresh: [{ id: 'i-0new', state: 'InService', boot: boot('running', 'kubeadm-join', { stalled: true }) }] },
    {
      action: 'stop',
      reason: 'general: not Ready after 600s, so nothing more is replaced — i-0new: node never registered (boot at kubeadm-join (stalled))',
    },
  ],
  [
    'timed out without a boot report',
    { seconds: 601, api: down, fresh: [{ id: 'i-0new', state: 'InService', boot: boot(null, null) }] },
    {
      action: 'stop',
      reason:
        'general: not Ready after 600s, so nothing more is replaced — i-0new: no boot report; Kubernetes API not reachable: https://api:443: ECONNREFUSED',
    },
  ],
  [
    'timed out, no replacement launched',
    { seconds: 600, fresh: [], api: undefined },
    { action: 'stop', reason: 'general: not Ready after 600s, so nothing more is replaced — 1 new instance never launched' },
  ],
  [
    'a drain past --drain-timeout stops, naming the instance',
    { seconds: 360, leaving: [{ id: 'i-0old', state: 'Terminating:Wait' }] },
    {
      action: 'stop',
      reason:
        'general: i-0old (Terminating:Wait) not drained after 360s — a PodDisruptionBudget may hold its pods; run rollout again to go on waiting, or with --force to terminate without a finished drain',
    },
  ],
  [
    'with --force, a drain past --drain-timeout is completed',
    { seconds: 360, force: true, leaving: [{ id: 'i-0old', state: 'Terminating:Wait' }] },
    { action: 'force', instances: ['i-0old'] },
  ],
  [
    'with --force, never the same instance twice: wait for it to leave',
    { seconds: 361, force: true, forced: new Set(['i-0old']), leaving: [{ id: 'i-0old', state: 'Terminating:Wait' }] },
    { action: 'wait', what: 'general replacement (1 draining; 1/1 new Ready)', ready: 1, total: 1 },
  ],
  [
    'a batch of two waits for both',
    {
      wanted: 2,
      leaving: [
        { id: 'i-0old', state: undefined },
        { id: 'i-0old2', state: 'Terminated' },
      ],
      fresh: [
        { id: 'i-0new', state: 'InService', node: { name: 'ip-a', ready: true } },
        { id: 'i-0new2', state: 'InService', node: { name: 'ip-b', ready: false } },
      ],
    },
    { action: 'wait', what: 'general replacement (1/2 new Ready; i-0new2: node ip-b not Ready (no boot report read))', ready: 1, total: 2 },
  ],
  ['interrupted', { aborted: true }, { action: 'stop', reason: 'interrupted while replacing general' }],
];

describe('nextRolloutAction', () => {
  it.each(cases)('%s', (_name, over, want) => {
    expect(nextRolloutAction({ ...base, ...over })).toEqual(want);
  });
});
