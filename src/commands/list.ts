/**
 * kubeaz list [--region R | --all-regions] [--output json]: every kubeaz cluster of the account,
 * found by kubeaz's tags, no spec needed (kops `get clusters`, eksctl `get cluster`). The
 * operation: src/operations/list.ts.
 */
import { CallCounter } from '../aws/clients.js';
import { listClusters, type ClusterSummary } from '../operations/list.js';
import { respond, watch } from '../operations/envelope.js';
import { summarizeCalls, table } from './output.js';

export interface ListOptions {
  region?: string;
  allRegions?: boolean;
  profile?: string;
  output?: string;
  concurrency?: string;
}

/** `2026-12-06 02:40 UTC` from an ISO time; '-' for none. */
const when = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '-');

/** The text: one row per cluster, its node groups as name min/desired/max; a line when there is none. PURE. */
export function renderList(clusters: readonly ClusterSummary[], regions: readonly string[]): string {
  const where = regions.length === 1 ? regions[0]! : `any of the ${regions.length} enabled regions`;
  if (!clusters.length) return `no kubeaz clusters in ${where}\n`;
  const rows = clusters.map((c) => [
    c.name ?? c.id,
    c.environment ?? '-',
    c.region,
    c.kubernetesVersion ?? '-',
    String(c.masters),
    c.nodeGroups.length ? c.nodeGroups.map((g) => `${g.name} ${g.min}/${g.desired}/${g.max}`).join(', ') : '-',
    when(c.created),
  ]);
  return `${table([['NAME', 'ENVIRONMENT', 'REGION', 'KUBERNETES', 'MASTERS', 'NODE GROUPS (min/desired/max)', 'CREATED'], ...rows])}\n`;
}

export async function listCommand(opts: ListOptions): Promise<number> {
  const json = opts.output === 'json';
  const counter = new CallCounter();
  // the envelope (and an error's, printed by the CLI) counts these calls; list is about no one cluster
  watch.counting(counter);
  const r = await listClusters({
    counter,
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.allRegions ? { allRegions: true } : {}),
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    ...(opts.concurrency !== undefined ? { concurrency: Number(opts.concurrency) } : {}),
  });
  if (json) return respond(0, { regions: r.regions, clusters: r.clusters });
  else {
    process.stdout.write(renderList(r.clusters, r.regions));
    process.stderr.write(`(${summarizeCalls(counter)})\n`);
  }
  return 0;
}
