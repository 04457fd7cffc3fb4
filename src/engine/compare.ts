/**
 * Compare: (desired graph, what exists) → one typed Plan. The one place that decides, per node,
 * "missing / unchanged / update in place / refused": `plan` and `create --dry-run` print the Plan,
 * `create` applies it (reconcile.ts decides each node again with `compareNode` at the moment it
 * acts, against the ids it has just made), `status` reads its drift from `compareNode`.
 *
 * Every desired node is compared with what exists in dependency order, and a dependent sees what
 * its dependencies will become (a launch template's next version — said by the kind's `planUpdate`
 * hook — or an id known only after a create: PENDING). Owned resources the spec no longer names
 * are planned for deletion. Changes AWS cannot make in place are refused with a reason: a node's
 * own (VPC CIDR, tenancy: its kind's diff marks them not in place) and the cluster rules of
 * checks/ (zones of an existing cluster, version skew, fewer masters); `create` applies nothing of
 * a plan that refuses anything. Pure: no AWS call.
 *
 * The JSON form (`plan --output json`, docs/plan-json.md) is versioned: fields are only ever
 * added within a version.
 */
import { KubeazError } from '../aws/errors.js';
import { CLUSTER_RULES } from '../checks/index.js';
import { isRef, type AnyNode, type DesiredGraph, type Kind } from '../model/types.js';
import type { ImageUpdate } from '../model/images.js';
import type { AddonVersionNote } from '../model/addon-versions.js';
import { handlerFor, type Handlers } from '../resources/index.js';
import type { Actual, Change, ResolvedNode } from '../resources/types.js';
import { deletionOrder } from './edges.js';
import { describeNode } from '../model/describe.js';

export const PLAN_VERSION = 1;

export type PlanAction = 'create' | 'update' | 'delete' | 'refuse';

export interface PlanField {
  field: string;
  from: unknown;
  to: unknown;
}

export interface PlanChange {
  key: string;
  kind: Kind;
  action: PlanAction;
  /** the AWS id of what exists (absent for a create) */
  id?: string;
  fields: PlanField[];
  /** refuse: why it cannot be done in place */
  reason?: string;
  /** what else the user should know (instances keep running an old launch template version, …) */
  note?: string;
  /** delete: kubeaz's own file, superseded; create removes it without --allow-delete (ResourceHandler.retired) */
  retired?: boolean;
  /** create: what it sets, in a few words (a subnet's CIDR and zone, a group's types and sizes; model/describe.ts) */
  about?: string;
}

export interface Plan {
  version: typeof PLAN_VERSION;
  cluster: string;
  region: string;
  summary: { create: number; update: number; delete: number; refuse: number; unchanged: number };
  changes: PlanChange[];
  /** turning IRSA on or off for a running cluster: which step it is at (model/irsa-switch.ts) */
  irsaSwitch?: { irsa: boolean; step: 'apply' | 'rollout' | 'finish'; text: string };
  /**
   * Information, no change: the public Amazon Linux 2023 parameter names another image than the
   * groups run (they keep theirs until `create --update-images`; model/images.ts). Absent: none.
   */
  imageUpdate?: ImageUpdate[];
  /**
   * Information, no change: the add-on versions the cluster runs (as its masters recorded them)
   * differ from this kubeaz's table; a master rollout installs them (model/addon-versions.ts).
   * Absent: the same, or nothing recorded. `plan` only (create does not read the record).
   */
  addonVersions?: AddonVersionNote;
}

/** An update whose fields the kind can detail with one read (its `planDetail` hook). */
export interface DetailRequest {
  key: string;
  node: ResolvedNode;
  actual: Actual;
  changes: Change[];
}

export interface PlanResult {
  plan: Plan;
  /** what exists, as observed (not touched by the plan's simulation): apply starts from it */
  observed: Map<string, Actual>;
  /** owned resources the spec no longer names, in the order they would be deleted */
  deletions: Actual[];
  /** updates a kind can say more about by reading AWS (plan.ts asks; the pure plan stands without) */
  details: DetailRequest[];
}

