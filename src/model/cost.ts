/**
 * The monthly cost of a spec, PURE: what the cluster holds that AWS bills by the hour or the month
 * (counted from the spec as the model builds it: each group at its desired capacity), times unit
 * prices, gives the estimate. Where the prices come from (the Price List API, or the bundled table)
 * is the caller's: a price is a function of a PriceKey. A key without a price is named, not guessed.
 */
import type { ClusterSpec } from '../spec/schema.js';
import { DEFAULT_NODE_VOLUME_SIZE, instanceTier, mixedInstancesOf } from './areas/compute.js';
import { publicApiOf } from './areas/security.js';
import { masterGroups, naming } from './names.js';
import { BUNDLED_PRICES, type BundledPrices } from './prices/bundled.js';
import { ROOT_VOLUME_TYPE } from './types.js';

/** AWS's own month for hourly prices (its calculator and price pages use 730 hours). */
export const HOURS_PER_MONTH = 730;

/**
 * The spot range, as fractions of the on-demand price. The high end is certain: an instance's
 * default maximum spot price is the on-demand price, so spot never costs more. The low end is
 * AWS's own claim ("up to 90% off" on-demand, aws.amazon.com/ec2/spot/). Where in between a month
 * lands depends on the zone, the type and the season: kubeaz does not pretend to know.
 */
export const SPOT_RANGE = { low: 0.1, high: 1 } as const;

/** What a unit price is of. */
export type PriceKey =
  | { kind: 'instance'; instanceType: string; tenancy: 'default' | 'dedicated' }
  | { kind: 'nat-gateway' }
  | { kind: 'classic-lb' }
  | { kind: 'network-lb' }
  | { kind: 'public-ipv4' }
  | { kind: 'ebs'; volumeType: string }
  | { kind: 'hosted-zone' };

export const priceKeyId = (k: PriceKey): string =>
  k.kind === 'instance'
    ? `instance:${k.instanceType}${k.tenancy === 'dedicated' ? ':dedicated' : ''}`
    : k.kind === 'ebs'
      ? `ebs:${k.volumeType}`
      : k.kind;

/** One line of the bill: so many units of one price. */
export interface Usage {
  name: string;
  count: number;
  /** what one unit is: an hour of one of `count` things, or a month of one */
  per: 'hour' | 'month';
  /** the unit `count` counts (instance, gateway, address, GB, zone) */
  unit: string;
  price: PriceKey;
  /** spot instances: priced between SPOT_RANGE of the on-demand price */
  spot?: boolean;
  note?: string;
}

/** Whole instances of a group on-demand and on spot at `desired` (AWS's InstancesDistribution). */
export function spotSplit(desired: number, onDemandBase: number, onDemandPercentage: number): { onDemand: number; spot: number } {
  const base = Math.min(desired, onDemandBase);
  // above the base, the on-demand share rounded up: the estimate leans to the dearer side
  const onDemand = base + Math.ceil(((desired - base) * onDemandPercentage) / 100);
  return { onDemand, spot: desired - onDemand };
}

/** The instances of the spec at desired capacity: the masters, then each node group (spot apart). */
function instanceUsage(spec: ClusterSpec): Usage[] {
  const s = spec.spec;
  const tenancy = s.network.tenancy;
  const out: Usage[] = [];
  const masters = masterGroups(spec).length;
  const cp = s.controlPlane.instanceType;
  out.push({
    name: `instances: master (${cp})`,
    count: masters,
    per: 'hour',
    unit: 'instance',
    price: { kind: 'instance', instanceType: cp, tenancy },
  });
  for (const g of s.nodeGroups) {
    const mixed = mixedInstancesOf(g);
    const price: PriceKey = { kind: 'instance', instanceType: g.instanceType, tenancy };
    // a group of several types is priced as its first: the one its launch template names, the one on-demand capacity prefers
    const types =
      mixed && mixed.instanceTypes.length > 1 ? `priced as ${g.instanceType}, the first of ${mixed.instanceTypes.join(', ')}` : undefined;
    const split = g.spot
      ? spotSplit(g.desiredCapacity, g.spot.onDemandBase, g.spot.onDemandPercentage)
      : { onDemand: g.desiredCapacity, spot: 0 };
    const instances = (what: string, count: number, spot: boolean, note: string | undefined): Usage => ({
      name: `instances: ${g.name}${what} (${g.instanceType})`,
      count,
      per: 'hour',
      unit: 'instance',
      price,
      ...(spot ? { spot } : {}),
      ...(note ? { note } : {}),
    });
    if (!g.spot) out.push(instances('', split.onDemand, false, types));
    else {
      if (split.onDemand) out.push(instances(' on-demand', split.onDemand, false, types));
      const range = `spot: ${SPOT_RANGE.low * 100}–${SPOT_RANGE.high * 100}% of the on-demand price`;
      if (split.spot) out.push(instances(' spot', split.spot, true, types ? `${range}; ${types}` : range));
    }
  }
  return out;
}

