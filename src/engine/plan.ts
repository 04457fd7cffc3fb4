/**
 * The plan: what `create` would do to bring what exists to the spec, computed from one observation
 * with no mutating call. Every desired node is compared with what exists, in dependency order (a
 * dependent sees what its dependencies will become: a launch template's next version, an id known
 * only after a create). Owned resources the spec no longer names are planned for deletion. Changes
 * AWS cannot make in place (VPC CIDR, tenancy, zones of an existing cluster) are refused with a
 * reason; `create` applies nothing of a plan that refuses anything.
 *
 * The JSON form (`plan --output json`, README "Plan JSON schema") is versioned: fields are only ever
 * added within a version.
 */
import { KubeazError } from '../aws/errors.js';
import { K8S_VERSION_TAG, type DesiredGraph, type Kind } from '../model/types.js';
import { checkVersionSkew } from './skew.js';
import type { Handlers } from '../resources/index.js';
import type { Actual, Change, ResolvedNode, ResourceHandler, RunContext } from '../resources/types.js';
import { DELETE_AFTER } from './kinds.js';
import { observeAll, PENDING, resolveNode } from './reconcile.js';
import { refuseIfHeldElsewhere, refuseNameCollisions } from './ownership.js';

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
}

export interface Plan {
  version: typeof PLAN_VERSION;
  cluster: string;
  region: string;
  summary: { create: number; update: number; delete: number; refuse: number; unchanged: number };
  changes: PlanChange[];
}

export interface PlanResult {
  plan: Plan;
  /** what exists, as observed (not touched by the plan's simulation): apply starts from it */
  observed: Map<string, Actual>;
  /** owned resources the spec no longer names, in the order they would be deleted */
  deletions: Actual[];
  /** launch templates that get a new version: what they will hold (for the field-level detail) */
  newTemplates?: Map<string, { actual: Actual; node: ResolvedNode<'launch-template'> }>;
}

/** Anything to do? (refusals count: they need the user's attention) */
export const hasChanges = (p: Plan): boolean => p.changes.length > 0;

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

/** Kind order for deleting: every kind after the kinds it must be deleted after (DELETE_AFTER). */
export function deletionOrder(): Kind[] {
  const kinds = Object.keys(DELETE_AFTER) as Kind[];
  const out: Kind[] = [];
  const seen = new Set<Kind>();
  const visit = (k: Kind) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const other of DELETE_AFTER[k]) visit(other);
    out.push(k);
  };
  for (const k of kinds) visit(k);
  return out;
}

/** The zones the existing cluster's subnets are in (keys subnet/<tier>/<zone>). */
function existingZones(actuals: Map<string, Actual>): string[] {
  const zones = new Set<string>();
  for (const a of actuals.values()) if (a.kind === 'subnet') zones.add(a.key.split('/').pop()!);
  return [...zones].sort();
}

