/**
 * The agent's decisions as tables (src/agent/decide/): init / claim-init / join / replace /
 * claim-restore / restore / wait / give-up from the records, EC2's instance states and etcd's
 * answers; shouldBackup from Status fields (the etcd 3.6 row that broke the scripts); the snapshot
 * to restore; retention after an upload (the one rule); the init-failure rule; whether a joined
 * master installs the add-ons (addons.json, the settings' fingerprint); how a helm release left
 * pending-* is recovered.
 */
import { describe, expect, it } from 'vitest';
import { addonsFingerprint, canonicalJson, decideAddons, type AddonsInput, type InstallerState } from '../../../src/agent/decide/addons.js';
import { helmRecovery, parseHelmHistory, parseHelmStatus, type HelmRevision } from '../../../src/agent/decide/helm.js';
import { afterInitFailure } from '../../../src/agent/decide/init-failure.js';
import { chooseSnapshot, pruneAfterUpload, shouldBackup, type DownloadedSnapshot } from '../../../src/agent/decide/backup.js';
import { healthFromProbes, type HealthAnswers } from '../../../src/agent/decide/health.js';
import {
  decideMaster,
  endpointsToProbe,
  instancesToDescribe,
  lostForGood,
  type InstanceState,
  type MasterInput,
} from '../../../src/agent/decide/master.js';
import { EtcdError, type EtcdMember, type Probe } from '../../../src/etcd/client.js';
import { planRetention, snapshotKey } from '../../../src/etcd/retention.js';
import {
  addonsRecordKey,
  controlPlaneKeyKind,
  parseAddonsRecord,
  parseControlPlaneRecords,
  renderRecord,
  type AddonsRecord,
  type ControlPlaneRecords,
  type InitRecord,
  type MemberRecord,
  type RestoreClaim,
  type RestoreRecord,
} from '../../../src/records/etcd.js';
import { MASTER_SETTINGS } from '../../helpers/agent-master.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const LONG_AGO = '2026-11-28T10:00:00Z';
const JUST_NOW = '2026-11-28T11:58:00Z';
const url = (n: number) => `https://10.0.${n}.10:2379`;

/** Records as the bucket would hold them, through the same parser the agent uses. */
function records(r: {
  init?: InitRecord;
  restore?: RestoreRecord;
  members?: MemberRecord[];
  claims?: Record<string, RestoreClaim | string>;
}): ControlPlaneRecords {
  const objects: Record<string, string> = {};
  if (r.init) objects['etcd/control-plane/init.json'] = renderRecord(r.init);
  if (r.restore) objects['etcd/control-plane/restore.json'] = renderRecord(r.restore);
  for (const m of r.members ?? []) objects[`etcd/control-plane/members/${m.group}.json`] = renderRecord(m);
  for (const [creator, c] of Object.entries(r.claims ?? {}))
    objects[`etcd/control-plane/restore-claims/${creator}.json`] = typeof c === 'string' ? c : renderRecord(c);
  return parseControlPlaneRecords(objects);
}
const member = (group: string, n: number, instanceId: string, time = LONG_AGO): MemberRecord => ({
  group,
  memberId: `a${n}`,
  name: `ip-${n}`,
  peerURL: `https://10.0.${n}.10:2380`,
  clientURL: url(n),
  instanceId,
  time,
});
const listed = (n: number, started = true): EtcdMember => ({
  id: String(0xa0 + n),
  idHex: `a${n}`,
  name: started ? `ip-${n}` : '',
  peerURLs: [`https://10.0.${n}.10:2380`],
  clientURLs: started ? [url(n)] : [],
  isLearner: false,
  started,
});

