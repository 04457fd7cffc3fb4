/**
 * The add-on manifests the masters apply, rendered at `create` from typed objects (so plan and
 * drift see them in the bucket) instead of written by heredocs on the instance. PURE.
 *
 * - the default StorageClass `gp3`: encrypted gp3 from the EBS CSI driver, WaitForFirstConsumer
 *   (a pod is never bound to a volume in a zone it cannot run in);
 * - IRSA on: the amazon-eks-pod-identity-webhook (upstream deploy/, without cert-manager). Its
 *   caBundle is the cluster CA and its serving certificate is signed by it: both exist only in
 *   pki/, so the master's agent sets `caBundle` on the parsed document and makes the certificate.
 */
import { stringify } from 'yaml';

export const ADDON_MANIFEST_PREFIX = 'bootstrap/master/addons/';
export const STORAGE_CLASS_KEY = `${ADDON_MANIFEST_PREFIX}storageclass.yaml`;
export const POD_IDENTITY_WEBHOOK_KEY = `${ADDON_MANIFEST_PREFIX}pod-identity-webhook.yaml`;
export const POD_IDENTITY_WEBHOOK_NAME = 'pod-identity-webhook';

const yamlStream = (docs: readonly object[]): string => docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');

export function storageClassManifest(clusterId: string): string {
  return (
    `# kubeaz: the default StorageClass of ${clusterId} (rendered by kubeaz create)\n` +
    yamlStream([
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'gp3', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'ebs.csi.aws.com',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
        reclaimPolicy: 'Delete',
        parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
      },
    ])
  );
}

/** The webhook's objects; the MutatingWebhookConfiguration's caBundle is left for the master to set. */
export function podIdentityWebhookManifest(image: string, region: string): string {
  const name = POD_IDENTITY_WEBHOOK_NAME;
  return yamlStream([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'kube-system' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'watch', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'kube-system' }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'kube-system' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            serviceAccountName: name,
            priorityClassName: 'system-cluster-critical',
            nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
              { key: 'node.cloudprovider.kubernetes.io/uninitialized', operator: 'Exists', effect: 'NoSchedule' },
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
            ],
            containers: [
              {
                name,
                image,
                command: [
                  '/webhook',
                  '--in-cluster=false',
                  '--namespace=kube-system',
                  `--service-name=${name}`,
                  '--annotation-prefix=eks.amazonaws.com',
                  '--token-audience=sts.amazonaws.com',
                  `--aws-default-region=${region}`,
                  '--sts-regional-endpoint=true',
                  '--port=8443',
                  '--tls-cert=/etc/webhook/certs/tls.crt',
                  '--tls-key=/etc/webhook/certs/tls.key',
                  '--logtostderr',
                ],
                ports: [{ name: 'https', containerPort: 8443 }],
                volumeMounts: [{ name: 'cert', mountPath: '/etc/webhook/certs', readOnly: true }],
              },
            ],
            volumes: [{ name: 'cert', secret: { secretName: `${name}-cert` } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'kube-system' },
      spec: { selector: { app: name }, ports: [{ port: 443, targetPort: 'https' }] },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: `${name}.amazonaws.com`,
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1beta1'],
          clientConfig: { service: { name, namespace: 'kube-system', path: '/mutate' } },
          objectSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [name] }] },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        },
      ],
    },
  ]);
}

/** The manifest objects `create` uploads for the masters (the webhook's only with IRSA on). */
export function addonManifestFiles(
  clusterId: string,
  region: string,
  webhookImage: string | undefined,
): Array<{ key: string; body: string; contentType: string }> {
  const out = [{ key: STORAGE_CLASS_KEY, body: storageClassManifest(clusterId), contentType: 'application/yaml' }];
  if (webhookImage)
    out.push({ key: POD_IDENTITY_WEBHOOK_KEY, body: podIdentityWebhookManifest(webhookImage, region), contentType: 'application/yaml' });
  return out;
}
