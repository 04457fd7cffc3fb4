/**
 * Talking to the cluster's Kubernetes API from kubeaz itself (rollout's version wait, the
 * acceptance run): an admin kubeconfig built as `kubeaz kubeconfig` builds it (cluster CA from the
 * bucket, the same endpoint choice and tls-server-name), read by @kubernetes/client-node.
 */
import { isNotFound, KubeazError } from '../aws/errors.js';
import { bucketName, naming } from '../model/names.js';
import { ADMIN_CERT_DAYS, signClientCert } from '../pki/ca.js';
import { apiEndpoint, renderKubeconfig, type ApiEndpoint } from '../pki/kubeconfig.js';
import { PKI_PREFIX } from '../resources/index.js';
import type { Session } from './session.js';

export const KUBE_ADMIN_USER = 'kubernetes-admin';

/** The admin kubeconfig text and the endpoint it names. */
export async function adminKubeconfig(s: Session): Promise<{ text: string; endpoint: ApiEndpoint }> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await s.aws.s3();
  const Bucket = bucketName(s.clusterId, s.ctx.accountId);
  const get = async (name: string): Promise<string> => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket, Key: PKI_PREFIX + name, ExpectedBucketOwner: s.ctx.accountId }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (isNotFound(e)) throw new KubeazError(`s3://${Bucket}/${PKI_PREFIX}${name} does not exist: run kubeaz create first`, 'NoPki', 'pki', { cause: e });
      throw e;
    }
  };
  const [caCert, caKey] = await Promise.all([get('ca.crt'), get('ca.key')]);
  const spec = s.spec;
  const elbDns: { public?: string; internal?: string } = {};
  if (!(spec.spec.network.apiAccess.length > 0 && spec.spec.dns.publicDomain)) {
    const names = naming(spec);
    const want = spec.spec.network.apiAccess.length > 0 ? names.elbPublic : names.elbInternal;
    const { DescribeLoadBalancersCommand } = await import('@aws-sdk/client-elastic-load-balancing');
    try {
      const out = await (await s.aws.elb()).send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [want] }));
      const dns = out.LoadBalancerDescriptions?.[0]?.DNSName;
      if (dns) elbDns[want === names.elbPublic ? 'public' : 'internal'] = dns;
    } catch (e) {
      if (!isNotFound(e) && !/LoadBalancerNotFound/.test((e as Error).name ?? '')) throw e;
    }
  }
  const endpoint = apiEndpoint(spec, elbDns);
  const client = await signClientCert(caCert, caKey, KUBE_ADMIN_USER, ['system:masters'], ADMIN_CERT_DAYS);
  return { text: renderKubeconfig({ clusterName: s.clusterId, server: endpoint.server, tlsServerName: endpoint.tlsServerName, caCert, user: KUBE_ADMIN_USER, clientCert: client.cert, clientKey: client.key }), endpoint };
}

/** A KubeConfig of @kubernetes/client-node loaded from kubeconfig text. */
export async function kubeConfigFrom(text: string) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(text);
  return { k8s, kc };
}

/** The API server's version (gitVersion, e.g. v1.35.0), or a clear error when no API answers. */
export async function apiServerVersion(kubeconfig: string, timeoutMs = 10_000): Promise<string> {
  const { k8s, kc } = await kubeConfigFrom(kubeconfig);
  const server = kc.getCurrentCluster()?.server ?? '?';
  try {
    const api = kc.makeApiClient(k8s.VersionApi);
    const v = await Promise.race([
      api.getCode(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs).unref()),
    ]);
    return v.gitVersion;
  } catch (e) {
    throw new KubeazError(`no Kubernetes API answers at ${server}: ${(e as Error).message}`, 'NoKubernetesApi', 'kubernetes', { cause: e });
  }
}

/** Polls until the API server reports `version` (v-prefix optional), or throws after `maxSeconds`. */
export async function waitForApiVersion(kubeconfig: string, version: string, opts: { pollSeconds: number; maxSeconds: number; onPoll?: (seen: string, seconds: number) => void; signal?: AbortSignal }): Promise<void> {
  const want = version.replace(/^v/, '');
  const started = Date.now();
  let last = '';
  for (;;) {
    try {
      last = (await apiServerVersion(kubeconfig)).replace(/^v/, '');
      if (last === want) return;
    } catch (e) {
      last = (e as Error).message;
    }
    const seconds = (Date.now() - started) / 1000;
    opts.onPoll?.(last, seconds);
    if (seconds > opts.maxSeconds || opts.signal?.aborted)
      throw new KubeazError(`the API server did not report v${want} within ${opts.maxSeconds}s (last: ${last})`, 'ApiVersionTimeout', 'kubernetes');
    await new Promise((r) => setTimeout(r, opts.pollSeconds * 1000));
  }
}