/** Status answers: n → answered & healthy ('up'), answered without leader ('alone'), or not ('down'). */
function health(answers: Record<number, 'up' | 'alone' | 'down'>): HealthAnswers {
  const probes: Probe[] = Object.entries(answers).map(([n, a]) =>
    a === 'down'
      ? { endpoint: url(Number(n)), ok: false, error: new EtcdError('connect ECONNREFUSED', 'Unavailable', url(Number(n))) }
      : {
          endpoint: url(Number(n)),
          ok: true,
          healthy: a === 'up',
          status: {
            endpoint: url(Number(n)),
            memberId: String(0xa0 + Number(n)),
            leader: a === 'up' ? '161' : '0',
            clusterId: '1',
            version: '3.6.6',
            dbSize: '1',
            dbSizeInUse: '1',
            raftTerm: '2',
            raftIndex: '3',
            raftAppliedIndex: '3',
            errors: [],
            isLearner: false,
          },
        },
  );
  return healthFromProbes(probes);
}

function input(over: Partial<MasterInput> & { states?: Record<string, InstanceState> }): MasterInput {
  const { states, ...rest } = over;
  return {
    self: { instanceId: 'i-new', group: 'master-2' },
    controlPlaneCount: 3,
    now: NOW,
    apiUp: false,
    joinTokenExists: false,
    records: records({}),
    instances: Object.fromEntries(Object.entries(states ?? {}).map(([id, state]) => [id, { state }])),
    health: health({}),
    attempt: 1,
    limits: { waitAttempts: 360, gateAttempts: 60, unknownGraceSeconds: 600 },
    ...rest,
  };
}

const three = [member('master', 1, 'i-a'), member('master-2', 2, 'i-b'), member('master-3', 3, 'i-c')];
const initA: InitRecord = { group: 'master', instanceId: 'i-a', time: LONG_AGO };

