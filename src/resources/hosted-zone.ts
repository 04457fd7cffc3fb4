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
  ListTagsForResourceCommand,
  paginateListHostedZones,
  type Change as R53Change,
  type HostedZone,
  type ResourceRecordSet,
  type Tag,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { isAlreadyExists, isInvalidChangeBatch, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { bareZoneId, dnsName, listRecordSets, route53, zoneArn } from '../aws/route53.js';
import { tagDiff } from '../aws/tags.js';
import type { Tags } from '../model/types.js';
import { clusterZones, toClusterZone, type ClusterZone } from './cluster-zones.js';
import { change, drain, fromTagList, toTagList } from './common.js';
import type { ActualOf, Change, ResourceHandler, RunContext } from './types.js';

interface Observed {
  domain: string;
  private: boolean;
  comment: string;
  adopted: boolean;
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

export const hostedZone: ResourceHandler<'hosted-zone', Observed> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      // a public zone's name servers (create prints them for the delegation; status checks it)
      'route53:GetHostedZone',
      'route53:ListHostedZones',
      'route53:ListHostedZonesByName',
      'route53:ListResourceRecordSets',
      'route53:ListTagsForResource',
      'route53:ListTagsForResources',
      's3:GetBucketLocation',
    ],
    create: ['route53:ChangeResourceRecordSets', 'route53:CreateHostedZone'],
    update: ['route53:ChangeTagsForResource'],
    delete: ['route53:DeleteHostedZone'],
  },
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
    if (p.private && (!p.vpcId || !p.vpcRegion))
      throw new KubeazError(`private zone ${p.domain} needs a VPC and its region`, 'InvalidInput', node.key);
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
    return actualOf(
      { key: node.key, id, name: dnsName(p.domain), private: p.private, adopted: false, comment: p.comment, tags: node.tags },
      node.tags,
    );
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
