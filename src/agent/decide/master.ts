/**
 * What a master does at boot, decided from what it has read: the records under
 * etcd/control-plane/, the EC2 state of the instances they name, whether the API answers, and
 * etcd's answers (Status per member endpoint, MemberList). PURE: the agent reads, calls this,
 * acts, and calls it again; a lost race (PreconditionFailed on a claim) is simply the next read.
 * The rules are docs/agent.md's "What the masters do at boot (several masters)":
 *
 *  - one master: `init` (restoring the newest valid snapshot first, if any);
 *  - the API answers: `join`; first `replace` the group's previous member when the member record
 *    names another instance and that member is still listed — only while the OTHER members alone
 *    hold a quorum of the member count; while another member is added but not started, wait
 *    (bounded by the gate attempts, then join anyway: kubeadm's member add retries);
 *  - no init.json: `claim-init` (the conditional write), unless join/token shows a cluster grown
 *    from one master (wait for its API); init.json naming this instance: `init` (it won before);
 *  - init.json exists, no API: quorum is lost for good only when every instance a record names is
 *    terminated, shutting-down or (recorded longer than the grace ago) unlisted, AND no recorded
 *    member answers Status with a client certificate; then the restore-claim chain decides:
 *    `claim-restore` (write the claim), `restore` (this instance holds it), or wait;
 *  - otherwise `wait` with the reason; a wait past the attempt limit is `give-up`.
 */
import type { EtcdMember } from '../../etcd/client.js';
import type { ControlPlaneRecords } from '../../records/etcd.js';
import type { HealthAnswers } from './health.js';

/** EC2 instance states (DescribeInstances State.Name). */
export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface MasterInput {
  self: { instanceId: string; group: string };
  controlPlaneCount: number;
  now: Date;
  /** the API answered /readyz through the internal load balancer */
  apiUp: boolean;
  /** join/token exists in the bucket (a cluster one master made before records were kept) */
  joinTokenExists: boolean;
  records: ControlPlaneRecords;
  /**
   * EC2's state of every instance the records (and restore claims) name; an instance missing here
   * was not listed by EC2 (gone long ago, or too new to be listed yet).
   */
  instances: Readonly<Record<string, { state: InstanceState }>>;
  /** Status per etcd client URL: recorded members' and MemberList's. Required: see health.ts. */
  health: HealthAnswers;
  /** MemberList from any member that answered; undefined when none did */
  members?: readonly EtcdMember[];
  /** 1-based attempt of the caller's decide loop */
  attempt: number;
  limits: {
    /** waits before giving up (README: every 10 s for up to an hour) */
    waitAttempts: number;
    /** waits for a member added but not started before joining anyway */
    gateAttempts: number;
    /** an instance recorded less than this ago and not listed by EC2 may be too new to be listed */
    unknownGraceSeconds: number;
  };
}

export type MasterDecision =
  | { action: 'init'; reason: string }
  | { action: 'claim-init'; reason: string }
  | { action: 'join'; reason: string }
  | { action: 'replace'; reason: string; previous: { memberIdHex: string; memberId: string; instanceId: string } }
  | { action: 'claim-restore'; reason: string; claimKey: string; lostCreator: string }
  | { action: 'restore'; reason: string; claimKey: string; lostCreator: string }
  | { action: 'wait'; reason: string }
  | { action: 'give-up'; reason: string };

const GONE: ReadonlySet<InstanceState> = new Set(['terminated', 'shutting-down']);
/** claims form a chain (a winner that died passes the turn on); this many hops at most */
const MAX_CLAIM_HOPS = 10;

const seconds = (t: string | undefined): number => {
  const ms = t === undefined ? NaN : Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms / 1000;
};

export function decideMaster(input: MasterInput): MasterDecision {
  const d = decide(input);
  if (d.action === 'wait' && input.attempt >= input.limits.waitAttempts)
    return { action: 'give-up', reason: `${d.reason} — still so after ${input.attempt} attempts` };
  return d;
}

