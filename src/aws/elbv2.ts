/**
 * ELBv2's tags and ownership, shared by the network load balancer and target group kinds: both
 * are found by listing every one in the region and keeping those whose tags the cluster's
 * ownership proof accepts (one DescribeTags per 20 ARNs, for both kinds at once:
 * resources/elbv2-inventory.ts). The proof itself (resources/common.ts claims) needs the run, so the
 * caller hands it in; what is read here needs only the client.
 */
import { DescribeTagsCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { KEY_TAG, type Tags } from '../model/types.js';
import { chunks } from '../util/lists.js';
import { fromTagList } from './tags.js';

/** DescribeTags takes at most 20 ARNs. */
const ARNS_PER_CALL = 20;

export async function elbv2TagsOf(elb: ElasticLoadBalancingV2Client, arns: readonly string[]): Promise<Map<string, Tags>> {
  const out = new Map<string, Tags>();
  for (const batch of chunks(arns, ARNS_PER_CALL)) {
    const res = await elb.send(new DescribeTagsCommand({ ResourceArns: [...batch] }));
    for (const d of res.TagDescriptions ?? []) if (d.ResourceArn) out.set(d.ResourceArn, fromTagList(d.Tags));
  }
  return out;
}

/**
 * The ELBv2 resources (load balancers, target groups) among `items` that this cluster owns, with
 * their key and tags, from their tags as elbv2TagsOf read them. `claims` is the ownership proof of
 * a resource's tags under its key (resources/common.ts claims, bound to the run).
 */
export function ownedElbv2<T>(
  items: readonly T[],
  arnOf: (t: T) => string,
  tags: ReadonlyMap<string, Tags>,
  claims: (tags: Tags, key: string) => boolean,
): Array<{ item: T; key: string; tags: Tags }> {
  return items.flatMap((item) => {
    const t = tags.get(arnOf(item)) ?? {};
    const key = t[KEY_TAG];
    return key && claims(t, key) ? [{ item, key, tags: t }] : [];
  });
}
