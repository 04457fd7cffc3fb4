/**
 * rollout: replace the instances that run an older launch template version than their group
 * launches now (after a create changed an instance type, AMI, Kubernetes version, labels or taints),
 * one group at a time, node groups first, the master last and only after a fresh etcd backup.
 *
 * kops `rolling-update`'s way, not an instance refresh: rollout terminates a batch of a group's
 * instances itself (as many as `--min-healthy-percentage` lets go at once, at least one; a master
 * alone), the group's desired capacity unchanged so that it launches their replacements, and takes
 * the next batch only once the batch's instances are gone and as many new ones are Ready — their
 * node Ready in the Kubernetes API when it answers, their boot report `ready` when it does not. A
 * node group's terminations pass through its drain hook (src/model/areas/drain.ts): each waits in
 * Terminating:Wait until the termination handler has drained its node (PodDisruptionBudgets
 * honoured) and completes the action, or the hook's heartbeat runs out (CONTINUE). A new instance
 * whose boot fails, or that is not Ready in time, stops the rollout with its boot phase as the
 * reason; a drain that outlasts `--drain-timeout` stops it too, unless `--force`, which completes
 * the pending termination (CONTINUE) itself, with a warning. Decisions: rollout-decide.ts (pure);
 * reads of nodes and boots: rollout-watch.ts.
 *
 * A highly available control plane (master, master-2, …: one group of one per master) is replaced
 * one master at a time, in order, each only once the previous one is back — its new node Ready,
 * the API server Ready and etcd healthy as the API server sees it (/readyz/etcd) — so no more
 * than one etcd member is ever missing.
 *
 * The backup is the caller's (`loadBackup`: backup-etcd's takeBackup through SSM, in
 * src/operations/backup.ts). When there is none the master is not touched and rollout says so
 * (exit 1) — the node groups are still rolled.
 */
import { DescribeAutoScalingGroupsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { continueTermination, groupInstances, terminateInGroup, type AsgSender } from '../aws/asg-instances.js';
import { KubeazError } from '../aws/errors.js';
import type { Progress } from '../engine/progress.js';
import { GROUP_TAG, K8S_VERSION_TAG, OWNER_TAG } from '../model/types.js';
import { bucketName, isMasterGroup } from '../model/names.js';
import { isMinorUpgrade } from '../checks/version-skew.js';
import { waitForApiVersion, waitForMasterBack } from '../kube/api.js';
import { sleep } from '../util/async.js';
import { adminKubeconfig, ENDPOINT_CALLS, type GivenEndpoint } from './endpoint.js';
import { batchSize, nextRolloutAction } from './rollout-decide.js';
import { BOOT_STORE_CALLS } from '../records/boot-store.js';
import { readyProbe, type ReadyProbe } from './rollout-watch.js';
import type { Session } from './session.js';

export type { AsgSender };

/**
 * The IAM actions rollout calls itself (its master step's backup is takeBackup's: BACKUP_CALLS):
 * the groups and their instances, one termination per instance replaced (desired capacity kept),
 * CompleteLifecycleAction only with --force, and the boot reports when the API does not answer.
 */
export const ROLLOUT_CALLS: readonly string[] = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:TerminateInstanceInAutoScalingGroup',
  'autoscaling:CompleteLifecycleAction',
  'ec2:DescribeInstances',
  ...BOOT_STORE_CALLS,
  ...ENDPOINT_CALLS,
];

export interface GroupState {
  /** the node group's name (master for the control plane) */
  group: string;
  asgName: string;
  launchTemplateId: string;
  version: string;
  /** instances that run another launch template (version) than the group launches */
  stale: string[];
  instances: number;
}

export interface RolloutStep {
  group: string;
  asgName: string;
  /** Successful: every stale instance replaced; stopped: a batch did not come up (reason); refused: not touched (reason) */
  status: 'up-to-date' | 'Successful' | 'stopped' | 'refused';
  /** instances replaced (their replacements Ready) */
  replaced?: number;
  reason?: string;
}

