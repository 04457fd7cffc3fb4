/**
 * rollout: replace the instances that run an older launch template version than their group
 * launches now (after a create changed an instance type, AMI, Kubernetes version, labels or taints),
 * with the auto scaling group's instance refresh — one group at a time, node groups first, the
 * master last and only after a fresh etcd backup. Progress is shown until each refresh completes.
 * A highly available control plane (master, master-2, …: one group of one per master) is replaced
 * one master at a time, in order, each only once the previous one is back — its new node Ready,
 * the API server Ready and etcd healthy as the API server sees it (/readyz/etcd) — so no more
 * than one etcd member is ever missing.
 *
 * The backup is the caller's (`loadBackup`: backup-etcd's takeBackup through SSM, in
 * src/operations/backup.ts). When there is none the master is not touched and rollout says so
 * (exit 1) — the node groups are still rolled.
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type AutoScalingGroup,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import { errorCode, KubeazError } from '../aws/errors.js';
import type { Progress } from '../engine/progress.js';
import { GROUP_TAG, K8S_VERSION_TAG, OWNER_TAG } from '../model/types.js';
import { isMasterGroup } from '../model/names.js';
import { isMinorUpgrade } from '../checks/version-skew.js';
import { waitForApiVersion, waitForMasterBack } from '../kube/api.js';
import { sleep } from '../util/async.js';
import { adminKubeconfig, ENDPOINT_CALLS } from './endpoint.js';
import type { Session } from './session.js';

/** The calls rollout makes: an AutoScalingClient, or a mock of one. */
/** The IAM actions rollout calls itself (its master step's backup is takeBackup's: BACKUP_CALLS). */
export const ROLLOUT_CALLS: readonly string[] = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeInstanceRefreshes',
  'autoscaling:StartInstanceRefresh',
  'ec2:DescribeInstances',
  ...ENDPOINT_CALLS,
];

export interface AsgSender {
  send(command: unknown): Promise<unknown>;
}

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
  status: 'up-to-date' | 'Successful' | 'Failed' | 'Cancelled' | 'RollbackSuccessful' | 'RollbackFailed' | 'TimedOut' | 'refused';
  refreshId?: string;
  replaced?: number;
  reason?: string;
}

const TERMINAL = new Set(['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);

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
  maxWaitSeconds: number;
  minHealthyPercentage: number;
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
   * After a master's refresh: resolves once the API server is Ready, etcd reports healthy through
   * it (/readyz/etcd) and the group's new node (registered since `since`) is Ready; throws when
   * that does not happen in time. A control plane of several masters is replaced one master at a
   * time, each only once the previous one is back: without this check the second is refused.
   */
  waitForControlPlane?: (group: string, since: Date) => Promise<void>;
}

/** master, master-2, master-3, …: in that order. */
const masterOrder = (a: GroupState, b: GroupState): number => Number(a.group.split('-')[1] ?? 1) - Number(b.group.split('-')[1] ?? 1);

/** Starts a refresh (or follows the one already running) and polls it to its end. */
async function refreshGroup(d: RolloutDeps, g: GroupState): Promise<RolloutStep> {
  let refreshId: string | undefined;
  try {
    const out = (await d.asg.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: g.asgName,
        Strategy: 'Rolling',
        // SkipMatching: only instances that do not already run the group's launch template version
        Preferences: { MinHealthyPercentage: d.minHealthyPercentage, SkipMatching: true },
      }),
    )) as { InstanceRefreshId?: string };
    refreshId = out.InstanceRefreshId;
  } catch (e) {
    if (errorCode(e) !== 'InstanceRefreshInProgress' && errorCode(e) !== 'InstanceRefreshInProgressFault') throw e;
    d.progress.emit({ type: 'info', message: `${g.group}: an instance refresh is already running; following it` });
  }
  const started = Date.now();
  for (;;) {
    const out = (await d.asg.send(
      new DescribeInstanceRefreshesCommand({
        AutoScalingGroupName: g.asgName,
        ...(refreshId ? { InstanceRefreshIds: [refreshId] } : { MaxRecords: 1 }),
      }),
    )) as { InstanceRefreshes?: InstanceRefresh[] };
    const r = out.InstanceRefreshes?.[0];
    refreshId ??= r?.InstanceRefreshId;
    const seconds = (Date.now() - started) / 1000;
    if (r) {
      const pct = r.PercentageComplete ?? 0;
      d.progress.emit({
        type: 'wait',
        what: `instance refresh of ${g.group} (${r.Status ?? '?'}, ${r.InstancesToUpdate ?? '?'} to replace)`,
        ready: pct,
        total: 100,
        seconds,
      });
      if (r.Status && TERMINAL.has(r.Status)) {
        return {
          group: g.group,
          asgName: g.asgName,
          status: r.Status as RolloutStep['status'],
          ...(refreshId ? { refreshId } : {}),
          replaced: g.stale.length,
          ...(r.StatusReason ? { reason: r.StatusReason } : {}),
        };
      }
    }
    if (seconds > d.maxWaitSeconds || d.signal?.aborted)
      return {
        group: g.group,
        asgName: g.asgName,
        status: 'TimedOut',
        ...(refreshId ? { refreshId } : {}),
        reason: d.signal?.aborted
          ? 'interrupted (the refresh goes on in AWS)'
          : `not complete after ${d.maxWaitSeconds}s (it goes on in AWS; run rollout again to follow it)`,
      };
    await sleep(d.pollSeconds * 1000, d.signal);
  }
}

