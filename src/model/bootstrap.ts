/**
 * Rendering of the user data every instance boots with (templates/userdata.sh → per-group text),
 * pure: template texts come in as data, rendered text goes out as data. Placeholders are {{NAME}};
 * shell's ${VAR} is untouched. Everything else an instance runs is the kubeaz agent
 * (src/agent/, its bundle and agent/config.json in the cluster bucket: model/agent.ts).
 */
import type { ClusterSpec, NodeGroupSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import type { Naming } from './names.js';
import { NODEJS, podIdentityWebhookImage } from '../spec/versions.js';
import { agentBundleKey, groupSettingsDoc, renderGroupSettings, UNBUILT_AGENT } from './agent.js';
import { encryptionSettings } from './encryption.js';
import { addonPinsDigest } from './addon-versions.js';
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, discoveryBucketName, drainQueueName, issuerUrlOf } from './names.js';

/** Every group's user data: install Node.js, fetch and check the agent, run it. */
export const USERDATA_TEMPLATE = 'userdata.sh';

/** Every template a loader must read from templates/ (paths relative to it). */
export const TEMPLATE_NAMES: readonly string[] = [USERDATA_TEMPLATE];

/** The IAM role names of the add-ons that get their own role with IRSA on (suffixes of `<cluster id>-`). */
export const IRSA_ADDON_ROLES = {
  ebsCsi: { role: 'irsa-ebs-csi', namespace: 'kube-system', serviceAccount: 'ebs-csi-controller-sa' },
  clusterAutoscaler: { role: 'irsa-cluster-autoscaler', namespace: 'kube-system', serviceAccount: 'cluster-autoscaler' },
  // the chart's service account (its fullname); only with node groups (the drain queue's handler)
  nodeTerminationHandler: { role: 'irsa-nth', namespace: 'kube-system', serviceAccount: 'aws-node-termination-handler' },
} as const;

/** The role ARN of `<cluster id>-<suffix>` under the cluster's IAM path (deterministic, as the role is made). */
export const roleArnOf = (accountId: string, names: Naming, suffix: string): string =>
  `arn:aws:iam::${accountId}:role${names.iamPath}${names.role(suffix)}`;

/** What IRSA gives the masters (the issuer, the add-ons' roles, the webhook's image); undefined when it is off. */
export interface IrsaSettings {
  serviceAccountIssuer: string;
  defaultServiceAccountIssuer: string;
  ebsCsiRoleArn: string;
  clusterAutoscalerRoleArn: string;
  podIdentityWebhookImage: string;
}