function decide(input: MasterInput): MasterDecision {
  const { self, records } = input;
  if (input.controlPlaneCount <= 1)
    return { action: 'init', reason: 'one master: it initialises (restoring the newest valid snapshot, if any)' };
  if (input.apiUp) return joinDecision(input);
  if (!records.init) {
    if (input.joinTokenExists)
      return {
        action: 'wait',
        reason: 'no init record but a join token exists: the cluster was made by its first master; waiting for its API',
      };
    return { action: 'claim-init', reason: 'no init record and no cluster: claiming init.json' };
  }
  if (records.init.instanceId === self.instanceId)
    return { action: 'init', reason: `this instance won init.json (${self.group}) and the API does not answer yet: it runs kubeadm init` };
  const lost = lostForGood(input);
  if (!lost.lost)
    return {
      action: 'wait',
      reason: `waiting for the API (initialised by ${records.init.group} ${records.init.instanceId}): ${lost.reason}`,
    };
  const creator = records.restore?.by ?? records.init.instanceId;
  return claimChain(input, creator, lost.reason);
}

/** The API answers: replace the group's previous member if one is listed, wait for pending adds, join. */
function joinDecision(input: MasterInput): MasterDecision {
  const { self, records, members } = input;
  const rec = records.members[self.group];
  if (rec && rec.instanceId !== self.instanceId) {
    if (!members)
      return {
        action: 'wait',
        reason: `replacing ${self.group}'s previous member ${rec.memberId} (instance ${rec.instanceId}): no etcd member answers`,
      };
    const old = members.find((m) => m.idHex === rec.memberId);
    if (old) {
      const total = members.length;
      const quorum = Math.floor(total / 2) + 1;
      const healthy = members.filter((m) => m.id !== old.id && m.clientURLs.some((u) => input.health.byEndpoint[u]?.healthy)).length;
      if (healthy < quorum)
        return {
          action: 'wait',
          reason: `refusing to remove member ${old.idHex} yet: only ${healthy} of the other ${total - 1} members are healthy and ${quorum} are needed for quorum once it is replaced`,
        };
      return {
        action: 'replace',
        reason: `removing ${self.group}'s previous member ${old.idHex} (instance ${rec.instanceId}): ${healthy} of the other ${total - 1} members are healthy, quorum of ${total} is ${quorum}`,
        previous: { memberIdHex: old.idHex, memberId: old.id, instanceId: rec.instanceId },
      };
    }
  }
  const pending = members?.find((m) => !m.started);
  if (pending && input.attempt < input.limits.gateAttempts)
    return {
      action: 'wait',
      reason: `etcd member ${pending.idHex} (${pending.peerURLs.join(',')}) is added but not started yet: adding this one after it`,
    };
  return {
    action: 'join',
    reason: pending
      ? `a member is still not started after ${input.attempt} attempts: joining anyway`
      : 'the API answers: joining the control plane',
  };
}

/**
 * Lost for good: every instance a record names is gone, and no recorded member answers. Exported
 * for its own table.
 */
