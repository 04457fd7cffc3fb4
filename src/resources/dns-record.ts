/**
 * Route53 A records. Record sets take no tags, so ownership follows external-dns' registry idea:
 * next to each A record a TXT record of the same name holds `"kubeaz:cluster=<id>,key=<key>"`.
 * Both are written in ONE change batch (atomic), so an A record of ours never lacks its marker.
 * An A record at the name without our marker is someone else's and is never overwritten.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type Change as R53Change,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { isInvalidChangeBatch, isNotFound, KubeazError } from '../aws/errors.js';
import { dnsName, listRecordSets, route53 } from '../aws/route53.js';
import { change } from './common.js';
import { claimsGlobal } from './cluster-record.js';
import { isOurs, markerValue, parseMarker } from '../model/record-marker.js';
import { clusterZones } from './cluster-zones.js';
import type { ActualOf, Change, ResolvedNode, ResourceHandler, RunContext } from './types.js';

/** TTL of the TXT marker, and of value records that name none. */
const DEFAULT_TTL = 300;

export interface RecordObserved {
  /** the A record set as Route53 returned it (absent if only the marker is left) */
  a?: ResourceRecordSet;
  /** the TXT record set holding our marker, as returned */
  txt: ResourceRecordSet;
  /** our marker, when it is not the current form (written before it named name/environment/region) */
  oldMarker?: string;
}

const ourMarker = (ctx: RunContext, key: string): string =>
  markerValue(ctx.clusterId, key, ctx.owner ? { ...ctx.owner, region: ctx.region } : undefined);

const isPlainA = (s: ResourceRecordSet): boolean => s.Type === 'A' && !s.SetIdentifier;

function markerKey(ctx: RunContext, txt: ResourceRecordSet | undefined): string | undefined {
  for (const r of txt?.ResourceRecords ?? []) if (isOurs(ctx, r.Value)) return parseMarker(ctx, r.Value)!.key;
  return undefined;
}

function actualOf(key: string, zoneId: string, name: string, observed: RecordObserved): ActualOf<RecordObserved> {
  const n = dnsName(name);
  return { key, kind: 'dns-record', id: `${zoneId}:${n}`, attrs: { zoneId, name: n }, tags: {}, observed };
}

/** The record sets of exactly one name (Route53 lists in name order: start there, stop past it). */
async function recordSetsAt(ctx: RunContext, zoneId: string, name: string): Promise<ResourceRecordSet[]> {
  const r53 = await route53(ctx);
  const want = dnsName(name);
  const out: ResourceRecordSet[] = [];
  let start: { StartRecordName: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {
    StartRecordName: name,
  };
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start, MaxItems: 100 }));
    const sets = page.ResourceRecordSets ?? [];
    out.push(...sets.filter((s) => dnsName(s.Name ?? '') === want));
    if (!page.IsTruncated || !page.NextRecordName || dnsName(page.NextRecordName) !== want) break;
    start = {
      StartRecordName: page.NextRecordName,
      ...(page.NextRecordType ? { StartRecordType: page.NextRecordType } : {}),
      ...(page.NextRecordIdentifier ? { StartRecordIdentifier: page.NextRecordIdentifier } : {}),
    };
  }
  return out;
}

function desiredA(node: ResolvedNode<'dns-record'>): ResourceRecordSet {
  const p = node.props;
  if (p.alias) {
    if (!p.alias.hostedZoneId)
      throw new KubeazError(
        `record ${p.name}: the hosted-zone id of the load balancer ${p.alias.dnsName} is unknown (AWS did not return CanonicalHostedZoneNameID and kubeaz has no table entry for this region); no alias was written`,
        'UnknownAliasZone',
        node.key,
      );
    return {
      Name: p.name,
      Type: 'A',
      AliasTarget: { DNSName: p.alias.dnsName, HostedZoneId: p.alias.hostedZoneId, EvaluateTargetHealth: true },
    };
  }
  if (!p.values?.length) throw new KubeazError(`record ${p.name} has neither an alias nor values`, 'InvalidInput', node.key);
  return { Name: p.name, Type: 'A', TTL: p.ttl ?? DEFAULT_TTL, ResourceRecords: p.values.map((Value) => ({ Value })) };
}

