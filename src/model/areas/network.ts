/** Network: the VPC, its gateway, two subnets per zone, NAT, route tables, the S3 endpoint, network ACLs. */
import { subnetLayout } from '../../spec/cidr.js';
import { ref, type NaclEntry, type Ref } from '../types.js';
import type { Area } from './builder.js';

export interface Network {
  vpc: Ref;
  igw: Ref;
  /** zone → subnet key */
  pub: Record<string, string>;
  priv: Record<string, string>;
  publicSubnets: string[];
  privateSubnets: string[];
  /** the private route tables, one per zone */
  privateTables: string[];
  /** zone → the NAT gateway its private subnet routes through (none with nat: none) */
  natOf: (zone: string) => string | undefined;
}

export function network({ s, id, k8s, b }: Area): Network {
  const layout = subnetLayout(s.network.vpcCidr, s.zones.length);
  if (!layout) throw new Error(`${s.network.vpcCidr} cannot hold ${s.zones.length * 2} subnets`);

  const vpc = b.add('vpc', 'vpc', id, { cidr: s.network.vpcCidr, tenancy: s.network.tenancy }, { tags: { [k8s]: 'owned' } });
  const igw = b.add('internet-gateway', 'igw', id, { vpcId: vpc });
  const pub: Record<string, string> = {};
  const priv: Record<string, string> = {};
  s.zones.forEach((zone, i) => {
    pub[zone] = `subnet/public/${zone}`;
    priv[zone] = `subnet/private/${zone}`;
    b.add(
      'subnet',
      pub[zone]!,
      `${id}-public-${zone}`,
      { vpcId: vpc, cidr: layout.public[i]!, zone, tier: 'public' },
      { tags: { [k8s]: 'owned', 'kubernetes.io/role/elb': '1' } },
    );
    b.add(
      'subnet',
      priv[zone]!,
      `${id}-private-${zone}`,
      { vpcId: vpc, cidr: layout.private[i]!, zone, tier: 'private' },
      { tags: { [k8s]: 'owned', 'kubernetes.io/role/internal-elb': '1' } },
    );
  });
  const publicSubnets = s.zones.map((z) => pub[z]!);
  const privateSubnets = s.zones.map((z) => priv[z]!);

  const natZones = s.network.nat === 'perZone' ? s.zones : s.network.nat === 'single' ? s.zones.slice(0, 1) : [];
  const natKey: Record<string, string> = {};
  for (const zone of natZones) {
    const eip = `eip/nat/${zone}`;
    b.add('elastic-ip', eip, `${id}-nat-${zone}`, { purpose: 'nat' });
    natKey[zone] = `nat/${zone}`;
    // a NAT gateway in a subnet whose VPC has no internet gateway yet fails
    b.add('nat-gateway', natKey[zone]!, `${id}-${zone}`, { subnetId: ref(pub[zone]!), allocationId: ref(eip) }, { after: ['igw'] });
  }
  const natOf = (zone: string): string | undefined => natKey[zone] ?? (natZones[0] ? natKey[natZones[0]] : undefined);

  b.add('route-table', 'rt/public', `${id}-public`, {
    vpcId: vpc,
    routes: [{ destination: '0.0.0.0/0', gatewayId: igw }],
    subnetIds: publicSubnets.map((k) => ref(k)),
  });
  const privateTables: string[] = [];
  for (const zone of s.zones) {
    const nat = natOf(zone);
    const key = `rt/private/${zone}`;
    privateTables.push(key);
    b.add('route-table', key, `${id}-private-${zone}`, {
      vpcId: vpc,
      routes: nat ? [{ destination: '0.0.0.0/0', natGatewayId: ref(nat) }] : [],
      subnetIds: [ref(priv[zone]!)],
    });
  }
  if (s.network.nat === 'none') {
    b.add('vpc-endpoint', 'vpce/s3', `${id}-s3`, {
      vpcId: vpc,
      serviceName: `com.amazonaws.${s.region}.s3`,
      routeTableIds: privateTables.map((k) => ref(k)),
    });
  }

  const vpcCidr = s.network.vpcCidr;
  const publicAcl: NaclEntry[] = [
    { ruleNumber: 100, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 443, toPort: 443, action: 'allow' },
    { ruleNumber: 110, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 80, toPort: 80, action: 'allow' },
    { ruleNumber: 120, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 130, egress: false, protocol: '17', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 140, egress: false, protocol: '-1', cidr: vpcCidr, action: 'allow' },
    { ruleNumber: 100, egress: true, protocol: '-1', cidr: '0.0.0.0/0', action: 'allow' },
  ];
  const privateAcl: NaclEntry[] = [
    { ruleNumber: 100, egress: false, protocol: '-1', cidr: vpcCidr, action: 'allow' },
    { ruleNumber: 110, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 120, egress: false, protocol: '17', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 100, egress: true, protocol: '-1', cidr: '0.0.0.0/0', action: 'allow' },
  ];
  b.add('network-acl', 'nacl/public', `${id}-public`, { vpcId: vpc, entries: publicAcl, subnetIds: publicSubnets.map((k) => ref(k)) });
  b.add('network-acl', 'nacl/private', `${id}-private`, { vpcId: vpc, entries: privateAcl, subnetIds: privateSubnets.map((k) => ref(k)) });

  return { vpc, igw, pub, priv, publicSubnets, privateSubnets, privateTables, natOf };
}