export function groupStates(groups: readonly AutoScalingGroup[]): GroupState[] {
  return groups.map((g) => {
    const tag = (k: string) => g.Tags?.find((t) => t.Key === k)?.Value;
    const ltId =
      g.LaunchTemplate?.LaunchTemplateId ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.LaunchTemplateId ?? '';
    const version = g.LaunchTemplate?.Version ?? '';
    const stale = (g.Instances ?? [])
      .filter((i) => i.LifecycleState !== 'Terminating' && i.LifecycleState !== 'Terminated')
      .filter((i) => i.LaunchTemplate?.LaunchTemplateId !== ltId || (i.LaunchTemplate?.Version ?? '') !== version)
      .map((i) => i.InstanceId ?? '');
    return {
      group: tag(GROUP_TAG) ?? g.AutoScalingGroupName ?? '',
      asgName: g.AutoScalingGroupName ?? '',
      launchTemplateId: ltId,
      version,
      stale,
      instances: (g.Instances ?? []).length,
    };
  });
}

export async function describeClusterGroups(asg: AsgSender, clusterId: string): Promise<GroupState[]> {
  const groups: AutoScalingGroup[] = [];
  let NextToken: string | undefined;
  do {
    const out = (await asg.send(
      new DescribeAutoScalingGroupsCommand({
        Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [clusterId] }],
        ...(NextToken ? { NextToken } : {}),
      }),
    )) as {
      AutoScalingGroups?: AutoScalingGroup[];
      NextToken?: string;
    };
    groups.push(...(out.AutoScalingGroups ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  return groupStates(groups.filter((g) => g.Status !== 'Delete in progress'));
}

export interface RolloutDeps {
  asg: AsgSender;
  clusterId: string;
  progress: Progress;
  pollSeconds: number;
  /** how long one batch may take: its drains, and its new instances to be Ready */
  maxWaitSeconds: number;
  /** what may be missing at once: batchSize() */
  minHealthyPercentage: number;
  /** how long a terminated instance may wait for its drain (Terminating:Wait) before rollout stops, or with force completes it */
  drainTimeoutSeconds: number;
  /** complete pending termination lifecycle actions (CONTINUE) instead of stopping on them */
  force: boolean;
  /** the new instances' nodes and boots (rollout-watch.ts readyProbe) */
  probe: ReadyProbe;
  signal?: AbortSignal;
  /** only this group ('master' for the control plane) */
  only?: string;
  /** takes a fresh etcd backup; undefined when this build has none (then the master is refused) */
  loadBackup: () => Promise<(() => Promise<unknown>) | undefined>;
  /**
   * Set when the master's instances run the previous Kubernetes minor: the master goes FIRST (a
   * kubelet must never be newer than its API server), and the node groups only once the API
   * answers with `to` (waitForApi throws when it does not).
   */
  minorUpgrade?: { from: string; to: string; waitForApi: (version: string) => Promise<void> };
  /**
   * After a master's replacement: resolves once the API server is Ready, etcd reports healthy through
   * it (/readyz/etcd) and the group's new node (registered since `since`) is Ready; throws when
   * that does not happen in time. A control plane of several masters is replaced one master at a
   * time, each only once the previous one is back: without this check the second is refused.
   */
  waitForControlPlane?: (group: string, since: Date) => Promise<void>;
}

/** master, master-2, master-3, …: in that order. */
const masterOrder = (a: GroupState, b: GroupState): number => Number(a.group.split('-')[1] ?? 1) - Number(b.group.split('-')[1] ?? 1);

/** Completes the pending termination of these instances (CONTINUE), each with a warning: --force. */
async function forceTerminations(d: RolloutDeps, g: GroupState, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    d.progress.emit({
      type: 'warn',
      message: `--force: completing the termination of ${g.group} ${id} (CONTINUE) without waiting for its drain — pods still on its node stop now, PodDisruptionBudgets or not`,
    });
    if (!(await continueTermination(d.asg, g.asgName, id)))
      d.progress.emit({
        type: 'info',
        message: `${g.group} ${id}: no termination pending any more (drained, or its hook's heartbeat ran out)`,
      });
  }
}

