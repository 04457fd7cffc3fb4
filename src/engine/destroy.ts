/**
 * Destroy: everything the cluster owns, found by its ownership proof (not by the state file),
 * deleted over destroy's own "must be deleted before" relation (edges.ts deleteAfter, from the edges
 * each kind declares: the create edges reversed, loosened where a kind says AWS allows — NAT gateways
 * go while the groups' instances terminate), on the same scheduler as create: every resource is a
 * node, at most `concurrency` deletions at a time, and a kind starts once every resource of the
 * kinds it must outlast is gone.
 * A DependencyViolation is retried with backoff until its dependents are gone, within a named
 * time budget, after which the error names what still blocks.
 *
 * Between the instances and the network, one more step (the registry's DESTROY_SWEEP): what the
 * cluster's Kubernetes made in our VPC (Service load balancers, their security groups and the rules
 * on ours, detached interfaces) is swept, and anything neither ours nor Kubernetes' that would block
 * a subnet, security group or the VPC is reported once, naming it and what it blocks — those
 * resources are then not attempted (nothing foreign is ever deleted, and destroy does not spin
 * until its budget runs out).
 */
import { describeAwsError, errorCode, KubeazError } from '../aws/errors.js';
import type { Kind } from '../model/types.js';
import { whileDependent } from '../resources/common.js';
import { DESTROY_SWEEP, handlerFor, type Blocker, type Handlers } from '../resources/index.js';
import type { Actual, ResourceHandler, RunContext } from '../resources/types.js';
import { schedule } from './graph.js';
import { deleteAfter, kindsOf } from './edges.js';
import { everything } from './observe.js';
import { longestWait, type Waited } from './waited.js';

export interface DeleteResult {
  deleted: Array<{ key: string; kind: Kind; id: string; seconds: number }>;
  failed: Array<{ key: string; kind: Kind; id: string; error: string }>;
}

export interface DestroyResult extends DeleteResult {
  /** what still exists afterwards (should be empty) */
  remaining: Actual[];
  aborted: boolean;
  /** the deletion the run spent longest on (a group with its instances, a NAT gateway) */
  waited?: Waited;
}

/**
 * Deletes one resource (DependencyViolation retried within the budget), records the outcome and
 * reports progress. Returns the error to raise for it, or undefined when it is gone.
 */
