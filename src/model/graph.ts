/**
 * Checking a desired graph, pure: every dep exists, every Ref is a declared dep, no cycle (a cycle
 * is reported with its path). deriveGraph runs it as it builds; the engine re-exports it.
 */
import { KubeazFailure } from '../errors.js';
import { isRef, type AnyNode } from './types.js';

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
    for (const r of n.ready ?? [])
      if (!n.deps.includes(r)) throw new GraphError(`${n.key} waits for ${r} to be ready without depending on it`);
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
