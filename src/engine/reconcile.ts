/**
 * Observe → compare → act. One batched read per kind finds everything the cluster owns; the graph
 * is walked in dependency order with bounded concurrency; each node is left alone when it matches,
 * updated in place when it can be, created when it is missing. A create whose answer was lost is
 * never blindly resent: the kind is observed again first.
 */
import { describeAwsError, errorCode, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import type { AnyNode, DesiredGraph, Kind } from '../model/types.js';
import { handlerFor, type Handlers } from '../resources/index.js';
import type { Actual, Change, ResolvedNode, ResourceHandler, RunContext } from '../resources/types.js';
import { compareNode, refusalReason, resolveNode } from './compare.js';
import { schedule } from './graph.js';
import { retryWhile, sleep } from '../util/async.js';
import { longestWait, type Waited } from './waited.js';

export type Action = 'create' | 'update' | 'unchanged' | 'refused' | 'failed' | 'skipped';

export interface ActionRecord {
  key: string;
  kind: Kind;
  action: Action;
  id?: string;
  changes?: Change[];
  error?: string;
  seconds?: number;
}

export interface ReconcileResult {
  actions: ActionRecord[];
  /** the node the run spent longest on (its create plus its wait to be ready) */
  waited?: Waited;
  actuals: Map<string, Actual>;
  /** owned resources no desired node names (left alone; reported) */
  orphans: Actual[];
  ok: boolean;
  aborted: boolean;
}

export interface ReconcileOptions {
  concurrency: number;
  /** what exists, as the plan this run applies observed it */
  observed: Map<string, Actual>;
  /** journal hook, called after every successful create/update/adopt */
  onRecord?: (key: string, actual: Actual) => Promise<void>;
}

/** After a lost answer: is the resource there after all? Looks a few times (AWS reads lag writes). */
async function findAfterLoss(ctx: RunContext, h: ResourceHandler, key: string): Promise<Actual | undefined> {
  const p = ctx.timing.propagationSeconds * 1000;
  for (const delay of [0, p / 20, p / 6]) {
    if (delay) await sleep(delay, ctx.signal);
    ctx.resetMemo();
    const found = (await h.observe(ctx)).find((a) => a.key === key);
    if (found) return found;
  }
  return undefined;
}

async function createOnce(ctx: RunContext, h: ResourceHandler, node: ResolvedNode, freshDeps: boolean): Promise<Actual> {
  // Once the resource is known to exist, only its in-place follow-ups are retried, never the create.
  let made: Actual | undefined;
  let tried = false;
  return retryWhile(
    // A dependency made moments ago may not be visible to this API yet (eventual consistency).
    {
      retryable: (e) => freshDeps && isNotFound(e),
      seconds: ctx.timing.propagationSeconds,
      firstDelayMs: 500,
      maxDelayMs: 5000,
      signal: ctx.signal,
    },
    async () => {
      if (tried && !made) {
        // The NotFound may have come from a follow-up (an association, a route) after the resource
        // itself was made: look for it before creating again, or a second one is made (duplicate
        // route tables).
        ctx.resetMemo();
        made = (await h.observe(ctx)).find((a) => a.key === node.key);
      }
      tried = true;
      if (!made) return await h.create(ctx, node);
      const inPlace = h.diff(node, made).filter((c) => c.inPlace);
      return inPlace.length && h.update ? await h.update(ctx, node, made, inPlace) : made;
    },
  );
}

async function createSafely(ctx: RunContext, h: ResourceHandler, node: ResolvedNode, freshDeps: boolean): Promise<Actual> {
  let lookFirst = false;
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      if (lookFirst) {
        const found = await findAfterLoss(ctx, h, node.key);
        if (found) {
          // It was made. Finish what the lost call's follow-ups would have done (attach, routes, …);
          // a follow-up whose answer is lost too brings us back here, never to a second create.
          const changes = h.diff(node, found);
          const inPlace = changes.filter((c) => c.inPlace);
          return inPlace.length && h.update ? await h.update(ctx, node, found, inPlace) : found;
        }
      }
      return await createOnce(ctx, h, node, freshDeps);
    } catch (e) {
      if (!isLostResponse(e) || attempt === 4) throw e;
      ctx.progress.emit({ type: 'warn', message: `${node.key}: ${(e as Error).message}; looking for it before trying again` });
      lookFirst = true;
    }
  }
  throw new Error('unreachable');
}

