/** Tag shapes of the different APIs, and the ownership filters. */
import { OWNER_TAG, type Tags } from '../model/types.js';

export type KV = { Key?: string; Value?: string };

export const toTagList = (tags: Tags): Array<{ Key: string; Value: string }> =>
  Object.keys(tags)
    .sort()
    .map((Key) => ({ Key, Value: tags[Key]! }));

export const fromTagList = (list: readonly KV[] | undefined): Tags => {
  const out: Tags = {};
  for (const t of list ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
};

/** EC2 filter: everything carrying our ownership tag. */
export const ownerFilter = (clusterId: string) => ({ Name: `tag:${OWNER_TAG}`, Values: [clusterId] });

/** Tags of a node that differ from (or are missing in) the actual tags; extra actual tags are not ours to judge. */
export function tagChanges(desired: Tags, actual: Tags, ignore: readonly string[] = []): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(desired)) if (!ignore.includes(k) && actual[k] !== v) out[k] = v;
  return out;
}

export function tagDiff(node: { tags: Tags }, actualTags: Tags, ignore: readonly string[] = []) {
  const changed = tagChanges(node.tags, actualTags, ignore);
  return Object.keys(changed).length
    ? [{ field: 'tags', from: Object.fromEntries(Object.keys(changed).map((k) => [k, actualTags[k]])), to: changed, inPlace: true }]
    : [];
}
