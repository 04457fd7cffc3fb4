/**
 * DNS: the private zone (and the adopted public one) before IAM — the master's role names the
 * zones it may change —; the API records once the load balancers exist; the elastic IPs of
 * loadbalancer groups and their public record.
 */
import { POOL_TAG, ref, type Ref } from '../types.js';
import type { Area } from './builder.js';
import type { Network } from './network.js';

export interface Zones {
  privateZone: Ref;
  publicZone?: Ref;
}

export function zones({ s, id, names, b }: Area, { vpc }: Network): Zones {
  const privateZone = b.add('hosted-zone', 'zone/private', names.internalDomain, {
    domain: names.internalDomain,
    private: true,
    vpcId: vpc,
    vpcRegion: s.region,
    comment: `kubeaz:${id} zone/private`,
    callerReference: `kubeaz-${id}-zone-private`,
    mode: 'own',
  });
  const publicDomain = s.dns.publicDomain;
  const publicZone = publicDomain
    ? b.add('hosted-zone', 'zone/public', publicDomain, {
        domain: publicDomain,
        private: false,
        comment: `kubeaz:${id} zone/public`,
        callerReference: `kubeaz-${id}-zone-public`,
        mode: 'adopt-or-own',
      })
    : undefined;
  return { privateZone, ...(publicZone ? { publicZone } : {}) };
}

/** master.<internal domain> → the internal API load balancer; master.<env>.<public domain> → the public one. */
export function apiRecords({ spec, s, names, b }: Area, { privateZone, publicZone }: Zones, hasPublicApi: boolean): void {
  // The alias target's hosted-zone id is the load balancer's own (AWS's answer, see load-balancer.ts
  // and network-load-balancer.ts: an NLB's differs from a classic ELB's in the same region).
  const lb = s.controlPlane.loadBalancer === 'network' ? 'nlb' : 'elb';
  b.add('dns-record', 'record/master-internal', `master.${names.internalDomain}`, {
    zoneId: privateZone,
    name: `master.${names.internalDomain}`,
    type: 'A',
    alias: { dnsName: ref(`${lb}/internal`, 'dnsName'), hostedZoneId: ref(`${lb}/internal`, 'hostedZoneId') },
  });
  const publicDomain = s.dns.publicDomain;
  if (publicZone && publicDomain && hasPublicApi) {
    const name = `master.${spec.metadata.environment}.${publicDomain}`;
    b.add('dns-record', 'record/master-public', name, {
      zoneId: publicZone,
      name,
      type: 'A',
      alias: { dnsName: ref(`${lb}/public`, 'dnsName'), hostedZoneId: ref(`${lb}/public`, 'hostedZoneId') },
    });
  }
}

/** The elastic IPs each loadbalancer group's instances claim, and `publicRecord` pointing at them. */
export function loadbalancerAddresses({ s, id, b }: Area, { publicZone }: Zones): void {
  const publicDomain = s.dns.publicDomain;
  for (const g of s.nodeGroups.filter((x) => x.role === 'loadbalancer')) {
    const eips: string[] = [];
    for (let i = 0; i < g.elasticIps; i++) {
      const key = `eip/lb/${g.name}/${i}`;
      eips.push(key);
      b.add('elastic-ip', key, `${id}-${g.name}-${i}`, { purpose: 'loadbalancer', pool: g.name }, { tags: { [POOL_TAG]: g.name } });
    }
    if (g.publicRecord && publicZone && publicDomain) {
      const name = `${g.publicRecord}.${publicDomain}`;
      b.add('dns-record', `record/lb/${g.name}`, name, {
        zoneId: publicZone,
        name,
        type: 'A',
        ttl: 60,
        values: eips.map((k) => ref(k, 'publicIp')),
      });
    }
  }
}