/** What the steps of one reconcile run share. */
interface Run {
  ctx: RunContext;
  handlers: Handlers;
  opts: ReconcileOptions;
  byKey: Map<string, AnyNode>;
  actuals: Map<string, Actual>;
  actions: ActionRecord[];
  /** keys created by this run: a dependent of one may not see it yet (eventual consistency) */
  createdNow: Set<string>;
  /** when each node's step started, and how long a node that settled took from then */
  startedAt: Map<string, number>;
  busy: Map<string, number>;
}

/** The `<key>#ready` step: the node's handler settles what was made (a NAT gateway becoming available). */
async function settleStep(run: Run, key: string): Promise<void> {
  const { ctx, actuals, actions } = run;
  const node = run.byKey.get(key)!;
  const actual = actuals.get(key);
  if (!actual) return;
  try {
    const settled = await handlerFor(run.handlers, node.kind).settle!(ctx, actual);
    actuals.set(key, settled);
    if (settled.state !== actual.state) await run.opts.onRecord?.(key, settled);
    const since = run.startedAt.get(key);
    if (since !== undefined && settled.state !== actual.state) run.busy.set(key, (Date.now() - since) / 1000);
  } catch (e) {
    const msg = e instanceof KubeazError ? e.message : `waiting for ${key}: ${describeAwsError(e)}`;
    const rec = actions.find((a) => a.key === key);
    const failed = Object.defineProperty({ key, kind: node.kind, action: 'failed' as const, error: msg, id: actual.id }, 'cause', {
      value: e,
      enumerable: false,
    });
    if (rec) actions.splice(actions.indexOf(rec), 1, failed);
    else actions.push(failed);
    throw e instanceof KubeazError ? e : new KubeazError(msg, errorCode(e), key, { cause: e });
  }
}