describe('decideMaster', () => {
  const rows: Array<[string, MasterInput, string, RegExp?]> = [
    ['one master: init', input({ controlPlaneCount: 1 }), 'init'],
    ['nothing recorded, no API: claim init.json', input({}), 'claim-init'],
    [
      'no init.json but join/token (grown from one master): wait for its API, never a second init',
      input({ joinTokenExists: true }),
      'wait',
      /join token exists/,
    ],
    [
      'init.json names this instance (it won; API not up yet): init',
      input({ records: records({ init: { group: 'master-2', instanceId: 'i-new', time: JUST_NOW } }) }),
      'init',
    ],
    [
      'init.json names another, running instance: wait for its API',
      input({ records: records({ init: initA }), states: { 'i-a': 'running' } }),
      'wait',
      /i-a \(running\)/,
    ],
    [
      'API up, no member record for this group: join',
      input({ apiUp: true, records: records({ init: initA, members: [three[0]!] }), members: [listed(1)], health: health({ 1: 'up' }) }),
      'join',
    ],
    [
      "API up, the group's previous member listed and the other two healthy: replace it",
      input({
        apiUp: true,
        records: records({ init: initA, members: three }),
        members: [listed(1), listed(2), listed(3)],
        health: health({ 1: 'up', 2: 'down', 3: 'up' }),
      }),
      'replace',
      /2 of the other 2 members are healthy, quorum of 3 is 2/,
    ],
    [
      'API up, previous member listed but only one other healthy: wait (removing it would lose quorum)',
      input({
        apiUp: true,
        records: records({ init: initA, members: three }),
        members: [listed(1), listed(2), listed(3)],
        health: health({ 1: 'up', 2: 'down', 3: 'down' }),
      }),
      'wait',
      /only 1 of the other 2 members are healthy and 2 are needed/,
    ],
    [
      '… and still so at the last attempt: give up',
      input({
        attempt: 360,
        apiUp: true,
        records: records({ init: initA, members: three }),
        members: [listed(1), listed(2), listed(3)],
        health: health({ 1: 'up', 2: 'down', 3: 'down' }),
      }),
      'give-up',
      /still so after 360 attempts/,
    ],
    [
      'API up, previous member already removed: join',
      input({
        apiUp: true,
        records: records({ init: initA, members: three }),
        members: [listed(1), listed(3)],
        health: health({ 1: 'up', 3: 'up' }),
      }),
      'join',
    ],
    [
      "API up, the member record is this instance's own: join (no replacement)",
      input({
        apiUp: true,
        records: records({ init: initA, members: [three[0]!, member('master-2', 2, 'i-new'), three[2]!] }),
        members: [listed(1), listed(2), listed(3)],
        health: health({ 1: 'up', 2: 'up', 3: 'up' }),
      }),
      'join',
    ],
    [
      'API up, previous member to replace but no etcd member answered MemberList: wait',
      input({ apiUp: true, records: records({ init: initA, members: three }), health: health({ 1: 'down', 3: 'down' }) }),
      'wait',
      /no etcd member answers/,
    ],
    [
      'API up, another member added but not started: wait (a second add would be refused)',
      input({
        apiUp: true,
        records: records({ init: initA, members: [three[0]!] }),
        members: [listed(1), listed(3, false)],
        health: health({ 1: 'up' }),
      }),
      'wait',
      /a3 .* added but not started/,
    ],
    [
      "… past the gate attempts: join anyway (kubeadm's member add retries)",
      input({
        attempt: 60,
        apiUp: true,
        records: records({ init: initA, members: [three[0]!] }),
        members: [listed(1), listed(3, false)],
        health: health({ 1: 'up' }),
      }),
      'join',
      /joining anyway/,
    ],
    [
      "quorum lost for good (every recorded instance terminated, no member answers): claim the restore of init.json's cluster",
      input({
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'shutting-down' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'claim-restore',
    ],
    [
      'all instances gone but a recorded member still answers Status: never restore',
      input({
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated' },
        health: health({ 1: 'down', 2: 'alone', 3: 'down' }),
      }),
      'wait',
      /member at https:\/\/10\.0\.2\.10:2379 answers/,
    ],
    [
      'finding 4: all instances gone but the members were not checked (no answers given): never restore',
      input({
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated' },
        health: health({}),
      }),
      'wait',
      /was not checked/,
    ],
    [
      'quorum lost but a recorded instance still running (a minority of survivors): nobody restores, the masters wait and say why',
      input({
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'running', 'i-c': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'wait',
      /not restoring: recorded master instance\(s\) still exist: i-b \(running\)$/,
    ],
    [
      '… still so at the last attempt: give up, saying why (no restore, no init)',
      input({
        attempt: 360,
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'running', 'i-c': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'give-up',
      /still exist: i-b \(running\) — still so after 360 attempts$/,
    ],
    [
      'a stopped instance may still hold a member (a zone that comes back): wait',
      input({
        records: records({ init: initA, members: three }),
        states: { 'i-a': 'terminated', 'i-b': 'stopped', 'i-c': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'wait',
      /i-b \(stopped\)/,
    ],
    [
      'an unlisted instance recorded minutes ago may be too new for EC2 to list: wait',
      input({
        records: records({ init: initA, members: [three[0]!, member('master-3', 3, 'i-c', JUST_NOW)] }),
        states: { 'i-a': 'terminated' },
        health: health({ 1: 'down', 3: 'down' }),
      }),
      'wait',
      /i-c \(recorded 120s ago, not listed by EC2 yet\)/,
    ],
    [
      'unlisted instances recorded long ago count as gone: claim',
      input({ records: records({ init: initA, members: three }), states: {}, health: health({ 1: 'down', 2: 'down', 3: 'down' }) }),
      'claim-restore',
    ],
    [
      'the init winner failed before recording any member and was replaced (terminated): another master claims the turn',
      input({ records: records({ init: initA }), states: { 'i-a': 'terminated' } }),
      'claim-restore',
    ],
    [
      'this instance holds the restore claim: restore',
      input({
        records: records({ init: initA, members: three, claims: { 'i-a': { by: 'i-new', group: 'master-2', time: JUST_NOW } } }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated', 'i-new': 'running' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'restore',
    ],
    [
      'another running master holds the claim: wait for its API',
      input({
        records: records({ init: initA, members: three, claims: { 'i-a': { by: 'i-x', time: JUST_NOW } } }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated', 'i-x': 'running' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'wait',
      /another master \(i-x, running\) restores/,
    ],
    [
      'the claim winner died before restoring: the turn passes to restore-claims/<winner>.json',
      input({
        records: records({ init: initA, members: three, claims: { 'i-a': { by: 'i-x', time: LONG_AGO } } }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated', 'i-x': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'claim-restore',
    ],
    [
      'a claim that names no master: wait',
      input({
        records: records({ init: initA, members: three, claims: { 'i-a': '{\n  "by": ""\n}\n' } }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'wait',
      /names no master/,
    ],
    [
      "a second loss after a restore is raced afresh: the creator is restore.json's restorer",
      input({
        records: records({
          init: initA,
          restore: { snapshot: 'etcd/20261128T100000Z.db', restoredAt: LONG_AGO, by: 'i-r' },
          members: three,
          claims: { 'i-a': { by: 'i-r', time: LONG_AGO } },
        }),
        states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated', 'i-r': 'terminated' },
        health: health({ 1: 'down', 2: 'down', 3: 'down' }),
      }),
      'claim-restore',
    ],
  ];
  it.each(rows)('%s', (_name, inp, action, reason) => {
    const d = decideMaster(inp);
    expect(d.action, d.reason).toBe(action);
    if (reason) expect(d.reason).toMatch(reason);
  });

  it('replace names the previous member by hex (records) and decimal (MemberRemove), and its instance', () => {
    const d = decideMaster(
      input({
        apiUp: true,
        records: records({ init: initA, members: three }),
        members: [listed(1), listed(2), listed(3)],
        health: health({ 1: 'up', 3: 'up' }),
      }),
    );
    expect(d).toMatchObject({ action: 'replace', previous: { memberIdHex: 'a2', memberId: String(0xa2), instanceId: 'i-b' } });
  });

  it('claim keys follow the chain', () => {
    const lost = {
      states: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c': 'terminated', 'i-x': 'terminated' } as Record<string, InstanceState>,
      health: health({ 1: 'down', 2: 'down', 3: 'down' }),
    };
    expect(decideMaster(input({ ...lost, records: records({ init: initA, members: three }) }))).toMatchObject({
      claimKey: 'etcd/control-plane/restore-claims/i-a.json',
      lostCreator: 'i-a',
    });
    expect(
      decideMaster(input({ ...lost, records: records({ init: initA, members: three, claims: { 'i-a': { by: 'i-x', time: LONG_AGO } } }) })),
    ).toMatchObject({ claimKey: 'etcd/control-plane/restore-claims/i-x.json', lostCreator: 'i-a' });
  });

  it('lostForGood cannot be asked without health answers; what to describe and probe comes from the records', () => {
    const r = records({ init: initA, members: three, claims: { 'i-a': { by: 'i-x' } } });
    expect(instancesToDescribe(r)).toEqual(['i-a', 'i-b', 'i-c', 'i-x']);
    expect(endpointsToProbe(r, [listed(4)])).toEqual([url(1), url(2), url(3), url(4)]);
    expect(
      lostForGood({
        self: { instanceId: 'i-new', group: 'master' },
        records: r,
        instances: {},
        health: health({ 1: 'down', 2: 'down' }),
        now: NOW,
        limits: { waitAttempts: 1, gateAttempts: 1, unknownGraceSeconds: 600 },
      }),
    ).toEqual({ lost: false, reason: `not restoring: the etcd member at ${url(3)} was not checked` });
    const onlySelf = records({ restore: { snapshot: 'none', by: 'i-new' }, members: [member('master', 1, 'i-new')] });
    expect(
      lostForGood({
        self: { instanceId: 'i-new', group: 'master' },
        records: onlySelf,
        instances: {},
        health: health({ 1: 'down' }),
        now: NOW,
        limits: { waitAttempts: 1, gateAttempts: 1, unknownGraceSeconds: 600 },
      }).lost,
    ).toBe(false);
  });
});

describe('shouldBackup: from Status fields, not etcdctl text', () => {
  /** What templates/bootstrap/etcd-membership.sh's etcd_is_leader did: column 5 of `etcdctl endpoint status`. */
  const scriptSaysLeader = (table: string) => table.split('\n')[0]!.split(', ')[4] === 'true';

  it.each([
    // [name, etcdctl 3.x `endpoint status` line for the same member, Status fields, backup?]
    [
      'etcd 3.5 leader',
      'https://127.0.0.1:2379, 8e9e05c52164694d, 3.5.21, 20 kB, true, false, 2, 8, 8, ',
      { leader: '10276657743932975437', memberId: '10276657743932975437', version: '3.5.21' },
      true,
    ],
    // etcd 3.6 (kubeadm from 1.34): "is leader" moved to column 9, column 5 is the db size in use
    [
      'etcd 3.6 leader (the case that broke)',
      'https://127.0.0.1:2379, 8e9e05c52164694d, 3.6.6, 3.6.0, 20 kB, 16 kB, 20%, 2.1 GB, true, false, 2, 8, 8, ',
      { leader: '10276657743932975437', memberId: '10276657743932975437', version: '3.6.6' },
      true,
    ],
    [
      'etcd 3.6 follower',
      'https://127.0.0.1:2379, 8e9e05c52164694d, 3.6.6, 3.6.0, 20 kB, 16 kB, 20%, 2.1 GB, false, false, 2, 8, 8, ',
      { leader: '1', memberId: '10276657743932975437', version: '3.6.6' },
      false,
    ],
    // ids equal as JS Numbers, different as uint64s: a follower
    [
      'ids above 2^53 that a Number would make equal',
      '',
      { leader: '9007199254740993', memberId: '9007199254740992', version: '3.6.6' },
      false,
    ],
    ['no leader known', '', { leader: '0', memberId: '5', version: '3.6.6' }, false],
  ] as const)('%s', (_name, table, status, want) => {
    expect(shouldBackup(status).backup).toBe(want);
    if (_name.startsWith('etcd 3.6 leader')) expect(scriptSaysLeader(table)).toBe(false); // what the scripts concluded
  });

  it('no answer from this member: no backup', () => {
    expect(shouldBackup(undefined)).toEqual({ backup: false, reason: "this master's etcd member does not answer: no backup from here" });
  });
});

describe('chooseSnapshot', () => {
  const sum = (c: string) => c.repeat(64);
  const snap = (key: string, meta?: string, actual?: string): DownloadedSnapshot => ({
    key,
    time: Date.parse(`${key.slice(5, 9)}-${key.slice(9, 11)}-${key.slice(11, 13)}T${key.slice(14, 16)}:00:00Z`) / 1000,
    ...(meta ? { sha256: meta } : {}),
    ...(actual ? { actualSha256: actual } : {}),
  });
  it.each([
    ['no snapshots: a new cluster', [], { kind: 'none' }],
    [
      'the newest valid one',
      [snap('etcd/20261128T100000Z.db', sum('a'), sum('a')), snap('etcd/20261128T110000Z.db', sum('b'), sum('b'))],
      { kind: 'restore', key: 'etcd/20261128T110000Z.db' },
    ],
    [
      'a corrupt newest is skipped for the next',
      [snap('etcd/20261128T100000Z.db', sum('a'), sum('a')), snap('etcd/20261128T110000Z.db', sum('b'), sum('c'))],
      { kind: 'restore', key: 'etcd/20261128T100000Z.db' },
    ],
    [
      'no metadata, or a failed download, is not valid',
      [snap('etcd/20261128T100000Z.db', undefined, sum('a')), snap('etcd/20261128T110000Z.db', sum('b'))],
      { kind: 'refuse' },
    ],
  ] as const)('%s', (_n, list, want) => {
    expect(chooseSnapshot(list as readonly DownloadedSnapshot[])).toMatchObject(want);
  });
  it('says why each newer one was skipped', () => {
    const c = chooseSnapshot([snap('etcd/20261128T100000Z.db', sum('a'), sum('a')), snap('etcd/20261128T110000Z.db', sum('b'), sum('c'))]);
    expect(c).toEqual({
      kind: 'restore',
      key: 'etcd/20261128T100000Z.db',
      skipped: [`skipping etcd/20261128T110000Z.db: sha256 ${sum('c')} does not match its metadata '${sum('b')}'`],
    });
  });
});

describe('pruneAfterUpload: the one retention rule', () => {
  it('deletes exactly what planRetention deletes, never the snapshot just uploaded', () => {
    const keys = Array.from({ length: 48 }, (_, i) => snapshotKey(new Date(NOW.getTime() - (i + 1) * 20 * 60_000 - 9 * 86400_000)));
    const uploaded = snapshotKey(NOW);
    const got = pruneAfterUpload(keys, uploaded, NOW, 7);
    expect(got).toEqual(planRetention([...keys, uploaded], NOW, 7).delete);
    expect(got.length).toBeGreaterThan(0);
    expect(got).not.toContain(uploaded);
    // an upload dated far in the past is still never pruned by its own backup
    const old = snapshotKey(new Date(NOW.getTime() - 30 * 86400_000));
    expect(pruneAfterUpload([...keys, snapshotKey(NOW)], old, NOW, 7)).not.toContain(old);
  });
});

describe('afterInitFailure', () => {
  it.each([
    [1, 3, 'reset-and-retry'],
    [2, 3, 'reset-and-retry'],
    [3, 3, 'mark-unhealthy'],
    [1, 1, 'mark-unhealthy'],
  ] as const)('attempt %i of %i: %s', (attempt, max, action) => {
    expect(afterInitFailure(attempt, max).action).toBe(action);
  });
});

describe('decideAddons: does a joined master (re)install the add-ons', () => {
  const MINE = 'a'.repeat(64);
  const OTHER = 'b'.repeat(64);
  const rec = (over: Partial<AddonsRecord>): AddonsRecord => ({
    fingerprint: MINE,
    by: 'i-inst',
    group: 'master',
    state: 'installed',
    at: LONG_AGO,
    ...over,
  });
  const inp = (record: AddonsRecord | undefined, installer?: InstallerState): AddonsInput => ({
    self: { instanceId: 'i-new' },
    fingerprint: MINE,
    ...(record ? { record } : {}),
    ...(installer ? { installer } : {}),
    now: NOW,
    // 3 h stale (so LONG_AGO, 2 h before NOW, is not yet), 10 min grace (so JUST_NOW, 2 min before, is within)
    limits: { staleSeconds: 3 * 3600, unknownGraceSeconds: 600 },
  });
  const rows: Array<[string, AddonsInput, 'install' | 'skip', RegExp]> = [
    [
      'no record (a cluster older than addons.json, or it did not parse): install',
      inp(undefined),
      'install',
      /no add-on install is recorded/,
    ],
    ['installed with these settings: skip', inp(rec({})), 'skip', /installed with these settings \(aaaaaaaaaaaa\) by i-inst/],
    [
      'installed with other settings (a rollout: new chart versions, IRSA switched): install',
      inp(rec({ fingerprint: OTHER })),
      'install',
      /other settings \(bbbbbbbbbbbb, this master's are aaaaaaaaaaaa\)/,
    ],
    [
      'installed with other settings by this very instance: install',
      inp(rec({ fingerprint: OTHER, by: 'i-new' })),
      'install',
      /this master installs its own/,
    ],
    [
      'installing by a running master, recently: skip (no second helm run on the same releases)',
      inp(rec({ state: 'installing', at: JUST_NOW }), 'running'),
      'skip',
      /i-inst \(master, running\) is installing the add-ons with these settings/,
    ],
    [
      '… even with other settings: skip (the next master to join compares again)',
      inp(rec({ state: 'installing', at: JUST_NOW, fingerprint: OTHER }), 'pending'),
      'skip',
      /pending\) is installing the add-ons with other settings/,
    ],
    [
      'installing by a running master, but longer than the staleness limit ago: take over',
      inp(rec({ state: 'installing', at: '2026-11-28T08:00:00Z' }), 'running'),
      'install',
      /14400 s ago \(limit 10800 s\).*taking over/,
    ],
    [
      'installing by a terminated master: take over',
      inp(rec({ state: 'installing', at: JUST_NOW }), 'terminated'),
      'install',
      /but is terminated: taking over/,
    ],
    [
      'installing by a stopped master: take over (it installs nothing while stopped)',
      inp(rec({ state: 'installing', at: JUST_NOW }), 'stopped'),
      'install',
      /but is stopped/,
    ],
    [
      'installing by a master EC2 does not list yet, recorded minutes ago: skip',
      inp(rec({ state: 'installing', at: JUST_NOW })),
      'skip',
      /not listed by EC2 yet/,
    ],
    [
      'installing by a master EC2 does not list, recorded long ago: take over',
      inp(rec({ state: 'installing', at: LONG_AGO }), 'unlisted'),
      'install',
      /but is not listed by EC2: taking over/,
    ],
    [
      'installing, EC2 could not be asked: counts as alive, skip',
      inp(rec({ state: 'installing', at: LONG_AGO }), 'unknown'),
      'skip',
      /unknown\) is installing/,
    ],
    [
      'installing by this very instance (its boot ran again): install',
      inp(rec({ state: 'installing', at: JUST_NOW, by: 'i-new' })),
      'install',
      /this instance claimed the install/,
    ],
  ];
  it.each(rows)('%s', (_name, i, action, reason) => {
    const d = decideAddons(i);
    expect(d.action, d.reason).toBe(action);
    expect(d.reason).toMatch(reason);
  });
});

describe('addonsFingerprint: the add-on settings a master would install with', () => {
  const fp = (over: Partial<typeof MASTER_SETTINGS>, k8s = '1.34.2') => addonsFingerprint({ ...MASTER_SETTINGS, ...over }, k8s);
  const irsa = {
    serviceAccountIssuer: 'https://oidc.example.com',
    defaultServiceAccountIssuer: 'https://kubernetes.default.svc',
    ebsCsiRoleArn: 'arn:aws:iam::1:role/ebs',
    clusterAutoscalerRoleArn: 'arn:aws:iam::1:role/ca',
  };
  it('a sha256 of canonical JSON: key order does not matter', () => {
    expect(fp({})).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: null }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[2,{"x":null,"y":1}]},"b":1}',
    );
    const reordered = Object.fromEntries(Object.entries(MASTER_SETTINGS.addons).reverse()) as typeof MASTER_SETTINGS.addons;
    expect(fp({ addons: reordered })).toBe(fp({}));
  });
  it('changes with the Kubernetes version, a chart or image version, helm, IRSA on/off and its roles, the encryption configuration', () => {
    const base = fp({});
    const changed = [
      fp({}, '1.35.0'),
      fp({ addons: { ...MASTER_SETTINGS.addons, cilium: '1.19.7' } }),
      fp({ addons: { ...MASTER_SETTINGS.addons, clusterAutoscalerImage: 'v1.34.6' } }),
      fp({ helmVersion: '3.17.0' }),
      fp({ irsa }),
      fp({ irsa: { ...irsa, ebsCsiRoleArn: 'arn:aws:iam::1:role/ebs-2' } }),
      // a new EncryptionConfiguration: the add-on step rewrites the Secrets after it
      fp({ encryption: { ...MASTER_SETTINGS.encryption, fingerprint: 'f'.repeat(64) } }),
    ];
    for (const c of changed) expect(c).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });
  it('not with what the add-ons do not use: backups, DNS, the control-plane count', () => {
    expect(fp({ backupIntervalMinutes: 5, backupRetentionDays: 30, masterDns: 'x.internal', apiCertSans: [], controlPlaneCount: 5 })).toBe(
      fp({}),
    );
  });
});

describe('addons.json', () => {
  it('is a control-plane record in the scripts` flat layout; a bad one is reported, not used', () => {
    const r: AddonsRecord = { fingerprint: 'c'.repeat(64), by: 'i-0abc', group: 'master-2', state: 'installing', at: JUST_NOW };
    expect(addonsRecordKey()).toBe('etcd/control-plane/addons.json');
    expect(controlPlaneKeyKind('etcd/control-plane/addons.json')).toEqual({ kind: 'addons' });
    expect(renderRecord(r)).toBe(
      `{\n  "fingerprint": "${'c'.repeat(64)}",\n  "by": "i-0abc",\n  "group": "master-2",\n  "state": "installing",\n  "at": "${JUST_NOW}"\n}\n`,
    );
    expect(parseAddonsRecord(renderRecord(r))).toEqual(r);
    expect(parseControlPlaneRecords({ [addonsRecordKey()]: renderRecord(r) }).addons).toEqual(r);
    const bad = parseControlPlaneRecords({ [addonsRecordKey()]: renderRecord({ ...r, state: 'done' as never }) });
    expect(bad.addons).toBeUndefined();
    expect(bad.invalid.map((x) => x.key)).toEqual([addonsRecordKey()]);
    expect(parseAddonsRecord('{"fingerprint":"x","by":"i-1","group":"m","state":"installed","at":"2026-11-28T10:00:00Z"}')).toBeInstanceOf(
      Error,
    );
    // no decision reads it as a member or a claim
    expect(instancesToDescribe(parseControlPlaneRecords({ [addonsRecordKey()]: renderRecord(r) }))).toEqual([]);
  });
});

describe('helmRecovery: a release left pending-* before the next upgrade', () => {
  const h = (...s: string[]): HelmRevision[] => s.map((status, i) => ({ revision: i + 1, status }));
  const rows: Array<[string, string | undefined, HelmRevision[], { action: string; revision?: number }]> = [
    ['no such release (helm status failed): nothing to do, the upgrade installs it', undefined, [], { action: 'none' }],
    ['deployed: nothing to do', 'deployed', [], { action: 'none' }],
    ['failed: nothing to do (an upgrade of a failed release works)', 'failed', [], { action: 'none' }],
    [
      'pending-upgrade: back to the deployed revision',
      'pending-upgrade',
      h('superseded', 'deployed', 'pending-upgrade'),
      { action: 'rollback', revision: 2 },
    ],
    [
      'pending-upgrade after a failed one: back to the newest that ran (superseded)',
      'pending-upgrade',
      h('superseded', 'failed', 'pending-upgrade'),
      { action: 'rollback', revision: 1 },
    ],
    [
      'pending-rollback: back to the newest deployed',
      'pending-rollback',
      h('superseded', 'deployed', 'failed', 'pending-rollback'),
      { action: 'rollback', revision: 2 },
    ],
    [
      'history in any order: the highest revision wins',
      'pending-upgrade',
      [
        { revision: 7, status: 'pending-upgrade' },
        { revision: 6, status: 'deployed' },
        { revision: 2, status: 'superseded' },
      ],
      { action: 'rollback', revision: 6 },
    ],
    ['pending-install: nothing ever ran, uninstall', 'pending-install', h('pending-install'), { action: 'uninstall' }],
    [
      'pending-upgrade with no revision that ever ran: uninstall',
      'pending-upgrade',
      h('failed', 'pending-upgrade'),
      { action: 'uninstall' },
    ],
  ];
  it.each(rows)('%s', (_name, status, history, want) => {
    expect(helmRecovery('cilium', status, history)).toMatchObject(want);
  });

  it('reads helm`s JSON, never its text', () => {
    const status = JSON.stringify({
      name: 'cilium',
      info: { first_deployed: '2026-11-28T10:00:00Z', status: 'pending-upgrade', description: 'Preparing upgrade' },
      version: 3,
      namespace: 'kube-system',
    });
    expect(parseHelmStatus(status)).toBe('pending-upgrade');
    const history = JSON.stringify([
      {
        revision: 1,
        updated: '2026-11-28T10:00:00Z',
        status: 'superseded',
        chart: 'cilium-1.19.5',
        app_version: '1.19.5',
        description: 'Install complete',
      },
      {
        revision: 2,
        updated: '2026-11-28T11:00:00Z',
        status: 'pending-upgrade',
        chart: 'cilium-1.19.6',
        app_version: '1.19.6',
        description: 'Preparing upgrade',
      },
    ]);
    expect(parseHelmHistory(history)).toEqual([
      { revision: 1, status: 'superseded' },
      { revision: 2, status: 'pending-upgrade' },
    ]);
    expect(parseHelmStatus('Error: release: not found')).toBeInstanceOf(Error);
    expect(parseHelmStatus('{"name":"cilium"}')).toBeInstanceOf(Error);
    expect(parseHelmHistory('{"revision":1}')).toBeInstanceOf(Error);
  });
});
