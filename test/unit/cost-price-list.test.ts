/**
 * cost when the Price List API answers (moto has no such API, so the end-to-end test sees only the
 * fallback): a stubbed GetProducts answers with the shape AWS documents; its prices win, what it
 * does not list comes from the bundled table, and the result says both.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetProductsCommand, PricingClient, type GetProductsCommandInput } from '@aws-sdk/client-pricing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import { estimateSpecCost } from '../../src/operations/cost.js';
import { BUNDLED_PRICES } from '../../src/model/prices/bundled.js';

const EXAMPLE = join(fileURLToPath(new URL('../../', import.meta.url)), 'cluster.example.yaml');

/** One product of PriceList as the API returns it: a JSON string. */
const product = (usagetype: string, usd: string) =>
  JSON.stringify({
    product: { attributes: { usagetype } },
    terms: {
      OnDemand: { 'X.JRTCKXETXF': { priceDimensions: { 'X.JRTCKXETXF.6YS6EN2CT7': { beginRange: '0', pricePerUnit: { USD: usd } } } } },
    },
  });

/** What the stub lists: an instance type's price, the NAT gateway's among other EC2 products; nothing for Route 53. */
function answer(input: GetProductsCommandInput): string[] {
  const f = Object.fromEntries((input.Filters ?? []).map((x) => [x.Field, x.Value]));
  if (input.ServiceCode === 'AmazonEC2' && f.instanceType === 'm5.large') return [product('BoxUsage:m5.large', '0.1000000000')];
  if (input.ServiceCode === 'AmazonEC2' && f.instanceType === 'c5.large') return [product('BoxUsage:c5.large', '0.0900000000')];
  if (input.ServiceCode === 'AmazonEC2' && f.productFamily === 'NAT Gateway')
    return [product('NatGateway-Bytes', '0.0450000000'), product('NatGateway-Hours', '0.0500000000')];
  if (input.ServiceCode === 'AmazonEC2' && f.volumeApiName === 'gp3') return [product('EBS:VolumeUsage.gp3', '0.0800000000')];
  if (input.ServiceCode === 'AWSELB') return [product('LoadBalancerUsage', '0.0250000000')];
  if (input.ServiceCode === 'AmazonVPC')
    return [product('PublicIPv4:IdleAddress', '0.0050000000'), product('PublicIPv4:InUseAddress', '0.0050000000')];
  return [];
}

describe('cost with the Price List API answering', () => {
  let asked: GetProductsCommandInput[];
  const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'] as const;
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  beforeEach(() => {
    asked = [];
    // credentials for the signer; the stub answers before any request is sent
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    delete process.env.AWS_PROFILE;
    sdkMock(PricingClient)
      .on(GetProductsCommand)
      .callsFake((input: GetProductsCommandInput) => {
        asked.push(input);
        return { PriceList: answer(input), FormatVersion: 'aws_v1' };
      });
  });
  afterEach(() => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("takes the API's prices, and the bundled table's for what it does not list, saying so", async () => {
    const r = await estimateSpecCost(EXAMPLE, { now: new Date('2026-12-06T03:00:00Z') });
    const c = Object.fromEntries(r.estimate.components.map((x) => [x.name, x]));
    expect(c['instances: workers (m5.large)']).toMatchObject({ unitPrice: 0.1, monthly: 219, source: 'api' });
    expect(c['instances: edge (c5.large)']).toMatchObject({ unitPrice: 0.09, source: 'api' });
    // the hourly product of the NAT gateway, not its per-GB one
    expect(c['NAT gateways']).toMatchObject({ unitPrice: 0.05, monthly: 109.5, source: 'api' });
    expect(c['public IPv4 addresses']).toMatchObject({ unitPrice: 0.005, source: 'api' });
    expect(c['Route 53 hosted zones']).toMatchObject({ unitPrice: BUNDLED_PRICES.hostedZoneMonthly, source: 'bundled' });
    expect(r.prices.source).toBe(
      `AWS Price List API (GetProducts, us-east-1); the bundled table of ${BUNDLED_PRICES.date} (src/model/prices/bundled.ts) for what it did not list`,
    );
    expect(r.prices.date).toBe('2026-12-06');
    expect(r.prices.fallbackReason).toBeUndefined();
    // one query per distinct price: m5.large once for the masters and the workers
    expect(asked.filter((q) => q.ServiceCode === 'AmazonEC2' && q.Filters?.some((f) => f.Value === 'm5.large'))).toHaveLength(1);
  });
});
