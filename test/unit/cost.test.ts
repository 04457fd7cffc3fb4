/**
 * The monthly estimate, pure: the spec's components (counted as the model builds them, each group at
 * its desired capacity) × unit prices. Tables of specs: the example, spot, NAT single/none/per-zone,
 * NLB, public groups, no public API, an unknown type and region; the counts checked against the
 * desired graph itself; the Price List answer's parsing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundledEstimate, bundledPrice, costUsage, estimateCost, spotSplit, type CostEstimate } from '../../src/model/cost.js';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { BUNDLED_PRICES, PRICE_SOURCES } from '../../src/model/prices/bundled.js';
import { onDemandPrice, priceListFailure, queryOf } from '../../src/aws/pricing.js';
import { costLine, renderCost } from '../../src/commands/cost-view.js';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-06-01T00:00:00Z');
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'); // no publicDomain
const parse = (text: string): ClusterSpec => parseSpec(text, 'c.yaml', NOW).spec;
/** The example spec with its YAML edited (`from` must occur once). */
function variant(...edits: Array<[string, string]>): ClusterSpec {
  let text = example;
  for (const [from, to] of edits) {
    const i = text.indexOf(from);
    if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`test bug: ${from}`);
    text = text.slice(0, i) + to + text.slice(i + from.length);
  }
  return parse(text);
}
const byName = (e: CostEstimate) => Object.fromEntries(e.components.map((c) => [c.name, c]));
const summary = (e: CostEstimate) => e.components.map((c) => [c.name, c.count, c.unitPrice, c.monthly]);

describe('the example spec in us-east-1', () => {
  const e = bundledEstimate(parse(example));

  it('prices every component from the bundled table, 730 hours a month', () => {
    expect(summary(e)).toEqual([
      ['instances: master (m5.large)', 1, 0.096, 70.08],
      ['instances: workers (m5.large)', 3, 0.096, 210.24],
      ['instances: edge (c5.large)', 2, 0.085, 124.1],
      ['NAT gateways', 3, 0.045, 98.55],
      ['classic load balancers (API)', 2, 0.025, 36.5],
      ['public IPv4 addresses', 8, 0.005, 29.2],
      ['EBS gp3 root volumes', 300, 0.08, 24],
      ['Route 53 hosted zones', 1, 0.5, 0.5], // the private zone: the example names no publicDomain
    ]);
    expect(e.total).toBe(593.17);
    expect(e.currency).toBe('USD');
    expect(e.unknown).toEqual([]);
    expect(e.range).toBeUndefined();
    expect(e.components.every((c) => c.source === 'bundled')).toBe(true);
  });

  it('counts each public IPv4 address once: NAT elastic IPs, the pool of edge (not its instances again), the API load balancer per zone', () => {
    expect(byName(e)['public IPv4 addresses']!.note).toBe(
      '3 NAT gateway elastic IPs, 2 elastic IPs of edge, 3 of the internet-facing API load balancer (one per zone)',
    );
  });

  it('says what it leaves out, in the text and the one line', () => {
    const text = renderCost(e, { source: 'bundled table', date: BUNDLED_PRICES.date }, 'demo-dev');
    expect(text).toMatch(/^total: \$593\.17\/month$/m);
    expect(text).toMatch(/not included: data transfer .*request charges/);
    const line = costLine(e, BUNDLED_PRICES.date, 'cluster.yaml');
    expect(line).toBe(
      'estimated cost: $593.17/month in us-east-1 for 6 instances, 3 NAT gateways, 2 classic load balancers, 8 public IPv4 addresses, ' +
        `300 GB gp3, 1 hosted zone (bundled prices of ${BUNDLED_PRICES.date}; data transfer and requests not included; kubeaz cost -f cluster.yaml for the breakdown)`,
    );
    expect(line).not.toContain('\n');
  });

  it('with its commented publicDomain on: the public zone too, one more hosted zone and nothing else', () => {
    const d = bundledEstimate(parse(withPublicDomain(example)));
    expect(byName(d)['Route 53 hosted zones']).toMatchObject({ count: 2, unitPrice: 0.5, monthly: 1 });
    expect(byName(d)['Route 53 hosted zones']!.note).toBe(
      'private dev.kube, public example.com (adopted if it exists: then it is billed already)',
    );
    expect(d.components.filter((c) => c.name !== 'Route 53 hosted zones')).toEqual(
      e.components.filter((c) => c.name !== 'Route 53 hosted zones'),
    );
    expect(d.total).toBe(593.67);
  });
});

