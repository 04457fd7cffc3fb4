/**
 * kubeadm's configuration for a master, from TYPED objects (InitConfiguration, ClusterConfiguration,
 * JoinConfiguration, KubeletConfiguration) rendered to YAML with the `yaml` package: no heredoc, no
 * string pasting, so a value can never turn into a second key. PURE.
 *
 * kubeadm.k8s.io/v1beta4 from Kubernetes 1.31 on, v1beta3 before (the fields used here are the
 * same in both; extraArgs, which differ, are not used: the IRSA issuer flags and the encryption
 * flag and volumes go through patches, which a joining master applies too — encryption.ts).
 */
import { stringify } from 'yaml';

export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
export const CONTROL_PLANE_TAINT = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' } as const;
/** kubeadm's stacked etcd data directory (also where a restore puts the snapshot's data). */
export const ETCD_DATA_DIR = '/var/lib/etcd';
/** The preflight check that refuses an etcd data dir that is not empty: a restore fills it on purpose. */
export const PREFLIGHT_ETCD_DIR = 'DirAvailable--var-lib-etcd';

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeRegistration {
  name: string;
  criSocket: string;
  taints: Taint[];
  ignorePreflightErrors?: string[];
}

export interface APIEndpoint {
  advertiseAddress: string;
  bindPort: number;
}

export interface InitConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'InitConfiguration';
  localAPIEndpoint: APIEndpoint;
  nodeRegistration: NodeRegistration;
  patches?: { directory: string };
}

export interface ClusterConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  networking: { podSubnet: string; serviceSubnet: string };
  apiServer: { certSANs: string[] };
  etcd: { local: { dataDir: string } };
}

export interface JoinConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'JoinConfiguration';
  discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } };
  nodeRegistration: NodeRegistration;
  controlPlane: { localAPIEndpoint: APIEndpoint };
  patches?: { directory: string };
}

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  cgroupDriver: 'systemd';
}

/** What a master's kubeadm configuration is made of (from the agent's config and its identity). */
export interface MasterKubeadmInput {
  kubernetesVersion: string;
  clusterId: string;
  /** master.<internal domain>: the internal API load balancer's name */
  masterDns: string;
  podCidr: string;
  serviceCidr: string;
  /** names the API server certificate carries besides the private IP */
  apiCertSans: string[];
  nodeName: string;
  privateIp: string;
  /** a directory of kubeadm patches (the API server's encryption flag and volumes, IRSA's issuer flags), when there is one */
  patchesDir?: string;
  /** preflight errors to ignore on init and join (the KMS provider's static pod: encryption.ts) */
  ignorePreflight?: string[];
}