async function deleteOne(
  ctx: RunContext,
  h: ResourceHandler,
  a: Actual,
  result: DeleteResult,
  onDeleted?: (a: Actual) => Promise<void>,
): Promise<KubeazError | undefined> {
  const started = Date.now();
  try {
    await whileDependent(ctx, () => h.delete(ctx, a));
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

/** The node every resource of a kind comes before: it needs no slot and does no work. */
const gone = (k: string) => `gone:${k}`;

/**
 * The destroy graph: one node per resource, depending on the `gone:` node of every kind it must
 * be deleted after; `gone:<kind>` depends on every resource of that kind. With `sweep`, the
 * Kubernetes sweep sits between the kinds it comes after and the kinds it comes before. Exported
 * for its unit test: the scheduler's order is the relation's order.
 */
export function deletionGraph(
  handlers: Handlers,
  actuals: readonly Actual[],
  opts: { sweep: boolean },
): { nodes: Array<{ key: string; deps: string[] }>; byKey: Map<string, Actual> } {
  const kinds = kindsOf(handlers);
  const after = deleteAfter(handlers);
  const byKey = new Map(actuals.map((a, i) => [`${a.kind}#${i}:${a.key}`, a]));
  const nodes: Array<{ key: string; deps: string[] }> = [];
  for (const [key, a] of byKey) {
    const deps = after[a.kind].map(gone);
    if (opts.sweep && DESTROY_SWEEP.before.includes(a.kind)) deps.push(DESTROY_SWEEP.name);
    nodes.push({ key, deps });
  }
  for (const k of kinds) nodes.push({ key: gone(k), deps: [...byKey].filter(([, a]) => a.kind === k).map(([key]) => key) });
  if (opts.sweep) nodes.push({ key: DESTROY_SWEEP.name, deps: DESTROY_SWEEP.after.map(gone) });
  return { nodes, byKey };
}

/**
 * Deletes `actuals` in destroy's order on the shared scheduler (at most `concurrency` at a time).
 * A resource is not started when one it must outlive failed. With `sweep`, what the cluster's
 * Kubernetes made is swept between the instances and the network.
 */
export async function deleteInOrder(
  ctx: RunContext,
  handlers: Handlers,
  actuals: readonly Actual[],
  opts: { concurrency: number; onDeleted?: (a: Actual) => Promise<void>; sweep?: boolean },
): Promise<DeleteResult> {
  const result: DeleteResult = { deleted: [], failed: [] };
  const { nodes, byKey } = deletionGraph(handlers, actuals, { sweep: Boolean(opts.sweep) });
  const blockedBy = new Map<string, Blocker>();
  const sweep = async (): Promise<void> => {
    const started = Date.now();
    try {
      const swept = await DESTROY_SWEEP.run(ctx, actuals);
      for (const d of swept.deleted)
        ctx.progress.emit({ type: 'delete', key: 'kubernetes', detail: d, seconds: (Date.now() - started) / 1000 });
      for (const b of swept.blockers) {
        for (const a of b.blocks) if (!blockedBy.has(a.id)) blockedBy.set(a.id, b);
        const first = b.blocks[0]!;
        result.failed.push({ key: first.key, kind: first.kind, id: b.id, error: DESTROY_SWEEP.describe(b) });
      }
    } catch (e) {
      const msg = `removing what Kubernetes made in the VPC: ${describeAwsError(e)}`;
      result.failed.push({
        key: DESTROY_SWEEP.name,
        kind: DESTROY_SWEEP.within,
        id: actuals.find((a) => a.kind === DESTROY_SWEEP.within)?.id ?? '-',
        error: msg,
      });
      throw new KubeazError(msg, errorCode(e), DESTROY_SWEEP.name, { cause: e });
    }
  };
  await schedule(
    nodes,
    async (key) => {
      if (ctx.signal.aborted) return;
      if (key === DESTROY_SWEEP.name) return sweep();
      const a = byKey.get(key);
      if (!a) return; // a gone: node
      const blocker = blockedBy.get(a.id);
      // Already reported once (by the sweep); not attempted: it cannot go while that stands.
      if (blocker) throw new KubeazError(`${a.key} (${a.id}) is blocked by ${blocker.id}`, 'DependencyViolation', a.key);
      const error = await deleteOne(ctx, handlerFor(handlers, a.kind), a, result, opts.onDeleted);
      if (error) throw error;
    },
    { concurrency: Math.max(1, opts.concurrency), signal: ctx.signal, free: (key) => key.startsWith('gone:') },
  );
  return result;
}

/**
 * Deletes owned resources the spec no longer names (a removed node group: its auto scaling group,
 * whose instances terminate with it, then its launch template), in destroy's order.
 */
export const deleteOrphans = (
  ctx: RunContext,
  handlers: Handlers,
  orphans: readonly Actual[],
  opts: { concurrency: number; onDeleted?: (a: Actual) => Promise<void> },
): Promise<DeleteResult> => deleteInOrder(ctx, handlers, orphans, opts);

/** What lives inside the cluster's resources that kubeaz did not put there (destroy names it). */
export async function foreignContents(ctx: RunContext, handlers: Handlers, actuals: readonly Actual[]): Promise<string[]> {
  const lists = await Promise.all(
    actuals.map((a) => {
      const h = handlerFor(handlers, a.kind);
      return h.foreignContents ? h.foreignContents(ctx, a) : Promise.resolve([]);
    }),
  );
  return lists.flat();
}

export async function destroyAll(
  ctx: RunContext,
  handlers: Handlers,
  opts: { concurrency: number; keep?: (a: Actual) => boolean; onDeleted?: (a: Actual) => Promise<void>; observed?: Actual[] },
): Promise<DestroyResult> {
  // Everything the cluster owns, duplicates included (two resources claiming one key both go).
  const actuals = (opts.observed ?? (await everything(ctx, handlers))).filter((a) => !opts.keep?.(a));
  const deleted = await deleteInOrder(ctx, handlers, actuals, {
    concurrency: opts.concurrency,
    sweep: true,
    ...(opts.onDeleted ? { onDeleted: opts.onDeleted } : {}),
  });
  const result: DestroyResult = { ...deleted, remaining: [], aborted: ctx.signal.aborted };
  const waited = longestWait(result.deleted);
  if (waited) result.waited = waited;
  if (!result.aborted) result.remaining = (await everything(ctx, handlers)).filter((a) => !opts.keep?.(a));
  return result;
}
