/**
 * IAM's shapes, shared by the IAM kinds (roles, users, instance profiles) and by the buckets'
 * policy comparison: policy documents as IAM and S3 hand them back, and the logical key of an
 * entity under the cluster's IAM path. Pure: no client, no run context.
 */
import { KEY_TAG, type PolicyDocument, type Tags } from '../model/types.js';

/** IAM hands policy documents back URL-encoded. */
export const parsePolicy = (s: string | undefined): unknown => (s ? JSON.parse(decodeURIComponent(s)) : undefined);

/**
 * A canonical form of a policy document: object keys sorted, and a one-item array turned into the
 * item (IAM and S3 may return `"Action": "s3:GetObject"` for `["s3:GetObject"]`). Applied to both
 * sides of a comparison.
 */
export function normalisePolicy(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 1 ? normalisePolicy(v[0]) : v.map(normalisePolicy);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = normalisePolicy((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
export const samePolicy = (a: unknown, b: unknown): boolean => JSON.stringify(normalisePolicy(a)) === JSON.stringify(normalisePolicy(b));

/** The logical key of an entity under our path: `<prefix>/<suffix>` of `${clusterId}-<suffix>`, else its key tag, else its name. */
export function iamKey(prefix: string, clusterId: string, name: string, tags: Tags): string {
  if (name.startsWith(`${clusterId}-`)) return `${prefix}/${name.slice(clusterId.length + 1)}`;
  return tags[KEY_TAG] ?? `${prefix}/${name}`;
}

/**
 * Per-policy changes: one `policy:<name>` change for each policy added, changed or to be removed,
 * all in place (the shape of a kind's Change, resources/types.ts).
 */
export function policyChanges(
  desired: Record<string, PolicyDocument>,
  actual: Record<string, unknown>,
): Array<{ field: string; from: unknown; to: unknown; inPlace: boolean }> {
  const out: Array<{ field: string; from: unknown; to: unknown; inPlace: boolean }> = [];
  for (const [name, doc] of Object.entries(desired))
    if (!samePolicy(actual[name], doc)) out.push({ field: `policy:${name}`, from: actual[name], to: doc, inPlace: true });
  for (const name of Object.keys(actual))
    if (!(name in desired)) out.push({ field: `policy:${name}`, from: actual[name], to: undefined, inPlace: true });
  return out;
}
