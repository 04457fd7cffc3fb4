/**
 * Observe: what exists. One batched read per kind, all kinds at once; every resource the cluster
 * owns, matched to its logical key. The compare step (compare.ts) and destroy start from here.
 */
import { describeAwsError, errorCode, KubeazError } from '../aws/errors.js';
import type { Kind } from '../model/types.js';
import { handlerFor, type Handlers } from '../resources/index.js';
import type { Actual, RunContext } from '../resources/types.js';

export interface Observation {
  /** one resource per logical key */
  actuals: Map<string, Actual>;
  /** the others, where two resources claim one key (a create repeated by hand or by a lost answer) */
  duplicates: Actual[];
}

/**
 * One batched read per kind, all kinds at once. Where two resources claim one key, the one the
 * state file names (else the smallest id) is the cluster's, and the others are returned as duplicates:
 * create and status name them and go on, destroy deletes them all.
 */
export async function observeEvery(
  ctx: RunContext,
  handlers: Handlers,
  kinds: readonly Kind[] = Object.keys(handlers) as Kind[],
): Promise<Observation> {
  ctx.resetMemo();
  const lists = await Promise.all(
    kinds.map(async (k) => {
      try {
        return await handlerFor(handlers, k).observe(ctx);
      } catch (e) {
        throw new KubeazError(`reading ${k} resources: ${describeAwsError(e)}`, errorCode(e), k, { cause: e });
      }
    }),
  );
  const actuals = new Map<string, Actual>();
  const duplicates: Actual[] = [];
  // The one the state file knows first, then by id: the same one is chosen on every run.
  const known = (a: Actual) => (ctx.stateIds?.[a.key] === a.id ? 0 : 1);
  for (const a of lists.flat().sort((x, y) => known(x) - known(y) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    if (actuals.has(a.key)) duplicates.push(a);
    else actuals.set(a.key, a);
  }
  return { actuals, duplicates };
}

/** What to say about a duplicate. */
export const describeDuplicate = (d: Actual, kept: Actual | undefined): string =>
  `two ${d.kind} resources claim the key ${d.key}: ${kept?.id ?? '?'} (used) and ${d.id} (a duplicate: delete it, or destroy deletes both)`;

/** observeEvery, naming the duplicates as warnings and returning one resource per key. */
export async function observeAll(
  ctx: RunContext,
  handlers: Handlers,
  kinds: readonly Kind[] = Object.keys(handlers) as Kind[],
): Promise<Map<string, Actual>> {
  const { actuals, duplicates } = await observeEvery(ctx, handlers, kinds);
  for (const d of duplicates) ctx.progress.emit({ type: 'warn', message: describeDuplicate(d, actuals.get(d.key)) });
  return actuals;
}

/** Every owned resource, one per key plus the duplicates (destroy deletes them all). */
export async function everything(ctx: RunContext, handlers: Handlers): Promise<Actual[]> {
  const { actuals, duplicates } = await observeEvery(ctx, handlers);
  return [...actuals.values(), ...duplicates];
}