export function lostForGood(input: Pick<MasterInput, 'self' | 'records' | 'instances' | 'health' | 'now' | 'limits'>): {
  lost: boolean;
  reason: string;
} {
  const { self, records, instances, health } = input;
  const now = input.now.getTime() / 1000;
  // instance → the newest time a record names it
  const recorded = new Map<string, number>();
  const note = (id: string | undefined, t: string | undefined) => {
    if (!id || id === self.instanceId) return;
    recorded.set(id, Math.max(recorded.get(id) ?? 0, seconds(t)));
  };
  if (records.init) note(records.init.instanceId, records.init.time);
  if (records.restore) note(records.restore.by, records.restore.restoredAt);
  for (const m of Object.values(records.members)) note(m.instanceId, m.time);
  if (recorded.size === 0) return { lost: false, reason: 'the records name no other instance; not treating the cluster as lost' };
  const alive: string[] = [];
  for (const [id, at] of [...recorded].sort(([a], [b]) => a.localeCompare(b))) {
    const st = instances[id]?.state;
    if (st !== undefined) {
      if (!GONE.has(st)) alive.push(`${id} (${st})`);
    } else if (now - at < input.limits.unknownGraceSeconds) {
      alive.push(`${id} (recorded ${Math.round(now - at)}s ago, not listed by EC2 yet)`);
    }
  }
  if (alive.length) return { lost: false, reason: `not restoring: recorded master instance(s) still exist: ${alive.join(', ')}` };
  const urls = [
    ...new Set(
      Object.values(records.members)
        .map((m) => m.clientURL)
        .filter((u): u is string => Boolean(u)),
    ),
  ].sort();
  for (const u of urls) {
    const a = health.byEndpoint[u];
    if (!a) return { lost: false, reason: `not restoring: the etcd member at ${u} was not checked` };
    if (a.answered) return { lost: false, reason: `not restoring: the etcd member at ${u} answers` };
  }
  return {
    lost: true,
    reason: `quorum is lost for good: every recorded master instance (${[...recorded.keys()].sort().join(' ')}) is gone and no recorded etcd member answers`,
  };
}

/**
 * The restore of the cluster `creator` started goes to the first master that writes
 * restore-claims/<creator>.json; a claim whose winner is gone (terminated, shutting down, or
 * unlisted though claimed longer than the grace ago) died before restoring: the turn passes to
 * restore-claims/<that winner>.json.
 */
function claimChain(input: MasterInput, creator: string, why: string): MasterDecision {
  const { self, records, instances } = input;
  const now = input.now.getTime() / 1000;
  let key = creator;
  for (let hop = 0; hop < MAX_CLAIM_HOPS; hop++) {
    const claimKey = `etcd/control-plane/restore-claims/${key}.json`;
    const claim = records.restoreClaims[key];
    if (!claim) {
      if (records.invalid.some((x) => x.key === claimKey)) return { action: 'wait', reason: `${claimKey} names no master; waiting` };
      return {
        action: 'claim-restore',
        reason: `${why}: claiming the restore of the cluster ${key} started`,
        claimKey,
        lostCreator: creator,
      };
    }
    if (claim.by === self.instanceId)
      return {
        action: 'restore',
        reason: `this master holds ${claimKey}: it restores the cluster as one member; the others join it`,
        claimKey,
        lostCreator: creator,
      };
    const st = instances[claim.by]?.state;
    if (st === undefined) {
      if (now - seconds(claim.time) < input.limits.unknownGraceSeconds)
        return { action: 'wait', reason: `another master (${claim.by}) claimed the restore of ${key}'s cluster; waiting for its API` };
    } else if (!GONE.has(st)) {
      return { action: 'wait', reason: `another master (${claim.by}, ${st}) restores the cluster ${key} started; waiting for its API` };
    }
    key = claim.by;
  }
  return { action: 'wait', reason: `the restore claims form a chain longer than ${MAX_CLAIM_HOPS}; waiting` };
}

/** The instance ids whose EC2 state the decision needs: every recorded instance and every claim winner. */
export function instancesToDescribe(records: ControlPlaneRecords): string[] {
  const ids = new Set<string>();
  if (records.init) ids.add(records.init.instanceId);
  if (records.restore?.by) ids.add(records.restore.by);
  for (const m of Object.values(records.members)) ids.add(m.instanceId);
  for (const c of Object.values(records.restoreClaims)) ids.add(c.by);
  return [...ids].sort();
}

/** The client URLs whose Status the decision needs: every recorded member's and every listed member's. */
export function endpointsToProbe(records: ControlPlaneRecords, members?: readonly EtcdMember[]): string[] {
  const urls = new Set<string>();
  for (const m of Object.values(records.members)) if (m.clientURL) urls.add(m.clientURL);
  for (const m of members ?? []) for (const u of m.clientURLs) urls.add(u);
  return [...urls].sort();
}
