/**
 * Dependency graphs: validation (every dep exists, every Ref is a declared dep, no cycle — a cycle
 * is reported with its path) and a bounded concurrent scheduler that starts every node whose
 * dependencies are done, stops starting new work when aborted, and lets in-flight work finish.
 */
// checking a graph is pure and happens where it is built (model/graph.ts); re-exported for the engine's callers
export { findCycle, GraphError, validateGraph } from '../model/graph.js';

/** Length (in nodes) of the longest dependency chain: the critical path of a create. */
export function criticalPathLength(nodes: ReadonlyArray<{ key: string; deps: readonly string[] }>): number {
  const deps = new Map(nodes.map((n) => [n.key, n.deps]));
  const memo = new Map<string, number>();
  const depth = (k: string): number => {
    const m = memo.get(k);
    if (m !== undefined) return m;
    const d = 1 + Math.max(0, ...(deps.get(k) ?? []).map(depth));
    memo.set(k, d);
    return d;
  };
  return Math.max(0, ...nodes.map((n) => depth(n.key)));
}

export interface ScheduleResult {
  done: string[];
  failed: Array<{ key: string; error: unknown }>;
  /** not started because a dependency failed or the run was aborted */
  skipped: string[];
}

/**
 * Runs `work` for every node once all its deps succeeded, at most `concurrency` at a time.
 * A failed node's dependents are skipped; independent branches go on.
 */
export async function schedule(
  nodes: ReadonlyArray<{ key: string; deps: readonly string[] }>,
  work: (key: string) => Promise<void>,
  opts: { concurrency: number; signal?: AbortSignal; free?: (key: string) => boolean },
): Promise<ScheduleResult> {
  const pending = new Map(nodes.map((n) => [n.key, new Set(n.deps.filter((d) => d !== n.key))]));
  const dependents = new Map<string, string[]>();
  for (const n of nodes) for (const d of n.deps) if (d !== n.key) dependents.set(d, [...(dependents.get(d) ?? []), n.key]);
  const result: ScheduleResult = { done: [], failed: [], skipped: [] };
  const ready: string[] = nodes.filter((n) => pending.get(n.key)!.size === 0).map((n) => n.key);
  const blocked = new Set<string>();
  let running = 0;
  let live = 0;
  // Work that only waits (a coalesced poll does its calls) takes no slot of the concurrency limit.
  const slots = (key: string) => (opts.free?.(key) ? 0 : 1);

  const skip = (key: string) => {
    for (const dep of dependents.get(key) ?? []) {
      if (blocked.has(dep) || !pending.has(dep)) continue;
      blocked.add(dep);
      pending.delete(dep);
      result.skipped.push(dep);
      skip(dep);
    }
  };

  await new Promise<void>((resolve) => {
    const pump = () => {
      while (ready.length && !opts.signal?.aborted) {
        const idx = ready.findIndex((k) => slots(k) === 0 || running < opts.concurrency);
        if (idx < 0) break;
        const key = ready.splice(idx, 1)[0]!;
        if (blocked.has(key)) continue;
        pending.delete(key);
        const slot = slots(key);
        running += slot;
        live++;
        work(key).then(
          () => {
            running -= slot;
            live--;
            result.done.push(key);
            for (const dep of dependents.get(key) ?? []) {
              const p = pending.get(dep);
              if (!p) continue;
              p.delete(key);
              if (p.size === 0) ready.push(dep);
            }
            pump();
          },
          (error: unknown) => {
            running -= slot;
            live--;
            result.failed.push({ key, error });
            skip(key);
            pump();
          },
        );
      }
      if (live === 0 && (ready.length === 0 || opts.signal?.aborted)) {
        for (const k of [...ready, ...pending.keys()]) if (!result.skipped.includes(k)) result.skipped.push(k);
        resolve();
      }
    };
    pump();
  });
  return result;
}