/**
 * Waits for one terminated batch: its instances drained and gone, as many new ones Ready; polls
 * the group and, once new instances are there, their nodes and boot reports. Undefined when the
 * batch is done, else why the rollout stops.
 */
async function watchBatch(
  d: RolloutDeps,
  g: GroupState,
  batch: readonly string[],
  before: ReadonlySet<string>,
): Promise<string | undefined> {
  const started = Date.now();
  const forced = new Set<string>();
  for (;;) {
    const now = await groupInstances(d.asg, g.asgName);
    const fresh = now.filter((i) => !before.has(i.id) && !/^Terminat/.test(i.state));
    const seen = fresh.length
      ? await d.probe(fresh.map((i) => ({ id: i.id, group: g.group, lifecycleState: i.state, ...(i.zone ? { zone: i.zone } : {}) })))
      : undefined;
    const seconds = (Date.now() - started) / 1000;
    const next = nextRolloutAction({
      group: g.group,
      seconds,
      readyTimeoutSeconds: d.maxWaitSeconds,
      drainTimeoutSeconds: d.drainTimeoutSeconds,
      force: d.force,
      wanted: batch.length,
      leaving: batch.map((id) => ({ id, state: now.find((i) => i.id === id)?.state })),
      forced,
      fresh: fresh.map((i) => {
        const node = seen?.nodes.get(i.id);
        const boot = seen?.boots.get(i.id);
        return { id: i.id, state: i.state, ...(node ? { node } : {}), ...(boot ? { boot } : {}) };
      }),
      ...(seen ? { api: seen.api } : {}),
      aborted: d.signal?.aborted ?? false,
    });
    if (next.action === 'proceed') return undefined;
    if (next.action === 'stop') return next.reason;
    if (next.action === 'force') {
      await forceTerminations(d, g, next.instances);
      for (const id of next.instances) forced.add(id);
      continue;
    }
    d.progress.emit({ type: 'wait', what: next.what, ready: next.ready, total: next.total, seconds });
    await sleep(d.pollSeconds * 1000, d.signal);
  }
}

/**
 * Replaces a group's stale instances a batch at a time (kops `rolling-update`): each batch is
 * terminated in the group (its desired capacity unchanged, so the group launches replacements;
 * a node group's terminations wait in its drain hook until the termination handler has drained
 * them), and the next batch goes only once the new instances are Ready.
 */
async function replaceGroup(d: RolloutDeps, g: GroupState): Promise<RolloutStep> {
  const targets = new Set(g.stale);
  const size = batchSize(g.instances, d.minHealthyPercentage, isMasterGroup(g.group));
  let replaced = 0;
  const step = (status: RolloutStep['status'], reason?: string): RolloutStep => ({
    group: g.group,
    asgName: g.asgName,
    status,
    replaced,
    ...(reason ? { reason } : {}),
  });
  if (d.force) {
    const pending = (await groupInstances(d.asg, g.asgName)).filter((i) => i.state === 'Terminating:Wait').map((i) => i.id);
    await forceTerminations(d, g, pending);
  }
  for (;;) {
    const now = await groupInstances(d.asg, g.asgName);
    const todo = now.filter((i) => targets.has(i.id) && i.state === 'InService').map((i) => i.id);
    if (!todo.length) return step('Successful');
    const batch = todo.slice(0, size);
    d.progress.emit({
      type: 'info',
      message: `${g.group}: replacing ${batch.join(', ')} (${replaced + batch.length} of ${g.stale.length}); the next only once ${batch.length === 1 ? 'its replacement is' : 'their replacements are'} Ready`,
    });
    for (const id of batch) await terminateInGroup(d.asg, id);
    const stop = await watchBatch(d, g, batch, new Set(now.map((i) => i.id)));
    if (stop) return step('stopped', stop);
    replaced += batch.length;
    for (const id of batch) targets.delete(id);
  }
}

