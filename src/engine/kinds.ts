/**
 * Kind-level dependencies: kind → the kinds whose resources must exist before it. The desired
 * graph's node edges always follow these (a unit test checks it). Destroy walks this table in
 * reverse, which also covers resources the graph no longer names (orphans, a spec that changed,
 * a lost state file): a kind is deleted only after every kind that depends on it is gone.
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
  'bucket-object': ['bucket'],
  pki: ['bucket'],
  'hosted-zone': ['vpc'],
  'iam-role': ['hosted-zone', 'bucket'],
  'instance-profile': ['iam-role'],
  'iam-user': ['bucket'],
  'load-balancer': ['subnet', 'security-group', 'internet-gateway'],
  'dns-record': ['hosted-zone', 'load-balancer', 'elastic-ip'],
  'launch-template': ['instance-profile', 'security-group'],
  // elastic-ip: loadbalancer instances hold the pool's addresses until their group is gone
  'auto-scaling-group': ['launch-template', 'subnet', 'load-balancer', 'route-table', 'bucket-object', 'pki', 'dns-record', 'elastic-ip', 'security-group-rules'],
};

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
