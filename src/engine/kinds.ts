/**
 * Kind-level dependencies: kind → the kinds whose resources must exist before it. The desired
 * graph's node edges always follow these (a unit test checks it).
 *
 * Destroy has a relation of its own, DELETE_AFTER, which also covers resources the graph no longer
 * names (orphans, a spec that changed, a lost state file).
 */
import type { Kind } from '../model/types.js';

export const KIND_DEPENDENCIES: Readonly<Record<Kind, readonly Kind[]>> = {
  vpc: [],
  subnet: ['vpc'],
  'internet-gateway': ['vpc'],
  'elastic-ip': [],
  'nat-gateway': ['subnet', 'elastic-ip', 'internet-gateway'],
  'route-table': ['vpc', 'subnet', 'internet-gateway', 'nat-gateway'],
  'network-acl': ['vpc', 'subnet'],
  'vpc-endpoint': ['vpc', 'route-table'],
  'security-group': ['vpc'],
  'security-group-rules': ['security-group'],
  bucket: [],
  'discovery-bucket': [],
  pki: ['bucket'],
  // the issuer's JWKS is made from the pki's service-account key
  'bucket-object': ['bucket', 'discovery-bucket', 'pki'],
  'oidc-provider': ['bucket-object'],
  'hosted-zone': ['vpc'],
  // IRSA roles trust the OIDC provider (its ARN in their trust policy)
  'iam-role': ['hosted-zone', 'bucket', 'oidc-provider'],
  'instance-profile': ['iam-role'],
  'iam-user': ['bucket'],
  'load-balancer': ['subnet', 'security-group', 'internet-gateway'],
  'target-group': ['vpc'],
  'network-load-balancer': ['subnet', 'security-group', 'internet-gateway', 'target-group'],
  'dns-record': ['hosted-zone', 'load-balancer', 'network-load-balancer', 'elastic-ip'],
  'launch-template': ['instance-profile', 'security-group'],
  // elastic-ip: loadbalancer instances hold the pool's addresses until their group is gone
  // nat-gateway: a group in the private subnets starts once its NAT gateways are available
  'auto-scaling-group': ['launch-template', 'subnet', 'load-balancer', 'network-load-balancer', 'target-group', 'route-table', 'nat-gateway', 'bucket-object', 'pki', 'dns-record', 'elastic-ip', 'security-group-rules'],
};

/**
 * Destroy's "must be deleted before" relation: kind → the kinds whose resources must all be gone
 * before any resource of this kind may be deleted. It is the create table reversed, loosened where
 * AWS needs less than creation did (LOOSENED; a unit test holds the two tables to exactly that):
 *
 * - nat-gateway: a route may name a NAT gateway that is deleting or gone (it becomes a blackhole
 *   route), and instances that are terminating in the private subnets need no way out. So the NAT
 *   gateways start deleting at once, alongside the auto scaling groups, and their addresses and
 *   subnets go once both are gone (elastic-ip and subnet wait for nat-gateway and
 *   auto-scaling-group). The internet gateway still waits for them: AWS refuses to detach it while
 *   the VPC has mapped public addresses.
 */
export const DELETE_AFTER: Readonly<Record<Kind, readonly Kind[]>> = {
  vpc: ['subnet', 'internet-gateway', 'route-table', 'network-acl', 'vpc-endpoint', 'security-group', 'hosted-zone', 'target-group'],
  subnet: ['nat-gateway', 'route-table', 'network-acl', 'load-balancer', 'network-load-balancer', 'auto-scaling-group'],
  'internet-gateway': ['nat-gateway', 'route-table', 'load-balancer', 'network-load-balancer'],
  'elastic-ip': ['nat-gateway', 'dns-record', 'auto-scaling-group'],
  'nat-gateway': [],
  'route-table': ['vpc-endpoint', 'auto-scaling-group'],
  'network-acl': [],
  'vpc-endpoint': [],
  'security-group': ['security-group-rules', 'load-balancer', 'network-load-balancer', 'launch-template'],
  'security-group-rules': ['auto-scaling-group'],
  bucket: ['bucket-object', 'pki', 'iam-role', 'iam-user'],
  'bucket-object': ['auto-scaling-group', 'oidc-provider'],
  'discovery-bucket': ['bucket-object'],
  pki: ['auto-scaling-group', 'bucket-object'],
  'oidc-provider': ['iam-role'],
  'hosted-zone': ['iam-role', 'dns-record'],
  'iam-role': ['instance-profile'],
  'instance-profile': ['launch-template'],
  'iam-user': [],
  'load-balancer': ['dns-record', 'auto-scaling-group'],
  // a target group is deleted once no listener forwards to it (ResourceInUse before)
  'target-group': ['network-load-balancer', 'auto-scaling-group'],
  'network-load-balancer': ['dns-record', 'auto-scaling-group'],
  'dns-record': ['auto-scaling-group'],
  'launch-template': ['auto-scaling-group'],
  'auto-scaling-group': [],
};

/** Create edges destroy does not keep, as [kind, what no longer has to be gone before it]. */
export const LOOSENED: ReadonlyArray<readonly [Kind, Kind]> = [
  ['nat-gateway', 'route-table'],
  ['nat-gateway', 'auto-scaling-group'],
];

export const ALL_KINDS = Object.keys(KIND_DEPENDENCIES) as Kind[];

/** Is `dep` reachable from `kind` in the table (kind depends on dep, directly or not)? */
export function kindDependsOn(kind: Kind, dep: Kind, seen = new Set<Kind>()): boolean {
  for (const d of KIND_DEPENDENCIES[kind]) {
    if (d === dep) return true;
    if (!seen.has(d)) {
      seen.add(d);
      if (kindDependsOn(d, dep, seen)) return true;
    }
  }
  return false;
}