/**
 * Node groups one at a time, then the master after a fresh backup. Stops at the first group whose
 * replacement does not succeed (a later group, and above all the master, waits for a healthy cluster).
 */
export async function rollout(d: RolloutDeps): Promise<{ steps: RolloutStep[]; ok: boolean }> {
  const all = await describeClusterGroups(d.asg, d.clusterId);
  const chosen = d.only ? all.filter((g) => g.group === d.only) : all;
  if (d.only && !chosen.length)
    throw new KubeazError(
      `no group named ${d.only} in cluster ${d.clusterId} (groups: ${all.map((g) => g.group).join(', ') || 'none'})`,
      'NoSuchGroup',
    );
  const nodeGroups = chosen.filter((g) => !isMasterGroup(g.group)).sort((a, b) => (a.group < b.group ? -1 : 1));
  const masters = chosen.filter((g) => isMasterGroup(g.group)).sort(masterOrder);
  // the groups of a highly available control plane (master-2, …), whether or not --group chose them
  const ha = all.filter((g) => isMasterGroup(g.group)).length > 1;
  const up = d.minorUpgrade;
  // A patch (or no version change): node groups first, the master last. A minor upgrade: the
  // master first, then — once the API answers with the new version — the node groups.
  const ordered = up ? [...masters, ...nodeGroups] : [...nodeGroups, ...masters];
  const steps: RolloutStep[] = [];
  if (up && !masters.some((g) => g.stale.length) && nodeGroups.some((g) => g.stale.length)) {
    // --group NAME during a minor upgrade, master not yet replaced: never run kubelets ahead of it.
    if (!masters.length) {
      steps.push({
        group: 'master',
        asgName: '',
        status: 'refused',
        reason: `Kubernetes ${up.from} → ${up.to} is a minor upgrade: the master is replaced first (run rollout without --group, or with --group master)`,
      });
      return { steps, ok: false };
    }
  }
  const run: RolloutRun = { up, ha, backedUp: false, steps };
  for (const g of ordered) if (!(await rollGroup(d, g, run))) return { steps, ok: false };
  return { steps, ok: true };
}

/** What one rollout run carries from group to group. */
interface RolloutRun {
  up: RolloutDeps['minorUpgrade'];
  /** the groups of a highly available control plane (master-2, …), whether or not --group chose them */
  ha: boolean;
  backedUp: boolean;
  steps: RolloutStep[];
}

