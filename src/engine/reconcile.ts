/**
 * Observe → compare → act. One batched read per kind finds everything the cluster owns; the graph
 * is walked in dependency order with bounded concurrency; each node is left alone when it matches,
 * updated in place when it can be, created when it is missing. A create whose answer was lost is
 * never blindly resent: the kind is observed again first.
 */
import { describeAwsError, errorCode, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { isRef, type AnyNode, type DesiredGraph, type Kind } from '../model/types.js';
import type { Handlers } from '../resources/index.js';
import type { Actual, Change, ResolvedNode, ResourceHandler, RunContext } from '../resources/types.js';
import { schedule } from './graph.js';

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

/** What a run waited on longest: the node whose work (its create and its wait to be ready, or its deletion) took longest. */
export interface Waited {
  key: string;
  seconds: number;
}

/** The longest of a run's timed steps (undefined when nothing took time). */
export function longestWait(steps: ReadonlyArray<{ key: string; seconds?: number | undefined }>): Waited | undefined {
  let best: Waited | undefined;
  for (const s of steps) if (s.seconds !== undefined && (!best || s.seconds > best.seconds)) best = { key: s.key, seconds: s.seconds };
  return best;
}

/** The one line a create or destroy ends with: where its minutes went. */
export const waitedLine = (w: Waited): string => `waited ${w.seconds < 10 ? w.seconds.toFixed(1) : Math.round(w.seconds)} s on ${w.key}`;

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
  /** compute the plan only: no mutating call */
  dryRun?: boolean;
  /** called once with what exists, before anything is changed (learn the generation, journal) */
  afterObserve?: (actuals: Map<string, Actual>) => Promise<void>;
  /** journal hook, called after every successful create/update/adopt */
  onRecord?: (key: string, actual: Actual) => Promise<void>;
  /** what exists, already observed (by the plan this run applies): no second observation */
  observed?: Map<string, Actual>;
}

export const PENDING = '(known after create)';

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
export async function observeEvery(ctx: RunContext & { resetMemo?: () => void }, handlers: Handlers, kinds: readonly Kind[] = Object.keys(handlers) as Kind[]): Promise<Observation> {
  ctx.resetMemo?.();
  const lists = await Promise.all(
    kinds.map(async (k) => {
      try {
        return await (handlers[k] as ResourceHandler).observe(ctx);
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
export async function observeAll(ctx: RunContext & { resetMemo?: () => void }, handlers: Handlers, kinds: readonly Kind[] = Object.keys(handlers) as Kind[]): Promise<Map<string, Actual>> {
  const { actuals, duplicates } = await observeEvery(ctx, handlers, kinds);
  for (const d of duplicates) ctx.progress.emit({ type: 'warn', message: describeDuplicate(d, actuals.get(d.key)) });
  return actuals;
}

function resolveValue(v: unknown, actuals: Map<string, Actual>, key: string): unknown {
  if (isRef(v)) {
    const a = actuals.get(v.$ref);
    if (!a) throw new KubeazError(`${key} needs ${v.$ref}, which does not exist`, 'MissingDependency', key);
    const value = v.attr ? a.attrs[v.attr] : a.id;
    if (value === undefined) throw new KubeazError(`${key} needs ${v.$ref}.${v.attr}, which is unknown`, 'MissingDependency', key);
    return value;
  }
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, actuals, key));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveValue(x, actuals, key)]));
  return v;
}

export function resolveNode(node: AnyNode, actuals: Map<string, Actual>): ResolvedNode {
  return { key: node.key, kind: node.kind, props: resolveValue(node.props, actuals, node.key) as ResolvedNode['props'], tags: node.tags };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

/** After a lost answer: is the resource there after all? Looks a few times (AWS reads lag writes). */
async function findAfterLoss(ctx: RunContext & { resetMemo?: () => void }, h: ResourceHandler, key: string): Promise<Actual | undefined> {
  const p = ctx.timing.propagationSeconds * 1000;
  for (const delay of [0, p / 20, p / 6]) {
    if (delay) await sleep(delay, ctx.signal);
    ctx.resetMemo?.();
    const found = (await h.observe(ctx)).find((a) => a.key === key);
    if (found) return found;
  }
  return undefined;
}

async function createOnce(ctx: RunContext & { resetMemo?: () => void }, h: ResourceHandler, node: ResolvedNode, freshDeps: boolean): Promise<Actual> {
  const deadline = Date.now() + ctx.timing.propagationSeconds * 1000;
  // Once the resource is known to exist, only its in-place follow-ups are retried, never the create.
  let made: Actual | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!made) return await h.create(ctx, node);
      const inPlace = h.diff(node, made).filter((c) => c.inPlace);
      return inPlace.length && h.update ? await h.update(ctx, node, made, inPlace) : made;
    } catch (e) {
      // A dependency made moments ago may not be visible to this API yet (eventual consistency).
      if (freshDeps && isNotFound(e) && Date.now() < deadline && !ctx.signal.aborted) {
        await sleep(Math.min(5000, 250 * 2 ** attempt), ctx.signal);
        // The NotFound may have come from a follow-up (an association, a route) after the resource
        // itself was made: look for it before creating again, or a second one is made (duplicate
        // route tables).
        if (!made) {
          ctx.resetMemo?.();
          made = (await h.observe(ctx)).find((a) => a.key === node.key);
        }
        continue;
      }
      throw e;
    }
  }
}

