/**
 * Route 53's shapes and reads shared by the hosted-zone and dns-record kinds and by pre-flight:
 * zone ids and names as Route 53 writes them, every record set of a zone, the tags of zones. They
 * need only the clients (`{ aws }`, which every run context has), never the run's ownership proof
 * (the cluster's zones are found in resources/cluster-zones.ts).
 */
import {
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