export function computePlanFrom(
  observed: Map<string, Actual>,
  graph: DesiredGraph,
  handlers: Handlers,
  opts: { region: string; zones: readonly string[]; keep?: (a: Actual) => boolean },
): PlanResult {
  const sim = new Map(observed);
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const changes: PlanChange[] = [];
  let unchanged = 0;

  // Zones of an existing cluster: subnets, NAT gateways, route tables and every group's placement hang on them.
  if (observed.has('vpc')) {
    const had = existingZones(observed);
    const want = [...opts.zones].sort();
    if (had.length && had.join(',') !== want.join(',')) {
      changes.push({
        key: 'vpc',
        kind: 'vpc',
        action: 'refuse',
        id: observed.get('vpc')!.id,
        fields: [{ field: 'zones', from: had, to: want }],
        reason: 'the zones of an existing cluster cannot change: its subnets, NAT gateways, route tables and instances are placed in them. Put the zones back, or destroy and create the cluster.',
      });
    }
  }

  // Version skew: at most one minor up, never down, from what the running cluster was given.
  const runningVersion = observed.get('lt/master')?.tags[K8S_VERSION_TAG];
  const wantedVersion = byKey.get('lt/master')?.tags[K8S_VERSION_TAG];
  if (runningVersion && wantedVersion && runningVersion !== wantedVersion) {
    const refusal = checkVersionSkew(runningVersion, wantedVersion);
    if (refusal)
      changes.push({
        key: 'lt/master',
        kind: 'launch-template',
        action: 'refuse',
        id: observed.get('lt/master')!.id,
        fields: [{ field: 'kubernetesVersion', from: runningVersion, to: wantedVersion }],
        reason: refusal.reason,
      });
  }

  const newTemplates = new Map<string, { actual: Actual; node: ResolvedNode<'launch-template'> }>();
  for (const key of topoOrder(graph)) {
    const node = byKey.get(key)!;
    const h = handlers[node.kind] as ResourceHandler;
    const actual = sim.get(key);
    if (!actual) {
      sim.set(key, { key, kind: node.kind, id: PENDING, attrs: new Proxy({}, { get: () => PENDING }), tags: node.tags });
      changes.push({ key, kind: node.kind, action: 'create', fields: [] });
      continue;
    }
    if (actual.id === PENDING) continue;
    let diff: Change[];
    let resolved: ResolvedNode;
    try {
      resolved = resolveNode(node, sim);
      diff = h.diff(resolved, actual);
    } catch (e) {
      // A reference to something that exists but lacks the attribute: the create of it was cut short.
      if (e instanceof KubeazError && e.code === 'MissingDependency') {
        changes.push({ key, kind: node.kind, action: 'update', id: actual.id, fields: [{ field: 'dependencies', from: 'incomplete', to: 'complete' }] });
        continue;
      }
      throw e;
    }
    if (!diff.length) {
      unchanged++;
      continue;
    }
    const refused = diff.filter((c) => !c.inPlace);
    if (refused.length) {
      changes.push({
        key,
        kind: node.kind,
        action: 'refuse',
        id: actual.id,
        fields: fieldsOf(diff),
        reason: `${refused.map((c) => c.field).join(', ')} of ${node.kind} ${actual.id} cannot be changed in place; kubeaz will not replace it. Change the spec back, or destroy and create the cluster.`,
      });
      continue;
    }
    const change: PlanChange = { key, kind: node.kind, action: 'update', id: actual.id, fields: fieldsOf(diff) };
    if (node.kind === 'launch-template' && diff.some((c) => c.field === 'launchTemplateData')) {
      // The update makes a new version (the next number) and makes it the default; groups follow it.
      const latest = (actual.observed as { latestVersion?: number } | undefined)?.latestVersion ?? Number(actual.attrs.version ?? 0);
      const next = String(latest + 1);
      newTemplates.set(key, { actual, node: resolved as ResolvedNode<'launch-template'> });
      sim.set(key, { ...actual, attrs: { ...actual.attrs, version: next } });
      change.note = `new launch template version ${next}`;
    }
    if (node.kind === 'auto-scaling-group' && diff.some((c) => c.field === 'launchTemplateVersion')) {
      const v = diff.find((c) => c.field === 'launchTemplateVersion')!;
      change.note = `the group will launch version ${String(v.to)}; its running instances keep version ${String(v.from)} until \`kubeaz rollout\` replaces them`;
    }
    changes.push(change);
  }

  const desired = new Set(graph.nodes.map((n) => n.key));
  const order = deletionOrder();
  const deletions = [...observed.values()]
    .filter((a) => !desired.has(a.key) && !opts.keep?.(a))
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || (a.key < b.key ? -1 : 1));
  for (const a of deletions) {
    changes.push({
      key: a.key,
      kind: a.kind,
      action: 'delete',
      id: a.id,
      fields: [],
      ...(a.kind === 'auto-scaling-group' ? { note: 'the group is deleted with its instances (they terminate)' } : {}),
    });
  }

  const count = (x: PlanAction) => changes.filter((c) => c.action === x).length;
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
    newTemplates,
  };
}

/** One observation (one batched read per kind), then the comparison. No mutating call. */
export async function computePlan(
  ctx: RunContext & { resetMemo?: () => void },
  graph: DesiredGraph,
  handlers: Handlers,
  opts: { zones: readonly string[]; keep?: (a: Actual) => boolean },
): Promise<PlanResult> {
  const observed = await observeAll(ctx, handlers);
  refuseIfHeldElsewhere(ctx);
  await refuseNameCollisions(ctx, graph, observed, handlers);
  const result = computePlanFrom(observed, graph, handlers, { region: ctx.region, ...opts });
  await templateDetail(ctx, result);
  return result;
}

