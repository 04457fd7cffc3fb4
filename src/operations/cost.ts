/**
 * cost's operation: the spec's monthly estimate, priced by the AWS Price List API when it answers,
 * otherwise by the bundled table — and the result says which, and why. The only AWS calls are
 * Price List reads (no account, no cluster is touched); plan and create use bundledEstimate (no call).
 */
import { AwsClients } from '../aws/clients.js';
import { priceListFailure, priceListPrices } from '../aws/pricing.js';
import { bundledPrice, costUsage, estimateCost, priceKeyId, type CostEstimate, type PriceKey, type UnitPrice } from '../model/cost.js';
import { BUNDLED_PRICES, PRICE_SOURCES } from '../model/prices/bundled.js';
import { clusterIdOf } from '../spec/schema.js';
import { loadCheckedSpec } from './spec.js';

export interface CostResult {
  file: string;
  cluster: string;
  estimate: CostEstimate;
  prices: {
    /** where the prices came from, in words */
    source: string;
    /** the prices' date: today's for the API, the table's otherwise */
    date: string;
    /** the Price List API was not asked successfully: why */
    fallbackReason?: string;
    /** the bundled table's references (when any price came from it) */
    references?: string[];
  };
  aws: AwsClients;
}

const BUNDLED_SOURCE = `bundled table of ${BUNDLED_PRICES.date} (src/model/prices/bundled.ts)`;

/** The estimate of the spec in `file`; `profile` picks the credentials for the Price List API. */
export async function estimateSpecCost(file: string, opts: { profile?: string; now?: Date } = {}): Promise<CostResult> {
  const { spec, file: resolved } = await loadCheckedSpec(file);
  const region = spec.spec.region;
  const usage = costUsage(spec);
  const aws = new AwsClients({ region, ...(opts.profile ? { profile: opts.profile } : {}) });
  let fromApi: Map<string, number> | undefined;
  let fallbackReason: string | undefined;
  try {
    fromApi = await priceListPrices(
      aws,
      region,
      usage.map((u) => u.price),
    );
    if (!fromApi.size) fallbackReason = `the Price List API answered but listed none of these prices in ${region}`;
  } catch (e) {
    fallbackReason = `Price List API not reachable: ${priceListFailure(e)}`;
  }
  const priceOf = (k: PriceKey): UnitPrice | undefined => {
    const api = fromApi?.get(priceKeyId(k));
    return api !== undefined ? { price: api, source: 'api' } : bundledPrice(region, k);
  };
  const estimate = estimateCost(region, usage, priceOf);
  const usedBundled = estimate.components.some((c) => c.source === 'bundled');
  const usedApi = estimate.components.some((c) => c.source === 'api');
  const today = (opts.now ?? new Date()).toISOString().slice(0, 10);
  const source = usedApi
    ? `AWS Price List API (GetProducts, us-east-1)${usedBundled ? `; the ${BUNDLED_SOURCE} for what it did not list` : ''}`
    : BUNDLED_SOURCE;
  return {
    file: resolved,
    cluster: clusterIdOf(spec),
    estimate,
    prices: {
      source,
      date: usedApi ? today : BUNDLED_PRICES.date,
      ...(fallbackReason ? { fallbackReason } : {}),
      ...(usedBundled
        ? { references: (BUNDLED_PRICES.regions[region]?.sources ?? ['ipv4', 'route53']).map((id) => PRICE_SOURCES[id]) }
        : {}),
    },
    aws,
  };
}
