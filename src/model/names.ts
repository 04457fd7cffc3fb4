/** Deterministic names and tags, pure. */
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
    elbPublic: `${id}-api`,
    elbInternal: `${id}-api-int`,
    asg: (g) => `${id}-${g}`,
    launchTemplate: (g) => `${id}-${g}`,
    role: (r) => `${id}-${r}`,
    securityGroup: (s) => `${id}-${s}`,
  };
}

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
