/**
 * The order of kinds, read from the registry: each handler declares its own edges beside its code
 * (ResourceHandler.edges: what it waits for when made, and which of the kinds that wait for it need
 * not be gone before it is deleted), as kops' resource listers declare Blocks/Blocked. The engine
 * keeps no table of kinds and names none; a kind's quirks, and why, live in its own file.
 *
 * Create walks the desired graph's node edges, which run only along the declared `waitsFor` (a unit
 * test holds every area builder to it). Destroy has a relation of its own, kind-level because it
 * also covers resources the graph no longer names (orphans, a spec that changed, a lost state
 * file): the create edges reversed, minus what a kind says AWS lets go first (`notBlockedBy`).
 */
import type { DesiredGraph, Kind } from '../model/types.js';
import type { Handlers } from '../resources/index.js';

/** kind → kinds, for every kind of a registry */
export type KindRelation = Readonly<Record<Kind, readonly Kind[]>>;

/** The kinds of a registry, in its order. */
export const kindsOf = (handlers: Handlers): Kind[] => Object.keys(handlers) as Kind[];

/**
 * Destroy's "must be deleted before" relation: kind → the kinds whose resources must all be gone
 * before any resource of this kind may be deleted — every kind that waits for it, but those it
 * declares `notBlockedBy`. Listed in the registry's order.
 */
export function deleteAfter(handlers: Handlers): KindRelation {
  const kinds = kindsOf(handlers);
  const out = {} as Record<Kind, Kind[]>;
  for (const k of kinds) {
    const free = handlers[k].edges.notBlockedBy ?? [];
    out[k] = kinds.filter((other) => handlers[other].edges.waitsFor.includes(k) && !free.includes(other));
  }
  return out;
}

/** Kind order for deleting: every kind after the kinds it must be deleted after (deleteAfter). */
export function deletionOrder(handlers: Handlers): Kind[] {
  const after = deleteAfter(handlers);
  const out: Kind[] = [];
  const seen = new Set<Kind>();
  const visit = (k: Kind) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const other of after[k]) visit(other);
    out.push(k);
  };
  for (const k of kindsOf(handlers)) visit(k);
  return out;
}

/** Does `kind` wait for `dep`, directly or through kinds it waits for (kinds of the registry)? */
export function kindDependsOn(handlers: Handlers, kind: Kind, dep: Kind, seen = new Set<Kind>()): boolean {
  for (const d of handlers[kind].edges.waitsFor) {
    if (d === dep) return true;
    if (!seen.has(d)) {
      seen.add(d);
      if (kindDependsOn(handlers, d, dep, seen)) return true;
    }
  }
  return false;
}

/**
 * The edges of a desired graph that run along no declared edge (`key (kind) → dep (kind)`): a node
 * may depend on nodes of its own kind or of a kind its kind waits for, directly or not. Empty for
 * every graph the model builds, or destroy's kind-level order would not be a true picture of it.
 */
export function strayEdges(handlers: Handlers, graph: DesiredGraph): string[] {
  const kindOf = new Map(graph.nodes.map((n) => [n.key, n.kind]));
  const wrong: string[] = [];
  for (const n of graph.nodes) {
    for (const d of n.deps) {
      const dk = kindOf.get(d)!;
      if (dk !== n.kind && !kindDependsOn(handlers, n.kind, dk)) wrong.push(`${n.key} (${n.kind}) → ${d} (${dk})`);
    }
  }
  return wrong;
}
