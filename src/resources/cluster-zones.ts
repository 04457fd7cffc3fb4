/**
 * The hosted zones the cluster uses, read once per observe pass (ctx.memo): the hosted-zone kind
 * observes them, and dns-record looks for its records in them. A shared read, not a kind: the
 * ownership proof (the comment, then claimsGlobal on the tags) needs the run, so it lives here
 * rather than in aws/route53.ts.
 */
import { paginateListHostedZones, type HostedZone } from '@aws-sdk/client-route-53';
import { bareZoneId, dnsName, route53, zoneTags } from '../aws/route53.js';
import type { Tags } from '../model/types.js';
import { drain } from './common.js';
import { claimsGlobal } from './cluster-record.js';
import type { RunContext } from './types.js';

/** A zone the cluster uses: owned (found by its comment) or adopted (the domain's single public zone). */
export interface ClusterZone {
  key: string;
  /** without the '/hostedzone/' prefix */
  id: string;
  /** without the trailing dot */
  name: string;
  private: boolean;
  adopted: boolean;
  comment: string;
  /** an owned zone's tags (an adopted one's are not ours to read) */
  tags: Tags;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every hosted zone of the account: ONE paginated pass, shared for the observe pass (dns-record reuses it). */
export function listHostedZones(ctx: RunContext): Promise<HostedZone[]> {
  return ctx.memo('route53:ListHostedZones', async () =>
    drain(paginateListHostedZones({ client: await route53(ctx) }, {}), (p) => p.HostedZones),
  );
}

function ownedKey(ctx: RunContext, z: HostedZone): string | undefined {
  const m = new RegExp(`^kubeaz:${escapeRe(ctx.clusterId)} (zone\\/\\S+)$`).exec(z.Config?.Comment ?? '');
  return m?.[1];
}

export const toClusterZone = (z: HostedZone, key: string, adopted: boolean, tags: Tags = {}): ClusterZone => ({
  key,
  id: bareZoneId(z.Id!),
  name: dnsName(z.Name ?? ''),
  private: z.Config?.PrivateZone ?? false,
  adopted,
  comment: z.Config?.Comment ?? '',
  tags,
});

/**
 * The zones of this cluster: those it owns (by comment) plus, when the spec names a public domain
 * that no owned zone covers, that domain's single existing public zone (adopted, key 'zone/public').
 * Several public zones of one domain are ambiguous: none is adopted here, create() says why.
 */
export function clusterZones(ctx: RunContext): Promise<ClusterZone[]> {
  return ctx.memo('route53:clusterZones', () => findClusterZones(ctx));
}

async function findClusterZones(ctx: RunContext): Promise<ClusterZone[]> {
  const all = await listHostedZones(ctx);
  const commented = all.flatMap((z) => {
    const key = ownedKey(ctx, z);
    return key ? [{ z, key }] : [];
  });
  // The comment names the cluster id; the tags (name, environment, region) must not say another
  // cluster's: Route 53 is global, and two specs' ids may coincide.
  const tags = commented.length
    ? await zoneTags(
        ctx,
        commented.map(({ z }) => bareZoneId(z.Id!)),
      )
    : new Map<string, Tags>();
  const out: ClusterZone[] = [];
  for (const { z, key } of commented) {
    const t = tags.get(bareZoneId(z.Id!)) ?? {};
    if (await claimsGlobal(ctx, t, `hosted zone ${dnsName(z.Name ?? '')} (${bareZoneId(z.Id!)})`, false))
      out.push(toClusterZone(z, key, false, t));
  }
  const covered = new Set(out.map((z) => z.name));
  const ownsPublic = out.some((z) => z.key === 'zone/public');
  if (!ownsPublic) {
    const domain = ctx.publicDomain ? dnsName(ctx.publicDomain) : undefined;
    if (domain && !covered.has(domain)) {
      const candidates = all.filter((z) => dnsName(z.Name ?? '') === domain && !z.Config?.PrivateZone);
      if (candidates.length === 1) out.push(toClusterZone(candidates[0]!, 'zone/public', true));
    }
  }
  return out;
}
