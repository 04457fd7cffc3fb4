/**
 * What a run says when what carries its cluster id is another cluster's: a copy of the spec in
 * another region (IAM, Route 53 and S3 are global), or a spec whose id coincides (`a-b`/`c` and
 * `a`/`b-c`). Observe leaves such things out and notes them in ctx.sightings; plan and create
 * refuse on them, status and destroy say the cluster is not here and where it is.
 */
import { KubeazError } from '../aws/errors.js';
import { remedyFor } from '../model/names.js';
import type { DesiredGraph } from '../model/types.js';
import { ENV_TAG, NAME_TAG, OWNER_TAG, REGION_TAG } from '../model/types.js';
import type { Handlers } from '../resources/index.js';
import type { Actual, RunContext } from '../resources/types.js';

/** One sentence naming where the cluster id is held, or undefined when nothing was seen elsewhere. */
export function heldElsewhere(ctx: RunContext): string | undefined {
  const regions = [...new Set(ctx.sightings.filter((s) => s.region && !s.cluster).map((s) => s.region!))].sort();
  const clusters = [
    ...new Set(
      ctx.sightings
        .filter((s) => s.cluster)
        .map((s) => {
          const [name, environment] = s.cluster!.split('/');
          return `cluster ${s.cluster} (name ${name}, environment ${environment}${s.region ? `, in ${s.region}` : ''})`;
        }),
    ),
  ].sort();
  const parts: string[] = [];
  if (regions.length) parts.push(`cluster ${ctx.clusterId} exists in ${regions.join(', ')}`);
  if (clusters.length) parts.push(`the cluster id ${ctx.clusterId} is held by ${clusters.join(' and ')}`);
  return parts.length ? parts.join('; ') : undefined;
}

/** plan/create: refuse a spec whose cluster id is another region's or another spec's. */
export function refuseIfHeldElsewhere(ctx: RunContext): void {
  const where = heldElsewhere(ctx);
  if (!where) return;
  const regionOnly = ctx.sightings.every((s) => !s.cluster);
  throw new KubeazError(
    `${where}: kubeaz will not touch it from this spec in ${ctx.region}` +
      (regionOnly
        ? ' (IAM, Route 53 and S3 are global; a cluster id is unique per account); run in its region, or choose another name or environment'
        : '; choose another name or environment'),
    'ClusterHeldElsewhere',
    'cluster',
  );
}

/**
 * plan/create: names derived inside a cluster (`<id>-<group>`: auto scaling groups, launch
 * templates) are unique per account and region, and two specs can derive the same one — group
 * `web-a` of coll/dev and group `a` of coll/dev-web both make `coll-dev-web-a`. Today's names are
 * kept (an existing cluster sees no change); a name this spec would create that another cluster
 * already holds is refused here, naming the holder, before any mutating call. Only names not
 * already observed as ours are looked up, so a run with nothing to create makes no extra call.
 */
export async function refuseNameCollisions(
  ctx: RunContext,
  graph: DesiredGraph,
  observed: ReadonlyMap<string, Actual>,
  handlers: Handlers,
): Promise<void> {
  const wanted = new Map<string, Map<string, string>>();
  for (const n of graph.nodes) {
    if (observed.has(n.key) || !handlers[n.kind].nameHolders) continue;
    const name = (n.props as { name?: unknown }).name;
    if (typeof name !== 'string') continue;
    let m = wanted.get(n.kind);
    if (!m) wanted.set(n.kind, (m = new Map()));
    m.set(name, n.key);
  }
  const problems: string[] = [];
  const remedies = new Set<string>();
  for (const [kind, byName] of wanted) {
    const holders = await handlers[kind as keyof Handlers].nameHolders!(ctx, [...byName.keys()]);
    for (const h of holders) {
      if (
        h.tags[OWNER_TAG] === ctx.clusterId &&
        (!ctx.owner ||
          ((h.tags[NAME_TAG] ?? ctx.owner.name) === ctx.owner.name && (h.tags[ENV_TAG] ?? ctx.owner.environment) === ctx.owner.environment))
      )
        continue;
      const who =
        h.tags[NAME_TAG] && h.tags[ENV_TAG]
          ? `cluster ${h.tags[NAME_TAG]}/${h.tags[ENV_TAG]}${h.tags[REGION_TAG] ? ` (in ${h.tags[REGION_TAG]})` : ''}`
          : h.tags[OWNER_TAG]
            ? `cluster ${h.tags[OWNER_TAG]}`
            : 'something kubeaz did not make';
      const key = byName.get(h.name)!;
      problems.push(`${kind} ${h.name} (${key}) already exists and belongs to ${who}`);
      remedies.add(remedyFor(key));
    }
  }
  if (!problems.length) return;
  throw new KubeazError(
    `${problems.sort().join('; ')}: kubeaz will not touch it from this spec; ${[...remedies].sort().join('; ')}`,
    'NameHeldElsewhere',
    'cluster',
  );
}

/** Who holds something, by its tags: another cluster (named), or someone other than kubeaz. */
function holderOf(tags: Readonly<Record<string, string>>): string {
  if (tags[NAME_TAG] && tags[ENV_TAG])
    return `cluster ${tags[NAME_TAG]}/${tags[ENV_TAG]}${tags[REGION_TAG] ? ` (in ${tags[REGION_TAG]})` : ''}`;
  if (tags[OWNER_TAG]) return `cluster ${tags[OWNER_TAG]}`;
  return 'something kubeaz did not make (it carries no kubeaz tags)';
}

/** A key the plan refuses to create because something else stands where it would be made. */
export interface Held {
  /** the AWS id of what stands there */
  id: string;
  reason: string;
}

/**
 * plan/create: what already stands where a node the cluster does not own would be made, for the
 * kinds whose identity the spec fixes account-wide (heldBy: an IAM OIDC provider at the cluster's
 * issuer URL). The plan lists each as refused, naming it; create then applies nothing.
 */
export async function heldByOthers(
  ctx: RunContext,
  graph: DesiredGraph,
  observed: ReadonlyMap<string, Actual>,
  handlers: Handlers,
): Promise<Map<string, Held>> {
  const byKind = new Map<keyof Handlers, DesiredGraph['nodes']>();
  for (const n of graph.nodes) {
    if (observed.has(n.key) || !handlers[n.kind].heldBy) continue;
    byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n]);
  }
  const out = new Map<string, Held>();
  for (const [kind, nodes] of byKind) {
    const heldBy = handlers[kind].heldBy! as (
      c: RunContext,
      ns: DesiredGraph['nodes'],
    ) => Promise<Array<{ key: string; id: string; tags: Record<string, string>; what: string; why: string; remedy: string }>>;
    for (const h of await heldBy(ctx, nodes))
      out.set(h.key, {
        id: h.id,
        reason: `${h.what} already exists and belongs to ${holderOf(h.tags)}: ${h.why}; kubeaz will not adopt or replace it. ${h.remedy}`,
      });
  }
  return out;
}

/**
 * status/destroy: the cluster is not here when nothing of it was observed but what it adopted
 * (`attrs.adopted`, which the hosted-zone kind sets on the spec's existing public zone).
 */
export const clusterAbsent = (actuals: Iterable<Actual>): boolean => [...actuals].every((a) => a.attrs.adopted === 'true');

/** `cluster <id> not found in <region>`, naming where it is when it is somewhere else. */
export function notFoundMessage(ctx: RunContext): string {
  const where = heldElsewhere(ctx);
  return `cluster ${ctx.clusterId} not found in ${ctx.region}${where ? ` (${where})` : ''}`;
}
