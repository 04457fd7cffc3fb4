/**
 * Destroy: everything the cluster owns, found by its ownership proof (not by the state file),
 * deleted kind by kind in the reverse of KIND_DEPENDENCIES, each kind's resources in parallel.
 * A DependencyViolation is retried with backoff until its dependents are gone, within a named
 * time budget, after which the error names what still blocks.
 */
import { describeAwsError, errorCode, isDependencyViolation, KubeazError } from '../aws/errors.js';
import type { Kind } from '../model/types.js';
import type { Handlers } from '../resources/index.js';
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

export async function destroyAll(
  ctx: RunContext & { resetMemo?: () => void },
  handlers: Handlers,
  opts: { concurrency: number; keep?: (a: Actual) => boolean; onDeleted?: (a: Actual) => Promise<void> },
): Promise<DestroyResult> {
  const actuals = [...(await observeAll(ctx, handlers)).values()].filter((a) => !opts.keep?.(a));
  const result: DestroyResult = { deleted: [], failed: [], remaining: [], aborted: false };
  const kinds = Object.keys(KIND_DEPENDENCIES) as Kind[];
  // Reverse edges: a kind may go once every kind that depends on it is gone.
  const reverse = kinds.map((k) => ({ key: k, deps: kinds.filter((other) => KIND_DEPENDENCIES[other].includes(k)) }));
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
      const list = byKind.get(kind as Kind) ?? [];
      const h = handlers[kind as Kind] as ResourceHandler;
      const errors: unknown[] = [];
      await Promise.all(
        list.map((a) =>
          slot(async () => {
            if (ctx.signal.aborted) return;
            const started = Date.now();
            try {
              await deleteWithRetry(ctx, h, a);
              const seconds = (Date.now() - started) / 1000;
              result.deleted.push({ key: a.key, kind: a.kind, id: a.id, seconds });
              ctx.progress.emit({ type: 'delete', key: a.key, detail: a.id, seconds });
              await opts.onDeleted?.(a);
            } catch (e) {
              const msg = `deleting ${a.key} (${a.id}): ${describeAwsError(e)}`;
              result.failed.push({ key: a.key, kind: a.kind, id: a.id, error: msg });
              errors.push(new KubeazError(msg, errorCode(e), a.key, { cause: e }));
            }
          }),
        ),
      );
      if (errors.length) throw errors[0];
    },
    { concurrency: kinds.length, signal: ctx.signal },
  );
  result.aborted = ctx.signal.aborted;
  if (!result.aborted) {
    result.remaining = [...(await observeAll(ctx, handlers)).values()].filter((a) => !opts.keep?.(a));
  }
  void sched;
  return result;
}
