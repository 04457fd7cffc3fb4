/**
 * Route53 hosted zones. Zones take no tags at creation, so the ownership proof is the zone's
 * Comment (`kubeaz:<clusterId> <key>`), set by CreateHostedZone itself; tags follow with
 * ChangeTagsForResource. A public zone may instead be ADOPTED (mode 'adopt-or-own'): an existing
 * zone of the domain that someone else made; it is used, never changed or deleted.
 */
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourceCommand,
  ListTagsForResourcesCommand,
  paginateListHostedZones,
  type Change as R53Change,
  type HostedZone,
  type ResourceRecordSet,
  type Route53Client,
  type Tag,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { errorCode, isAlreadyExists, isInvalidChangeBatch, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import type { Tags } from '../model/types.js';
import { change, claimsGlobal, drain, fromTagList, toTagList } from './common.js';
import type { Actual, ActualOf, Change, ResourceHandler, RunContext } from './types.js';

/** Route53's answer to a change batch that no longer matches the records (deleted meanwhile). */

interface Observed {
  domain: string;
  private: boolean;
  comment: string;
  adopted: boolean;
}

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

export const bareZoneId = (id: string): string => id.replace(/^\/hostedzone\//, '');
export const zoneArn = (id: string): string => `arn:aws:route53:::hostedzone/${id}`;
/** Route53 answers fully-qualified names; we keep them without the final dot, lower case. */
export const dnsName = (name: string): string => name.replace(/\.$/, '').toLowerCase();
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const route53 = (ctx: RunContext): Promise<Route53Client> => ctx.aws.route53();

/** Every hosted zone of the account: ONE paginated pass, shared for the observe pass (dns-record reuses it). */
export function listHostedZones(ctx: RunContext): Promise<HostedZone[]> {
  return ctx.memo('route53:ListHostedZones', async () => drain(paginateListHostedZones({ client: await route53(ctx) }, {}), (p) => p.HostedZones));
}

function ownedKey(ctx: RunContext, z: HostedZone): string | undefined {
  const m = new RegExp(`^kubeaz:${escapeRe(ctx.clusterId)} (zone\\/\\S+)$`).exec(z.Config?.Comment ?? '');
  return m?.[1];
}

const toClusterZone = (z: HostedZone, key: string, adopted: boolean, tags: Tags = {}): ClusterZone => ({
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
  const tags = commented.length ? await zoneTags(ctx, commented.map(({ z }) => bareZoneId(z.Id!))) : new Map<string, Tags>();
  const out: ClusterZone[] = [];
  for (const { z, key } of commented) {
    const t = tags.get(bareZoneId(z.Id!)) ?? {};
    if (await claimsGlobal(ctx, t, `hosted zone ${dnsName(z.Name ?? '')} (${bareZoneId(z.Id!)})`, false)) out.push(toClusterZone(z, key, false, t));
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

function actualOf(z: ClusterZone, tags: Tags): ActualOf<Observed> {
  return {
    key: z.key,
    kind: 'hosted-zone',
    id: z.id,
    attrs: { id: z.id, arn: zoneArn(z.id), name: z.name, ...(z.adopted ? { adopted: 'true' } : {}) },
    tags,
    observed: { domain: z.name, private: z.private, comment: z.comment, adopted: z.adopted } satisfies Observed,
  };
}

/** Tags of owned zones, ten ids per call. */
async function zoneTags(ctx: RunContext, ids: string[]): Promise<Map<string, Tags>> {
  const r53 = await route53(ctx);
  const out = new Map<string, Tags>();
  for (let i = 0; i < ids.length; i += 10) {
    const chunk = ids.slice(i, i + 10);
    const res = await r53.send(new ListTagsForResourcesCommand({ ResourceType: 'hostedzone', ResourceIds: chunk }));
    for (const set of res.ResourceTagSets ?? []) if (set.ResourceId) out.set(bareZoneId(set.ResourceId), fromTagList(set.Tags));
  }
  return out;
}

/** ChangeTagsForResource takes at most ten tags per call. */
async function tagZone(ctx: RunContext, id: string, tags: Tags): Promise<void> {
  const list: Tag[] = toTagList(tags);
  const r53 = await route53(ctx);
  for (let i = 0; i < list.length; i += 10) {
    await r53.send(new ChangeTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: id, AddTags: list.slice(i, i + 10) }));
  }
}

/** Every zone of a name, by ListHostedZonesByName (sorted by name: stop once past it). */
async function zonesNamed(ctx: RunContext, domain: string): Promise<HostedZone[]> {
  const r53 = await route53(ctx);
  const fqdn = `${dnsName(domain)}.`;
  const out: HostedZone[] = [];
  let next: { DNSName?: string; HostedZoneId?: string } = { DNSName: fqdn };
  for (;;) {
    const page = await r53.send(new ListHostedZonesByNameCommand({ ...next, MaxItems: 100 }));
    const zones = page.HostedZones ?? [];
    out.push(...zones.filter((z) => (z.Name ?? '').toLowerCase() === fqdn));
    const past = zones.some((z) => (z.Name ?? '').toLowerCase() !== fqdn);
    if (!page.IsTruncated || past || !page.NextDNSName) break;
    next = { DNSName: page.NextDNSName, ...(page.NextHostedZoneId ? { HostedZoneId: page.NextHostedZoneId } : {}) };
  }
  return out;
}

/** Every record set of a zone, all pages. */
export async function listRecordSets(ctx: RunContext, zoneId: string): Promise<ResourceRecordSet[]> {
  const r53 = await route53(ctx);
  const out: ResourceRecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    out.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated || !page.NextRecordName) break;
    start = {
      StartRecordName: page.NextRecordName,
      ...(page.NextRecordType ? { StartRecordType: page.NextRecordType } : {}),
      ...(page.NextRecordIdentifier ? { StartRecordIdentifier: page.NextRecordIdentifier } : {}),
    };
  }
  return out;
}

export { isInvalidChangeBatch };

export const hostedZone: ResourceHandler<'hosted-zone', Observed> = {
  kind: 'hosted-zone',
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    return (await clusterZones(ctx)).map((z) => actualOf(z, z.tags));
  },

  async create(ctx, node) {
    const p = node.props;
    if (p.mode === 'adopt-or-own') {
      const existing = (await zonesNamed(ctx, p.domain)).filter((z) => !z.Config?.PrivateZone);
      if (existing.length > 1) {
        throw new KubeazError(
          `the public zone ${p.domain} is ambiguous: ${existing.length} public hosted zones have that name (${existing.map((z) => bareZoneId(z.Id!)).join(', ')}); delete all but one`,
          'AmbiguousPublicZone',
          node.key,
        );
      }
      if (existing.length === 1) return actualOf(toClusterZone(existing[0]!, node.key, true), {});
    }
    if (p.private && (!p.vpcId || !p.vpcRegion)) throw new KubeazError(`private zone ${p.domain} needs a VPC and its region`, 'InvalidInput', node.key);
    const r53 = await route53(ctx);
    let zone: HostedZone | undefined;
    try {
      const out = await r53.send(
        new CreateHostedZoneCommand({
          Name: p.domain,
          CallerReference: `${p.callerReference}-${ctx.generation}`,
          HostedZoneConfig: { Comment: p.comment, PrivateZone: p.private },
          // moto records a zone as private only when both PrivateZone and VPC are sent; AWS infers it from VPC.
          ...(p.private ? { VPC: { VPCId: p.vpcId!, VPCRegion: p.vpcRegion as VPCRegion } } : {}),
        }),
      );
      zone = out.HostedZone;
    } catch (e) {
      // A lost answer, or the reference already used by our own earlier attempt: find the zone by its comment.
      if (!isLostResponse(e) && !isAlreadyExists(e)) throw e;
      const all = await drain(paginateListHostedZones({ client: r53 }, {}), (pg) => pg.HostedZones);
      zone = all.find((z) => z.Config?.Comment === p.comment && dnsName(z.Name ?? '') === dnsName(p.domain));
      if (!zone) throw e;
    }
    const id = bareZoneId(zone!.Id!);
    await tagZone(ctx, id, node.tags);
    return actualOf({ key: node.key, id, name: dnsName(p.domain), private: p.private, adopted: false, comment: p.comment, tags: node.tags }, node.tags);
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.domain !== dnsName(node.props.domain)) out.push(change('domain', o.domain, dnsName(node.props.domain), false));
    if (o.private !== node.props.private) out.push(change('private', o.private, node.props.private, false));
    // An adopted zone is someone else's: we neither tag nor change it.
    if (!o.adopted) out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, _node, actual, changes) {
    const t = changes.find((c) => c.field === 'tags');
    if (!t || actual.observed.adopted) return actual;
    await tagZone(ctx, actual.id, t.to as Tags);
    return { ...actual, tags: { ...actual.tags, ...(t.to as Tags) } };
  },

  async delete(ctx, actual) {
    // An adopted zone stays: only our records in it go, and dns-record removes those.
    if (actual.observed?.adopted || actual.attrs.adopted === 'true') return;
    const r53 = await route53(ctx);
    for (let attempt = 0; ; attempt++) {
      let sets: ResourceRecordSet[];
      try {
        sets = await listRecordSets(ctx, actual.id);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      const apex = `${actual.attrs.name ?? dnsName(sets.find((s) => s.Type === 'SOA')?.Name ?? '')}`;
      const doomed = sets.filter((s) => !(dnsName(s.Name ?? '') === dnsName(apex) && (s.Type === 'SOA' || s.Type === 'NS')));
      try {
        for (let i = 0; i < doomed.length; i += 100) {
          const changes: R53Change[] = doomed.slice(i, i + 100).map((s) => ({ Action: 'DELETE', ResourceRecordSet: s }));
          await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: actual.id, ChangeBatch: { Changes: changes } }));
        }
        break;
      } catch (e) {
        if (isNotFound(e)) return;
        // Someone changed a record meanwhile: read again (a few times), then give up to the engine's retry.
        if (isInvalidChangeBatch(e) && attempt < 3) continue;
        throw e;
      }
    }
    try {
      await r53.send(new DeleteHostedZoneCommand({ Id: actual.id }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};

/** For tests and tools: the tags of one zone. */
export async function tagsOfZone(ctx: RunContext, id: string): Promise<Tags> {
  const res = await (await route53(ctx)).send(new ListTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: id }));
  return fromTagList(res.ResourceTagSet?.Tags);
}
