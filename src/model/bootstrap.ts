/**
 * Rendering of the bootstrap files (templates/ → per-cluster text), pure: template texts come in
 * as data, rendered files go out as data. Placeholders are {{NAME}}; shell's ${VAR} is untouched.
 */
import type { ClusterSpec, NodeGroupSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import type { Naming } from './names.js';
import { POD_CIDR, SERVICE_CIDR } from '../spec/cidr.js';
import { addonVars, NODEJS, podIdentityWebhookImage } from '../spec/versions.js';
import { agentBundleKey, UNBUILT_AGENT } from './agent.js';
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, discoveryBucketName, issuerUrlOf } from './names.js';


/** Which template becomes which object in the bucket. Prefixes decide which role may read it. */
export const BOOTSTRAP_FILES: ReadonlyArray<{ template: string; key: string; contentType: string }> = [
  { template: 'bootstrap/common.sh', key: 'bootstrap/common/common.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/master.sh', key: 'bootstrap/master/master.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/etcd-backup.sh', key: 'bootstrap/master/etcd-backup.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/etcd-restore.sh', key: 'bootstrap/master/etcd-restore.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/etcd-membership.sh', key: 'bootstrap/master/etcd-membership.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/kubeaz-etcd-backup.service', key: 'bootstrap/master/kubeaz-etcd-backup.service', contentType: 'text/plain' },
  { template: 'bootstrap/kubeaz-etcd-backup.timer', key: 'bootstrap/master/kubeaz-etcd-backup.timer', contentType: 'text/plain' },
  { template: 'bootstrap/join-token.sh', key: 'bootstrap/master/join-token.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/kubeaz-join-token.service', key: 'bootstrap/master/kubeaz-join-token.service', contentType: 'text/plain' },
  { template: 'bootstrap/kubeaz-join-token.timer', key: 'bootstrap/master/kubeaz-join-token.timer', contentType: 'text/plain' },
  { template: 'bootstrap/node-roles.sh', key: 'bootstrap/master/node-roles.sh', contentType: 'text/x-shellscript' },
  { template: 'bootstrap/kubeaz-node-roles.service', key: 'bootstrap/master/kubeaz-node-roles.service', contentType: 'text/plain' },
  { template: 'bootstrap/storageclass.yaml', key: 'bootstrap/master/storageclass.yaml', contentType: 'application/yaml' },
];

/** Bootstrap files only a cluster with IRSA on has (spec.iam.serviceAccountIssuerDiscovery). */
export const IRSA_BOOTSTRAP_FILES: ReadonlyArray<{ template: string; key: string; contentType: string }> = [
  { template: 'bootstrap/irsa.sh', key: 'bootstrap/master/irsa.sh', contentType: 'text/x-shellscript' },
];

/** Nodes and loadbalancers: install Node.js, fetch and check the agent, run it. */
export const USERDATA_TEMPLATE = 'userdata.sh';
/** Masters, until the agent's master flow replaces the bootstrap scripts: fetch bootstrap/, run master.sh. */
export const USERDATA_MASTER_TEMPLATE = 'userdata-master.sh';

/** Every template a loader must read from templates/ (paths relative to it). */
export const TEMPLATE_NAMES: readonly string[] = [USERDATA_TEMPLATE, USERDATA_MASTER_TEMPLATE, ...BOOTSTRAP_FILES.map((f) => f.template), ...IRSA_BOOTSTRAP_FILES.map((f) => f.template)];

/**
 * Template-only variables (never in cluster.env): the few lines by which an optional feature joins
 * master.sh and user data. Empty when the feature is off, so a cluster without it renders
 * byte for byte as before.
 */
export const HOOK_PREFIX = 'HOOK_';

/** The IAM role names of the add-ons that get their own role with IRSA on (suffixes of `<cluster id>-`). */
export const IRSA_ADDON_ROLES = {
  ebsCsi: { role: 'irsa-ebs-csi', namespace: 'kube-system', serviceAccount: 'ebs-csi-controller-sa' },
  clusterAutoscaler: { role: 'irsa-cluster-autoscaler', namespace: 'kube-system', serviceAccount: 'cluster-autoscaler' },
} as const;