/** The TXT set with our marker, keeping any other owner's values at the same name. */
function desiredTxt(ctx: RunContext, node: ResolvedNode<'dns-record'>, existing: ResourceRecordSet | undefined): ResourceRecordSet {
  const ours = ourMarker(ctx, node.key);
  const foreign = (existing?.ResourceRecords ?? []).filter((r) => !isOurs(ctx, r.Value));
  return { Name: node.props.name, Type: 'TXT', TTL: existing?.TTL ?? DEFAULT_TTL, ResourceRecords: [...foreign, { Value: ours }] };
}

async function upsert(
  ctx: RunContext,
  node: ResolvedNode<'dns-record'>,
  txtBefore: ResourceRecordSet | undefined,
): Promise<ActualOf<RecordObserved>> {
  const a = desiredA(node);
  const txt = desiredTxt(ctx, node, txtBefore);
  await (
    await route53(ctx)
  ).send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: node.props.zoneId,
      ChangeBatch: {
        Comment: `kubeaz ${ctx.clusterId} ${node.key}`,
        Changes: [
          { Action: 'UPSERT', ResourceRecordSet: a },
          { Action: 'UPSERT', ResourceRecordSet: txt },
        ],
      },
    }),
  );
  return actualOf(node.key, node.props.zoneId, node.props.name, { a, txt });
}

const normName = (n: string | undefined): string => (n ?? '').replace(/\.$/, '').toLowerCase();

/** The DELETE (or, with other owners' TXT values left, UPSERT) changes that remove our two sets. */
function removal(ctx: RunContext, o: RecordObserved): R53Change[] {
  const rest = (o.txt.ResourceRecords ?? []).filter((r) => !isOurs(ctx, r.Value));
  return [
    ...(o.a ? [{ Action: 'DELETE' as const, ResourceRecordSet: o.a }] : []),
    rest.length
      ? { Action: 'UPSERT' as const, ResourceRecordSet: { ...o.txt, ResourceRecords: rest } }
      : { Action: 'DELETE' as const, ResourceRecordSet: o.txt },
  ];
}

const isGone = (e: unknown): boolean =>
  isNotFound(e) || (isInvalidChangeBatch(e) && /not found|does not exist/i.test((e as Error).message ?? ''));

