/**
 * The TXT marker beside every record kubeaz writes: a record set carries no tags, so the marker is
 * its ownership proof (cluster id, logical key, and the spec's name, environment and region). The
 * dns-record kind writes and reads it; pre-flight reads it to say who holds a record name. Pure.
 */
import { ENV_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type Tags } from './types.js';

/** Whose marker: the run's cluster id, and what else of the ownership proof it knows. */
export interface MarkerOwner {
  clusterId: string;
  owner?: { name: string; environment: string };
  region: string;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * The marker: cluster id and key, then (since records carry the whole ownership proof) the spec's
 * name, environment and region. A marker written before those fields existed has only the first
 * two; it is rewritten with all of them on the next create.
 */
export const markerValue = (clusterId: string, key: string, owner?: { name: string; environment: string; region: string }): string =>
  `"kubeaz:cluster=${clusterId},key=${key}${owner ? `,name=${owner.name},environment=${owner.environment},region=${owner.region}` : ''}"`;
const markerRe = (clusterId: string): RegExp => new RegExp(`^"kubeaz:cluster=${escapeRe(clusterId)},key=([^",]+)((?:,[a-z]+=[^",]*)*)"$`);

/** A marker value with our cluster id: its key and what it says as tags (for claims). */
export function parseMarker(ctx: MarkerOwner, value: string | undefined): { key: string; tags: Tags } | undefined {
  const m = markerRe(ctx.clusterId).exec(value ?? '');
  if (!m) return undefined;
  const extra = Object.fromEntries(
    (m[2] ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const tags: Tags = { [OWNER_TAG]: ctx.clusterId };
  if (extra.name !== undefined) tags[NAME_TAG] = extra.name;
  if (extra.environment !== undefined) tags[ENV_TAG] = extra.environment;
  if (extra.region !== undefined) tags[REGION_TAG] = extra.region;
  return { key: m[1]!, tags };
}

/** Ours: our id, and nothing in the marker says another name, environment or region. */
export function isOurs(ctx: MarkerOwner, value: string | undefined): boolean {
  const p = parseMarker(ctx, value);
  if (!p) return false;
  const o = ctx.owner;
  const t = p.tags;
  return (
    (t[REGION_TAG] ?? ctx.region) === ctx.region &&
    (!o || ((t[NAME_TAG] ?? o.name) === o.name && (t[ENV_TAG] ?? o.environment) === o.environment))
  );
}
