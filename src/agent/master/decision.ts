/**
 * What a master does at boot, decided from what it sees: the records in S3, the recorded instances'
 * EC2 states, whether the API answers and whether any recorded etcd member answers (asked with a
 * client certificate, so "none answers" is true, not a certificate problem). PURE — the rules of
 * README "What the masters do at boot", which etcd-membership.sh's ha_decide implemented in bash:
 *
 *  1. the API answers → join (replacing the group's previous member first, see replacement());
 *  2. no init.json → a cluster grown from one master (join/token exists) → wait for its API;
 *     otherwise race for init.json;
 *  3. init.json names this instance → init (again: a retried boot);
 *  4. init.json exists, no API → quorum is lost for good only when EVERY instance a record names is
 *     terminated, shutting down or unlisted (unless recorded within the grace), AND no recorded
 *     member answers; then the restore claim chain decides who restores (or, with no snapshot, inits
 *     afresh). A master whose `kubeadm init` failed marks itself Unhealthy: the group terminates it,
 *     so the rule above holds and another master takes the turn through the claim: init.json is
 *     superseded, never deleted.
 */
import type { ControlPlaneRecords } from './records.js';

export type Decision =
  | { action: 'init'; why: string }
  | { action: 'claim-init'; why: string }
  | { action: 'join'; why: string }
  | { action: 'claim-restore'; key: string; why: string }
  | { action: 'restore'; key: string; why: string }
  | { action: 'wait'; why: string };

export interface DecisionInput {
  self: { instanceId: string; group: string };
  /** masters in the spec: 1 is the single master (always init, after a restore when snapshots exist) */
  controlPlaneCount: number;
  apiUp: boolean;
  records: ControlPlaneRecords;
  joinTokenExists: boolean;
  /** EC2 state of the instances the records and claims name; absent: EC2 does not list it */
  instances: Readonly<Record<string, string>>;
  /** the client URL of a recorded etcd member that answered its Status, if any */
  liveMember?: string;
  now: Date;
  /** an instance recorded less than this long ago and not listed yet may be new: it counts as alive */
  unknownGraceMs: number;
}

const GONE = new Set(['terminated', 'shutting-down']);
/** How many times the claim chain is followed before waiting (a chain of dead claimers). */
const MAX_HOPS = 10;

const at = (t: string | undefined): number => {
  const n = t ? Date.parse(t) : NaN;
  return Number.isFinite(n) ? n : 0;
};

/** Other instances the records name, with the newest time each was recorded (0 when unknown). */
export function recordedInstances(records: ControlPlaneRecords, self: string): Map<string, number> {
  const out = new Map<string, number>();
  const add = (id: string | undefined, t: string | undefined) => {
    if (!id || id === self) return;
    out.set(id, Math.max(out.get(id) ?? 0, at(t)));
  };
  add(records.init?.instanceId, records.init?.time);
  add(records.restore?.by, records.restore?.restoredAt);
  for (const m of Object.values(records.members)) add(m.instanceId, m.time);
  return out;
}

/** The instance ids a decision needs EC2 states for: every recorded instance and every claim holder. */
export function instancesToDescribe(records: ControlPlaneRecords, self: string): string[] {
  const ids = new Set(recordedInstances(records, self).keys());
  for (const c of Object.values(records.restoreClaims)) if (c.by && c.by !== self) ids.add(c.by);
  return [...ids].sort();
}

function alive(id: string, recordedAt: number, i: DecisionInput): string | undefined {
  const state = i.instances[id];
  if (state !== undefined) return GONE.has(state) ? undefined : `${id} (${state})`;
  const age = i.now.getTime() - recordedAt;
  return age < i.unknownGraceMs ? `${id} (recorded ${Math.round(age / 1000)} s ago, not listed by EC2 yet)` : undefined;
}

/** Follows restore-claims/<key>.json: whose turn it is to restore the cluster `creator` started. */
export function claimTurn(i: DecisionInput, creator: string): Decision {
  let key = creator;
  for (let hop = 1; hop <= MAX_HOPS; hop++) {
    const held = i.records.restoreClaims[key];
    if (!held) return { action: 'claim-restore', key, why: `quorum is lost for good; racing for restore-claims/${key}.json` };
    if (!held.by) return { action: 'wait', why: `restore-claims/${key}.json names no master` };
    if (held.by === i.self.instanceId) return { action: 'restore', key, why: `this master holds restore-claims/${key}.json` };
    const live = alive(held.by, at(held.time), i);
    if (live) return { action: 'wait', why: `another master, ${live}, restores the cluster ${key} started; waiting for its API` };
    key = held.by; // it died before restoring: the turn passes on
  }
  return { action: 'wait', why: `the restore claims form a chain longer than ${MAX_HOPS}` };
}

export function decide(i: DecisionInput): Decision {
  if (i.controlPlaneCount <= 1) return { action: 'init', why: 'one master: it always initialises (after restoring the newest valid snapshot, if any)' };
  if (i.apiUp) return { action: 'join', why: 'the API answers: joining the control plane' };
  const init = i.records.init;
  if (!init) {
    if (i.joinTokenExists) return { action: 'wait', why: 'no init record but a join token exists: a cluster made by one master; waiting for its API' };
    return { action: 'claim-init', why: 'no init record: racing for init.json' };
  }
  if (init.instanceId === i.self.instanceId && !i.records.restore) return { action: 'init', why: 'init.json names this instance' };
  const recorded = recordedInstances(i.records, i.self.instanceId);
  if (recorded.size === 0) return { action: 'wait', why: 'the records name no other instance; not treating the cluster as lost' };
  const living = [...recorded].map(([id, t]) => alive(id, t, i)).filter((x): x is string => x !== undefined);
  if (living.length) return { action: 'wait', why: `waiting for the API; recorded master instance(s) still exist: ${living.join(', ')}` };
  if (i.liveMember) return { action: 'wait', why: `waiting for the API; the etcd member at ${i.liveMember} answers` };
  return claimTurn(i, i.records.restore?.by || init.instanceId);
}

/**
 * Before joining in place of its group's previous master: remove that member, but only while the
 * OTHER members alone hold a quorum of the member count (which stays the same once this one joins).
 */
export type Replacement = { action: 'none'; why: string } | { action: 'remove'; idHex: string; why: string } | { action: 'wait'; why: string };

export interface MemberView {
  idHex: string;
  started: boolean;
  /** answered its Status with a leader and no alarm */
  healthy: boolean;
}

export function replacement(previous: { memberId: string; instanceId: string } | undefined, self: string, members: readonly MemberView[]): Replacement {
  if (!previous || previous.instanceId === self || !previous.memberId) return { action: 'none', why: 'no previous member of this group to replace' };
  const old = previous.memberId.toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '');
  if (!members.some((m) => m.idHex === old)) return { action: 'none', why: `the group's previous member ${old} is no longer in the cluster` };
  const total = members.length;
  const quorum = Math.floor(total / 2) + 1;
  const healthy = members.filter((m) => m.idHex !== old && m.healthy).length;
  if (healthy >= quorum) return { action: 'remove', idHex: old, why: `${healthy} of the other ${total - 1} members are healthy; quorum of ${total} is ${quorum}` };
  return { action: 'wait', why: `only ${healthy} of the other ${total - 1} members are healthy and ${quorum} are needed once it is replaced` };
}

/** Members are added one at a time: another add must wait while a member is added but not started. */
export const pendingAdd = (members: readonly MemberView[]): boolean => members.some((m) => !m.started);