/**
 * A launch template's data is compared by its hash; for the plan, read the version the template
 * holds now (one read per changed template, only when one changes) and name the fields that differ.
 */
async function templateDetail(ctx: RunContext, result: PlanResult): Promise<void> {
  if (!result.newTemplates?.size) return;
  const { DescribeLaunchTemplateVersionsCommand } = await import('@aws-sdk/client-ec2');
  const { launchTemplateData } = await import('../resources/launch-template.js');
  const ec2 = await ctx.aws.ec2();
  await Promise.all(
    [...result.newTemplates].map(async ([key, { actual, node }]) => {
      const change = result.plan.changes.find((c) => c.key === key && c.action === 'update');
      if (!change) return;
      try {
        const out = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: actual.id, Versions: [actual.attrs.version ?? '$Default'] }));
        const now = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
        if (!now) return;
        const want = launchTemplateData(node);
        const fields: PlanField[] = [];
        const cmp = (field: string, from: unknown, to: unknown) => {
          if (JSON.stringify(from ?? null) !== JSON.stringify(to ?? null)) fields.push({ field, from: from ?? null, to: to ?? null });
        };
        cmp('instanceType', now.InstanceType, want.InstanceType);
        cmp('imageId', now.ImageId, want.ImageId);
        cmp('keyName', now.KeyName, want.KeyName);
        cmp('volumeSize', now.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize, want.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize);
        cmp('instanceProfile', now.IamInstanceProfile?.Arn ?? now.IamInstanceProfile?.Name, want.IamInstanceProfile?.Arn);
        const groupsOf = (d: typeof now) => [...(d.SecurityGroupIds ?? d.NetworkInterfaces?.[0]?.Groups ?? [])].sort();
        cmp('securityGroupIds', groupsOf(now), groupsOf(want as typeof now));
        if (now.UserData !== want.UserData) fields.push({ field: 'userData', from: '(current)', to: '(changed: Kubernetes version, labels, taints or bootstrap)' });
        change.fields = [...fields, ...change.fields];
      } catch {
        /* the hash change alone still says it changes */
      }
    }),
  );
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The plan as text, one line per change: `+ create`, `~ update` (field: old → new), `- delete`, `! refused`. */
export function renderPlan(plan: Plan, opts: { allowDelete?: boolean } = {}): string {
  const lines: string[] = [];
  const sym: Record<PlanAction, string> = { create: '+', update: '~', delete: '-', refuse: '!' };
  for (const c of plan.changes) {
    const head = `${sym[c.action]} ${c.key}${c.id ? ` (${c.kind} ${c.id})` : ` (${c.kind})`}`;
    if (c.action === 'refuse') lines.push(`${head}: REFUSED`);
    else if (c.action === 'delete') lines.push(`${head}${opts.allowDelete === false ? ': needs --allow-delete' : ''}`);
    else lines.push(head);
    for (const f of c.fields) {
      if (Array.isArray(f.from) && Array.isArray(f.to) && f.from.length + f.to.length > 4) {
        // long lists (rules, routes): only what goes and what comes
        const a = new Set(f.from.map(show));
        const b = new Set(f.to.map(show));
        lines.push(`    ${f.field}:`);
        for (const x of a) if (!b.has(x)) lines.push(`      - ${x}`);
        for (const x of b) if (!a.has(x)) lines.push(`      + ${x}`);
      } else lines.push(`    ${f.field}: ${show(f.from)} → ${show(f.to)}`);
    }
    if (c.reason) lines.push(`    ${c.reason}`);
    if (c.note) lines.push(`    note: ${c.note}`);
  }
  const s = plan.summary;
  lines.push(
    hasChanges(plan)
      ? `plan for ${plan.cluster}: ${s.create} to create, ${s.update} to change, ${s.delete} to delete, ${s.refuse} refused, ${s.unchanged} unchanged`
      : `plan for ${plan.cluster}: nothing to do (${s.unchanged} resources match the spec)`,
  );
  return lines.join('\n');
}
