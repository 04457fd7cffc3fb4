/**
 * Route 53's shapes and reads shared by the hosted-zone and dns-record kinds and by pre-flight:
 * zone ids and names as Route 53 writes them, every record set of a zone, the tags of zones. They
 * need only the clients (`{ aws }`, which every run context has), never the run's ownership proof
 * (the cluster's zones are found in resources/cluster-zones.ts).
 */
import {
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourcesCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { Tags } from '../model/types.js';
import type { AwsClients } from './clients.js';
import { fromTagList } from './tags.js';

/** What these helpers need of a run: its clients. */
export interface WithClients {
  aws: AwsClients;
}

export const bareZoneId = (id: string): string => id.replace(/^\/hostedzone\//, '');
export const zoneArn = (id: string): string => `arn:aws:route53:::hostedzone/${id}`;
/** Route53 answers fully-qualified names; we keep them without the final dot, lower case. */
export const dnsName = (name: string): string => name.replace(/\.$/, '').toLowerCase();

export const route53 = (ctx: WithClients): Promise<Route53Client> => ctx.aws.route53();

/** Every record set of a zone, all pages. */
export async function listRecordSets(ctx: WithClients, zoneId: string): Promise<ResourceRecordSet[]> {
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

/** Tags of owned zones, ten ids per call. */
export async function zoneTags(ctx: WithClients, ids: string[]): Promise<Map<string, Tags>> {
  const r53 = await route53(ctx);
  const out = new Map<string, Tags>();
  for (let i = 0; i < ids.length; i += 10) {
    const chunk = ids.slice(i, i + 10);
    const res = await r53.send(new ListTagsForResourcesCommand({ ResourceType: 'hostedzone', ResourceIds: chunk }));
    for (const set of res.ResourceTagSets ?? []) if (set.ResourceId) out.set(bareZoneId(set.ResourceId), fromTagList(set.Tags));
  }
  return out;
}

/** The name servers Route 53 gave a zone (its delegation set), without the final dot, sorted. */
export async function zoneNameServers(ctx: WithClients, zoneId: string): Promise<string[]> {
  const out = await (await route53(ctx)).send(new GetHostedZoneCommand({ Id: zoneId }));
  return (out.DelegationSet?.NameServers ?? []).map(dnsName).sort();
}

/** Whether the parent domain hands `domain` to its zone's name servers, as far as this account can see. */
export type Delegation =
  | { state: 'delegated'; parent: string; parentZoneId: string }
  | { state: 'not-delegated'; parent: string; parentZoneId: string; found: string[] }
  | { state: 'unknown'; parent: string; reason: string };

/**
 * The delegation of `domain` to `nameServers`, read from the parent domain's public zone when this
 * account holds it (ListHostedZonesByName, then its NS records at `domain`); otherwise unknown, and
 * why. A delegation elsewhere (a registrar, another account) cannot be read from here.
 */
export async function delegationOf(ctx: WithClients, domain: string, nameServers: readonly string[]): Promise<Delegation> {
  const name = dnsName(domain);
  const parent = name.split('.').slice(1).join('.');
  if (!parent.includes('.'))
    return {
      state: 'unknown',
      parent,
      reason: `the parent of ${name} is the top-level domain ${parent}: its delegation is set at the domain's registrar`,
    };
  const page = await (await route53(ctx)).send(new ListHostedZonesByNameCommand({ DNSName: `${parent}.`, MaxItems: 100 }));
  const zones = (page.HostedZones ?? []).filter((z) => dnsName(z.Name ?? '') === parent && !z.Config?.PrivateZone);
  if (!zones.length) return { state: 'unknown', parent, reason: `the parent zone ${parent} is not in this account` };
  const want = [...nameServers].map(dnsName).sort();
  let found: string[] = [];
  for (const z of zones) {
    const id = bareZoneId(z.Id!);
    const ns = (await listRecordSets(ctx, id)).filter((r) => r.Type === 'NS' && dnsName(r.Name ?? '') === name);
    found = ns.flatMap((r) => (r.ResourceRecords ?? []).map((v) => dnsName(v.Value ?? ''))).sort();
    if (found.length && found.length === want.length && found.every((v, i) => v === want[i]))
      return { state: 'delegated', parent, parentZoneId: id };
  }
  return { state: 'not-delegated', parent, parentZoneId: bareZoneId(zones[0]!.Id!), found };
}

/** One line saying what a delegation check found, and what to do about it. */
export function delegationText(domain: string, nameServers: readonly string[], d: Delegation): string {
  const ns = nameServers.join(', ');
  if (d.state === 'delegated')
    return `${domain} is delegated to its zone's name servers by the parent zone ${d.parent} (${d.parentZoneId})`;
  if (d.state === 'not-delegated')
    return (
      `${domain} is NOT delegated: the parent zone ${d.parent} (${d.parentZoneId}) ${d.found.length ? `names other name servers (${d.found.join(', ')})` : 'has no NS record for it'}; ` +
      `add an NS record ${domain} → ${ns} there, or its names never resolve`
    );
  return `could not check the delegation of ${domain} (${d.reason}): the parent domain must delegate ${domain} to ${ns}`;
}