/** One group's turn: its steps go to run.steps; false when the rollout stops at it (the reason is the last step). */
async function rollGroup(d: RolloutDeps, g: GroupState, run: RolloutRun): Promise<boolean> {
  const { up, ha, steps } = run;
  if (up && !isMasterGroup(g.group)) {
    try {
      d.progress.emit({ type: 'info', message: `waiting for the API server to answer with ${up.to} before the node groups` });
      await up.waitForApi(up.to);
    } catch (e) {
      steps.push({
        group: g.group,
        asgName: g.asgName,
        status: 'refused',
        reason: `not replaced: the API server must run ${up.to} before any kubelet does — ${(e as Error).message}`,
      });
      return false;
    }
  }
  if (!g.stale.length) {
    steps.push({ group: g.group, asgName: g.asgName, status: 'up-to-date' });
    d.progress.emit({ type: 'unchanged', key: `asg/${g.group}`, detail: `every instance runs version ${g.version}` });
    return true;
  }
  if (isMasterGroup(g.group) && ha && !d.waitForControlPlane) {
    steps.push({
      group: g.group,
      asgName: g.asgName,
      status: 'refused',
      reason:
        'the masters are replaced one at a time, each once the previous one is back (API Ready, etcd healthy), and this run cannot check that; the master was not touched',
    });
    return false;
  }
  if (isMasterGroup(g.group) && !run.backedUp) {
    const takeBackup = await d.loadBackup();
    if (!takeBackup) {
      steps.push({
        group: g.group,
        asgName: g.asgName,
        status: 'refused',
        reason:
          'the master is replaced only after a fresh etcd backup, and this build cannot take one (backup-etcd exports no takeBackup); the master was not touched',
      });
      return false;
    }
    d.progress.emit({ type: 'info', message: `taking a fresh etcd backup before replacing the master${ha ? 's' : ''}` });
    await takeBackup();
    run.backedUp = true;
  }
  const since = new Date();
  d.progress.emit({
    type: 'info',
    message: `${g.group}: replacing ${g.stale.length} of ${g.instances} instances (launch template version ${g.version}), ${batchSize(g.instances, d.minHealthyPercentage, isMasterGroup(g.group))} at a time (min healthy ${d.minHealthyPercentage}%)`,
  });
  const step = await replaceGroup(d, g);
  steps.push(step);
  // a stopped step's reason is the caller's to print (commands/rollout.ts prints every step that did not succeed)
  if (step.status !== 'Successful') return false;
  d.progress.emit({ type: 'update', key: `asg/${g.group}`, detail: `${step.replaced} replaced, every replacement Ready` });
  if (isMasterGroup(g.group) && ha && d.waitForControlPlane) {
    // never two masters down at once: the next one waits until this one is a healthy member again
    try {
      d.progress.emit({
        type: 'info',
        message: `${g.group}: waiting for its node to be Ready, the API server Ready and etcd healthy before going on`,
      });
      await d.waitForControlPlane(g.group, since);
    } catch (e) {
      steps.push({
        group: g.group,
        asgName: g.asgName,
        status: 'refused',
        reason: `replaced, but the control plane is not healthy again, so nothing more is replaced: ${(e as Error).message}`,
      });
      return false;
    }
  }
  return true;
}

/**
 * A minor upgrade in progress: the master's running instances carry the Kubernetes version they
 * were launched with (K8S_VERSION_TAG); the spec asks for the next minor.
 */
async function masterMinorUpgrade(
  s: Session,
  states: GroupState[],
  endpoint: GivenEndpoint | undefined,
): Promise<RolloutDeps['minorUpgrade']> {
  const master = states.find((g) => isMasterGroup(g.group) && g.stale.length);
  if (!master?.stale.length) return undefined;
  const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
  const out = await (await s.aws.ec2()).send(new DescribeInstancesCommand({ InstanceIds: master.stale }));
  const running = out.Reservations?.flatMap((r) => r.Instances ?? [])
    .map((i) => i.Tags?.find((t) => t.Key === K8S_VERSION_TAG)?.Value)
    .find(Boolean);
  const to = s.spec.spec.kubernetesVersion;
  if (!running || !isMinorUpgrade(running, to)) return undefined;
  return {
    from: running,
    to,
    waitForApi: async (version) => {
      // short-lived, as `kubeaz kubeconfig` signs it: the wait, plus a margin
      const { text } = await adminKubeconfig(s, (s.ctx.timing.maxWaitSeconds + 15 * 60) * 1000, endpoint);
      await waitForApiVersion(text, version, {
        pollSeconds: s.ctx.timing.pollSeconds,
        maxSeconds: s.ctx.timing.maxWaitSeconds,
        signal: s.abort.signal,
        onPoll: (seen, seconds) =>
          s.progress.emit({ type: 'wait', what: `API server at ${version} (now: ${seen})`, ready: 0, total: 1, seconds }),
      });
    },
  };
}

export interface RolloutRequest {
  /** only this group (--group) */
  group?: string;
  minHealthyPercentage: number;
  /** seconds a terminated instance may wait for its drain (--drain-timeout) */
  drainTimeoutSeconds: number;
  /** --force: complete pending termination lifecycle actions (CONTINUE) rather than wait for them or stop */
  force: boolean;
  /** reach the Kubernetes API here (a tunnel to a private API) rather than at the cluster's endpoint */
  apiEndpoint?: string;
  /** asked once the groups to replace are known; false: nothing is replaced */
  ask: (todo: GroupState[]) => Promise<boolean>;
  /** a fresh etcd backup, taken before the first master is replaced */
  takeBackup: () => Promise<unknown>;
}