/** Anything to do? (refusals count: they need the user's attention) */
export const hasChanges = (p: Plan): boolean => p.changes.length > 0;

/** What stands for a value known only after a create, in a plan's simulation. */
export const PENDING = '(known after create)';

/** A resource the plan will create: every attribute a dependent asks of it is PENDING. */
const pendingActual = (node: AnyNode): Actual => ({
  key: node.key,
  kind: node.kind,
  id: PENDING,
  attrs: new Proxy({}, { get: () => PENDING }),
  tags: node.tags,
});

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

/** The node with every `$ref` replaced by the id (or attribute) of what it names; MissingDependency when unknown. */
export function resolveNode(node: AnyNode, actuals: Map<string, Actual>): ResolvedNode {
  return { key: node.key, kind: node.kind, props: resolveValue(node.props, actuals, node.key) as ResolvedNode['props'], tags: node.tags };
}

/** One node against what exists: the single decision `plan`, `create` and `status` share. */
export type NodeComparison =
  | { verdict: 'missing' }
  /** it will be created by this plan (a simulation only) */
  | { verdict: 'pending'; actual: Actual }
  /** it exists but something it references lacks an attribute: the create of that was cut short */
  | { verdict: 'incomplete'; actual: Actual; error: KubeazError }
  | { verdict: 'unchanged'; actual: Actual; resolved: ResolvedNode }
  | { verdict: 'update'; actual: Actual; resolved: ResolvedNode; changes: Change[] }
  /** some change cannot be made in place: nothing of it is done */
  | { verdict: 'refuse'; actual: Actual; resolved: ResolvedNode; changes: Change[]; refused: Change[] };

export function compareNode(handlers: Handlers, node: AnyNode, known: Map<string, Actual>): NodeComparison {
  const actual = known.get(node.key);
  if (!actual) return { verdict: 'missing' };
  if (actual.id === PENDING) return { verdict: 'pending', actual };
  let resolved: ResolvedNode;
  try {
    resolved = resolveNode(node, known);
  } catch (e) {
    if (e instanceof KubeazError && e.code === 'MissingDependency') return { verdict: 'incomplete', actual, error: e };
    throw e;
  }
  const changes = handlerFor(handlers, node.kind).diff(resolved, actual);
  if (!changes.length) return { verdict: 'unchanged', actual, resolved };
  const refused = changes.filter((c) => !c.inPlace);
  return refused.length ? { verdict: 'refuse', actual, resolved, changes, refused } : { verdict: 'update', actual, resolved, changes };
}

/** Why a refused change is not made: the one wording, in the plan and in create. */
export const refusalReason = (kind: Kind, id: string, refused: readonly Change[]): string =>
  `${refused.map((c) => c.field).join(', ')} of ${kind} ${id} cannot be changed in place; kubeaz will not replace it. Change the spec back, or destroy and create the cluster.`;

const fieldsOf = (changes: Change[]): PlanField[] => changes.map((c) => ({ field: c.field, from: c.from, to: c.to }));

/** Dependency order of the desired nodes (the graph is validated: no cycles). */
function topoOrder(graph: DesiredGraph): string[] {
  const deps = new Map(graph.nodes.map((n) => [n.key, n.deps]));
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const d of deps.get(k) ?? []) visit(d);
    out.push(k);
  };
  for (const n of graph.nodes) visit(n.key);
  return out;
}

/**
 * Refusals that no single node's diff sees (the zones of an existing cluster, a version skew, fewer
 * masters): the named cluster rules of checks/ (CLUSTER_RULES), each judging the input it declares.
 */
function clusterRefusals(observed: Map<string, Actual>, graph: DesiredGraph, zones: readonly string[]): PlanChange[] {
  const out: PlanChange[] = [];
  for (const rule of CLUSTER_RULES) {
    const input = rule.input({ observed, graph, zones });
    const refusal = input === undefined ? undefined : rule.check(input);
    if (refusal)
      out.push({ key: refusal.key, kind: refusal.kind, action: 'refuse', id: refusal.id, fields: refusal.fields, reason: refusal.reason });
  }
  return out;
}