/**
 * Node groups one at a time, then the master after a fresh backup. Stops at the first group whose
 * refresh does not succeed (a later group, and above all the master, waits for a healthy cluster).
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
    message: `${g.group}: replacing ${g.stale.length} of ${g.instances} instances (launch template version ${g.version}, min healthy ${d.minHealthyPercentage}%)`,
  });
  const step = await refreshGroup(d, g);
  steps.push(step);
  if (step.status === 'Successful')
    d.progress.emit({
      type: 'update',
      key: `asg/${g.group}`,
      detail: `instance refresh ${step.refreshId ?? ''}: ${step.replaced} replaced`,
    });
  else
    d.progress.emit({ type: 'warn', message: `instance refresh of ${g.group}: ${step.status}${step.reason ? ` (${step.reason})` : ''}` });
  if (step.status !== 'Successful') return false;
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
async function masterMinorUpgrade(s: Session, asg: AsgSender, states: GroupState[]): Promise<RolloutDeps['minorUpgrade']> {
  void asg;
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
      const { text } = await adminKubeconfig(s, (s.ctx.timing.maxWaitSeconds + 15 * 60) * 1000);
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
  /** asked once the groups to replace are known; false: nothing is replaced */
  ask: (todo: GroupState[]) => Promise<boolean>;
  /** a fresh etcd backup, taken before the first master is replaced */
  takeBackup: () => Promise<unknown>;
}

/** What a rollout run came to: nothing to do, declined at the question, or the steps taken. */
export type RolloutOutcome = { nothingToDo: true } | { declined: true } | { steps: RolloutStep[]; ok: boolean };

/** rollout under the cluster's lock: the stale groups, the question, a minor upgrade's order, then rollout(). */
export async function rolloutCluster(s: Session, r: RolloutRequest): Promise<RolloutOutcome> {
  const min = r.minHealthyPercentage;
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
    const minorUpgrade = await masterMinorUpgrade(s, asg, states);
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
      maxWaitSeconds: s.ctx.timing.maxWaitSeconds * 3,
      minHealthyPercentage: min,
      signal: s.abort.signal,
      ...(r.group ? { only: r.group } : {}),
      loadBackup: async () => r.takeBackup,
      waitForControlPlane: async (group, since) => {
        // short-lived, as `kubeaz kubeconfig` signs it: the wait, plus a margin
        const { text } = await adminKubeconfig(s, (s.ctx.timing.maxWaitSeconds + 15 * 60) * 1000);
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
