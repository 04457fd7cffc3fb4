/** IPv4 CIDR arithmetic, pure; and the cluster-internal ranges the VPC must not overlap. */

/** kubeadm's pod and service ranges (in the agent's configuration); the schema refuses a VPC CIDR that overlaps them. */
export const POD_CIDR = '100.96.0.0/11';
export const SERVICE_CIDR = '100.64.0.0/13';

export interface Cidr {
  /** the address as written, as a 32-bit unsigned number */
  base: number;
  /** the address with host bits cleared */
  network: number;
  prefix: number;
  canonical: string;
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const base = ipToNumber(m[1]!);
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (base & mask) >>> 0;
  return { base, network, prefix, canonical: `${numberToIp(network)}/${prefix}` };
}

export const MIN_SUBNET_PREFIX = 28; // AWS's smallest subnet

export interface SubnetLayout {
  private: string[];
  public: string[];
  prefix: number;
}

/**
 * Split a VPC CIDR into one private and one public subnet per zone, all the same size:
 * the lower half of the VPC holds the private subnets (zone i = block i), the upper half the
 * public ones, so the layout of the first zones never moves when zones are counted differently
 * within the same power of two. Returns undefined when the subnets would be smaller than /28.
 */
export function subnetLayout(vpcCidr: string, zones: number): SubnetLayout | undefined {
  const c = parseCidr(vpcCidr);
  if (!c || zones < 1) return undefined;
  const bits = Math.ceil(Math.log2(2 * zones));
  const prefix = c.prefix + bits;
  if (prefix > MIN_SUBNET_PREFIX) return undefined;
  const size = 2 ** (32 - prefix);
  const half = 2 ** (bits - 1);
  const block = (i: number) => `${numberToIp(c.network + i * size)}/${prefix}`;
  const priv: string[] = [];
  const pub: string[] = [];
  for (let i = 0; i < zones; i++) {
    priv.push(block(i));
    pub.push(block(half + i));
  }
  return { private: priv, public: pub, prefix };
}
