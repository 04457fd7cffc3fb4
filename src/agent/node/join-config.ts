/**
 * kubeadm's JoinConfiguration for a node, rendered from a typed object (never from text templates):
 * discovery by bootstrap token and CA hash through the API endpoint, the node's name and address,
 * the external cloud provider, its labels and taints. kubeadm.k8s.io/v1beta4 from Kubernetes 1.31
 * (kubeletExtraArgs as a list of name/value), v1beta3 before (a map).
 */
import { stringify } from 'yaml';
import type { AgentTaint } from '../../records/agent-config.js';
import { CRI_SOCKET } from '../host.js';

export interface NodeJoin {
  kubernetesVersion: string;
  apiEndpoint: string;
  token: string;
  caCertHash: string;
  nodeName: string;
  nodeIp: string;
  labels: Record<string, string>;
  taints: AgentTaint[];
}

/** Labels a kubelet may set on itself: node-role.kubernetes.io/* is refused by NodeRestriction (the masters' node-roles job sets those). */
export function kubeletLabels(
  labels: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): { labels: Record<string, string>; skipped: string[] } {
  const out: Record<string, string> = {};
  const skipped: string[] = [];
  for (const k of Object.keys(labels).sort()) {
    if (k.startsWith('node-role.kubernetes.io/')) skipped.push(k);
    else out[k] = labels[k]!;
  }
  return { labels: { ...out, ...extra }, skipped };
}

const LABEL = /^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*$/;

/** `k=v,k2=v2`: the kubelet's --node-labels; an entry that could smuggle another flag or label is refused. */
export function formatNodeLabels(labels: Readonly<Record<string, string>>): string {
  const items = Object.keys(labels).map((k) => `${k}=${labels[k]}`);
  const bad = items.find((i) => !LABEL.test(i));
  if (bad !== undefined) throw new Error(`label ${JSON.stringify(bad)} holds characters the kubelet's --node-labels cannot take safely`);
  return items.join(',');
}

const minorNumber = (v: string): number => Number(v.split('.')[1]);

export function renderJoinConfiguration(j: NodeJoin): string {
  const args: Array<[string, string]> = [
    ['cloud-provider', 'external'],
    ['node-ip', j.nodeIp],
    ['node-labels', formatNodeLabels(j.labels)],
  ];
  const v1beta4 = minorNumber(j.kubernetesVersion) >= 31;
  const doc = {
    apiVersion: v1beta4 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3',
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: j.apiEndpoint, token: j.token, caCertHashes: [j.caCertHash] } },
    nodeRegistration: {
      name: j.nodeName,
      criSocket: CRI_SOCKET,
      kubeletExtraArgs: v1beta4 ? args.map(([name, value]) => ({ name, value })) : Object.fromEntries(args),
      taints: j.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
    },
  };
  return stringify(doc);
}
