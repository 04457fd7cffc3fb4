/**
 * Names someone else holds where this create would make something: the public zone (unambiguous,
 * and not another cluster's), the records this run makes in it, and IAM user names (account-wide).
 * Reads only; a name the cluster owns is observed, never asked about.
 */
import { GetUserCommand } from '@aws-sdk/client-iam';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { isNotFound } from '../aws/errors.js';
import { dnsName, listRecordSets } from '../aws/route53.js';
import { fromTagList } from '../aws/tags.js';
import { isOurs, type MarkerOwner } from '../model/record-marker.js';
import { ENV_TAG, isRef, NAME_TAG, REGION_TAG, type Tags } from '../model/types.js';
import type { CheckContext, PreflightCheck, SharedReads } from './types.js';

/**
 * The public zone, when named and not already ours: one public zone of that name, and not one
 * kubeaz made for another cluster (its comment `kubeaz:<id> <key>` names it): adopting it would put
 * our records in a zone that cluster deletes.
 */
export const publicZone: PreflightCheck<{ domain: string }> = {
  name: 'public-zone',
  calls: ['route53:ListHostedZonesByName'],
  input: ({ spec, publicZoneOwned }) =>
    spec.spec.dns.publicDomain && !publicZoneOwned ? { domain: spec.spec.dns.publicDomain.replace(/\.$/, '').toLowerCase() } : undefined,
  async run(ctx, { domain }, shared, report) {
    const same = await shared.publicZones(domain);
    if (same.length > 1)
      return report(
        `${same.length} public hosted zones are named ${domain} (${same.map((z) => z.id).join(', ')}): kubeaz cannot tell which to use; delete the extra ones`,
      );
    const owner = foreignOwner(ctx, same[0]);
    if (owner !== undefined)
      report(
        `the public zone ${domain} (${same[0]!.id}) belongs to cluster ${owner} (kubeaz made it for that cluster; its comment says so): kubeaz will not use it for ${ctx.clusterId}; use another publicDomain`,
      );
  },
};

/** The cluster another cluster's zone was made for (its comment says), or undefined. */
function foreignOwner(ctx: CheckContext, zone: { comment: string } | undefined): string | undefined {
  const owner = /^kubeaz:(\S+) /.exec(zone?.comment ?? '')?.[1];
  return owner !== undefined && owner !== ctx.clusterId ? owner : undefined;
}

/** The public zone's id the records go into: the one used already, or the one of that name public-zone finds usable. */
async function recordZone(ctx: CheckContext, zone: { id: string } | { domain: string }, shared: SharedReads): Promise<string | undefined> {
  if ('id' in zone) return zone.id;
  // public-zone reports a failed or ambiguous lookup, and a zone of another cluster: no records to check then
  const same = await shared.publicZones(zone.domain).catch(() => undefined);
  if (!same || same.length !== 1 || foreignOwner(ctx, same[0]) !== undefined) return undefined;
  return same[0]!.id;
}

/**
 * Who holds a record name in a zone, when it is not this cluster: another cluster (its TXT marker
 * names it) or someone who is not kubeaz (an A record without a marker). undefined when the name
 * is free or ours.
 */
export function recordHolder(ctx: MarkerOwner, sets: readonly ResourceRecordSet[], name: string): string | undefined {
  const at = sets.filter((r) => dnsName(r.Name ?? '') === dnsName(name));
  const markers = at.filter((r) => r.Type === 'TXT').flatMap((r) => (r.ResourceRecords ?? []).map((v) => v.Value ?? ''));
  const kubeaz = markers
    .map((v) => /^"kubeaz:cluster=([^",]+),key=[^",]+((?:,[a-z]+=[^",]*)*)"$/.exec(v))
    .filter((m): m is RegExpExecArray => m !== null);
  if (markers.some((v) => isOurs(ctx, v))) return undefined;
  if (kubeaz.length) {
    const m = kubeaz[0]!;
    const extra = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    return extra.name !== undefined && extra.environment !== undefined
      ? `cluster ${extra.name}/${extra.environment}${extra.region ? ` (in ${extra.region})` : ''} (its TXT marker)`
      : `cluster ${m[1]} (its TXT marker)`;
  }
  if (at.some((r) => r.Type === 'A' || r.Type === 'CNAME' || r.Type === 'AAAA'))
    return 'someone other than kubeaz (a record without a kubeaz marker)';
  return undefined;
}