/** A create's `about` (absent for a kind without a summary). */
function aboutOf(node: AnyNode, byKey: ReadonlyMap<string, AnyNode>): { about?: string } {
  const about = describeNode(node, (k) => byKey.get(k));
  return about ? { about } : {};
}

export function computePlanFrom(
  observed: Map<string, Actual>,
  graph: DesiredGraph,
  handlers: Handlers,
  opts: {
    region: string;
    zones: readonly string[];
    keep?: (a: Actual) => boolean;
    /** keys to create where something not ours already stands (ownership.ts heldByOthers): refused, naming it */
    held?: ReadonlyMap<string, { id: string; reason: string }>;
  },
): PlanResult {
  const sim = new Map(observed);
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const changes: PlanChange[] = clusterRefusals(observed, graph, opts.zones);
  const details: DetailRequest[] = [];
  let unchanged = 0;

  for (const key of topoOrder(graph)) {
    const node = byKey.get(key)!;
    const c = compareNode(handlers, node, sim);
    switch (c.verdict) {
      case 'missing': {
        sim.set(key, pendingActual(node));
        const held = opts.held?.get(key);
        changes.push(
          held
            ? { key, kind: node.kind, action: 'refuse', id: held.id, fields: [], reason: held.reason }
            : { key, kind: node.kind, action: 'create', fields: [], ...aboutOf(node, byKey) },
        );
        break;
      }
      case 'pending':
        break;
      case 'incomplete':
        changes.push({
          key,
          kind: node.kind,
          action: 'update',
          id: c.actual.id,
          fields: [{ field: 'dependencies', from: 'incomplete', to: 'complete' }],
        });
        break;
      case 'unchanged':
        unchanged++;
        break;
      case 'refuse':
        changes.push({
          key,
          kind: node.kind,
          action: 'refuse',
          id: c.actual.id,
          fields: fieldsOf(c.changes),
          reason: refusalReason(node.kind, c.actual.id, c.refused),
        });
        break;
      case 'update': {
        const h = handlerFor(handlers, node.kind);
        const hint = h.planUpdate?.(c.resolved, c.actual, c.changes) ?? {};
        if (hint.after) sim.set(key, hint.after);
        if (h.planDetail) details.push({ key, node: c.resolved, actual: c.actual, changes: c.changes });
        changes.push({
          key,
          kind: node.kind,
          action: 'update',
          id: c.actual.id,
          fields: fieldsOf(c.changes),
          ...(hint.note ? { note: hint.note } : {}),
        });
        break;
      }
    }
  }

  const deletions = plannedDeletions(observed, graph, handlers, opts.keep);
  changes.push(...deletions.map((a) => deletionChange(handlerFor(handlers, a.kind), a)));

  const count = (x: PlanAction) => changes.filter((ch) => ch.action === x).length;
  return {
    plan: {
      version: PLAN_VERSION,
      cluster: graph.clusterId,
      region: opts.region,
      summary: { create: count('create'), update: count('update'), delete: count('delete'), refuse: count('refuse'), unchanged },
      changes,
    },
    observed,
    deletions,
    details,
  };
}

/** What the run deletes: observed and ours, not desired, not kept — in the handlers' deletion order. */
function plannedDeletions(observed: Map<string, Actual>, graph: DesiredGraph, handlers: Handlers, keep?: (a: Actual) => boolean): Actual[] {
  const desired = new Set(graph.nodes.map((n) => n.key));
  const order = deletionOrder(handlers);
  return [...observed.values()]
    .filter((a) => !desired.has(a.key) && !keep?.(a))
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.key < b.key ? -1 : 1));
}

/** A deletion as the plan shows it: kubeaz's own files no longer used are marked retired (no --allow-delete). */
function deletionChange(h: ReturnType<typeof handlerFor>, a: Actual): PlanChange {
  const retired = h.retired?.(a) === true;
  const note = retired ? "kubeaz's own file, no longer used: create removes it" : h.deleteNote;
  return {
    key: a.key,
    kind: a.kind,
    action: 'delete',
    id: a.id,
    fields: [],
    ...(note ? { note } : {}),
    ...(retired ? { retired } : {}),
  };
}
