/**
 * Destroy: everything the cluster owns, found by its ownership proof (not by the state file),
 * deleted kind by kind in the reverse of KIND_DEPENDENCIES, each kind's resources in parallel.
 * A DependencyViolation is retried with backoff until its dependents are gone, within a named
 * time budget, after which the error names what still blocks.
 *
 * Between the instances and the network, one more step: what the cluster's Kubernetes made in our
 * VPC (Service load balancers, their security groups and the rules on ours, detached interfaces) is
 * swept, and anything neither ours nor Kubernetes' that would block a subnet, security group or the
 * VPC is reported once, naming it and what it blocks — those resources are then not attempted
 * (nothing foreign is ever deleted, and destroy does not spin until its budget runs out).
 */
import { describeAwsError, errorCode, isDependencyViolation, KubeazError } from '../aws/errors.js';
import type { Kind } from '../model/types.js';
import type { Handlers } from '../resources/index.js';
import { describeBlocker, sweepKubernetesMade, type Blocker } from '../resources/kubernetes-made.js';
import type { Actual, ResourceHandler, RunContext } from '../resources/types.js';
import { schedule } from './graph.js';
import { KIND_DEPENDENCIES } from './kinds.js';
import { observeAll } from './reconcile.js';

export interface DestroyResult {
  deleted: Array<{ key: string; kind: Kind; id: string; seconds: number }>;
  failed: Array<{ key: string; kind: Kind; id: string; error: string }>;
  /** what still exists afterwards (should be empty) */
  remaining: Actual[];
  aborted: boolean;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

export async function deleteWithRetry(ctx: RunContext, h: ResourceHandler, a: Actual): Promise<void> {
  const deadline = Date.now() + ctx.timing.dependencySeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      await h.delete(ctx, a);
      return;
    } catch (e) {
      if (!isDependencyViolation(e) || Date.now() > deadline || ctx.signal.aborted) throw e;
      await sleep(Math.min(ctx.timing.pollSeconds * 1000 * 2, 200 * 2 ** Math.min(attempt, 6)), ctx.signal);
    }
  }
}

/** The pseudo-kind of the sweep of what Kubernetes made, in the reversed kind graph. */
const SWEEP = 'kubernetes-made';
const SWEEP_AFTER: readonly Kind[] = ['auto-scaling-group', 'nat-gateway', 'load-balancer'];
const SWEPT_BEFORE: readonly Kind[] = ['subnet', 'security-group', 'internet-gateway', 'vpc'];

/**
 * Deletes one resource (DependencyViolation retried within the budget), records the outcome and
 * reports progress. Returns the error to raise for its kind, or undefined when it is gone.
 */
export async function deleteOne(
  ctx: RunContext,
  h: ResourceHandler,
  a: Actual,
  result: { deleted: Array<{ key: string; kind: Kind; id: string; seconds?: number }>; failed: Array<{ key: string; kind: Kind; id: string; error: string }> },
  onDeleted?: (a: Actual) => Promise<void>,
): Promise<KubeazError | undefined> {
  const started = Date.now();
  try {
    await deleteWithRetry(ctx, h, a);
    const seconds = (Date.now() - started) / 1000;
    result.deleted.push({ key: a.key, kind: a.kind, id: a.id, seconds });
    ctx.progress.emit({ type: 'delete', key: a.key, detail: a.id, seconds });
    await onDeleted?.(a);
    return undefined;
  } catch (e) {
    const msg = `deleting ${a.key} (${a.id}): ${describeAwsError(e)}`;
    result.failed.push({ key: a.key, kind: a.kind, id: a.id, error: msg });
    return new KubeazError(msg, errorCode(e), a.key, { cause: e });
  }
}

export async function destroyAll(
  ctx: RunContext & { resetMemo?: () => void },
  handlers: Handlers,
  opts: { concurrency: number; keep?: (a: Actual) => boolean; onDeleted?: (a: Actual) => Promise<void>; observed?: Map<string, Actual> },
): Promise<DestroyResult> {
  // `observed`: an observation made just before (destroy's preview, without waiting for an answer)
  const actuals = [...(opts.observed ?? (await observeAll(ctx, handlers))).values()].filter((a) => !opts.keep?.(a));
  const result: DestroyResult = { deleted: [], failed: [], remaining: [], aborted: false };
  const kinds = Object.keys(KIND_DEPENDENCIES) as Kind[];
  // Reverse edges: a kind may go once every kind that depends on it is gone. The Kubernetes sweep
  // runs once the instances (no controller left to re-create anything), NAT gateways and our load
  // balancers are gone, and before the kinds its leftovers would block.
  const reverse = [
    ...kinds.map((k) => ({ key: k as string, deps: [...kinds.filter((other) => KIND_DEPENDENCIES[other].includes(k)), ...(SWEPT_BEFORE.includes(k) ? [SWEEP] : [])] })),
    { key: SWEEP, deps: SWEEP_AFTER as string[] },
  ];
  const blockedBy = new Map<string, Blocker>();
  const byKind = new Map<Kind, Actual[]>();
  for (const a of actuals) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);

  let inFlight = 0;
  const limit = Math.max(1, opts.concurrency);
  const slot = async <T>(fn: () => Promise<T>): Promise<T> => {
    while (inFlight >= limit) await sleep(20);
    inFlight++;
    try {
      return await fn();
    } finally {
      inFlight--;
    }
  };

  const sched = await schedule(
    reverse,
    async (kind) => {
      if (kind === SWEEP) {
        if (ctx.signal.aborted) return;
        const started = Date.now();
        try {
          const swept = await sweepKubernetesMade(ctx, actuals);
          for (const d of swept.deleted) ctx.progress.emit({ type: 'delete', key: 'kubernetes', detail: d, seconds: (Date.now() - started) / 1000 });
          for (const b of swept.blockers) {
            for (const a of b.blocks) if (!blockedBy.has(a.id)) blockedBy.set(a.id, b);
            const first = b.blocks[0]!;
            result.failed.push({ key: first.key, kind: first.kind, id: b.id, error: describeBlocker(b) });
          }
        } catch (e) {
          const msg = `removing what Kubernetes made in the VPC: ${describeAwsError(e)}`;
          result.failed.push({ key: SWEEP, kind: 'vpc', id: actuals.find((a) => a.kind === 'vpc')?.id ?? '-', error: msg });
          throw new KubeazError(msg, errorCode(e), SWEEP, { cause: e });
        }
        return;
      }
      const list = byKind.get(kind as Kind) ?? [];
      const h = handlers[kind as Kind] as ResourceHandler;
      const errors: unknown[] = [];
      await Promise.all(
        list.map((a) =>
          slot(async () => {
            if (ctx.signal.aborted) return;
            const blocker = blockedBy.get(a.id);
            if (blocker) {
              // Already reported once (by the sweep); not attempted: it cannot go while that stands.
              errors.push(new KubeazError(`${a.key} (${a.id}) is blocked by ${blocker.id}`, 'DependencyViolation', a.key));
              return;
            }
            const error = await deleteOne(ctx, h, a, result, opts.onDeleted);
            if (error) errors.push(error);
          }),
        ),
      );
      if (errors.length) throw errors[0];
    },
    { concurrency: kinds.length + 1, signal: ctx.signal },
  );
  result.aborted = ctx.signal.aborted;
  if (!result.aborted) {
    result.remaining = [...(await observeAll(ctx, handlers)).values()].filter((a) => !opts.keep?.(a));
  }
  void sched;
  return result;
}
