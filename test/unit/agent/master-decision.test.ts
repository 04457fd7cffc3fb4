/**
 * The master's boot decision as a table: given the records, the recorded instances' EC2 states, the
 * API and the etcd members' answers — init, race for init.json, join, race for a restore claim,
 * restore, or wait (and why). Then the member replacement's quorum rule and the pending-add gate.
 */
import { describe, expect, it } from 'vitest';
import { claimTurn, decide, instancesToDescribe, pendingAdd, replacement, type DecisionInput } from '../../../src/agent/master/decision.js';
import type { ControlPlaneRecords } from '../../../src/agent/master/records.js';

const NOW = new Date('2026-12-05T12:00:00Z');
const ago = (min: number) => new Date(NOW.getTime() - min * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const member = (group: string, instanceId: string, id: string, min = 60) => ({ group, memberId: id, instanceId, clientURL: `https://10.0.0.${id.length}:2379`, time: ago(min) });
const records = (r: Partial<ControlPlaneRecords> = {}): ControlPlaneRecords => ({ members: {}, restoreClaims: {}, invalid: [], ...r });
const base = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  self: { instanceId: 'i-self', group: 'master-2' },
  controlPlaneCount: 3,
  apiUp: false,
  records: records(),
  joinTokenExists: false,
  instances: {},
  now: NOW,
  unknownGraceMs: 10 * 60_000,
  ...over,
});
const lostCluster = records({
  init: { group: 'master', instanceId: 'i-a', time: ago(120) },
  members: { master: member('master', 'i-a', 'aa'), 'master-3': member('master-3', 'i-c', 'cc') },
});

describe('decide', () => {
  const table: Array<[string, Partial<DecisionInput>, string, RegExp?]> = [
    ['one master always initialises', { controlPlaneCount: 1, apiUp: true }, 'init'],
    ['the API answers: join', { apiUp: true, records: lostCluster }, 'join'],
    ['no init.json, no join token: race for it', {}, 'claim-init'],
    ['no init.json but a join token: a one-master cluster grown to three, wait for its API', { joinTokenExists: true }, 'wait', /join token exists/],
    ['init.json names this instance (a retried boot): init', { records: records({ init: { group: 'master-2', instanceId: 'i-self' } }) }, 'init'],
    ['init.json by a running master, API not up yet: wait', { records: records({ init: { group: 'master', instanceId: 'i-a', time: ago(1) } }), instances: { 'i-a': 'running' } }, 'wait', /i-a \(running\)/],
    ['a stopped master may come back: never restore over it', { records: lostCluster, instances: { 'i-a': 'terminated', 'i-c': 'stopped' } }, 'wait', /i-c \(stopped\)/],
    ['an unlisted instance recorded 2 minutes ago may be new: wait', { records: records({ init: { group: 'master', instanceId: 'i-a', time: ago(2) } }) }, 'wait', /not listed by EC2 yet/],
    ['every recorded instance gone but a recorded member answers: wait', { records: lostCluster, instances: { 'i-a': 'terminated' }, liveMember: 'https://10.0.0.2:2379' }, 'wait', /member at https:\/\/10.0.0.2:2379 answers/],
    ['every recorded instance gone (terminated or long unlisted), no member answers: race for the restore claim', { records: lostCluster, instances: { 'i-a': 'terminated', 'i-c': 'shutting-down' } }, 'claim-restore'],
    [
      'an init winner whose kubeadm init failed and that marked itself Unhealthy is terminated: its cluster is taken over through the claim',
      { records: records({ init: { group: 'master', instanceId: 'i-a', time: ago(3) } }), instances: { 'i-a': 'shutting-down' } },
      'claim-restore',
    ],
  ];
  for (const [name, over, action, why] of table)
    it(name, () => {
      const d = decide(base(over));
      expect(d.action).toBe(action);
      if (why) expect(d.why).toMatch(why);
    });

  it('the claim key is the lost cluster`s creator: restore.json`s `by` after a restore, else init.json`s instance', () => {
    expect(decide(base({ records: lostCluster, instances: { 'i-a': 'terminated', 'i-c': 'terminated' } }))).toMatchObject({ action: 'claim-restore', key: 'i-a' });
    const afterRestore = { ...lostCluster, restore: { snapshot: 'etcd/x.db', by: 'i-r', restoredAt: ago(100) } };
    expect(decide(base({ records: afterRestore, instances: { 'i-a': 'terminated', 'i-c': 'terminated', 'i-r': 'terminated' } }))).toMatchObject({ action: 'claim-restore', key: 'i-r' });
  });

  it('the claim chain: held by this master → restore; by a live one → wait; by a dead one → the turn passes to its key', () => {
    const gone = { 'i-a': 'terminated', 'i-c': 'terminated' };
    const mine = { ...lostCluster, restoreClaims: { 'i-a': { by: 'i-self', time: ago(1) } } };
    expect(decide(base({ records: mine, instances: gone }))).toMatchObject({ action: 'restore', key: 'i-a' });
    const theirs = { ...lostCluster, restoreClaims: { 'i-a': { by: 'i-x', time: ago(1) } } };
    expect(decide(base({ records: theirs, instances: { ...gone, 'i-x': 'running' } }))).toMatchObject({ action: 'wait' });
    expect(decide(base({ records: theirs, instances: { ...gone, 'i-x': 'terminated' } }))).toMatchObject({ action: 'claim-restore', key: 'i-x' });
    const chain = { ...lostCluster, restoreClaims: { 'i-a': { by: 'i-x', time: ago(30) }, 'i-x': { by: 'i-self', time: ago(1) } } };
    expect(decide(base({ records: chain, instances: gone }))).toMatchObject({ action: 'restore', key: 'i-x' });
  });

  it('a claim of a dead claimer recorded within the grace and not listed still counts as alive', () => {
    const fresh = { ...lostCluster, restoreClaims: { 'i-a': { by: 'i-x', time: ago(1) } } };
    expect(claimTurn(base({ records: fresh, instances: { 'i-a': 'terminated', 'i-c': 'terminated' } }), 'i-a')).toMatchObject({ action: 'wait' });
  });

  it('asks EC2 for every recorded instance and claim holder, never for itself', () => {
    const r = { ...lostCluster, restore: { snapshot: 's', by: 'i-self' }, restoreClaims: { 'i-a': { by: 'i-x' } } };
    expect(instancesToDescribe(r, 'i-self')).toEqual(['i-a', 'i-c', 'i-x']);
  });
});

