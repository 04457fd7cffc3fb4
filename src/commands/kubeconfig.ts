/**
 * kubeaz kubeconfig: an admin kubeconfig (kubernetes-admin in system:masters, 1 year) signed with
 * the cluster CA from s3://<bucket>/pki/ — the operator's credentials must be allowed to read it.
 * The endpoint: the public master record, else the public API load balancer, else the internal one.
 */
import { chmod, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isNotFound, KubeazError } from '../aws/errors.js';
import { ConsoleProgress } from '../engine/progress.js';
import { naming } from '../model/names.js';
import { bucketName } from '../model/names.js';
import { ADMIN_CERT_DAYS, signClientCert } from '../pki/ca.js';
import { apiEndpoint, renderKubeconfig } from '../pki/kubeconfig.js';
import { PKI_PREFIX } from '../resources/pki.js';
import { openSession, type GlobalOptions } from './session.js';

export interface KubeconfigOptions extends GlobalOptions {
  out?: string;
}

export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';

export async function kubeconfigCommand(opts: KubeconfigOptions): Promise<number> {
  const s = await openSession(opts, new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
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
    const needsElb = !(spec.spec.network.apiAccess.length > 0 && spec.spec.dns.publicDomain);
    const elbDns: { public?: string; internal?: string } = {};
    if (needsElb) {
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
    if (endpoint.via === 'internal-elb')
      s.progress.emit({ type: 'warn', message: `spec.network.apiAccess is empty: the API has no public endpoint, so this kubeconfig names the internal load balancer (${endpoint.server}), reachable only from inside the VPC` });
    const client = await signClientCert(caCert, caKey, ADMIN_USER, [ADMIN_GROUP], ADMIN_CERT_DAYS);
    const text = renderKubeconfig({ clusterName: s.clusterId, server: endpoint.server, tlsServerName: endpoint.tlsServerName, caCert, user: ADMIN_USER, clientCert: client.cert, clientKey: client.key });
    if (!opts.out) {
      process.stdout.write(text);
      return 0;
    }
    const file = path.resolve(opts.out);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    s.progress.emit({ type: 'info', message: `admin kubeconfig for ${s.clusterId} (${ADMIN_USER}, valid ${ADMIN_CERT_DAYS} days) → ${endpoint.server}` });
    process.stdout.write(`${file}\n`);
    return 0;
  } finally {
    s.dispose();
  }
}