/** The role ARN of `<cluster id>-<suffix>` under the cluster's IAM path (deterministic, as the role is made). */
export const roleArnOf = (accountId: string, names: Naming, suffix: string): string => `arn:aws:iam::${accountId}:role${names.iamPath}${names.role(suffix)}`;

/** IRSA's cluster.env variables and hooks; {} and empty hooks when it is off. */
export function irsaVars(spec: ClusterSpec, names: Naming, accountId: string | undefined): Record<string, string> {
  const off = { HOOK_IRSA_SOURCE: '', HOOK_IRSA_ADDONS: '', HOOK_KUBEADM_PATCHES: '', HOOK_BEFORE_INIT: '', HOOK_USERDATA_MASTER: '' };
  if (!spec.spec.iam.serviceAccountIssuerDiscovery.enabled) return off;
  if (!accountId) throw new TemplateError('IRSA needs the account id to name its roles');
  const issuer = issuerUrlOf(discoveryBucketName(names.clusterId, accountId), spec.spec.region);
  return {
    SERVICE_ACCOUNT_ISSUER: issuer,
    DEFAULT_SERVICE_ACCOUNT_ISSUER,
    EBS_CSI_ROLE_ARN: roleArnOf(accountId, names, IRSA_ADDON_ROLES.ebsCsi.role),
    CLUSTER_AUTOSCALER_ROLE_ARN: roleArnOf(accountId, names, IRSA_ADDON_ROLES.clusterAutoscaler.role),
    POD_IDENTITY_WEBHOOK_IMAGE: podIdentityWebhookImage(spec.spec.kubernetesVersion),
    HOOK_IRSA_SOURCE: '# IAM roles for service accounts: the pod-identity webhook, the issuer flags, add-ons on their own roles.\n# shellcheck source=/dev/null\n. "$KUBEAZ_DIR/irsa.sh"\n',
    // before the add-ons that use it: a pod made while the webhook is not there gets no role
    HOOK_IRSA_ADDONS: '  addon pod-identity-webhook addon_pod_identity_webhook\n',
    HOOK_KUBEADM_PATCHES: 'patches:\n  directory: $K8S_DIR/patches\n',
    HOOK_BEFORE_INIT: '  write_apiserver_issuer_patch\n',
    // in the master's user data, so a new issuer is a new launch template version (rollout replaces the master)
    HOOK_USERDATA_MASTER: `export SERVICE_ACCOUNT_ISSUER=${shq(issuer)}\n`,
  };
}

export class TemplateError extends Error {}

export function renderTemplate(name: string, text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, v: string) => {
    const value = vars[v];
    if (value === undefined) throw new TemplateError(`template ${name} uses {{${v}}}, which is not defined`);
    return value;
  });
}