/** Every public IPv4 address once: elastic IPs, instances in public subnets without one, the internet-facing API load balancer's per zone. */
function publicAddresses(spec: ClusterSpec): Usage | undefined {
  const s = spec.spec;
  const parts: string[] = [];
  let count = 0;
  const add = (n: number, what: string) => {
    if (n <= 0) return;
    count += n;
    parts.push(`${n} ${what}`);
  };
  const natZones = s.network.nat === 'perZone' ? s.zones.length : s.network.nat === 'single' ? 1 : 0;
  add(natZones, `NAT gateway elastic IP${natZones === 1 ? '' : 's'}`);
  for (const g of s.nodeGroups.filter((x) => x.role === 'loadbalancer' && x.elasticIps > 0))
    // an instance that takes an elastic IP gives its automatic public address back: each counts once
    add(g.elasticIps, `elastic IPs of ${g.name}`);
  if (instanceTier(s, 'private') === 'public') add(masterGroups(spec).length, 'on masters in public subnets');
  for (const g of s.nodeGroups)
    if (instanceTier(s, g.subnets) === 'public' && !(g.role === 'loadbalancer' && g.elasticIps > 0))
      add(g.desiredCapacity, `on ${g.name} instances in public subnets`);
  if (publicApiOf(s)) add(s.zones.length, 'of the internet-facing API load balancer (one per zone)');
  if (!count) return undefined;
  return { name: 'public IPv4 addresses', count, per: 'hour', unit: 'address', price: { kind: 'public-ipv4' }, note: parts.join(', ') };
}

/** What the spec makes that is billed by time, counted as the model builds it. */
export function costUsage(spec: ClusterSpec): Usage[] {
  const s = spec.spec;
  const out = instanceUsage(spec);
  const nat = s.network.nat === 'perZone' ? s.zones.length : s.network.nat === 'single' ? 1 : 0;
  if (nat)
    out.push({
      name: 'NAT gateways',
      count: nat,
      per: 'hour',
      unit: 'gateway',
      price: { kind: 'nat-gateway' },
      note: `nat: ${s.network.nat}`,
    });
  const lbs = publicApiOf(s) ? 2 : 1;
  const network = s.controlPlane.loadBalancer === 'network';
  out.push({
    name: network ? 'network load balancers (API)' : 'classic load balancers (API)',
    count: lbs,
    per: 'hour',
    unit: 'load balancer',
    price: { kind: network ? 'network-lb' : 'classic-lb' },
    note: lbs === 2 ? 'internet-facing and internal' : 'internal only (apiAccess is empty)',
  });
  const ip = publicAddresses(spec);
  if (ip) out.push(ip);
  const gb =
    masterGroups(spec).length * s.controlPlane.volumeSize +
    s.nodeGroups.reduce((n, g) => n + g.desiredCapacity * (g.volumeSize ?? DEFAULT_NODE_VOLUME_SIZE), 0);
  out.push({
    name: `EBS ${ROOT_VOLUME_TYPE} root volumes`,
    count: gb,
    per: 'month',
    unit: 'GB',
    price: { kind: 'ebs', volumeType: ROOT_VOLUME_TYPE },
  });
  out.push({
    name: 'Route 53 hosted zones',
    count: s.dns.publicDomain ? 2 : 1,
    per: 'month',
    unit: 'zone',
    price: { kind: 'hosted-zone' },
    note: s.dns.publicDomain
      ? `private ${naming(spec).internalDomain}, public ${s.dns.publicDomain} (adopted if it exists: then it is billed already)`
      : 'the private zone',
  });
  return out;
}

/** What the estimate leaves out: billed by use, not by time, or not made by kubeaz. */
export const LEAVES_OUT: readonly string[] = [
  'data transfer (to the internet, between zones) and data processed by NAT gateways and load balancers (LCUs)',
  'request charges (S3, SQS, EventBridge, Route 53 queries, KMS, the Price List API)',
  "S3 storage of the cluster's bucket (etcd snapshots) and EBS snapshots",
  'what Kubernetes itself creates (Services of type LoadBalancer, PersistentVolumes)',
  'free tier, savings plans, reserved instances, taxes',
];

/** A unit price and where it came from. */
export interface UnitPrice {
  price: number;
  source: 'api' | 'bundled';
}