export function kubeadmApiVersion(kubernetesVersion: string): KubeadmApiVersion {
  const minor = Number(kubernetesVersion.replace(/^v/, '').split('.')[1]);
  if (!Number.isInteger(minor)) throw new Error(`kubernetesVersion ${kubernetesVersion} is not MAJOR.MINOR.PATCH`);
  return minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** The API through the internal load balancer (port 443, as kubeaz's listeners). */
export const controlPlaneEndpoint = (masterDns: string): string => `${masterDns}:443`;

function nodeRegistration(i: MasterKubeadmInput, extra: string[] = []): NodeRegistration {
  const ignore = [...(i.ignorePreflight ?? []), ...extra];
  return {
    name: i.nodeName,
    criSocket: CRI_SOCKET,
    taints: [{ ...CONTROL_PLANE_TAINT }],
    ...(ignore.length ? { ignorePreflightErrors: ignore } : {}),
  };
}

export function initConfiguration(i: MasterKubeadmInput, opts: { restoredData?: boolean } = {}): InitConfiguration {
  return {
    apiVersion: kubeadmApiVersion(i.kubernetesVersion),
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: i.privateIp, bindPort: 6443 },
    nodeRegistration: nodeRegistration(i, opts.restoredData ? [PREFLIGHT_ETCD_DIR] : []),
    ...(i.patchesDir ? { patches: { directory: i.patchesDir } } : {}),
  };
}

export function clusterConfiguration(i: MasterKubeadmInput): ClusterConfiguration {
  return {
    apiVersion: kubeadmApiVersion(i.kubernetesVersion),
    kind: 'ClusterConfiguration',
    clusterName: i.clusterId,
    kubernetesVersion: `v${i.kubernetesVersion.replace(/^v/, '')}`,
    controlPlaneEndpoint: controlPlaneEndpoint(i.masterDns),
    networking: { podSubnet: i.podCidr, serviceSubnet: i.serviceCidr },
    apiServer: { certSANs: [...new Set([...i.apiCertSans, i.privateIp])] },
    etcd: { local: { dataDir: ETCD_DATA_DIR } },
  };
}

export const kubeletConfiguration = (): KubeletConfiguration => ({
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  cgroupDriver: 'systemd',
});

export function joinConfiguration(i: MasterKubeadmInput, token: string, caCertHash: string): JoinConfiguration {
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token))
    throw new Error('the join token is not a kubeadm bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})');
  if (!/^sha256:[0-9a-f]{64}$/.test(caCertHash)) throw new Error('the CA certificate hash is not sha256:<64 hex>');
  return {
    apiVersion: kubeadmApiVersion(i.kubernetesVersion),
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: controlPlaneEndpoint(i.masterDns), token, caCertHashes: [caCertHash] } },
    nodeRegistration: nodeRegistration(i),
    controlPlane: { localAPIEndpoint: { advertiseAddress: i.privateIp, bindPort: 6443 } },
    ...(i.patchesDir ? { patches: { directory: i.patchesDir } } : {}),
  };
}

/** Several documents as one YAML stream (`---` between them). */
export function renderYamlDocuments(docs: readonly object[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** kubeadm init's --config file: InitConfiguration, ClusterConfiguration, KubeletConfiguration. */
export function renderInitConfig(i: MasterKubeadmInput, opts: { restoredData?: boolean } = {}): string {
  return renderYamlDocuments([initConfiguration(i, opts), clusterConfiguration(i), kubeletConfiguration()]);
}

/** kubeadm join --control-plane's --config file (holds the token: written 0600). */
export function renderJoinConfig(i: MasterKubeadmInput, token: string, caCertHash: string): string {
  return renderYamlDocuments([joinConfiguration(i, token, caCertHash), kubeletConfiguration()]);
}

/**
 * The instance's private DNS name, as EC2 names it and the AWS cloud-controller-manager expects
 * the Node to be called: ip-10-0-1-5.ec2.internal in us-east-1, ip-10-0-1-5.<region>.compute.internal elsewhere.
 */
export function privateDnsName(privateIp: string, region: string): string {
  const host = `ip-${privateIp.split('.').join('-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/**
 * kube-apiserver's issuer flags for IRSA, as a JSON patch of its static pod (the same for v1beta3
 * and v1beta4): the new issuer FIRST (it signs new tokens), kubeadm's default issuer stays after it
 * (tokens issued before keep working), --api-audiences keeps the default audience.
 */
export function apiserverIssuerPatch(issuer: string, defaultIssuer: string): string {
  return `${JSON.stringify(
    [
      { op: 'add', path: '/spec/containers/0/command/1', value: `--service-account-issuer=${issuer}` },
      { op: 'add', path: '/spec/containers/0/command/-', value: `--service-account-jwks-uri=${issuer}/openid/v1/jwks` },
      { op: 'add', path: '/spec/containers/0/command/-', value: `--api-audiences=${defaultIssuer}` },
    ],
    null,
    2,
  )}\n`;
}
/** The patch's file name: kubeadm reads <component><suffix>+<type>.<ext> from the patches directory. */
export const APISERVER_PATCH_FILE = 'kube-apiserver0+json.json';
