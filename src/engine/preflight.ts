/**
 * Pre-flight: before the first mutating call of a create, check in one pass what would make it fail
 * half-way, and report every failure at once. Reads only. The checks are named and registered in
 * checks/ (PREFLIGHT_CHECKS: quotas, zones and instance-type offerings, images and the key pair,
 * names others hold, the managed policies the spec names, the account's S3 Block Public Access);
 * this runs each whose declared input is there, all at once, and reports their failures in
 * PREFLIGHT_ORDER. A check that cannot read what it needs says so ("could not check: …") under its
 * own name.
 */
import { describeAwsError } from '../aws/errors.js';
import { PREFLIGHT_CHECKS, PREFLIGHT_ORDER, sharedReads, type PreflightFacts, type PreflightFailure } from '../checks/index.js';
import type { DesiredGraph } from '../model/types.js';
import type { RunContext } from '../resources/types.js';
import type { ClusterSpec } from '../spec/schema.js';
import type { Plan } from './compare.js';

export type { PreflightFailure } from '../checks/index.js';

export async function preflight(
  ctx: RunContext,
  spec: ClusterSpec,
  graph: DesiredGraph,
  plan: Plan,
  opts: { publicZoneOwned: boolean; /** the public zone the cluster uses already (owned or adopted) */ publicZoneId?: string },
): Promise<PreflightFailure[]> {
  const facts: PreflightFacts = {
    spec,
    graph,
    creates: new Set(plan.changes.filter((c) => c.action === 'create').map((c) => c.key)),
    touched: new Set(plan.changes.filter((c) => c.action === 'create' || c.action === 'update').map((c) => c.key)),
    publicZoneOwned: opts.publicZoneOwned,
    ...(opts.publicZoneId !== undefined ? { publicZoneId: opts.publicZoneId } : {}),
  };
  const shared = sharedReads(ctx, spec.spec.region);
  const failures: PreflightFailure[] = [];
  const runs: Array<Promise<void>> = [];
  for (const check of PREFLIGHT_CHECKS) {
    const input = check.input(facts);
    if (input === undefined) continue;
    const report = (message: string) => void failures.push({ check: check.name, message });
    runs.push(check.run(ctx, input, shared, report).catch((e: unknown) => report(`could not check: ${describeAwsError(e)}`)));
  }
  await Promise.all(runs);
  return failures.sort((a, b) => PREFLIGHT_ORDER.indexOf(a.check) - PREFLIGHT_ORDER.indexOf(b.check));
}
