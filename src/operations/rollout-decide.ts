/**
 * rollout's decisions, PURE: how many instances of a group go at once, and — after a batch was
 * terminated — whether to wait, go on with the next batch, complete a drain that takes too long
 * (--force), or stop with the reason. What the group, the Kubernetes API and the boot reports say
 * comes in; no call goes out (the reads are src/operations/rollout-watch.ts, the loop
 * src/operations/rollout.ts).
 *
 * A batch is done when every instance it terminated has left the group (drained by the
 * termination handler: Terminating:Wait until it completes the lifecycle action, or the hook's
 * heartbeat runs out) and as many new instances as it terminated are Ready: their node Ready when
 * the Kubernetes API answers, their boot report `ready` when it does not.
 */
import type { V1Node } from '@kubernetes/client-node';
import { nodeReady } from '../kube/health.js';
import type { BootEntry } from './boots.js';

/**
 * Instances replaced at once: as many as may be missing while `minHealthyPercentage` of the group
 * stays (the instance refresh's meaning of the flag), at least one. A master's group is always one.
 */
export function batchSize(instances: number, minHealthyPercentage: number, master = false): number {
  if (master) return 1;
  return Math.max(1, Math.floor((instances * (100 - minHealthyPercentage)) / 100));
}

/** The instance id a node runs on, from its spec.providerID (aws:///<zone>/<instance id>). */
export function instanceOfNode(n: V1Node): string | undefined {
  return /\/(i-[0-9a-f]+)$/.exec(n.spec?.providerID ?? '')?.[1];
}

/** The nodes the API lists, by the instance each runs on. */
export function nodesByInstance(nodes: readonly V1Node[]): Map<string, { name: string; ready: boolean }> {
  const out = new Map<string, { name: string; ready: boolean }>();
  for (const n of nodes) {
    const id = instanceOfNode(n);
    if (id) out.set(id, { name: n.metadata?.name ?? id, ready: nodeReady(n) });
  }
  return out;
}

/** An instance launched into the group since the batch began, with what is known of it. */
export interface FreshInstance {
  id: string;
  /** its auto scaling lifecycle state (Pending, Pending:Wait, InService, …) */
  state?: string;
  /** its node, when the API answered: undefined when no node of it is registered */
  node?: { name: string; ready: boolean };
  /** its boot report as status reads it; undefined before it was read */
  boot?: BootEntry;
}

export interface BatchView {
  group: string;
  /** seconds since the batch's instances were terminated */
  seconds: number;
  readyTimeoutSeconds: number;
  drainTimeoutSeconds: number;
  force: boolean;
  /** new instances the batch waits for: as many as it terminated */
  wanted: number;
  /** the batch's terminated instances as the group lists them now (state undefined: gone from it) */
  leaving: ReadonlyArray<{ id: string; state: string | undefined }>;
  /** the instances whose termination --force already completed (never completed twice) */
  forced: ReadonlySet<string>;
  fresh: readonly FreshInstance[];
  /** the Kubernetes API, when the fresh instances were looked up there */
  api?: { reachable: true } | { reachable: false; reason: string };
  aborted?: boolean;
}

export type RolloutAction =
  | { action: 'wait'; what: string; ready: number; total: number }
  | { action: 'proceed' }
  /** complete these instances' termination lifecycle actions with CONTINUE (--force) */
  | { action: 'force'; instances: string[] }
  | { action: 'stop'; reason: string };

/** Gone from the group, or past its lifecycle hook (drained, or the heartbeat ran out). */
export const hasLeft = (state: string | undefined): boolean => !state || state === 'Terminating:Proceed' || state === 'Terminated';

/** Whether a fresh instance counts as up: the API's word when it answers, the boot report's otherwise. */
export function isUp(f: FreshInstance, api: BatchView['api']): boolean {
  if (api?.reachable) return f.node?.ready === true;
  return f.boot?.result === 'ready';
}

/** Where a boot stands, in a few words: "at kubeadm-join (running)", "no boot report". */
function bootWords(b: BootEntry | undefined): string {
  if (!b) return 'no boot report read';
  if (b.invalid) return `boot report unreadable: ${b.invalid}`;
  if (b.result === null) return 'no boot report';
  if (b.result === 'failed') return `boot failed at ${b.error?.phase ?? b.phase ?? '?'}: ${b.error?.message ?? 'no message'}`;
  return `boot at ${b.phase ?? 'its start'} (${b.stalled ? 'stalled' : b.result})`;
}

/** Why a fresh instance is not up: its node as the API sees it, else its boot report. */
export function whyNotUp(f: FreshInstance, api: BatchView['api']): string {
  const boot = bootWords(f.boot);
  const pending = f.state && f.state !== 'InService' ? `${f.state}, ` : '';
  if (api?.reachable) {
    if (!f.node) return `${f.id}: node never registered (${pending}${boot})`;
    return `${f.id}: node ${f.node.name} not Ready (${pending}${boot})`;
  }
  return `${f.id}: ${pending}${boot}${api ? `; Kubernetes API not reachable: ${api.reason}` : ''}`;
}

/** What to do next about a terminated batch. The order: interrupted, a failed boot, drains, done, timed out, wait. */
export function nextRolloutAction(v: BatchView): RolloutAction {
  if (v.aborted) return { action: 'stop', reason: `interrupted while replacing ${v.group}` };
  const failed = v.fresh.find((f) => f.boot?.result === 'failed');
  if (failed) return { action: 'stop', reason: `${v.group}: new instance ${failed.id} does not come up: ${bootWords(failed.boot)}` };
  const up = v.fresh.filter((f) => isUp(f, v.api));
  const draining = v.leaving.filter((l) => !hasLeft(l.state));
  if (draining.length && v.seconds >= v.drainTimeoutSeconds) {
    const waiting = draining.filter((l) => l.state === 'Terminating:Wait' && !v.forced.has(l.id)).map((l) => l.id);
    if (v.force && waiting.length) return { action: 'force', instances: waiting };
    if (!v.force)
      return {
        action: 'stop',
        reason: `${v.group}: ${draining.map((l) => `${l.id} (${l.state})`).join(', ')} not drained after ${v.drainTimeoutSeconds}s — a PodDisruptionBudget may hold its pods; run rollout again to go on waiting, or with --force to terminate without a finished drain`,
      };
  }
  if (up.length >= v.wanted && !draining.length) return { action: 'proceed' };
  if (v.seconds >= v.readyTimeoutSeconds) {
    const notUp = v.fresh.filter((f) => !isUp(f, v.api));
    const missing = v.wanted - v.fresh.length;
    const reasons = [
      ...notUp.map((f) => whyNotUp(f, v.api)),
      ...(missing > 0 ? [`${missing} new instance${missing === 1 ? '' : 's'} never launched`] : []),
      ...(up.length >= v.wanted ? draining.map((l) => `${l.id} still ${l.state}`) : []),
    ];
    return {
      action: 'stop',
      reason: `${v.group}: not Ready after ${v.readyTimeoutSeconds}s, so nothing more is replaced — ${reasons.join('; ')}`,
    };
  }
  const parts = [
    ...(draining.length ? [`${draining.length} draining`] : []),
    `${up.length}/${v.wanted} new Ready`,
    ...v.fresh.filter((f) => !isUp(f, v.api)).map((f) => whyNotUp(f, v.api)),
  ];
  return { action: 'wait', what: `${v.group} replacement (${parts.join('; ')})`, ready: Math.min(up.length, v.wanted), total: v.wanted };
}
