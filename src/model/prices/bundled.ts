/**
 * The bundled price table: what `kubeaz cost` uses when the AWS Price List API cannot be reached,
 * and what the one line in `plan` and `create` always uses (they make no pricing call). Built by
 * hand, offline (no machine that builds kubeaz reaches a pricing endpoint), from public copies of
 * AWS's own price list, each entry with where it was read. USD, on-demand, Linux, shared tenancy.
 * A type or region that is not here is reported as unknown, never estimated from a neighbour.
 *
 * To refresh: run `kubeaz cost` where the Price List API answers and compare, or regenerate from
 * the sources below; change `date` with the figures.
 */

/** Where the figures were read: each a public copy of AWS's Price List (or AWS's own page). */
export const PRICE_SOURCES = {
  karpenter:
    'https://github.com/aws/karpenter-provider-aws/blob/1d927085dd81a9df9301e613f371dac5b4d16bfe/pkg/providers/pricing/zz_generated.pricing_aws.go (generated 2026-07-20 from the AWS Price List API, us-east-1 on-demand Linux)',
  clont:
    'https://github.com/clont-app/clont/blob/7c64f17c6e948087b9c6ea401be6fc7a82225cf2/clont/finops/aws/prices.json (generated 2026-08-22 from the AWS Price List bulk API: ".large" of each family, NAT gateway hour, gp3 GB-month, public IPv4 hour)',
  greenops:
    'https://github.com/omrdev1/greenops-cli/blob/f6b95f33abb884d95a83a843aa467911aedc7446/factors.json (updated 2026-03-27, "aws-public-pricing-api-2026-q1"; used only for t3.medium, m5.xlarge, c5.xlarge outside us-east-1, each consistent with the .large price of its family above)',
  ipv4: 'https://aws.amazon.com/blogs/aws/new-aws-public-ipv4-address-charge-public-ip-insights/ ($0.005 per IP per hour for every public IPv4 address, in use or idle, from 2024-02-01; https://aws.amazon.com/vpc/pricing/)',
  route53: 'https://aws.amazon.com/route53/pricing/ ($0.50 per hosted zone per month for the first 25 zones)',
  elb: 'https://aws.amazon.com/elasticloadbalancing/pricing/ (classic and network load balancer hour, read from public tables that copy it, retrieved 2026-12-06: classic us-east-1 $0.025, eu-west-1 $0.028; network us-east-1 $0.0225, eu-west-1 $0.0252)',
} as const;

export type PriceSourceId = keyof typeof PRICE_SOURCES;

/** The hourly or monthly prices of one region; a missing entry is unknown. */
export interface RegionPrices {
  /** USD per instance-hour, on-demand, Linux, shared tenancy */
  instanceHourly: Readonly<Record<string, number>>;
  natGatewayHourly?: number;
  classicLbHourly?: number;
  networkLbHourly?: number;
  /** USD per GB-month, by EBS volume type */
  ebsGbMonth: Readonly<Record<string, number>>;
  /** where this region's figures were read */
  sources: readonly PriceSourceId[];
}

export interface BundledPrices {
  /** the newest of the figures' dates (ISO) */
  date: string;
  currency: 'USD';
  /** USD per public IPv4 address-hour: the same in every region */
  publicIpv4Hourly: number;
  /** USD per hosted zone-month (the first 25 zones of an account): Route 53 is global */
  hostedZoneMonthly: number;
  regions: Readonly<Record<string, RegionPrices>>;
}

