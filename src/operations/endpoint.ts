/**
 * Where the cluster's Kubernetes API is, and an admin kubeconfig for it: what create prints at its
 * end, what kubeconfig writes, what status and rollout read the API with. The endpoint: the public
 * master record, else the public API load balancer, else the internal one.
 */
import { isNotFound, KubeazError } from '../aws/errors.js';
import { bucketName, naming } from '../model/names.js';
import { signClientCert } from '../pki/ca.js';
import { apiEndpoint, renderKubeconfig, type ApiEndpoint } from '../pki/kubeconfig.js';
import { PKI_PREFIX } from '../resources/index.js';
import type { Session } from './session.js';

export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';

/** An endpoint the user gave (`status --api-endpoint`, a tunnel) or the cluster's own. */
export type GivenEndpoint = { server: string; via: ApiEndpoint['via'] | 'given' };

/** The endpoint of the cluster's API, from the spec and (when needed) the API load balancer's DNS name. */
/** The IAM actions finding the API endpoint and signing an admin certificate call (the operator policy is built from them). */
export const ENDPOINT_CALLS: readonly string[] = ['elasticloadbalancing:DescribeLoadBalancers', 's3:GetObject'];

export async function clusterEndpoint(s: Session): Promise<ApiEndpoint> {
  const spec = s.spec;
  const needsElb = !(spec.spec.network.apiAccess.length > 0 && spec.spec.dns.publicDomain);
  const elbDns: { public?: string; internal?: string } = {};
  if (needsElb) {
    const names = naming(spec);
    const publicApi = spec.spec.network.apiAccess.length > 0;
    try {
      let dns: string | undefined;
      if (spec.spec.controlPlane.loadBalancer === 'network') {
        const { DescribeLoadBalancersCommand } = await import('@aws-sdk/client-elastic-load-balancing-v2');
        const want = publicApi ? names.nlbPublic : names.nlbInternal;
        const out = await (await s.aws.elbv2()).send(new DescribeLoadBalancersCommand({ Names: [want] }));
        dns = out.LoadBalancers?.find((l) => l.LoadBalancerName === want)?.DNSName;
      } else {
        const { DescribeLoadBalancersCommand } = await import('@aws-sdk/client-elastic-load-balancing');
        const want = publicApi ? names.elbPublic : names.elbInternal;
        const out = await (await s.aws.elb()).send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [want] }));
        dns = out.LoadBalancerDescriptions?.[0]?.DNSName;
      }
      if (dns) elbDns[publicApi ? 'public' : 'internal'] = dns;
    } catch (e) {
      if (!isNotFound(e) && !/LoadBalancerNotFound/.test((e as Error).name ?? '')) throw e;
    }
  }
  return apiEndpoint(spec, elbDns);
}

/**
 * An admin kubeconfig (renderKubeconfig's text) with a client certificate valid `ttlMs`, signed with
 * the cluster CA fetched into memory only.
 */
export async function adminKubeconfig(
  s: Session,
  ttlMs: number,
  endpoint?: GivenEndpoint,
): Promise<{ text: string; endpoint: GivenEndpoint; caCert: string; notAfter: Date }> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await s.aws.s3();
  const Bucket = bucketName(s.clusterId, s.ctx.accountId);
  const get = async (name: string): Promise<string> => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket, Key: PKI_PREFIX + name, ExpectedBucketOwner: s.ctx.accountId }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (isNotFound(e))
        throw new KubeazError(`s3://${Bucket}/${PKI_PREFIX}${name} does not exist: run kubeaz create first`, 'NoPki', 'pki', { cause: e });
      throw e;
    }
  };
  const [caCert, caKey, ep] = await Promise.all([get('ca.crt'), get('ca.key'), endpoint ?? clusterEndpoint(s)]);
  const now = new Date();
  const client = await signClientCert(caCert, caKey, ADMIN_USER, [ADMIN_GROUP], ttlMs / 86_400_000, now);
  const tlsServerName = (ep as { tlsServerName?: string }).tlsServerName;
  const text = renderKubeconfig({
    clusterName: s.clusterId,
    server: ep.server,
    ...(tlsServerName ? { tlsServerName } : {}),
    caCert,
    user: ADMIN_USER,
    clientCert: client.cert,
    clientKey: client.key,
  });
  return { text, endpoint: ep, caCert, notAfter: new Date(now.getTime() + ttlMs) };
}
