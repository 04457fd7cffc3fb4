/**
 * Dependency graphs: validation (every dep exists, every Ref is a declared dep, no cycle — a cycle
 * is reported with its path) and a bounded concurrent scheduler that starts every node whose
 * dependencies are done, stops starting new work when aborted, and lets in-flight work finish.
 */
import { isRef, type AnyNode } from '../model/types.js';
import { KubeazFailure } from '../errors.js';

/** A desired graph that does not hold together: a bug in kubeaz's model, never the user's. */
export class GraphError extends KubeazFailure {
  override readonly name = 'GraphError';
  constructor(message: string) {
    super(message, 'internal');
  }
}

function collectRefs(v: unknown, out: Set<string>): void {
  if (isRef(v)) out.add(v.$ref);
  else if (Array.isArray(v)) v.forEach((x) => collectRefs(x, out));
  else if (typeof v === 'object' && v !== null) Object.values(v).forEach((x) => collectRefs(x, out));
}

export function refsOf(node: AnyNode): Set<string> {
  const out = new Set<string>();
  collectRefs(node.props, out);
  return out;
}

/** Checks a desired graph; throws GraphError naming the first problem found. */
export function validateGraph(nodes: readonly AnyNode[]): void {
  const byKey = new Map<string, AnyNode>();
  for (const n of nodes) {
    if (byKey.has(n.key)) throw new GraphError(`two nodes have the key ${n.key}`);
    byKey.set(n.key, n);
  }
  for (const n of nodes) {
    for (const d of n.deps) if (!byKey.has(d)) throw new GraphError(`${n.key} depends on ${d}, which is not in the graph`);
    for (const r of refsOf(n)) if (!n.deps.includes(r)) throw new GraphError(`${n.key} references ${r} without depending on it`);
    for (const r of n.ready ?? []) if (!n.deps.includes(r)) throw new GraphError(`${n.key} waits for ${r} to be ready without depending on it`);
  }
  const cycle = findCycle(nodes.map((n) => ({ key: n.key, deps: n.deps })));
  if (cycle) throw new GraphError(`dependency cycle: ${cycle.join(' → ')}`);
}

export function findCycle(nodes: ReadonlyArray<{ key: string; deps: readonly string[] }>): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.key, n.deps]));
  const state = new Map<string, 1 | 2>(); // 1 visiting, 2 done
  const stack: string[] = [];
  const visit = (k: string): string[] | undefined => {
    const s = state.get(k);
    if (s === 2) return undefined;
    if (s === 1) return [...stack.slice(stack.indexOf(k)), k];
    state.set(k, 1);
    stack.push(k);
    for (const d of deps.get(k) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(k, 2);
    return undefined;
  };
  for (const n of nodes) {
    const c = visit(n.key);
    if (c) return c;
  }
  return undefined;
}

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
