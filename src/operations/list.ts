/**
 * list's operation: every kubeaz cluster the account holds in a region (or in every enabled
 * region), found by kubeaz's ownership tag — no spec needed (kops `get clusters`, eksctl `get
 * cluster`). Two reads per region (resources/cluster-inventory.ts); the tags decide, never the
 * server-side filter alone: a resource counts only with a proof kubeaz writes (the ownership tag,
 * the key tag of its kind, and name/environment/region tags that agree with it when present).
 */
import { AwsClients, CallCounter, profileExists } from '../aws/clients.js';
import { checkRegion, defaultRegion, enabledRegions } from '../aws/regions.js';
import { isMasterGroup } from '../model/names.js';
import { ENV_TAG, GROUP_TAG, K8S_VERSION_TAG, KEY_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type Tags } from '../model/types.js';
import { taggedScalingGroups, taggedVpcs, type TaggedGroup, type TaggedVpc } from '../resources/index.js';
import { UsageError } from '../errors.js';

export interface GroupSummary {
  name: string;
  min: number;
  desired: number;
  max: number;
}

export interface ClusterSummary {
  /** the cluster id, name-environment (the ownership tag's value) */
  id: string;
  /** null when no resource found carries the name and environment tags (made by an older kubeaz) */
  name: string | null;
  environment: string | null;
  region: string;
  /** the version last applied (the master groups' kubeaz:kubernetes-version); null: no master group */
  kubernetesVersion: string | null;
  /** the master groups (one master each) */
  masters: number;
  nodeGroups: GroupSummary[];
  /** the oldest group's creation time (ISO); null: no group */
  created: string | null;
  vpcId: string | null;
}

export interface ListRequest {
  /** where the calls are counted (the command's, so an error's envelope has them too) */
  counter?: CallCounter;
  region?: string;
  allRegions?: boolean;
  profile?: string;
  /** regions read at once with --all-regions */
  concurrency?: number;
}

export interface ListResult {
  regions: string[];
  clusters: ClusterSummary[];
  calls: CallCounter;
}

/** The tags prove a kubeaz resource of this region: the owner, the kind's key, and name/environment/region agreeing when present. PURE. */
export function provesOwnership(tags: Tags, region: string, key: (k: string) => boolean): boolean {
  const owner = tags[OWNER_TAG];
  if (!owner || !key(tags[KEY_TAG] ?? '')) return false;
  if (tags[REGION_TAG] !== undefined && tags[REGION_TAG] !== region) return false;
  const name = tags[NAME_TAG];
  const env = tags[ENV_TAG];
  return name === undefined || env === undefined || `${name}-${env}` === owner;
}

/** "1.35.4" > "1.34.10": the newer of two versions, compared part by part as numbers. PURE. */
const newer = (a: string | null, b: string): string => {
  if (a === null) return b;
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0) ? a : b;
  return a;
};

/** The clusters of one region from its tagged VPCs and groups, sorted by id; what lacks kubeaz's proof is left out. PURE. */
export function clustersOf(region: string, vpcs: readonly TaggedVpc[], groups: readonly TaggedGroup[]): ClusterSummary[] {
  const byId = new Map<string, ClusterSummary>();
  const entry = (tags: Tags): ClusterSummary => {
    const id = tags[OWNER_TAG]!;
    let c = byId.get(id);
    if (!c) {
      c = { id, name: null, environment: null, region, kubernetesVersion: null, masters: 0, nodeGroups: [], created: null, vpcId: null };
      byId.set(id, c);
    }
    const name = tags[NAME_TAG];
    const environment = tags[ENV_TAG];
    if (name !== undefined && environment !== undefined) {
      c.name = name;
      c.environment = environment;
    }
    return c;
  };
  for (const v of vpcs) if (provesOwnership(v.tags, region, (k) => k === 'vpc')) entry(v.tags).vpcId = v.id;
  for (const g of groups) {
    if (!provesOwnership(g.tags, region, (k) => k.startsWith('asg/'))) continue;
    const c = entry(g.tags);
    const group = g.tags[GROUP_TAG] ?? g.tags[KEY_TAG]!.slice('asg/'.length);
    if (g.created && (c.created === null || g.created < c.created)) c.created = g.created;
    if (isMasterGroup(group)) {
      c.masters++;
      const v = g.tags[K8S_VERSION_TAG];
      if (v) c.kubernetesVersion = newer(c.kubernetesVersion, v);
    } else c.nodeGroups.push({ name: group, min: g.min, desired: g.desired, max: g.max });
  }
  for (const c of byId.values()) c.nodeGroups.sort((a, b) => a.name.localeCompare(b.name));
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** fn over items, at most `limit` at once, results in the items' order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Before any AWS call: --profile must name a profile (as every command checks). */
export async function checkProfile(profile: string | undefined): Promise<void> {
  if (!profile) return;
  const found = await profileExists(profile);
  if (!found.exists)
    throw new UsageError(`--profile ${profile}: the AWS profile '${profile}' does not exist (looked in ${found.files.join(' and ')})`);
}

export async function listClusters(r: ListRequest): Promise<ListResult> {
  if (r.region !== undefined && r.allRegions) throw new UsageError('--region and --all-regions: give one of them');
  checkRegion(r.region);
  await checkProfile(r.profile);
  const calls = r.counter ?? new CallCounter();
  const clients = (region: string) => new AwsClients({ region, counter: calls, ...(r.profile ? { profile: r.profile } : {}) });
  let regions: string[];
  if (r.allRegions) {
    // DescribeRegions answers from any region: the default one, else us-east-1 (every account has it)
    const home = await defaultRegion(r.profile).catch(() => 'us-east-1');
    regions = await enabledRegions(clients(home));
  } else regions = [r.region ?? (await defaultRegion(r.profile))];
  const perRegion = await mapBounded(regions, r.concurrency ?? 4, async (region) => {
    const aws = clients(region);
    const [vpcs, groups] = await Promise.all([taggedVpcs(aws), taggedScalingGroups(aws)]);
    return clustersOf(region, vpcs, groups);
  });
  return { regions, clusters: perRegion.flat(), calls };
}