/** A node's step: left alone when it matches, updated in place when it can be, created when missing. */
async function nodeStep(run: Run, key: string): Promise<void> {
  const { ctx, handlers, actuals, actions, opts } = run;
  run.startedAt.set(key, Date.now());
  const node = run.byKey.get(key)!;
  const h = handlerFor(handlers, node.kind);
  const started = Date.now();
  const actual = actuals.get(key);
  try {
    const c = compareNode(handlers, node, actuals);
    if (c.verdict === 'incomplete') throw c.error;
    if (c.verdict === 'unchanged') {
      actions.push({ key, kind: node.kind, action: 'unchanged', id: c.actual.id });
      ctx.progress.emit({ type: 'unchanged', key });
      return;
    }
    if (c.verdict === 'refuse') {
      // The plan refused nothing, yet this does (it changed between the plan and now): still not half-applied.
      const message = `${key}: ${refusalReason(node.kind, c.actual.id, c.refused)}`;
      actions.push({ key, kind: node.kind, action: 'refused', id: c.actual.id, changes: c.changes, error: message });
      throw new KubeazError(message, 'ImmutableChange', key);
    }
    if (c.verdict === 'update') {
      const { resolved, changes } = c;
      if (!h.update)
        throw new KubeazError(
          `${key}: ${changes.map((x) => x.field).join(', ')} differ and ${node.kind} has no in-place update`,
          'NoUpdate',
          key,
        );
      const updated = await h.update(ctx, resolved, c.actual, changes);
      actuals.set(key, updated);
      actions.push({ key, kind: node.kind, action: 'update', id: updated.id, changes, seconds: (Date.now() - started) / 1000 });
      ctx.progress.emit({
        type: 'update',
        key,
        detail: `${updated.id}: ${changes.map((x) => x.field).join(', ')}`,
        seconds: (Date.now() - started) / 1000,
      });
      await opts.onRecord?.(key, updated);
      return;
    }
    const resolved = resolveNode(node, actuals);
    if (ctx.signal.aborted) throw new KubeazError('interrupted', 'Aborted', key);
    const freshDeps = node.deps.some((d) => run.createdNow.has(d));
    const created = await createSafely(ctx, h, resolved, freshDeps);
    run.createdNow.add(key);
    actuals.set(key, created);
    const seconds = (Date.now() - started) / 1000;
    actions.push({ key, kind: node.kind, action: 'create', id: created.id, seconds });
    ctx.progress.emit({ type: 'create', key, detail: created.id, seconds });
    await opts.onRecord?.(key, created);
  } catch (e) {
    if (!(e instanceof KubeazError && e.code === 'ImmutableChange')) {
      const msg = e instanceof KubeazError ? e.message : `${actual ? 'updating' : 'creating'} ${key}: ${describeAwsError(e)}`;
      // the error itself rides along, not enumerable (JSON output stays clean), for --debug's stack
      actions.push(
        Object.defineProperty(
          { key, kind: node.kind, action: 'failed' as const, error: msg, ...(actual ? { id: actual.id } : {}) },
          'cause',
          { value: e, enumerable: false },
        ),
      );
      throw e instanceof KubeazError ? e : new KubeazError(msg, errorCode(e), key, { cause: e });
    }
    throw e;
  }
}

export async function reconcile(
  ctx: RunContext,
  graph: DesiredGraph,
  handlers: Handlers,
  opts: ReconcileOptions,
): Promise<ReconcileResult> {
  const actuals = new Map(opts.observed);
  const desiredKeys = new Set(graph.nodes.map((n) => n.key));
  const orphans = [...actuals.values()].filter((a) => !desiredKeys.has(a.key));
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const run: Run = { ctx, handlers, opts, byKey, actuals, actions: [], createdNow: new Set(), startedAt: new Map(), busy: new Map() };
  const { actions } = run;

  // A node whose handler can settle (a NAT gateway becoming available) gets a second step,
  // `<key>#ready`, after its create; only the nodes that list it in `ready` wait for that step,
  // the others for the create alone. The run ends only when every such step is done.
  const READY = '#ready';
  const settles = graph.nodes.filter((n) => handlerFor(handlers, n.kind).settle);
  const settleKeys = new Set(settles.map((n) => n.key));
  const sched = [
    ...graph.nodes.map((n) => ({
      key: n.key,
      deps: n.deps.map((d) => ((n.ready ?? []).includes(d) && settleKeys.has(d) ? `${d}${READY}` : d)),
    })),
    ...settles.map((n) => ({ key: `${n.key}${READY}`, deps: [n.key] })),
  ];

  const result = await schedule(
    sched,
    (schedKey) => (schedKey.endsWith(READY) ? settleStep(run, schedKey.slice(0, -READY.length)) : nodeStep(run, schedKey)),
    {
      concurrency: opts.concurrency,
      signal: ctx.signal,
      free: (k) => k.endsWith(READY),
    },
  );
  for (const key of result.skipped) {
    if (key.endsWith(READY)) continue;
    const node = byKey.get(key)!;
    actions.push({ key, kind: node.kind, action: 'skipped' });
  }
  const waited = longestWait([...actions.map((a) => ({ key: a.key, seconds: run.busy.get(a.key) ?? a.seconds }))]);
  return {
    actions,
    actuals,
    orphans,
    ok: result.failed.length === 0 && result.skipped.length === 0,
    aborted: ctx.signal.aborted,
    ...(waited ? { waited } : {}),
  };
}
