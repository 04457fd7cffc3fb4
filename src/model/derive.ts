/**
 * spec → desired graph. PURE: no AWS, no I/O. Everything the graph needs from the outside world
 * (account id, resolved images, template texts) comes in as `facts`.
 *
 * Built the kops way, one builder per area in areas/ (network, security groups, storage and PKI,
 * DNS, IAM — its policy documents in policies.ts —, load balancers, compute), called in the order
 * the nodes are listed: every node after everything it depends on. A node's dependencies are the
 * keys its props reference; only ordering-only extras are listed by hand (areas/builder.ts). The
 * graph is checked as it is built: a missing dependency or a cycle throws GraphError here.
 */
import type { ClusterSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import { k8sClusterTag, naming } from './names.js';
import type { AnyNode, DesiredGraph } from './types.js';
import { FEATURES_TAG, featuresOf, featuresTagValue, type Feature } from './features.js';
import { GraphBuilder, type Area, type Facts } from './areas/builder.js';
import { network } from './areas/network.js';
import { securityGroups } from './areas/security.js';
import { storage } from './areas/storage.js';
import { apiRecords, loadbalancerAddresses, zones } from './areas/dns.js';
import { iam } from './areas/iam.js';
import { apiLoadBalancers } from './areas/load-balancers.js';
import { compute } from './areas/compute.js';
import { irsa } from './areas/irsa.js';
import { drain } from './areas/drain.js';

export function deriveGraph(spec: ClusterSpec, facts: Facts): DesiredGraph {
  const id = clusterIdOf(spec);
  const area: Area = { spec, s: spec.spec, id, names: naming(spec), k8s: k8sClusterTag(id), facts, b: new GraphBuilder(spec) };
  const net = network(area);
  const { hasPublicApi } = securityGroups(area, net);
  const store = storage(area);
  const dns = zones(area, net); // before IAM: the master's role names the zones it may change
  iam(area, store.bucketArn, dns);
  irsa(area);
  const api = apiLoadBalancers(area, net, hasPublicApi);
  apiRecords(area, dns, hasPublicApi);
  loadbalancerAddresses(area, dns);
  compute(area, net, store, api.elbs, api.targetGroups);
  drain(area); // after compute: each node group's lifecycle hook is its group's
  recordFeatures(area.b.nodes, facts.seenFeatures ?? []);
  return area.b.build(id);
}

/**
 * The VPC records the optional features the cluster may hold resources of (model/features.ts):
 * those its graph holds and those observe still found. Set last, once every area has added its nodes.
 */
function recordFeatures(nodes: AnyNode[], seen: readonly Feature[]): void {
  const i = nodes.findIndex((n) => n.kind === 'vpc');
  const vpc = nodes[i];
  if (!vpc) return;
  const value = featuresTagValue([...featuresOf(nodes), ...seen]);
  nodes[i] = { ...vpc, tags: { ...vpc.tags, [FEATURES_TAG]: value } };
}

export type { Arch, Facts } from './areas/builder.js';
export { archOf, imageUpdates, requiredArchs, SSM_IMAGE_PARAMETERS } from './areas/compute.js';
export { API_ELB_DRAINING_TIMEOUT, API_ELB_HEALTH_CHECK, API_ELB_IDLE_TIMEOUT, API_NLB_HEALTH_CHECK } from './areas/load-balancers.js';
export { BUCKET_LIFECYCLE } from './areas/storage.js';
export { serviceAccountRoles } from './areas/irsa.js';
export { drainSwitchNote, QUEUE_KEY as DRAIN_QUEUE_KEY } from './areas/drain.js';
export { tlsOnlyPolicy } from './policies.js';