describe('variants of the spec', () => {
  it('spot: the on-demand base and share at on-demand, the rest as a range from 10% to 100% of on-demand', () => {
    const e = bundledEstimate(
      variant([
        '      minSize: 3\n      maxSize: 6\n',
        '      minSize: 3\n      maxSize: 6\n      desiredCapacity: 5\n      spot: { onDemandBase: 1, onDemandPercentage: 25 }\n',
      ]),
    );
    const c = byName(e);
    // 5 wanted: 1 base, 25% of the other 4 is 1 on-demand, 3 spot
    expect(c['instances: workers on-demand (m5.large)']).toMatchObject({ count: 2, monthly: 140.16 });
    expect(c['instances: workers spot (m5.large)']).toMatchObject({
      count: 3,
      unitPrice: 0.096,
      monthly: 210.24,
      spot: { low: 21.02, high: 210.24 },
    });
    // the example's 593.17 with 2 more workers (2 × 70.08) and their volumes (100 GB × 0.08)
    expect(e.total).toBe(741.33);
    expect(e.range).toEqual({ low: 552.11, high: 741.33 }); // the 3 spot workers at 10%: 21.02 instead of 210.24
    expect(renderCost(e, { source: 's', date: 'd' }, 'x')).toMatch(/spot instances at 10–100% of on-demand: \$\d+\.\d\d–\$\d+\.\d\d/);
  });

  it.each([
    [10, 0, 0, { onDemand: 0, spot: 10 }],
    [10, 2, 0, { onDemand: 2, spot: 8 }],
    [10, 2, 50, { onDemand: 6, spot: 4 }],
    [3, 1, 50, { onDemand: 2, spot: 1 }], // 50% of 2 above the base: 1
    [3, 0, 50, { onDemand: 2, spot: 1 }], // 1.5 rounds up: the dearer side
    [2, 5, 0, { onDemand: 2, spot: 0 }], // the base above desired: all on-demand
    [4, 0, 100, { onDemand: 4, spot: 0 }],
  ])('spotSplit(%i desired, base %i, %i%%)', (desired, base, pct, want) => {
    expect(spotSplit(desired, base, pct)).toEqual(want);
  });

  it.each([
    ['perZone', 3, 3],
    ['single', 1, 1],
  ] as const)('nat: %s → %i gateways and %i NAT elastic IPs', (nat, gateways, eips) => {
    const c = byName(bundledEstimate(variant(['nat: perZone', `nat: ${nat}`])));
    expect(c['NAT gateways']).toMatchObject({ count: gateways, monthly: Math.round(gateways * 0.045 * 730 * 100) / 100 });
    expect(c['public IPv4 addresses']!.note).toMatch(new RegExp(`^${eips} NAT gateway elastic IPs?,`));
  });

  it('nat: none: no NAT gateway, and every instance in a public subnet has an address (the pool group its elastic IPs)', () => {
    const c = byName(bundledEstimate(variant(['nat: perZone', 'nat: none'])));
    expect(c['NAT gateways']).toBeUndefined();
    expect(c['public IPv4 addresses']).toMatchObject({ count: 2 + 1 + 3 + 3 });
    expect(c['public IPv4 addresses']!.note).toBe(
      '2 elastic IPs of edge, 1 on masters in public subnets, 3 on workers instances in public subnets, 3 of the internet-facing API load balancer (one per zone)',
    );
  });

  it('a node group in public subnets: its instances have addresses', () => {
    const c = byName(
      bundledEstimate(variant(['      labels: { tier: general }', '      subnets: public\n      labels: { tier: general }'])),
    );
    expect(c['public IPv4 addresses']).toMatchObject({ count: 8 + 3 });
  });

  it('network load balancers: the NLB hourly price', () => {
    const c = byName(bundledEstimate(variant(['    volumeSize: 50\n', '    volumeSize: 50\n    loadBalancer: network\n'])));
    expect(c['network load balancers (API)']).toMatchObject({ count: 2, unitPrice: 0.0225, monthly: 32.85 });
    expect(c['classic load balancers (API)']).toBeUndefined();
  });

  it('no public API: one internal load balancer, no addresses of its own', () => {
    const c = byName(bundledEstimate(variant(['apiAccess: [0.0.0.0/0]', 'apiAccess: []'])));
    expect(c['classic load balancers (API)']).toMatchObject({ count: 1, note: 'internal only (apiAccess is empty)' });
    expect(c['public IPv4 addresses']).toMatchObject({ count: 5 });
  });

  it('three masters, bigger volumes, no public domain: volumes by their sizes, one hosted zone', () => {
    const e = bundledEstimate(
      variant(
        ['    volumeSize: 50\n', '    volumeSize: 80\n    count: 3\n'],
        ['      maxSize: 6\n', '      maxSize: 6\n      volumeSize: 100\n'],
        ['internalDomain: dev.kube', 'internalDomain: dev.internal'],
      ),
    );
    const c = byName(e);
    expect(c['instances: master (m5.large)']).toMatchObject({ count: 3 });
    expect(c['EBS gp3 root volumes']).toMatchObject({ count: 3 * 80 + 3 * 100 + 2 * 50, monthly: 51.2 });
    expect(c['Route 53 hosted zones']).toMatchObject({ count: 1, monthly: 0.5 });
  });
});

