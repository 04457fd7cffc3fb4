/** The admin kubeconfig: which endpoint it names, and its YAML. PURE. */
import { stringify } from 'yaml';
import type { ClusterSpec } from '../spec/schema.js';
import { naming } from '../model/names.js';

export interface ApiEndpoint {
  server: string;
  /** why this endpoint (shown to the user) */
  via: 'public-record' | 'public-elb' | 'internal-elb';
  /**
   * The name TLS verifies instead of the server's host: set when `server` is a load balancer's
   * own DNS name, which no API server certificate carries. `master.<internalDomain>` is always
   * among the certificate's names, so a later change of load balancer needs no new certificate.
   * kubectl and @kubernetes/client-node both honour `tls-server-name`.
   */
  tlsServerName?: string;
}

/**
 * The public master record when the spec has a public domain and a public API; otherwise the
 * internet-facing load balancer's DNS name; with no public API (apiAccess: []), the internal one.
 */
export function apiEndpoint(spec: ClusterSpec, elbDns: { public?: string; internal?: string }): ApiEndpoint {
  const s = spec.spec;
  const publicApi = s.network.apiAccess.length > 0;
  if (publicApi && s.dns.publicDomain)
    return { server: `https://master.${spec.metadata.environment}.${s.dns.publicDomain}:443`, via: 'public-record' };
  if (publicApi) {
    if (!elbDns.public) throw new Error('the internet-facing API load balancer does not exist: run kubeaz create first');
    return { server: `https://${elbDns.public}:443`, via: 'public-elb', tlsServerName: `master.${naming(spec).internalDomain}` };
  }
  if (!elbDns.internal) throw new Error('the internal API load balancer does not exist: run kubeaz create first');
  return { server: `https://${elbDns.internal}:443`, via: 'internal-elb', tlsServerName: `master.${naming(spec).internalDomain}` };
}

export function renderKubeconfig(o: {
  clusterName: string;
  server: string;
  tlsServerName?: string;
  caCert: string;
  user: string;
  clientCert: string;
  clientKey: string;
}): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const context = `${o.user}@${o.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: o.clusterName,
        cluster: {
          server: o.server,
          ...(o.tlsServerName ? { 'tls-server-name': o.tlsServerName } : {}),
          'certificate-authority-data': b64(o.caCert),
        },
      },
    ],
    users: [{ name: context, user: { 'client-certificate-data': b64(o.clientCert), 'client-key-data': b64(o.clientKey) } }],
    contexts: [{ name: context, context: { cluster: o.clusterName, user: context } }],
    'current-context': context,
    preferences: {},
  });
}