describe('replacing the group`s previous member', () => {
  const prev = { memberId: '8e9e05c52164694d', instanceId: 'i-old' };
  const m = (idHex: string, healthy: boolean, started = true) => ({ idHex, healthy, started });

  it('removes it while the others alone hold quorum of the count (3: the other 2 healthy)', () => {
    expect(replacement(prev, 'i-new', [m('8e9e05c52164694d', false), m('a1', true), m('b2', true)])).toMatchObject({ action: 'remove', idHex: '8e9e05c52164694d' });
  });
  it('waits while they do not (3: only 1 other healthy)', () => {
    expect(replacement(prev, 'i-new', [m('8e9e05c52164694d', false), m('a1', true), m('b2', false)])).toMatchObject({ action: 'wait' });
  });
  it('5 members: 3 of the other 4 are needed', () => {
    const five = (h: number) => [m('8e9e05c52164694d', false), ...['a', 'b', 'c', 'd'].map((x, i) => m(x, i < h))];
    expect(replacement(prev, 'i-new', five(3)).action).toBe('remove');
    expect(replacement(prev, 'i-new', five(2)).action).toBe('wait');
  });
  it('nothing to do when the record is its own, absent, or the member is already gone; ids compared as hex, leading zeros and 0x ignored', () => {
    expect(replacement(undefined, 'i-new', []).action).toBe('none');
    expect(replacement({ ...prev, instanceId: 'i-new' }, 'i-new', [m('8e9e05c52164694d', true)]).action).toBe('none');
    expect(replacement(prev, 'i-new', [m('a1', true)]).action).toBe('none');
    expect(replacement({ memberId: '0x00ff', instanceId: 'i-old' }, 'i-new', [m('ff', false), m('a', true), m('b', true)])).toMatchObject({ action: 'remove', idHex: 'ff' });
  });
  it('a member added but not started holds every other add back', () => {
    expect(pendingAdd([m('a', true), m('b', false, false)])).toBe(true);
    expect(pendingAdd([m('a', true), m('b', true)])).toBe(false);
  });
});