async function createSafely(ctx: RunContext & { resetMemo?: () => void }, h: ResourceHandler, node: ResolvedNode, freshDeps: boolean): Promise<Actual> {
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

export async function reconcile(ctx: RunContext & { resetMemo?: () => void }, graph: DesiredGraph, handlers: Handlers, opts: ReconcileOptions): Promise<ReconcileResult> {
  const actuals = opts.observed ? new Map(opts.observed) : await observeAll(ctx, handlers);
  await opts.afterObserve?.(actuals);
  const desiredKeys = new Set(graph.nodes.map((n) => n.key));
  const orphans = [...actuals.values()].filter((a) => !desiredKeys.has(a.key));
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const actions: ActionRecord[] = [];
  const createdNow = new Set<string>();

  // A node whose handler can settle (a NAT gateway becoming available) gets a second step,
  // `<key>#ready`, after its create; only the nodes that list it in `ready` wait for that step,
  // the others for the create alone. The run ends only when every such step is done.
  const READY = '#ready';
  const settles = graph.nodes.filter((n) => (handlers[n.kind] as ResourceHandler).settle);
  const settleKeys = new Set(settles.map((n) => n.key));
  const startedAt = new Map<string, number>();
  const busy = new Map<string, number>();
  const sched = [
    ...graph.nodes.map((n) => ({ key: n.key, deps: n.deps.map((d) => ((n.ready ?? []).includes(d) && settleKeys.has(d) ? `${d}${READY}` : d)) })),
    ...settles.map((n) => ({ key: `${n.key}${READY}`, deps: [n.key] })),
  ];

  const result = await schedule(
    sched,
    async (schedKey) => {
      if (schedKey.endsWith(READY)) {
        const key = schedKey.slice(0, -READY.length);
        const node = byKey.get(key)!;
        const actual = actuals.get(key);
        if (opts.dryRun || !actual || actual.id === PENDING) return;
        try {
          const settled = await (handlers[node.kind] as ResourceHandler).settle!(ctx, actual);
          actuals.set(key, settled);
          if (settled.state !== actual.state) await opts.onRecord?.(key, settled);
          const since = startedAt.get(key);
          if (since !== undefined && settled.state !== actual.state) busy.set(key, (Date.now() - since) / 1000);
        } catch (e) {
          const msg = e instanceof KubeazError ? e.message : `waiting for ${key}: ${describeAwsError(e)}`;
          const rec = actions.find((a) => a.key === key);
          const failed = Object.defineProperty({ key, kind: node.kind, action: 'failed' as const, error: msg, id: actual.id }, 'cause', { value: e, enumerable: false });
          if (rec) actions.splice(actions.indexOf(rec), 1, failed);
          else actions.push(failed);
          throw e instanceof KubeazError ? e : new KubeazError(msg, errorCode(e), key, { cause: e });
        }
        return;
      }
      const key = schedKey;
      startedAt.set(key, Date.now());
      const node = byKey.get(key)!;
      const h = handlers[node.kind] as ResourceHandler;
      const started = Date.now();
      const resolved = resolveNode(node, actuals);
      const actual = actuals.get(key);
      try {
        if (actual) {
          const changes = actual.id === PENDING ? [] : h.diff(resolved, actual);
          if (!changes.length) {
            actions.push({ key, kind: node.kind, action: 'unchanged', id: actual.id });
            ctx.progress.emit({ type: 'unchanged', key });
            return;
          }
          const refused = changes.filter((c) => !c.inPlace);
          if (refused.length) {
            const message = `${key} (${actual.id}): ${refused.map((c) => `${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(', ')} cannot be changed in place; kubeaz will not replace it. Change the spec back, or destroy and create the cluster.`;
            actions.push({ key, kind: node.kind, action: 'refused', id: actual.id, changes, error: message });
            throw new KubeazError(message, 'ImmutableChange', key);
          }
          if (opts.dryRun) {
            actions.push({ key, kind: node.kind, action: 'update', id: actual.id, changes });
            return;
          }
          if (!h.update) throw new KubeazError(`${key}: ${changes.map((c) => c.field).join(', ')} differ and ${node.kind} has no in-place update`, 'NoUpdate', key);
          const updated = await h.update(ctx, resolved, actual, changes);
          actuals.set(key, updated);
          actions.push({ key, kind: node.kind, action: 'update', id: updated.id, changes, seconds: (Date.now() - started) / 1000 });
          ctx.progress.emit({ type: 'update', key, detail: `${updated.id}: ${changes.map((c) => c.field).join(', ')}`, seconds: (Date.now() - started) / 1000 });
          await opts.onRecord?.(key, updated);
          return;
        }
        if (opts.dryRun) {
          actuals.set(key, { key, kind: node.kind, id: PENDING, attrs: new Proxy({}, { get: () => PENDING }), tags: node.tags });
          actions.push({ key, kind: node.kind, action: 'create' });
          return;
        }
        if (ctx.signal.aborted) throw new KubeazError('interrupted', 'Aborted', key);
        const freshDeps = node.deps.some((d) => createdNow.has(d));
        const created = await createSafely(ctx, h, resolved, freshDeps);
        createdNow.add(key);
        actuals.set(key, created);
        const seconds = (Date.now() - started) / 1000;
        actions.push({ key, kind: node.kind, action: 'create', id: created.id, seconds });
        ctx.progress.emit({ type: 'create', key, detail: created.id, seconds });
        await opts.onRecord?.(key, created);
      } catch (e) {
        if (!(e instanceof KubeazError && e.code === 'ImmutableChange')) {
          const msg = e instanceof KubeazError ? e.message : `${actual ? 'updating' : 'creating'} ${key}: ${describeAwsError(e)}`;
          // the error itself rides along, not enumerable (JSON output stays clean), for --debug's stack
          actions.push(Object.defineProperty({ key, kind: node.kind, action: 'failed' as const, error: msg, ...(actual ? { id: actual.id } : {}) }, 'cause', { value: e, enumerable: false }));
          throw e instanceof KubeazError ? e : new KubeazError(msg, errorCode(e), key, { cause: e });
        }
        throw e;
      }
    },
    { concurrency: opts.concurrency, signal: ctx.signal, free: (k) => k.endsWith(READY) },
  );
  for (const key of result.skipped) {
    if (key.endsWith(READY)) continue;
    const node = byKey.get(key)!;
    actions.push({ key, kind: node.kind, action: 'skipped' });
  }
  const waited = longestWait([...actions.map((a) => ({ key: a.key, seconds: busy.get(a.key) ?? a.seconds }))]);
  return { actions, actuals, orphans, ok: result.failed.length === 0 && result.skipped.length === 0, aborted: ctx.signal.aborted, ...(waited ? { waited } : {}) };
}

export interface DeleteResult {
  deleted: Array<{ key: string; kind: Kind; id: string }>;
  failed: Array<{ key: string; kind: Kind; id: string; error: string }>;
}

/**
 * Deletes owned resources the spec no longer names (a removed node group: its auto scaling group,
 * whose instances terminate with it, then its launch template). Kind by kind in the reverse of the
 * dependency table, each kind's resources in parallel; DependencyViolation is retried within the
 * dependency time budget. A kind is not started when one it must outlive failed.
 */
export async function deleteOrphans(ctx: RunContext, handlers: Handlers, orphans: readonly Actual[], opts: { concurrency: number; onDeleted?: (a: Actual) => Promise<void> }): Promise<DeleteResult> {
  const { deleteOne } = await import('./destroy.js');
  const { DELETE_AFTER } = await import('./kinds.js');
  const kinds = [...new Set(orphans.map((a) => a.kind))];
  // Destroy's relation among the kinds present: a kind goes once every kind it must outlast is gone.
  const nodes = kinds.map((k) => ({ key: k, deps: kinds.filter((other) => other !== k && DELETE_AFTER[k].includes(other)) }));
  const result: DeleteResult = { deleted: [], failed: [] };
  await schedule(
    nodes,
    async (kind) => {
      const list = orphans.filter((a) => a.kind === kind);
      const h = handlers[kind as Kind] as ResourceHandler;
      const errors: unknown[] = [];
      await Promise.all(
        list.map(async (a) => {
          if (ctx.signal.aborted) return;
          const error = await deleteOne(ctx, h, a, result, opts.onDeleted);
          if (error) errors.push(error);
        }),
      );
      if (errors.length) throw errors[0];
    },
    { concurrency: Math.max(1, Math.min(opts.concurrency, kinds.length || 1)), signal: ctx.signal },
  );
  return result;
}
