/**
 * IAM roles for service accounts without EKS (spec.iam.serviceAccountIssuerDiscovery): the
 * discovery bucket with the issuer's two public documents, the IAM OIDC provider of that issuer,
 * and one role per add-on and per spec service account, each trusting exactly one service account.
 */
import { createHash } from 'node:crypto';
import { DISCOVERY_KEY, discoveryDocument, JWKS_KEY } from '../../pki/jwks.js';
import type { ClusterSpec } from '../../spec/schema.js';
import { IRSA_ADDON_ROLES, roleArnOf } from '../bootstrap.js';
import { discoveryBucketName, issuerUrlOf, naming } from '../names.js';
import { clusterAutoscalerPolicy, discoveryBucketPolicy, ebsCsiPolicy, nthPolicy, STS_AUDIENCE, webIdentityTrust } from '../policies.js';
import { ref, type PolicyDocument } from '../types.js';
import { irsaGrantsOf, type Area } from './builder.js';
import { nthScopeOf } from './drain.js';

export const DISCOVERY_BUCKET_KEY = 'bucket/discovery';
export const OIDC_PROVIDER_KEY = 'oidc-provider';

/** The role name suffix of a spec service account: `sa-<ns>.<name>` (a namespace holds no '.'), hashed when too long for IAM's 64. */
export function serviceAccountRoleSuffix(clusterId: string, namespace: string, name: string): string {
  const plain = `sa-${namespace}.${name}`;
  return clusterId.length + 1 + plain.length <= 64
    ? plain
    : `sa-${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 16)}`;
}

/** The spec's service accounts with their role ARNs and the annotation that gives a pod the role (status, README). */
export function serviceAccountRoles(
  spec: ClusterSpec,
  accountId: string,
): Array<{ namespace: string; name: string; roleArn: string; annotate: string }> {
  if (!spec.spec.iam.serviceAccountIssuerDiscovery.enabled) return [];
  const names = naming(spec);
  return spec.spec.iam.serviceAccounts.map((a) => {
    const roleArn = roleArnOf(accountId, names, serviceAccountRoleSuffix(names.clusterId, a.namespace, a.name));
    return {
      namespace: a.namespace,
      name: a.name,
      roleArn,
      annotate: `kubectl -n ${a.namespace} annotate serviceaccount ${a.name} eks.amazonaws.com/role-arn=${roleArn}`,
    };
  });
}

export interface Irsa {
  issuer: string;
}

export function irsa({ s, id, names, facts, b }: Area): Irsa | undefined {
  // off: nothing — unless a switch to off is under way: the add-ons on the masters still use the roles
  if (!irsaGrantsOf({ s, facts }).irsaResources) return undefined;
  const bucketName = discoveryBucketName(id, facts.accountId);
  const bucketArn = `arn:aws:s3:::${bucketName}`;
  const issuer = issuerUrlOf(bucketName, s.region);
  const issuerHost = new URL(issuer).host;
  // after the VPC: it records the feature before its first resource is made (model/features.ts)
  const bucket = b.add(
    'discovery-bucket',
    DISCOVERY_BUCKET_KEY,
    bucketName,
    { name: bucketName, policy: JSON.stringify(discoveryBucketPolicy(bucketArn, [DISCOVERY_KEY, JWKS_KEY])) },
    { after: ['vpc'] },
  );
  const objects = [
    b.add('bucket-object', `object/discovery/${DISCOVERY_KEY}`, DISCOVERY_KEY, {
      bucket,
      objectKey: DISCOVERY_KEY,
      body: discoveryDocument(issuer),
      contentType: 'application/json',
    }),
    // made from pki/sa.pub by the pki kind (src/pki/jwks.ts): known once the key exists
    b.add('bucket-object', `object/discovery/${JWKS_KEY}`, JWKS_KEY, {
      bucket,
      objectKey: JWKS_KEY,
      body: ref('pki', 'jwks'),
      contentType: 'application/json',
    }),
  ];
  // STS reads the documents when a token is presented; the provider is made once they are there.
  b.add('oidc-provider', OIDC_PROVIDER_KEY, issuerHost, { url: issuer, clientIds: [STS_AUDIENCE] }, { after: objects.map((o) => o.$ref) });
  const provider = ref(OIDC_PROVIDER_KEY, 'arn');
  const role = (suffix: string, namespace: string, sa: string, policies: Record<string, PolicyDocument>, managedPolicyArns?: string[]) => {
    const name = names.role(suffix);
    b.add(
      'iam-role',
      `role/${suffix}`,
      name,
      {
        name,
        path: names.iamPath,
        trust: webIdentityTrust(provider, issuerHost, namespace, sa),
        policies,
        ...(managedPolicyArns ? { managedPolicyArns } : {}),
      },
      { tags: { 'kubeaz:service-account': `${namespace}/${sa}` } },
    );
  };
  const { ebsCsi, clusterAutoscaler, nodeTerminationHandler } = IRSA_ADDON_ROLES;
  role(ebsCsi.role, ebsCsi.namespace, ebsCsi.serviceAccount, { 'kubeaz-ebs-csi': ebsCsiPolicy(id, s.region, facts.accountId) });
  role(clusterAutoscaler.role, clusterAutoscaler.namespace, clusterAutoscaler.serviceAccount, {
    'kubeaz-cluster-autoscaler': clusterAutoscalerPolicy(id),
  });
  // the node termination handler in queue-processor mode (with node groups: the drain queue's)
  const nth = nthScopeOf({ s, id, facts });
  if (nth)
    role(nodeTerminationHandler.role, nodeTerminationHandler.namespace, nodeTerminationHandler.serviceAccount, {
      'kubeaz-node-termination-handler': nthPolicy(nth),
    });
  for (const a of s.iam.serviceAccounts)
    role(serviceAccountRoleSuffix(id, a.namespace, a.name), a.namespace, a.name, {}, [...a.policyArns]);
  return { issuer };
}
