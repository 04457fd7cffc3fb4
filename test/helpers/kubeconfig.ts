/** A cluster's kubeconfig entries and a user's existing kubeconfig, for the kubeconfig-file tests (unit and integration). */
import { renderKubeconfig } from '../../src/pki/kubeconfig.js';
import { entriesFrom } from '../../src/pki/kubeconfig-file.js';

export const rendered = renderKubeconfig({
  clusterName: 'demo-dev',
  server: 'https://master.dev.example.com:443',
  caCert: 'CA',
  user: 'kubernetes-admin',
  clientCert: 'CERT',
  clientKey: 'KEY',
});
export const entries = entriesFrom(rendered, 'demo-dev', { cluster: 'demo-dev', user: 'demo-dev-admin', context: 'demo-dev' });

/** A user's kubeconfig as kubectl and cloud tools leave it: several contexts, comments, an exec user. */
export const EXISTING = `# my clusters — do not lose this comment
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: prod
  cluster:
    server: https://prod.example.org:6443
    certificate-authority-data: UFJPRC1DQQ==
- name: kind-local
  cluster:
    server: https://127.0.0.1:39121
    insecure-skip-tls-verify: true
users:
- name: prod-oidc
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --oidc-issuer-url=https://issuer.example.org]
- name: kind-local
  user:
    token: abc123
contexts:
- name: prod
  context:
    cluster: prod
    user: prod-oidc
    namespace: payments
- name: kind-local
  context:
    cluster: kind-local
    user: kind-local
current-context: prod
`;