export const BUNDLED_PRICES: BundledPrices = {
  date: '2026-08-22',
  currency: 'USD',
  publicIpv4Hourly: 0.005,
  hostedZoneMonthly: 0.5,
  regions: {
    'us-east-1': {
      // karpenter's table (the Price List API); its ".large" figures equal clont's, read independently
      instanceHourly: {
        't3.medium': 0.0416,
        't3.large': 0.0832,
        't3.xlarge': 0.1664,
        't3.2xlarge': 0.3328,
        't3a.medium': 0.0376,
        't3a.large': 0.0752,
        't3a.xlarge': 0.1504,
        't3a.2xlarge': 0.3008,
        't4g.medium': 0.0336,
        't4g.large': 0.0672,
        't4g.xlarge': 0.1344,
        't4g.2xlarge': 0.2688,
        'm5.large': 0.096,
        'm5.xlarge': 0.192,
        'm5.2xlarge': 0.384,
        'm5.4xlarge': 0.768,
        'm5a.large': 0.086,
        'm5a.xlarge': 0.172,
        'm5a.2xlarge': 0.344,
        'm5a.4xlarge': 0.688,
        'm6i.large': 0.096,
        'm6i.xlarge': 0.192,
        'm6i.2xlarge': 0.384,
        'm6i.4xlarge': 0.768,
        'm6a.large': 0.0864,
        'm6a.xlarge': 0.1728,
        'm6a.2xlarge': 0.3456,
        'm6a.4xlarge': 0.6912,
        'm6g.medium': 0.0385,
        'm6g.large': 0.077,
        'm6g.xlarge': 0.154,
        'm6g.2xlarge': 0.308,
        'm6g.4xlarge': 0.616,
        'm7i.large': 0.1008,
        'm7i.xlarge': 0.2016,
        'm7i.2xlarge': 0.4032,
        'm7i.4xlarge': 0.8064,
        'm7a.medium': 0.05796,
        'm7a.large': 0.11592,
        'm7a.xlarge': 0.23184,
        'm7a.2xlarge': 0.46368,
        'm7a.4xlarge': 0.92736,
        'm7g.medium': 0.0408,
        'm7g.large': 0.0816,
        'm7g.xlarge': 0.1632,
        'm7g.2xlarge': 0.3264,
        'm7g.4xlarge': 0.6528,
        'c5.large': 0.085,
        'c5.xlarge': 0.17,
        'c5.2xlarge': 0.34,
        'c5.4xlarge': 0.68,
        'c5a.large': 0.077,
        'c5a.xlarge': 0.154,
        'c5a.2xlarge': 0.308,
        'c5a.4xlarge': 0.616,
        'c6i.large': 0.085,
        'c6i.xlarge': 0.17,
        'c6i.2xlarge': 0.34,
        'c6i.4xlarge': 0.68,
        'c6a.large': 0.0765,
        'c6a.xlarge': 0.153,
        'c6a.2xlarge': 0.306,
        'c6a.4xlarge': 0.612,
        'c6g.medium': 0.034,
        'c6g.large': 0.068,
        'c6g.xlarge': 0.136,
        'c6g.2xlarge': 0.272,
        'c6g.4xlarge': 0.544,
        'c7i.large': 0.08925,
        'c7i.xlarge': 0.1785,
        'c7i.2xlarge': 0.357,
        'c7i.4xlarge': 0.714,
        'c7g.medium': 0.0363,
        'c7g.large': 0.0725,
        'c7g.xlarge': 0.145,
        'c7g.2xlarge': 0.29,
        'c7g.4xlarge': 0.58,
        'r5.large': 0.126,
        'r5.xlarge': 0.252,
        'r5.2xlarge': 0.504,
        'r5.4xlarge': 1.008,
        'r6i.large': 0.126,
        'r6i.xlarge': 0.252,
        'r6i.2xlarge': 0.504,
        'r6i.4xlarge': 1.008,
        'r6g.medium': 0.0504,
        'r6g.large': 0.1008,
        'r6g.xlarge': 0.2016,
        'r6g.2xlarge': 0.4032,
        'r6g.4xlarge': 0.8064,
        'r7g.medium': 0.0536,
        'r7g.large': 0.1071,
        'r7g.xlarge': 0.2142,
        'r7g.2xlarge': 0.4284,
        'r7g.4xlarge': 0.8568,
      },
      natGatewayHourly: 0.045,
      classicLbHourly: 0.025,
      networkLbHourly: 0.0225,
      ebsGbMonth: { gp3: 0.08 },
      sources: ['karpenter', 'clont', 'elb', 'ipv4', 'route53'],
    },
    'us-west-2': {
      // no classic or network load balancer price was found with a source: reported as unknown
      instanceHourly: {
        't3.large': 0.0832,
        't3a.large': 0.0752,
        't4g.large': 0.0672,
        'm5.large': 0.096,
        'm5a.large': 0.086,
        'm6i.large': 0.096,
        'm6a.large': 0.0864,
        'm6g.large': 0.077,
        'm7i.large': 0.1008,
        'm7a.large': 0.11592,
        'm7g.large': 0.0816,
        'c5.large': 0.085,
        'c5a.large': 0.077,
        'c6i.large': 0.085,
        'c6a.large': 0.0765,
        'c6g.large': 0.068,
        'c7i.large': 0.08925,
        'c7g.large': 0.0725,
        'r5.large': 0.126,
        'r6i.large': 0.126,
        'r6g.large': 0.1008,
        'r7g.large': 0.1071,
        't3.medium': 0.0416,
        'm5.xlarge': 0.192,
        'c5.xlarge': 0.17,
      },
      natGatewayHourly: 0.045,
      ebsGbMonth: { gp3: 0.08 },
      sources: ['clont', 'greenops', 'ipv4', 'route53'],
    },
    'eu-west-1': {
      instanceHourly: {
        't3.large': 0.0912,
        't3a.large': 0.0816,
        't4g.large': 0.0736,
        'm5.large': 0.107,
        'm5a.large': 0.096,
        'm6i.large': 0.107,
        'm6a.large': 0.0963,
        'm6g.large': 0.086,
        'm7i.large': 0.11235,
        'm7a.large': 0.1292,
        'm7g.large': 0.091,
        'c5.large': 0.096,
        'c5a.large': 0.086,
        'c6i.large': 0.0912,
        'c6a.large': 0.08208,
        'c6g.large': 0.073,
        'c7i.large': 0.09576,
        'c7g.large': 0.0775,
        'r5.large': 0.141,
        'r6i.large': 0.141,
        'r6g.large': 0.1128,
        'r7g.large': 0.1199,
        't3.medium': 0.0456,
        'm5.xlarge': 0.214,
        'c5.xlarge': 0.192,
      },
      natGatewayHourly: 0.048,
      classicLbHourly: 0.028,
      networkLbHourly: 0.0252,
      ebsGbMonth: { gp3: 0.088 },
      sources: ['clont', 'greenops', 'elb', 'ipv4', 'route53'],
    },
  },
};