export const dnsRecord: ResourceHandler<'dns-record', RecordObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      // the shared Route 53 helpers it imports (aws/route53.ts) also find zones by name and read one
      'route53:GetHostedZone',
      'route53:ListHostedZones',
      'route53:ListHostedZonesByName',
      'route53:ListResourceRecordSets',
      'route53:ListTagsForResources',
      's3:GetBucketLocation',
    ],
    create: ['route53:ChangeResourceRecordSets'],
    update: ['route53:ChangeResourceRecordSets'],
    delete: ['route53:ChangeResourceRecordSets'],
  },
  kind: 'dns-record',
  edges: { waitsFor: ['hosted-zone', 'load-balancer', 'network-load-balancer', 'elastic-ip'] },

  async observe(ctx) {
    const zones = await clusterZones(ctx);
    const perZone = await Promise.all(
      zones.map(async (z) => {
        let sets: ResourceRecordSet[];
        try {
          sets = await listRecordSets(ctx, z.id);
        } catch (e) {
          if (isNotFound(e)) return [];
          throw e;
        }
        const out: ActualOf<RecordObserved>[] = [];
        for (const txt of sets.filter((s) => s.Type === 'TXT' && !s.SetIdentifier)) {
          // Our id's marker, checked like any tag set: a copy of the spec in another region, or a
          // spec whose id coincides, sees the record as someone else's.
          const raw = (txt.ResourceRecords ?? []).map((r) => r.Value).find((v) => parseMarker(ctx, v));
          const found = parseMarker(ctx, raw);
          if (!found || !(await claimsGlobal(ctx, found.tags, `record ${dnsName(txt.Name ?? '')}`))) continue;
          const key = found.key;
          const a = sets.find((s) => isPlainA(s) && dnsName(s.Name ?? '') === dnsName(txt.Name ?? ''));
          out.push(
            actualOf(key, z.id, txt.Name ?? '', { ...(a ? { a } : {}), txt, ...(raw !== ourMarker(ctx, key) ? { oldMarker: raw! } : {}) }),
          );
        }
        return out;
      }),
    );
    return perZone.flat();
  },

  async create(ctx, node) {
    const at = await recordSetsAt(ctx, node.props.zoneId, node.props.name);
    const txt = at.find((s) => s.Type === 'TXT' && !s.SetIdentifier);
    const ours = markerKey(ctx, txt);
    if (ours !== undefined && ours !== node.key) {
      throw new KubeazError(`${node.props.name} already belongs to ${ours} of this cluster`, 'RecordConflict', node.key);
    }
    if (ours === undefined && at.some((s) => s.Type === 'A' || s.Type === 'CNAME')) {
      throw new KubeazError(
        `${node.props.name} already has a record that is not ours (no "kubeaz:cluster=${ctx.clusterId}" TXT marker next to it); remove it or choose another name`,
        'RecordNotOwned',
        node.key,
      );
    }
    return upsert(ctx, node, txt);
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    // A marker from before it carried name, environment and region: rewritten in place.
    if (o.oldMarker) out.push(change('marker', o.oldMarker, 'with name, environment and region', true));
    if (actual.attrs.zoneId !== p.zoneId) out.push(change('zoneId', actual.attrs.zoneId, p.zoneId, false));
    if (dnsName(actual.attrs.name ?? '') !== dnsName(p.name)) out.push(change('name', actual.attrs.name, p.name, false));
    if (!o.a) {
      out.push(change('record', undefined, p.alias ? { alias: p.alias.dnsName } : { values: p.values }, true));
      return out;
    }
    if (p.alias) {
      const t = o.a.AliasTarget;
      if (!t)
        out.push(
          change(
            'alias',
            o.a.ResourceRecords?.map((r) => r.Value),
            p.alias.dnsName,
            true,
          ),
        );
      else {
        if (normName(t.DNSName) !== normName(p.alias.dnsName)) out.push(change('alias.dnsName', t.DNSName, p.alias.dnsName, true));
        if (t.HostedZoneId !== p.alias.hostedZoneId) out.push(change('alias.hostedZoneId', t.HostedZoneId, p.alias.hostedZoneId, true));
      }
    } else {
      const have = (o.a.ResourceRecords ?? []).map((r) => r.Value ?? '').sort();
      const want = [...(p.values ?? [])].sort();
      if (o.a.AliasTarget || have.join(',') !== want.join(','))
        out.push(change('values', o.a.AliasTarget ? o.a.AliasTarget.DNSName : have, want, true));
      const ttl = p.ttl ?? DEFAULT_TTL;
      if (!o.a.AliasTarget && o.a.TTL !== ttl) out.push(change('ttl', o.a.TTL, ttl, true));
    }
    return out;
  },

  async update(ctx, node, actual) {
    return upsert(ctx, node, actual.observed.txt);
  },

  async delete(ctx, actual) {
    const zoneId = actual.attrs.zoneId!;
    const r53 = await route53(ctx);
    let o = actual.observed;
    for (let attempt = 0; ; attempt++) {
      try {
        await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: removal(ctx, o) } }));
        return;
      } catch (e) {
        if (!isGone(e) && !(isInvalidChangeBatch(e) && attempt === 0)) throw e;
        if (attempt > 0 || isNotFound(e)) return;
        // Something changed since observe: read the name again and remove what of ours is left.
        let at: ResourceRecordSet[];
        try {
          at = await recordSetsAt(ctx, zoneId, actual.attrs.name!);
        } catch (e2) {
          if (isNotFound(e2)) return;
          throw e2;
        }
        const txt = at.find((s) => s.Type === 'TXT' && !s.SetIdentifier);
        if (markerKey(ctx, txt) !== actual.key) return;
        const a = at.find(isPlainA);
        o = { ...(a ? { a } : {}), txt: txt! };
      }
    }
  },
};
