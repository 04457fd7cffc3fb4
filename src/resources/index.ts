/** The registry: every resource kind's handler. */
import type { Kind } from '../model/types.js';
import type { ResourceHandler } from './types.js';
import { autoScalingGroup } from './auto-scaling-group.js';
import { bucket } from './bucket.js';
import { bucketObject } from './bucket-object.js';
import { discoveryBucket } from './discovery-bucket.js';
import { oidcProvider } from './oidc-provider.js';
import { pki } from './pki.js';
import { dnsRecord } from './dns-record.js';
import { elasticIp } from './elastic-ip.js';
import { hostedZone } from './hosted-zone.js';
import { iamRole } from './iam-role.js';
import { iamUser } from './iam-user.js';
import { instanceProfile } from './instance-profile.js';
import { internetGateway } from './internet-gateway.js';
import { launchTemplate } from './launch-template.js';
import { loadBalancer } from './load-balancer.js';
import { networkLoadBalancer } from './network-load-balancer.js';
import { targetGroup } from './target-group.js';
import { natGateway } from './nat-gateway.js';
import { networkAcl } from './network-acl.js';
import { routeTable } from './route-table.js';
import { securityGroup } from './security-group.js';
import { securityGroupRules } from './security-group-rules.js';
import { subnet } from './subnet.js';
import { vpc } from './vpc.js';
import { vpcEndpoint } from './vpc-endpoint.js';
import { sqsQueue } from './sqs-queue.js';
import { eventRule } from './event-rule.js';
import { lifecycleHook } from './lifecycle-hook.js';
import { describeBlocker, sweepKubernetesMade, SWEEP_CALLS } from './kubernetes-made.js';

/**
 * Each kind's handler knows the type of its `observed`; the registry forgets it (`any` makes
 * ActualOf plain Actual), since the engine only carries Actuals from a kind back to the same kind.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handlers = { [K in Kind]: ResourceHandler<K, any> };

export const HANDLERS: Handlers = {
  vpc,
  subnet,
  'internet-gateway': internetGateway,
  'elastic-ip': elasticIp,
  'nat-gateway': natGateway,
  'route-table': routeTable,
  'network-acl': networkAcl,
  'vpc-endpoint': vpcEndpoint,
  'security-group': securityGroup,
  'security-group-rules': securityGroupRules,
  bucket,
  'bucket-object': bucketObject,
  'discovery-bucket': discoveryBucket,
  pki,
  'iam-role': iamRole,
  'oidc-provider': oidcProvider,
  'instance-profile': instanceProfile,
  'iam-user': iamUser,
  'hosted-zone': hostedZone,
  'dns-record': dnsRecord,
  'load-balancer': loadBalancer,
  'target-group': targetGroup,
  'network-load-balancer': networkLoadBalancer,
  'launch-template': launchTemplate,
  'auto-scaling-group': autoScalingGroup,
  'sqs-queue': sqsQueue,
  'event-rule': eventRule,
  'lifecycle-hook': lifecycleHook,
};

/**
 * Destroy's one step that is no kind of ours: what the cluster's Kubernetes made in the VPC
 * (Service load balancers, their security groups, detached interfaces) is swept once the instances,
 * NAT gateways and our load balancers are gone (`after`), and before the kinds its leftovers would
 * block (`before`). What it cannot remove is reported as blockers of our resources.
 */
export const DESTROY_SWEEP = {
  name: 'kubernetes-made',
  after: ['auto-scaling-group', 'nat-gateway', 'load-balancer', 'network-load-balancer'] as readonly Kind[],
  before: ['subnet', 'security-group', 'internet-gateway', 'vpc'] as readonly Kind[],
  /** the kind whose resource a failed sweep is reported against: what it sweeps lies in the VPC */
  within: 'vpc' as Kind,
  run: sweepKubernetesMade,
  /** the IAM actions it calls (the operator policy grants them without kubeaz's tag condition) */
  calls: SWEEP_CALLS,
  describe: describeBlocker,
};
export type { Blocker } from './kubernetes-made.js';

/** What commands need of particular kinds, through the registry (a command never opens a kind's module). */
export { PKI_PREFIX } from './pki.js';
export { retainBackupsOnly } from './bucket.js';
export { observedDesired, observedInstances } from './auto-scaling-group.js';
export { masterRenderings } from './master-renderings.js';
export { recordedImages } from './launch-template.js';
export { consoleOutput, groupInstances, inServiceInstances, instanceById, INSTANCE_CALLS, type ClusterInstance } from './instances.js';
export {
  INVENTORY_CALLS,
  STORED_SPEC_READ_CALLS,
  bucketRegion,
  bucketTags,
  objectText,
  taggedScalingGroups,
  taggedVpcs,
  type TaggedGroup,
  type TaggedVpc,
} from './cluster-inventory.js';
export { holdsSpec, recordedSpec, writeSpec, type RecordedSpec } from './stored-spec.js';

/**
 * A kind's handler as the engine sees it: for any kind, Actuals in and out (the registry already
 * forgot each kind's `observed` type). The one place where a kind-indexed lookup widens.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function handlerFor(handlers: Handlers, kind: Kind): ResourceHandler<Kind, any> {
  return handlers[kind];
}
