/**
 * What a run says when what carries its cluster id is another cluster's: a copy of the spec in
 * another region (IAM, Route 53 and S3 are global), or a spec whose id coincides (`a-b`/`c` and
 * `a`/`b-c`). Observe leaves such things out and notes them in ctx.sightings; plan and create
 * refuse on them, status and destroy say the cluster is not here and where it is.
 */
import { KubeazError } from '../aws/errors.js';
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
      (regionOnly ? ' (IAM, Route 53 and S3 are global; a cluster id is unique per account); run in its region, or choose another name or environment' : '; choose another name or environment'),
    'ClusterHeldElsewhere',
    'cluster',
  );
}

/** status/destroy: the cluster is not here when nothing of it was observed but an adopted public zone. */
export const clusterAbsent = (actuals: Iterable<Actual>): boolean => [...actuals].every((a) => a.kind === 'hosted-zone' && a.attrs.adopted === 'true');

/** `cluster <id> not found in <region>`, naming where it is when it is somewhere else. */
export function notFoundMessage(ctx: RunContext): string {
  const where = heldElsewhere(ctx);
  return `cluster ${ctx.clusterId} not found in ${ctx.region}${where ? ` (${where})` : ''}`;
}