/** Records this run makes in the public zone, by name: none may be another's. */
export const publicRecords: PreflightCheck<{ records: Array<{ key: string; name: string }>; zone: { id: string } | { domain: string } }> = {
  name: 'dns-record',
  calls: ['route53:ListHostedZonesByName', 'route53:ListResourceRecordSets'],
  input({ graph, creates, spec, publicZoneOwned, publicZoneId }) {
    const records = graph.nodes.flatMap((n) =>
      n.kind === 'dns-record' && creates.has(n.key) && isRef(n.props.zoneId) && n.props.zoneId.$ref === 'zone/public'
        ? [{ key: n.key, name: n.props.name }]
        : [],
    );
    const domain = spec.spec.dns.publicDomain;
    const zone =
      domain && !publicZoneOwned ? { domain: domain.replace(/\.$/, '').toLowerCase() } : publicZoneId ? { id: publicZoneId } : undefined;
    return records.length && zone ? { records, zone } : undefined;
  },
  async run(ctx, { records, zone }, shared, report) {
    const zoneId = await recordZone(ctx, zone, shared);
    if (zoneId === undefined) return;
    const sets = await listRecordSets(ctx, zoneId);
    for (const n of records) {
      const who = recordHolder(ctx, sets, n.name);
      if (who)
        report(
          `the record ${n.name} (${n.key}) in the public zone ${zoneId} belongs to ${who}: kubeaz will not overwrite it; choose another publicRecord`,
        );
    }
  },
};

/** The users of these names that exist already, with their path and tags (GetUser, one call per name; NotFound is free). */
async function existingUsers(ctx: CheckContext, names: readonly string[]): Promise<Array<{ name: string; path: string; tags: Tags }>> {
  const iam = await ctx.aws.iam();
  const found = await Promise.all(
    names.map(async (name) => {
      try {
        const u = (await iam.send(new GetUserCommand({ UserName: name }))).User;
        return u ? [{ name, path: u.Path ?? '/', tags: fromTagList(u.Tags) }] : [];
      } catch (e) {
        if (isNotFound(e)) return [];
        throw e;
      }
    }),
  );
  return found.flat();
}

/** Who a user belongs to: the cluster its tags name, else the cluster its path (/kubeaz/<id>/) names, else someone else. */
function userHolder(u: { path: string; tags: Tags }): string {
  const t = u.tags;
  if (t[NAME_TAG] && t[ENV_TAG]) return `cluster ${t[NAME_TAG]}/${t[ENV_TAG]}${t[REGION_TAG] ? ` (in ${t[REGION_TAG]})` : ''}`;
  const path = /^\/kubeaz\/([^/]+)\/$/.exec(u.path);
  return path ? `cluster ${path[1]}` : 'someone other than kubeaz';
}

/** IAM users: the names are account-wide; one that exists and is not ours (it would be observed) is someone else's. */
export const iamUsers: PreflightCheck<{ names: string[] }> = {
  name: 'iam-user',
  calls: ['iam:GetUser'],
  input({ graph, creates }) {
    const names = graph.nodes.flatMap((n) => (n.kind === 'iam-user' && creates.has(n.key) ? [n.props.name] : []));
    return names.length ? { names } : undefined;
  },
  async run(ctx, { names }, _shared, report) {
    for (const u of await existingUsers(ctx, names))
      report(
        `the IAM user ${u.name} already exists (path ${u.path}) and belongs to ${userHolder(u)}: IAM user names are account-wide; choose another name in spec.iam.users`,
      );
  },
};
