/**
 * The AWS Price List API (GetProducts, served from us-east-1): one unit price per PriceKey of the
 * model's cost (model/cost.ts), on-demand, USD. What it does not find is undefined; any error
 * (no credentials, no network, an endpoint that does not serve it) is thrown for the caller to
 * fall back on the bundled table with the reason.
 */
import type { Filter } from '@aws-sdk/client-pricing';
import type { AwsClients } from './clients.js';
import { describeAwsError, endpointOf } from './errors.js';
import { priceKeyId, type PriceKey } from '../model/cost.js';

/** The IAM actions `kubeaz cost` calls (the Price List API has no resource-level permissions). */
export const PRICING_CALLS: readonly string[] = ['pricing:GetProducts'];

/** One product of GetProducts' PriceList, as far as a price needs it. */
interface PriceListItem {
  product?: { attributes?: Record<string, string> };
  terms?: {
    OnDemand?: Record<string, { priceDimensions?: Record<string, { beginRange?: string; pricePerUnit?: { USD?: string } }> }>;
  };
}

/** What to ask for one key: the offer, the exact filters, and which of the products answered is the one. */
interface Query {
  serviceCode: string;
  filters: Record<string, string>;
  pick: (attributes: Record<string, string>) => boolean;
}

const usage = (suffix: string) => (a: Record<string, string>) => (a.usagetype ?? '').endsWith(suffix);

export function queryOf(region: string, k: PriceKey): Query {
  const inRegion = { regionCode: region, locationType: 'AWS Region' };
  switch (k.kind) {
    case 'instance':
      return {
        serviceCode: 'AmazonEC2',
        filters: {
          ...inRegion,
          instanceType: k.instanceType,
          operatingSystem: 'Linux',
          tenancy: k.tenancy === 'dedicated' ? 'Dedicated' : 'Shared',
          preInstalledSw: 'NA',
          capacitystatus: 'Used',
          licenseModel: 'No License required',
        },
        pick: () => true,
      };
    case 'nat-gateway':
      return { serviceCode: 'AmazonEC2', filters: { ...inRegion, productFamily: 'NAT Gateway' }, pick: usage('NatGateway-Hours') };
    case 'classic-lb':
      return { serviceCode: 'AWSELB', filters: { ...inRegion, productFamily: 'Load Balancer' }, pick: usage('LoadBalancerUsage') };
    case 'network-lb':
      return {
        serviceCode: 'AWSELB',
        filters: { ...inRegion, productFamily: 'Load Balancer-Network' },
        pick: (a) => usage('LoadBalancerUsage')(a) && !/Outposts|TS-/.test(a.usagetype ?? ''),
      };
    case 'public-ipv4':
      return { serviceCode: 'AmazonVPC', filters: { regionCode: region }, pick: usage('PublicIPv4:InUseAddress') };
    case 'ebs':
      return {
        serviceCode: 'AmazonEC2',
        filters: { ...inRegion, productFamily: 'Storage', volumeApiName: k.volumeType },
        pick: () => true,
      };
    case 'hosted-zone':
      return { serviceCode: 'AmazonRoute53', filters: {}, pick: (a) => a.usagetype === 'HostedZone' };
  }
}

/** The on-demand USD price of a product: its first tier's (a hosted zone's first 25 zones), never a free tier. */
export function onDemandPrice(item: PriceListItem): number | undefined {
  for (const term of Object.values(item.terms?.OnDemand ?? {}))
    for (const dim of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dim.pricePerUnit?.USD);
      if ((dim.beginRange ?? '0') === '0' && Number.isFinite(usd) && usd > 0) return usd;
    }
  return undefined;
}

/** At most this many pages per key: an offer filtered to a region holds a few dozen products. */
const MAX_PAGES = 10;

async function lookUp(aws: AwsClients, q: Query): Promise<number | undefined> {
  const { paginateGetProducts } = await import('@aws-sdk/client-pricing');
  const client = await aws.pricing();
  const Filters: Filter[] = Object.entries(q.filters).map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value }));
  let pages = 0;
  for await (const page of paginateGetProducts(
    { client },
    { ServiceCode: q.serviceCode, Filters, FormatVersion: 'aws_v1', MaxResults: 100 },
  )) {
    for (const text of page.PriceList ?? []) {
      const item = JSON.parse(text) as PriceListItem;
      if (!q.pick(item.product?.attributes ?? {})) continue;
      const price = onDemandPrice(item);
      if (price !== undefined) return price;
    }
    if (++pages >= MAX_PAGES) break;
  }
  return undefined;
}

/** The price of every key the Price List API has (keyed by priceKeyId); throws when the API cannot be asked. */
export async function priceListPrices(aws: AwsClients, region: string, keys: readonly PriceKey[]): Promise<Map<string, number>> {
  const unique = [...new Map(keys.map((k) => [priceKeyId(k), k])).values()];
  const prices = await Promise.all(unique.map(async (k) => [priceKeyId(k), await lookUp(aws, queryOf(region, k))] as const));
  return new Map(prices.filter((p): p is readonly [string, number] => p[1] !== undefined));
}

/**
 * Why the Price List API could not be asked, in one line. An endpoint that answers with something
 * else than the API's JSON (an emulator without it, a proxy's page) is said so, with its status.
 */
export function priceListFailure(err: unknown): string {
  const e = err as { message?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  if (/Deserialization error|is not valid JSON/.test(e?.message ?? ''))
    return `${endpointOf(err)} answered${status ? ` HTTP ${status}` : ''} with something other than the Price List API's JSON: it does not serve the API`;
  return describeAwsError(err).replace(/\s*\n\s*/g, ' ');
}
