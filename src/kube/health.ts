/**
 * Is Kubernetes healthy? kops' `validate cluster` semantics on what the API returns. PURE: API
 * objects (as @kubernetes/client-node deserialises them) in, a verdict out.
 *
 * - every node group has as many Ready nodes as it wants (its auto scaling group's desired
 *   capacity, else the spec's), nodes matched to groups by the kubeaz.io/node-group label;
 * - every node Ready;
 * - the control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd) and the
 *   add-ons (Cilium agent and operator, CoreDNS, AWS cloud-controller-manager, EBS CSI controller and
 *   node) have pods, and every kube-system pod is Running with its containers ready (or Succeeded);
 * - no kubelet newer than the API server or more than 3 minors older (the version skew policy).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';

export const GROUP_LABEL = 'kubeaz.io/node-group';
/** kubelet may be up to 3 minor versions older than kube-apiserver (Kubernetes version skew policy, 1.28+) */
export const MAX_KUBELET_SKEW = 3;

export interface ExpectedGroup {
  name: string;
  want: number;
}

export interface Component {
  name: string;
  /** a pod belongs to the component when one of these labels matches (or its name starts with prefix) */
  labels: Array<[string, string]>;
  prefix: string;
}

export const COMPONENTS: Component[] = [
  { name: 'kube-apiserver', labels: [['component', 'kube-apiserver']], prefix: 'kube-apiserver-' },
  { name: 'kube-controller-manager', labels: [['component', 'kube-controller-manager']], prefix: 'kube-controller-manager-' },
  { name: 'kube-scheduler', labels: [['component', 'kube-scheduler']], prefix: 'kube-scheduler-' },
  { name: 'etcd', labels: [['component', 'etcd']], prefix: 'etcd-' },
  { name: 'cilium', labels: [['k8s-app', 'cilium']], prefix: 'cilium-agent-' },
  {
    name: 'cilium-operator',
    labels: [
      ['io.cilium/app', 'operator'],
      ['name', 'cilium-operator'],
    ],
    prefix: 'cilium-operator-',
  },
  { name: 'coredns', labels: [['k8s-app', 'kube-dns']], prefix: 'coredns-' },
  { name: 'aws-cloud-controller-manager', labels: [['k8s-app', 'aws-cloud-controller-manager']], prefix: 'aws-cloud-controller-manager-' },
  { name: 'ebs-csi-controller', labels: [['app', 'ebs-csi-controller']], prefix: 'ebs-csi-controller-' },
  { name: 'ebs-csi-node', labels: [['app', 'ebs-csi-node']], prefix: 'ebs-csi-node-' },
];

export interface GroupHealth {
  name: string;
  want: number;
  have: number;
  ready: number;
}
export interface ComponentHealth {
  name: string;
  pods: number;
  ready: number;
  /** e.g. "coredns-5d78c9869d-abcde: CrashLoopBackOff (restarts 7)" */
  problems: string[];
}
export interface KubernetesHealth {
  ok: boolean;
  serverVersion: string;
  groups: GroupHealth[];
  nodes: { total: number; ready: number };
  components: ComponentHealth[];
  /** every problem, one line each, kops-style */
  problems: string[];
}

const minorOf = (v: string | undefined): number | undefined => {
  const m = /^v?(\d+)\.(\d+)/.exec(v ?? '');
  return m ? Number(m[1]) * 1000 + Number(m[2]) : undefined;
};

export const nodeReady = (n: V1Node): boolean => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Why a pod is not healthy, or undefined when it is (Running with every container ready, or Succeeded). */
export function podProblem(p: V1Pod): string | undefined {
  const phase = p.status?.phase ?? 'Unknown';
  if (phase === 'Succeeded') return undefined;
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  const waiting = statuses.find(
    (c) => c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing' && c.state.waiting.reason !== 'ContainerCreating',
  );
  if (waiting) return `${waiting.state!.waiting!.reason}${waiting.restartCount ? ` (restarts ${waiting.restartCount})` : ''}`;
  if (phase !== 'Running') return `${phase}${p.status?.reason ? ` (${p.status.reason})` : ''}`;
  const notReady = (p.status?.containerStatuses ?? []).filter((c) => !c.ready);
  if (notReady.length) return `not ready (${notReady.map((c) => c.name).join(', ')})`;
  return undefined;
}

function componentOf(p: V1Pod): string | undefined {
  const labels = p.metadata?.labels ?? {};
  const name = p.metadata?.name ?? '';
  return COMPONENTS.find((c) => c.labels.some(([k, v]) => labels[k] === v) || name.startsWith(c.prefix))?.name;
}

export function evaluateKubernetes(input: {
  serverVersion: string;
  nodes: V1Node[];
  pods: V1Pod[];
  groups: ExpectedGroup[];
}): KubernetesHealth {
  const problems: string[] = [];
  const groups: GroupHealth[] = input.groups.map((g) => {
    const members = input.nodes.filter((n) => n.metadata?.labels?.[GROUP_LABEL] === g.name);
    const ready = members.filter(nodeReady).length;
    if (ready < g.want)
      problems.push(
        `node group ${g.name}: ${ready} of ${g.want} nodes Ready${members.length > ready ? ` (${members.length - ready} registered but not Ready)` : members.length < g.want ? ` (${g.want - members.length} not registered)` : ''}`,
      );
    return { name: g.name, want: g.want, have: members.length, ready };
  });
  for (const n of input.nodes.filter((x) => !nodeReady(x))) {
    const c = (n.status?.conditions ?? []).find((x) => x.type === 'Ready');
    problems.push(`node ${n.metadata?.name} is not Ready${c?.reason ? `: ${c.reason}` : ''}`);
  }
  const server = minorOf(input.serverVersion);
  for (const n of input.nodes) {
    const kubelet = n.status?.nodeInfo?.kubeletVersion;
    const k = minorOf(kubelet);
    if (server === undefined || k === undefined) continue;
    if (k > server) problems.push(`node ${n.metadata?.name}: kubelet ${kubelet} is newer than the API server ${input.serverVersion}`);
    else if (server - k > MAX_KUBELET_SKEW)
      problems.push(
        `node ${n.metadata?.name}: kubelet ${kubelet} is more than ${MAX_KUBELET_SKEW} minor versions older than the API server ${input.serverVersion}`,
      );
  }
  const system = input.pods.filter((p) => (p.metadata?.namespace ?? 'kube-system') === 'kube-system');
  const components: ComponentHealth[] = COMPONENTS.map((c) => {
    const pods = system.filter((p) => componentOf(p) === c.name);
    const bad = pods.map((p) => [p, podProblem(p)] as const).filter(([, why]) => why);
    const h = {
      name: c.name,
      pods: pods.length,
      ready: pods.length - bad.length,
      problems: bad.map(([p, why]) => `${p.metadata?.name}: ${why}`),
    };
    if (!pods.length) problems.push(`${c.name}: no pod in kube-system`);
    for (const x of h.problems) problems.push(`pod kube-system/${x}`);
    return h;
  });
  for (const p of system.filter((x) => !componentOf(x))) {
    const why = podProblem(p);
    if (why) problems.push(`pod kube-system/${p.metadata?.name}: ${why}`);
  }
  return {
    ok: problems.length === 0,
    serverVersion: input.serverVersion,
    groups,
    nodes: { total: input.nodes.length, ready: input.nodes.filter(nodeReady).length },
    components,
    problems,
  };
}