export interface CostComponent {
  name: string;
  /** what is priced: instance:<type>, nat-gateway, classic-lb, network-lb, public-ipv4, ebs:<type>, hosted-zone */
  key: string;
  count: number;
  unit: string;
  /** USD per unit-hour (per: hour) or unit-month (per: month); null when unknown */
  unitPrice: number | null;
  per: 'hour' | 'month';
  /** USD per month (spot: at the on-demand price, the top of its range); null when unknown */
  monthly: number | null;
  source?: 'api' | 'bundled';
  spot?: { low: number; high: number };
  note?: string;
  /** why there is no price */
  unknown?: string;
}

export interface CostEstimate {
  region: string;
  currency: 'USD';
  /** the sum of the priced components (spot at on-demand) */
  total: number;
  /** with spot instances: the total with spot at the low and the high end of SPOT_RANGE */
  range?: { low: number; high: number };
  components: CostComponent[];
  /** the components without a price, named (the total leaves them out) */
  unknown: string[];
  leavesOut: readonly string[];
}

const cents = (n: number): number => Math.round(n * 100) / 100;

function component(u: Usage, unit: UnitPrice | undefined, region: string): CostComponent {
  const base = { name: u.name, key: priceKeyId(u.price), count: u.count, unit: u.unit, per: u.per, ...(u.note ? { note: u.note } : {}) };
  if (!unit) return { ...base, unitPrice: null, monthly: null, unknown: unknownWhy(u.price, region) };
  const monthly = u.count * unit.price * (u.per === 'hour' ? HOURS_PER_MONTH : 1);
  return {
    ...base,
    unitPrice: unit.price,
    monthly: cents(monthly),
    source: unit.source,
    ...(u.spot ? { spot: { low: cents(monthly * SPOT_RANGE.low), high: cents(monthly * SPOT_RANGE.high) } } : {}),
  };
}

export function unknownWhy(k: PriceKey, region: string): string {
  if (k.kind === 'instance' && k.tenancy === 'dedicated')
    return `no price for ${k.instanceType} with dedicated tenancy in ${region} (the bundled table has shared tenancy only)`;
  const what =
    k.kind === 'instance' ? `instance type ${k.instanceType}` : k.kind === 'ebs' ? `EBS ${k.volumeType}` : k.kind.replace('-', ' ');
  return BUNDLED_PRICES.regions[region] || k.kind === 'public-ipv4' || k.kind === 'hosted-zone'
    ? `no price for ${what} in ${region}`
    : `no price for ${what}: region ${region} is not in the bundled table (${Object.keys(BUNDLED_PRICES.regions).join(', ')})`;
}

/** Usage × unit prices → the monthly estimate. `priceOf` answers undefined for an unknown price. */
export function estimateCost(region: string, usage: readonly Usage[], priceOf: (k: PriceKey) => UnitPrice | undefined): CostEstimate {
  const components = usage.map((u) => component(u, priceOf(u.price), region));
  const priced = components.filter((c) => c.monthly !== null);
  const total = cents(priced.reduce((n, c) => n + c.monthly!, 0));
  const spot = priced.filter((c) => c.spot);
  const fixed = total - spot.reduce((n, c) => n + c.monthly!, 0);
  return {
    region,
    currency: 'USD',
    total,
    ...(spot.length
      ? {
          range: {
            low: cents(fixed + spot.reduce((n, c) => n + c.spot!.low, 0)),
            high: cents(fixed + spot.reduce((n, c) => n + c.spot!.high, 0)),
          },
        }
      : {}),
    components,
    unknown: components.filter((c) => c.unknown).map((c) => `${c.name}: ${c.unknown}`),
    leavesOut: LEAVES_OUT,
  };
}

/** A price from the bundled table (what plan and create use, and cost without the Price List API). */
export function bundledPrice(region: string, k: PriceKey, table: BundledPrices = BUNDLED_PRICES): UnitPrice | undefined {
  const r = table.regions[region];
  const price = ((): number | undefined => {
    switch (k.kind) {
      case 'public-ipv4':
        return table.publicIpv4Hourly;
      case 'hosted-zone':
        return table.hostedZoneMonthly;
      case 'instance':
        return k.tenancy === 'default' ? r?.instanceHourly[k.instanceType] : undefined;
      case 'nat-gateway':
        return r?.natGatewayHourly;
      case 'classic-lb':
        return r?.classicLbHourly;
      case 'network-lb':
        return r?.networkLbHourly;
      case 'ebs':
        return r?.ebsGbMonth[k.volumeType];
    }
  })();
  return price === undefined ? undefined : { price, source: 'bundled' };
}

/** The estimate from the bundled table alone: no AWS call (plan's and create's line). */
export function bundledEstimate(spec: ClusterSpec): CostEstimate {
  const region = spec.spec.region;
  return estimateCost(region, costUsage(spec), (k) => bundledPrice(region, k));
}
