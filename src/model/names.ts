/** Deterministic names and tags, pure. */
import { createHash } from 'node:crypto';
import type { ClusterSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import { ENV_TAG, KEY_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type Tags } from './types.js';

export interface Naming {
  clusterId: string;
  internalDomain: string;
  bucket(accountId: string): string;
  iamPath: string;
  elbPublic: string;
  elbInternal: string;
  /** the API's network load balancers and their target groups (AWS: at most 32 characters each) */
  nlbPublic: string;
  nlbInternal: string;
  tgPublic: string;
  tgInternal: string;
  asg(group: string): string;
  launchTemplate(group: string): string;
  role(role: string): string;
  securityGroup(suffix: string): string;
}

export function naming(spec: ClusterSpec): Naming {
  const id = clusterIdOf(spec);
  return {
    clusterId: id,
    internalDomain: spec.spec.dns.internalDomain ?? `${spec.metadata.environment}.kube`,
    bucket: (accountId) => bucketName(id, accountId),
    iamPath: iamPathOf(id),
    elbPublic: shortName(`${id}-api`),
    elbInternal: shortName(`${id}-api-int`),
    nlbPublic: shortName(`${id}-nlb`),
    nlbInternal: shortName(`${id}-nlb-int`),
    tgPublic: shortName(`${id}-api-tg`),
    tgInternal: shortName(`${id}-api-int-tg`),
    asg: (g) => `${id}-${g}`,
    launchTemplate: (g) => `${id}-${g}`,
    role: (r) => `${id}-${r}`,
    securityGroup: (s) => `${id}-${s}`,
  };
}

/**
 * A name within AWS's length limit (32 for load balancers and target groups), shortened
 * deterministically when too long: its head, '-', and 8 hex characters of the full name's SHA-256,
 * so two long names that share a head stay apart. A name that fits is unchanged (no existing name
 * moves). Never ends in '-' (ELBv2 refuses it). (The same function as the nlb branch's, by design.)
 * Other derived names fit with room to spare for the longest cluster id (24) and group name (20):
 * auto scaling groups 255, launch templates 128, IAM roles and profiles 64, security groups 255.
 */
export function shortName(name: string, max = 32): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** The control plane's groups: `master` for one master; `master`, `master-2`, … for 3 or 5. */
export const MASTER_GROUP = /^master(-[0-9]+)?$/;
export const isMasterGroup = (group: string): boolean => MASTER_GROUP.test(group);

/**
 * The master groups and the zone each is pinned to. One master: group `master` across every zone
 * (zone undefined — the seed's design, unchanged). Three or five: one group per master, each in
 * one zone, round-robin over the spec's zones (one per zone when there are at least as many zones
 * as masters). `firstZone` (a zone of the spec) is where the existing `master` group already runs
 * (1 → 3 on a running cluster: it keeps its instance); the others take the remaining zones in order.
 */
export function masterGroups(spec: ClusterSpec, firstZone?: string): Array<{ name: string; zone: string | undefined }> {
  const count = spec.spec.controlPlane.count;
  if (count <= 1) return [{ name: 'master', zone: undefined }];
  const zones =
    firstZone && spec.spec.zones.includes(firstZone) ? [firstZone, ...spec.spec.zones.filter((z) => z !== firstZone)] : spec.spec.zones;
  return Array.from({ length: count }, (_, i) => ({ name: i === 0 ? 'master' : `master-${i + 1}`, zone: zones[i % zones.length] }));
}

/**
 * What to rename so that a derived name is free: a node group's own resources (`asg/<group>`,
 * `lt/<group>`) are named `<id>-<group>`, so renaming the group frees them; everything else — the
 * control plane's groups, its load balancers and their target groups — is named after the cluster
 * id alone, so only another metadata.name or metadata.environment does.
 */
export function remedyFor(key: string): string {
  const group = /^(?:asg|lt)\/(.+)$/.exec(key)?.[1];
  if (group !== undefined && !isMasterGroup(group))
    return `rename node group '${group}' (or choose another metadata.name or metadata.environment)`;
  const what =
    group !== undefined
      ? "the control plane's groups are"
      : /^(?:tg|nlb|elb)\//.test(key)
        ? "the control plane's load balancers and their target groups are"
        : 'it is';
  return `choose another metadata.name or metadata.environment (${what} named after the cluster id, not after a node group)`;
}

/**
 * The drain set-up (model/areas/drain.ts): the queue (SQS: at most 80 characters), its rules
 * (EventBridge: 64; the longest, `<id>-drain-instance-state-change`, is 52 for a 24-character id)
 * and the lifecycle hook each node group carries (a name unique within its group). The rules are
 * found again by their common prefix, the queue by its name as a prefix.
 */
export const drainQueueName = (clusterId: string): string => `${clusterId}-drain`;
export const drainRulePrefix = (clusterId: string): string => `${clusterId}-drain-`;
export const DRAIN_HOOK = 'kubeaz-drain';
/** The queue's ARN (its name in this region and account: known before it is made). */
export const drainQueueArn = (clusterId: string, region: string, accountId: string): string =>
  `arn:aws:sqs:${region}:${accountId}:${drainQueueName(clusterId)}`;
/**
 * The queue's URL, as SQS answers CreateQueue and GetQueueUrl for it; rendered before the queue
 * exists for the node termination handler on the masters (kops renders its QUEUE_URL the same way:
 * tests/integration/update_cluster/many-addons-ccm-irsa, `https://sqs.<region>.amazonaws.com/<account>/<name>`).
 */
export const drainQueueUrl = (clusterId: string, region: string, accountId: string): string =>
  `https://sqs.${region}.amazonaws.com/${accountId}/${drainQueueName(clusterId)}`;

/** S3 names are global: the account id keeps two accounts' clusters of the same name apart. */
export const bucketName = (clusterId: string, accountId: string): string => `kubeaz-${clusterId}-${accountId}`;

/**
 * IRSA's discovery bucket: a second, public-read bucket beside the private one (its name is the
 * issuer's host, so it is public too). Account-scoped like the cluster's bucket; at most 49
 * characters (cluster id ≤ 24).
 */
export const discoveryBucketName = (clusterId: string, accountId: string): string => `${bucketName(clusterId, accountId)}-oidc`;

/** The service-account issuer: the discovery bucket's regional virtual-hosted URL (no trailing slash). */
export const issuerUrlOf = (discoveryBucket: string, region: string): string => `https://${discoveryBucket}.s3.${region}.amazonaws.com`;

/** The issuer kubeadm gives kube-apiserver by default (https://kubernetes.default.svc.<dnsDomain>); kept accepted beside the new one. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** IAM paths scope our roles, profiles and users: one list call finds them all. */
export const iamPathOf = (clusterId: string): string => `/kubeaz/${clusterId}/`;

/** The tags every resource carries: ownership (cluster id, name, environment, region), logical key, Name, then the spec's own tags. */
export function baseTags(spec: ClusterSpec, key: string, name: string, extra: Tags = {}): Tags {
  return {
    ...spec.spec.tags,
    Name: name,
    ...extra,
    [OWNER_TAG]: clusterIdOf(spec),
    [NAME_TAG]: spec.metadata.name,
    [ENV_TAG]: spec.metadata.environment,
    [REGION_TAG]: spec.spec.region,
    [KEY_TAG]: key,
  };
}

/** What Kubernetes' AWS cloud provider looks for. */
export const k8sClusterTag = (clusterId: string): string => `kubernetes.io/cluster/${clusterId}`;