export function irsaSettings(spec: ClusterSpec, names: Naming, accountId: string | undefined): IrsaSettings | undefined {
  if (!spec.spec.iam.serviceAccountIssuerDiscovery.enabled) return undefined;
  if (!accountId) throw new TemplateError('IRSA needs the account id to name its roles');
  return {
    serviceAccountIssuer: issuerUrlOf(discoveryBucketName(names.clusterId, accountId), spec.spec.region),
    defaultServiceAccountIssuer: DEFAULT_SERVICE_ACCOUNT_ISSUER,
    ebsCsiRoleArn: roleArnOf(accountId, names, IRSA_ADDON_ROLES.ebsCsi.role),
    clusterAutoscalerRoleArn: roleArnOf(accountId, names, IRSA_ADDON_ROLES.clusterAutoscaler.role),
    podIdentityWebhookImage: podIdentityWebhookImage(spec.spec.kubernetesVersion),
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

/**
 * The cluster's variables of user data. Besides where the agent is, they hold what must make a new
 * launch template version when it changes (so `rollout` replaces the instances): the Kubernetes
 * version and, on masters, the service-account issuer IRSA gives the API server, the
 * EncryptionConfiguration and the node termination handler's mode.
 */
export function clusterVars(spec: ClusterSpec, names: Naming, bucket: string, accountId?: string): Record<string, string> {
  const irsa = irsaSettings(spec, names, accountId);
  return {
    CLUSTER_ID: clusterIdOf(spec),
    REGION: spec.spec.region,
    BUCKET: bucket,
    KUBERNETES_VERSION: spec.spec.kubernetesVersion,
    ...(irsa ? { SERVICE_ACCOUNT_ISSUER: irsa.serviceAccountIssuer } : {}),
    // the API server's EncryptionConfiguration (model/encryption.ts): a new one is a new master version
    ENCRYPTION_FINGERPRINT: encryptionSettings(spec).fingerprint,
    // node groups: the node termination handler runs in queue-processor mode on this queue
    // (model/master-settings.ts nth); switching it is a new master version
    ...(spec.spec.nodeGroups.length ? { DRAIN_QUEUE: drainQueueName(names.clusterId) } : {}),
    // the add-on pins (model/addon-versions.ts): new ones are a new master version, whose add-on step installs them
    ADDON_PINS: addonPinsDigest(spec.spec.kubernetesVersion),
  };
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
 * The small user-data of one group: who am I, where is the bucket; the rest is the agent
 * (content-addressed by `agent`) and its configuration in the bucket.
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
  /** a loadbalancer group's elastic-IP pool */
  elasticIps = 0,
): string {
  const name = USERDATA_TEMPLATE;
  const text = templates[name];
  if (text === undefined) throw new TemplateError(`template ${name} is missing`);
  const nodeLabels = formatLabels(labels);
  const nodeTaints = formatTaints(taints);
  // These lists become the kubelet's --node-labels= / --register-with-taints= arguments, split on
  // whitespace by systemd and on ',' by the kubelet. The spec's rules allow only the characters
  // below; anything else (a space, a quote, a second '=' list) could add a flag or a label, so it
  // is refused here too, whatever the caller validated.
  for (const [what, list] of [
    ['labels', nodeLabels],
    ['taints', nodeTaints],
  ] as const) {
    const items = list === '' ? [] : list.split(',');
    const item = what === 'labels' ? /^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*$/ : /^[A-Za-z0-9._/-]+(=[A-Za-z0-9._-]*)?:[A-Za-z]+$/;
    const bad =
      items.find((i) => !item.test(i)) ??
      (items.length !== (what === 'labels' ? Object.keys(labels).length : taints.length) ? list : undefined);
    if (bad !== undefined)
      throw new TemplateError(
        `node group ${group}: ${what} entry ${JSON.stringify(bad)} holds characters the kubelet's flag cannot take safely`,
      );
  }
  if (!/^[a-f0-9]{64}$/.test(agent.sha256) || !/^agent\/[A-Za-z0-9._-]+$/.test(agent.key))
    throw new TemplateError(`agent bundle key ${agent.key} / sha256 ${agent.sha256} is not what user data can name`);
  return renderTemplate(name, text, {
    ...vars,
    AGENT_KEY: agent.key,
    AGENT_SHA256: agent.sha256,
    NODEJS_PACKAGE: NODEJS.package,
    NODEJS_BINARY: NODEJS.binary,
    // a master's API server is given the issuer: a new issuer is a new version (model/irsa-switch.ts)
    ISSUER:
      role === 'master' && vars.SERVICE_ACCOUNT_ISSUER !== undefined
        ? `\n# service-account issuer (IRSA) ${vars.SERVICE_ACCOUNT_ISSUER}`
        : '',
    // a master's API server reads the EncryptionConfiguration at start: a new one is a new version (a master rollout)
    ENCRYPTION:
      role === 'master' && vars.ENCRYPTION_FINGERPRINT !== undefined
        ? `\n# secrets encrypted at rest, configuration ${vars.ENCRYPTION_FINGERPRINT.slice(0, 16)}`
        : '',
    // a master's add-on step installs the node termination handler in the mode this names (agent/master/addons.ts):
    // a new mode is a new version, and `kubeaz rollout` of the masters switches it
    DRAIN:
      role === 'master' && vars.DRAIN_QUEUE !== undefined
        ? `\n# node termination handler in queue-processor mode, queue ${vars.DRAIN_QUEUE}`
        : '',
    // the master that runs the add-on step installs the pinned versions: new pins are a new version (a master rollout)
    ADDONS: role === 'master' && vars.ADDON_PINS !== undefined ? `\n# add-on versions ${vars.ADDON_PINS}` : '',
    ROLE: role,
    NODE_GROUP: group,
    // the group's settings travel with its launch template version (records/agent-config.ts GroupSettings)
    GROUP_SETTINGS: shq(renderGroupSettings(groupSettingsDoc(role, { ...labels }, taints, elasticIps))),
  });
}
