/** Security groups and their ingress rules: the API load balancers, the master, the nodes, loadbalancer nodes. */
import type { Ref, SgRule, Tags } from '../types.js';
import type { Area } from './builder.js';
import type { Network } from './network.js';

/** Ports of the cluster's own traffic (README lists them). Cilium in VXLAN mode. */
export const PORTS = {
  apiServer: 6443,
  etcd: [2379, 2380] as const,
  kubelet: 10250,
  ciliumVxlan: 8472,
  ciliumHealth: 4240,
  hubble: 4244,
};

export interface SecurityGroups {
  hasPublicApi: boolean;
}

/** Whether the API gets an internet-facing load balancer: apiAccess lists someone to let in. */
export function publicApiOf(s: Area['s']): boolean {
  return s.network.apiAccess.length > 0;
}

export function securityGroups({ s, id, names, k8s, b }: Area, { vpc }: Network): SecurityGroups {
  const hasPublicApi = publicApiOf(s);
  const lbGroups = s.nodeGroups.filter((g) => g.role === 'loadbalancer');
  const sg = (key: string, suffix: string, description: string, tags: Tags = {}) =>
    b.add(
      'security-group',
      key,
      names.securityGroup(suffix),
      { vpcId: vpc, groupName: names.securityGroup(suffix), description },
      { tags },
    );
  const sgElbPublic = hasPublicApi ? sg('sg/elb-public', 'api-elb', `kubeaz ${id}: internet-facing API load balancer`) : undefined;
  const sgElbInternal = sg('sg/elb-internal', 'api-elb-internal', `kubeaz ${id}: internal API load balancer`);
  // Only the master's and the nodes' groups carry the cluster tag: the cloud provider wants exactly
  // one tagged group per instance to add Service rules to.
  const sgMaster = sg('sg/master', 'master', `kubeaz ${id}: control plane`, { [k8s]: 'owned' });
  const sgNode = sg('sg/node', 'node', `kubeaz ${id}: nodes`, { [k8s]: 'owned' });
  const sgLb = lbGroups.length
    ? sg('sg/loadbalancer', 'loadbalancer', `kubeaz ${id}: loadbalancer nodes (HTTP/HTTPS from anywhere)`)
    : undefined;

  const fromGroups = (proto: SgRule['protocol'], from: number, to: number, what: string, groups: Array<[Ref, string]>): SgRule[] =>
    groups.map(([g, gname]) => ({ protocol: proto, fromPort: from, toPort: to, sourceGroup: g, description: `${what} from ${gname}` }));
  const cluster: Array<[Ref, string]> = [
    [sgMaster, 'master'],
    [sgNode, 'nodes'],
  ];
  const podNetwork = (): SgRule[] => [
    ...fromGroups('udp', PORTS.ciliumVxlan, PORTS.ciliumVxlan, 'Cilium VXLAN', cluster),
    ...fromGroups('tcp', PORTS.ciliumHealth, PORTS.ciliumHealth, 'Cilium health', cluster),
    ...fromGroups('tcp', PORTS.hubble, PORTS.hubble, 'Hubble relay', cluster),
    ...fromGroups('icmp', 8, 0, 'Cilium health ping', cluster),
    ...fromGroups('tcp', PORTS.kubelet, PORTS.kubelet, 'kubelet API', cluster),
  ];
  // the rules of a group depend on the group and on every group they name as a source (their $refs)
  const rules = (key: string, group: Ref, ingress: SgRule[]) =>
    b.add('security-group-rules', `${key}/rules`, `${key}-rules`, { groupId: group, ingress });
  if (sgElbPublic)
    rules(
      'sg/elb-public',
      sgElbPublic,
      s.network.apiAccess.map((c) => ({
        protocol: 'tcp' as const,
        fromPort: 443,
        toPort: 443,
        cidr: c,
        description: 'Kubernetes API from apiAccess',
      })),
    );
  rules('sg/elb-internal', sgElbInternal, [
    { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: s.network.vpcCidr, description: 'Kubernetes API from the VPC' },
  ]);
  rules('sg/master', sgMaster, [
    ...(sgElbPublic
      ? [
          {
            protocol: 'tcp' as const,
            fromPort: PORTS.apiServer,
            toPort: PORTS.apiServer,
            sourceGroup: sgElbPublic,
            description: 'API from the internet-facing load balancer',
          },
        ]
      : []),
    {
      protocol: 'tcp',
      fromPort: PORTS.apiServer,
      toPort: PORTS.apiServer,
      sourceGroup: sgElbInternal,
      description: 'API from the internal load balancer',
    },
    // kubernetes.default (the service VIP) sends a master's own clients (CCM, EBS CSI, the autoscaler,
    // the pod-identity webhook) to any master: from another master too, or two calls in three hang
    ...fromGroups('tcp', PORTS.apiServer, PORTS.apiServer, 'API (service VIP)', cluster),
    { protocol: 'tcp', fromPort: PORTS.etcd[0], toPort: PORTS.etcd[1], sourceGroup: sgMaster, description: 'etcd from master' },
    ...podNetwork(),
  ]);
  rules('sg/node', sgNode, podNetwork());
  if (sgLb)
    rules('sg/loadbalancer', sgLb, [
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0', description: 'HTTP from anywhere' },
      { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '0.0.0.0/0', description: 'HTTPS from anywhere' },
    ]);
  return { hasPublicApi };
}