describe('what has no price is named, not guessed', () => {
  it('an instance type the table does not hold: unknown, out of the total, named', () => {
    const e = bundledEstimate(variant(['instanceType: c5.large', 'instanceType: c5d.large']));
    const c = byName(e)['instances: edge (c5d.large)']!;
    expect(c).toMatchObject({ unitPrice: null, monthly: null, unknown: 'no price for instance type c5d.large in us-east-1' });
    expect(e.total).toBe(Math.round((593.17 - 124.1) * 100) / 100);
    expect(e.unknown).toEqual(['instances: edge (c5d.large): no price for instance type c5d.large in us-east-1']);
    expect(renderCost(e, { source: 's', date: 'd' }, 'x')).toMatch(/without 1 component of unknown price/);
    expect(costLine(e, 'd', 'f')).toMatch(/; unknown price: edge \(c5d\.large\) \(/);
  });

  it('a region the table does not hold: every regional price unknown and the region named; addresses and zones still priced', () => {
    const spec = variant([
      'us-east-1\n  zones: [us-east-1a, us-east-1b, us-east-1c]',
      'ap-south-1\n  zones: [ap-south-1a, ap-south-1b, ap-south-1c]',
    ]);
    const e = bundledEstimate(spec);
    const c = byName(e);
    expect(c['NAT gateways']!.unknown).toBe(
      `no price for nat gateway: region ap-south-1 is not in the bundled table (${Object.keys(BUNDLED_PRICES.regions).join(', ')})`,
    );
    expect(c['instances: master (m5.large)']!.monthly).toBeNull();
    expect(c['public IPv4 addresses']!.monthly).toBe(29.2);
    expect(e.total).toBe(29.7); // the addresses and one hosted zone (the example names no publicDomain)
    expect(e.unknown).toHaveLength(6);
  });

  it('dedicated tenancy: the shared-tenancy table does not price it', () => {
    const e = bundledEstimate(variant(['vpcCidr: 10.0.0.0/16', 'vpcCidr: 10.0.0.0/16\n    tenancy: dedicated']));
    expect(byName(e)['instances: master (m5.large)']!.unknown).toMatch(/dedicated tenancy/);
  });

  it('a price known to the caller (the Price List API) wins; the table stands in for the rest', () => {
    const spec = parse(example);
    const e = estimateCost('us-east-1', costUsage(spec), (k) =>
      k.kind === 'nat-gateway' ? { price: 0.05, source: 'api' } : bundledPrice('us-east-1', k),
    );
    expect(byName(e)['NAT gateways']).toMatchObject({ unitPrice: 0.05, source: 'api', monthly: 109.5 });
  });
});

describe('the counts are the graph’s', () => {
  const facts: Facts = {
    accountId: '123456789012',
    images: { x86_64: 'ami-0123456789abcdef0' },
    templates: Object.fromEntries([...TEMPLATE_NAMES].map((n) => [n, `# ${n}\n`])),
  };
  it.each([
    ['the example', parse(example)],
    [
      'nat single, NLB, public workers, 3 masters',
      variant(
        ['nat: perZone', 'nat: single'],
        ['    volumeSize: 50\n', '    volumeSize: 50\n    loadBalancer: network\n    count: 3\n'],
        ['      labels: { tier: general }', '      subnets: public\n      labels: { tier: general }'],
      ),
    ],
    ['nat none, private API', variant(['nat: perZone', 'nat: none'], ['apiAccess: [0.0.0.0/0]', 'apiAccess: []'])],
  ])('%s', (_, spec) => {
    const g = deriveGraph(spec, facts);
    const nodes = (kind: string) => g.nodes.filter((n) => n.kind === kind);
    const props = (n: { props: unknown }) => n.props as Record<string, unknown>;
    const c = Object.fromEntries(costUsage(spec).map((u) => [u.name.replace(/ \(API\)$/, ''), u]));
    const asgs = nodes('auto-scaling-group');
    expect(
      costUsage(spec)
        .filter((u) => u.name.startsWith('instances:'))
        .reduce((n, u) => n + u.count, 0),
    ).toBe(asgs.reduce((n, a) => n + (props(a).desiredCapacity as number), 0));
    expect(c['NAT gateways']?.count ?? 0).toBe(nodes('nat-gateway').length);
    expect((c['classic load balancers'] ?? c['network load balancers'])!.count).toBe(
      nodes('load-balancer').length + nodes('network-load-balancer').length,
    );
    expect(c['Route 53 hosted zones']!.count).toBe(nodes('hosted-zone').length);
    const lt = (key: string) => props(nodes('launch-template').find((n) => n.key === key.replace(/^asg\//, 'lt/'))!);
    expect(c['EBS gp3 root volumes']!.count).toBe(
      asgs.reduce((n, a) => n + (props(a).desiredCapacity as number) * (lt(a.key).volumeSize as number), 0),
    );
    // every elastic IP is an address; so is every instance of a group whose template asks for one and claims no elastic IP
    const pooled = new Set(spec.spec.nodeGroups.filter((x) => x.elasticIps > 0).map((x) => `asg/${x.name}`));
    const automatic = asgs
      .filter((a) => lt(a.key).associatePublicIp && !pooled.has(a.key))
      .reduce((n, a) => n + (props(a).desiredCapacity as number), 0);
    const lbZones =
      nodes('load-balancer')
        .concat(nodes('network-load-balancer'))
        .filter((n) => props(n).scheme === 'internet-facing').length * spec.spec.zones.length;
    expect(c['public IPv4 addresses']?.count ?? 0).toBe(nodes('elastic-ip').length + automatic + lbZones);
  });
});

describe('the bundled table', () => {
  it('covers the regions and instance types the docs and the example spec name, and says where each figure comes from', () => {
    for (const region of ['us-east-1', 'us-west-2', 'eu-west-1']) {
      const r = BUNDLED_PRICES.regions[region]!;
      for (const t of ['m5.large', 'c5.large', 't3.medium', 'm6i.large', 'm6a.large', 'm5.xlarge'])
        expect(r.instanceHourly[t], `${t} in ${region}`).toBeGreaterThan(0);
      expect(r.natGatewayHourly).toBeGreaterThan(0);
      expect(r.ebsGbMonth.gp3).toBeGreaterThan(0);
      for (const s of r.sources) expect(PRICE_SOURCES[s]).toMatch(/^https:\/\//);
    }
    expect(BUNDLED_PRICES.date).toMatch(/^\d{4}-\d\d-\d\d$/);
  });
});

describe('the Price List API answer', () => {
  const item = (usagetype: string, dims: Array<{ beginRange?: string; usd: string }>) => ({
    product: { attributes: { usagetype } },
    terms: {
      OnDemand: {
        'SKU.JRTCKXETXF': {
          priceDimensions: Object.fromEntries(
            dims.map((d, i) => [`d${i}`, { ...(d.beginRange ? { beginRange: d.beginRange } : {}), pricePerUnit: { USD: d.usd } }]),
          ),
        },
      },
    },
  });
  it('takes the first tier, never a free one', () => {
    expect(
      onDemandPrice(
        item('HostedZone', [
          { beginRange: '25', usd: '0.1000000000' },
          { beginRange: '0', usd: '0.5000000000' },
        ]),
      ),
    ).toBe(0.5);
    expect(onDemandPrice(item('USE1-NatGateway-Hours', [{ usd: '0.0450000000' }]))).toBe(0.045);
    expect(onDemandPrice(item('x', [{ beginRange: '0', usd: '0.0000000000' }]))).toBeUndefined();
    expect(onDemandPrice({})).toBeUndefined();
  });
  it('asks exactly for the on-demand Linux shared-tenancy price of a type in the region, and picks the right product of an offer', () => {
    const q = queryOf('eu-west-1', { kind: 'instance', instanceType: 'm5.large', tenancy: 'default' });
    expect(q).toMatchObject({
      serviceCode: 'AmazonEC2',
      filters: {
        regionCode: 'eu-west-1',
        instanceType: 'm5.large',
        operatingSystem: 'Linux',
        tenancy: 'Shared',
        preInstalledSw: 'NA',
        capacitystatus: 'Used',
      },
    });
    const ip = queryOf('eu-west-1', { kind: 'public-ipv4' });
    expect(ip.serviceCode).toBe('AmazonVPC');
    expect(ip.pick({ usagetype: 'EU-PublicIPv4:InUseAddress' })).toBe(true);
    expect(ip.pick({ usagetype: 'EU-PublicIPv4:IdleAddress' })).toBe(false);
    const nlb = queryOf('us-east-1', { kind: 'network-lb' });
    expect(nlb.pick({ usagetype: 'LoadBalancerUsage' })).toBe(true);
    expect(nlb.pick({ usagetype: 'Outposts-LoadBalancerUsage' })).toBe(false);
  });
  it('says in one line why it could not be asked', () => {
    const page = Object.assign(
      new SyntaxError(`Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response…`),
      {
        $metadata: { httpStatusCode: 404 },
        $operation: 'pricing:GetProducts',
      },
    );
    expect(priceListFailure(page)).toMatch(
      / answered HTTP 404 with something other than the Price List API's JSON: it does not serve the API$/,
    );
    const denied = Object.assign(new Error('User is not authorized to perform: pricing:GetProducts\nmore'), {
      name: 'AccessDeniedException',
    });
    expect(priceListFailure(denied)).toBe('AccessDeniedException: User is not authorized to perform: pricing:GetProducts more');
  });
});