/** What a rollout run came to: nothing to do, declined at the question, or the steps taken. */
export type RolloutOutcome = { nothingToDo: true } | { declined: true } | { steps: RolloutStep[]; ok: boolean };

/**
 * The new instances' nodes through an admin kubeconfig (an hour's certificate, signed again when
 * it nears its end) and their boot reports from the cluster bucket.
 */
async function sessionProbe(s: Session, endpoint: GivenEndpoint | undefined): Promise<ReadyProbe> {
  let admin: { text: string; notAfter: Date } | undefined;
  return readyProbe({
    kubeconfig: async () => {
      if (!admin || admin.notAfter.getTime() - Date.now() < 10 * 60_000) admin = await adminKubeconfig(s, 60 * 60_000, endpoint);
      return admin.text;
    },
    s3: await s.aws.s3(),
    bucket: bucketName(s.clusterId, s.ctx.accountId),
    owner: s.ctx.accountId,
  });
}

/** rollout under the cluster's lock: the stale groups, the question, a minor upgrade's order, then rollout(). */
export async function rolloutCluster(s: Session, r: RolloutRequest): Promise<RolloutOutcome> {
  const min = r.minHealthyPercentage;
  const endpoint: GivenEndpoint | undefined = r.apiEndpoint ? { server: r.apiEndpoint, via: 'given' } : undefined;
  try {
    await s.state.lock('rollout');
    const asg = await s.aws.autoscaling();
    const states = await describeClusterGroups(asg, s.clusterId);
    const todo = states.filter((g) => g.stale.length && (!r.group || g.group === r.group));
    if (!todo.length) {
      if (r.group && !states.some((g) => g.group === r.group))
        throw new KubeazError(`no group named ${r.group} in cluster ${s.clusterId}`, 'NoSuchGroup');
      return { nothingToDo: true };
    }
    if (!(await r.ask(todo))) return { declined: true };
    const minorUpgrade = await masterMinorUpgrade(s, states, endpoint);
    if (minorUpgrade)
      s.progress.emit({
        type: 'info',
        message: `Kubernetes ${minorUpgrade.from} → ${minorUpgrade.to}: a minor upgrade — the master first, then the node groups once the API answers with ${minorUpgrade.to}`,
      });
    return await rollout({
      ...(minorUpgrade ? { minorUpgrade } : {}),
      asg,
      clusterId: s.clusterId,
      progress: s.progress,
      pollSeconds: s.ctx.timing.pollSeconds,
      maxWaitSeconds: s.ctx.timing.maxWaitSeconds,
      minHealthyPercentage: min,
      drainTimeoutSeconds: r.drainTimeoutSeconds,
      force: r.force,
      probe: await sessionProbe(s, endpoint),
      signal: s.abort.signal,
      ...(r.group ? { only: r.group } : {}),
      loadBackup: async () => r.takeBackup,
      waitForControlPlane: async (group, since) => {
        // short-lived, as `kubeaz kubeconfig` signs it: the wait, plus a margin
        const { text } = await adminKubeconfig(s, (s.ctx.timing.maxWaitSeconds + 15 * 60) * 1000, endpoint);
        await waitForMasterBack(text, group, since, {
          pollSeconds: s.ctx.timing.pollSeconds,
          maxSeconds: s.ctx.timing.maxWaitSeconds,
          signal: s.abort.signal,
          onPoll: (missing, seconds) =>
            s.progress.emit({ type: 'wait', what: `${group} back in the control plane (${missing})`, ready: 0, total: 1, seconds }),
        });
      },
    });
  } finally {
    await s.state.unlock();
  }
}