/** Single-quote a value for a POSIX shell. */
export function shq(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

export function clusterVars(spec: ClusterSpec, names: Naming, bucket: string, accountId?: string): Record<string, string> {
  const s = spec.spec;
  // Names the API server certificate must carry (YAML list items of the kubeadm config).
  const sans = [`master.${names.internalDomain}`];
  if (s.dns.publicDomain && s.network.apiAccess.length > 0) sans.push(`master.${spec.metadata.environment}.${s.dns.publicDomain}`);
  return {
    CLUSTER_ID: clusterIdOf(spec),
    CLUSTER_NAME: spec.metadata.name,
    ENVIRONMENT: spec.metadata.environment,
    REGION: s.region,
    BUCKET: bucket,
    KUBERNETES_VERSION: s.kubernetesVersion,
    KUBERNETES_MINOR: s.kubernetesVersion.split('.').slice(0, 2).join('.'),
    INTERNAL_DOMAIN: names.internalDomain,
    MASTER_DNS: `master.${names.internalDomain}`,
    POD_CIDR,
    SERVICE_CIDR,
    VPC_CIDR: s.network.vpcCidr,
    ETCD_BACKUP_INTERVAL_MINUTES: String(s.etcd.backupIntervalMinutes),
    ETCD_BACKUP_RETENTION_DAYS: String(s.etcd.backupRetentionDays),
    API_CERT_SANS: sans.map((n) => `    - ${n}`).join('\n'),
    ...addonVars(s.kubernetesVersion),
    // the bootstrap scripts read 1 when it is absent: a single master's cluster.env stays as it was
    ...(s.controlPlane.count > 1 ? { CONTROL_PLANE_COUNT: String(s.controlPlane.count) } : {}),
    ...irsaVars(spec, names, accountId),
  };
}

/** cluster.env: the environment every bootstrap script sources (the seed's exported variables). */
export function renderClusterEnv(vars: Readonly<Record<string, string>>): string {
  const lines = Object.keys(vars)
    .filter((k) => !k.startsWith(HOOK_PREFIX))
    .sort()
    .map((k) => `${k}=${shq(vars[k]!)}`);
  return `# rendered by kubeaz from the cluster spec; sourced by the bootstrap scripts\n${lines.join('\n')}\n`;
}

export function renderBootstrapFiles(
  templates: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
): Array<{ key: string; body: string; contentType: string }> {
  const files = vars.SERVICE_ACCOUNT_ISSUER !== undefined ? [...BOOTSTRAP_FILES, ...IRSA_BOOTSTRAP_FILES] : BOOTSTRAP_FILES;
  const out = files.map((f) => {
    const text = templates[f.template];
    if (text === undefined) throw new TemplateError(`template ${f.template} is missing`);
    return { key: f.key, body: renderTemplate(f.template, text, vars), contentType: f.contentType };
  });
  out.push({ key: 'bootstrap/common/cluster.env', body: renderClusterEnv(vars), contentType: 'text/plain' });
  return out;
}

export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function formatTaints(taints: NodeGroupSpec['taints']): string {
  return taints.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`).join(',');
}

/**
 * The small user-data of one group: who am I, where is the bucket; the rest comes from the bucket
 * (the agent, content-addressed by `agent`, for nodes and loadbalancers; the bootstrap scripts for masters).
 */
export function renderUserData(
  templates: Readonly<Record<string, string>>,
  vars: Readonly<Record<string, string>>,
  role: 'master' | 'node' | 'loadbalancer',
  group: string,
  labels: Readonly<Record<string, string>>,
  taints: NodeGroupSpec['taints'],
  /** default: the stand-in of a model test without a built agent */
  agent: { key: string; sha256: string } = { key: agentBundleKey(UNBUILT_AGENT.sha256), sha256: UNBUILT_AGENT.sha256 },
): string {
  const name = role === 'master' ? USERDATA_MASTER_TEMPLATE : USERDATA_TEMPLATE;
  const text = templates[name];
  if (text === undefined) throw new TemplateError(`template ${name} is missing`);
  const nodeLabels = formatLabels(labels);
  const nodeTaints = formatTaints(taints);
  // These lists become the kubelet's --node-labels= / --register-with-taints= arguments, split on
  // whitespace by systemd and on ',' by the kubelet. The spec's rules allow only the characters
  // below; anything else (a space, a quote, a second '=' list) could add a flag or a label, so it
  // is refused here too, whatever the caller validated.
  for (const [what, list] of [['labels', nodeLabels], ['taints', nodeTaints]] as const) {
    const items = list === '' ? [] : list.split(',');
    const item = what === 'labels' ? /^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*$/ : /^[A-Za-z0-9._/-]+(=[A-Za-z0-9._-]*)?:[A-Za-z]+$/;
    const bad = items.find((i) => !item.test(i)) ?? (items.length !== (what === 'labels' ? Object.keys(labels).length : taints.length) ? list : undefined);
    if (bad !== undefined) throw new TemplateError(`node group ${group}: ${what} entry ${JSON.stringify(bad)} holds characters the kubelet's flag cannot take safely`);
  }
  if (!/^[a-f0-9]{64}$/.test(agent.sha256) || !/^agent\/[A-Za-z0-9._-]+$/.test(agent.key)) throw new TemplateError(`agent bundle key ${agent.key} / sha256 ${agent.sha256} is not what user data can name`);
  return renderTemplate(name, text, {
    ...vars,
    AGENT_KEY: agent.key,
    AGENT_SHA256: agent.sha256,
    NODEJS_PACKAGE: NODEJS.package,
    NODEJS_BINARY: NODEJS.binary,
    HOOK_USERDATA: role === 'master' ? (vars.HOOK_USERDATA_MASTER ?? '') : '',
    ROLE: role,
    NODE_GROUP: group,
    NODE_LABELS: shq(nodeLabels),
    NODE_TAINTS: shq(nodeTaints),
  });
}
