/**
 * The API's load balancers: classic ELBs (controlPlane.loadBalancer: classic, the default) or
 * Network Load Balancers (network), internet-facing (when apiAccess lists anything) and internal.
 */
import { ref } from '../types.js';
import type { Area } from './builder.js';
import type { Network } from './network.js';
import { PORTS } from './security.js';

/**
 * The API load balancers' health check is a plain TCP connect to the API server's port. An
 * `SSL:6443` check never passes on Kubernetes >= 1.30: Go 1.22 dropped the RSA key-exchange
 * ciphers a classic ELB's SSL check offers, so the master never goes InService (Cluster API
 * Provider AWS #5139, kops #17356). kops and CAPA both moved to TCP.
 */
export const API_ELB_HEALTH_CHECK = {
  target: `TCP:${PORTS.apiServer}`,
  interval: 10,
  timeout: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
};
/**
 * 300 s idle timeout, as kops sets: the classic ELB default of 60 s cuts `kubectl exec`,
 * `logs -f`, `port-forward` and watches that are quiet for a minute; the API server's own
 * streaming idle timeout is 4 h, and 300 s stays well under the kubelet's and clients' keepalives
 * while still reaping dead connections within minutes. (3600 s is the ELB maximum.)
 */
export const API_ELB_IDLE_TIMEOUT = 300;
/** Connection draining on: a master leaving the ELB (rollout, rebuild) finishes in-flight calls. */
export const API_ELB_DRAINING_TIMEOUT = 300;

/**
 * The NLB target groups' health check: HTTPS GET /readyz on the API server's port, healthy on 200.
 * Not TCP: an API server whose port is open is not yet one that serves (a joining master before its
 * etcd member is up, one that lost its etcd quorum), and /readyz says exactly that. It works on
 * kube-apiserver >= 1.30: an NLB's HTTPS check negotiates TLS 1.2 with ECDHE suites (the classic
 * ELB's SSL check offers only the RSA key exchange Go 1.22 dropped), does not verify the
 * certificate, and /readyz is readable without credentials (kubeadm keeps anonymous requests on,
 * and the system:public-info-viewer role grants /readyz, /livez, /healthz, /version to them).
 */
export const API_NLB_HEALTH_CHECK = {
  protocol: 'HTTPS' as const,
  port: 'traffic-port',
  path: '/readyz',
  matcher: '200',
  interval: 10,
  timeout: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};
/** As the classic ELB's connection draining: a leaving master finishes in-flight calls and watches. */
export const API_NLB_DEREGISTRATION_DELAY = 300;

/** The load balancers the master groups register with: classic ELB names, or target group ARNs. */
export interface ApiTargets {
  elbs: string[];
  targetGroups: string[];
}

/** The API's load balancers of the kind the spec asks for. */
export function apiLoadBalancers(area: Area, net: Network, hasPublicApi: boolean): ApiTargets {
  return area.s.controlPlane.loadBalancer === 'network'
    ? { elbs: [], targetGroups: networkLoadBalancers(area, net, hasPublicApi) }
    : { elbs: loadBalancers(area, net, hasPublicApi), targetGroups: [] };
}

/**
 * Network Load Balancers: each with its own TCP target group on the API server's port (a target
 * group serves one load balancer on AWS) and one TCP listener on 443 — the port the classic ELB
 * listens on, so `master.<domain>:443` (nodes' joins, kubeconfigs, certificates) stays the same
 * across a switch. The security groups are the classic ELBs' (apiAccess still decides who reaches
 * the public one), given at creation. Client IP preservation is off on the target groups: with
 * instance targets and it on, a master's own call to the API through the NLB (kubelet, kubeadm
 * join, add-ons) is dropped whenever the NLB picks that same master (the source and the target are
 * one instance); off, the target sees the NLB's private address, which the master's security group
 * admits through its rule for the load balancer's group. Returns the target group keys.
 */
export function networkLoadBalancers({ names, b }: Area, { vpc, publicSubnets, privateSubnets }: Network, hasPublicApi: boolean): string[] {
  const nlb = (which: 'public' | 'internal', scheme: 'internet-facing' | 'internal', subnets: string[], sgKey: string) => {
    const tgKey = `tg/${which}`;
    const tgName = which === 'public' ? names.tgPublic : names.tgInternal;
    b.add('target-group', tgKey, tgName, {
      name: tgName,
      vpcId: vpc,
      protocol: 'TCP',
      port: PORTS.apiServer,
      targetType: 'instance',
      healthCheck: API_NLB_HEALTH_CHECK,
      deregistrationDelay: API_NLB_DEREGISTRATION_DELAY,
      preserveClientIp: false,
    });
    const name = which === 'public' ? names.nlbPublic : names.nlbInternal;
    b.add(
      'network-load-balancer',
      `nlb/${which}`,
      name,
      {
        name,
        scheme,
        subnetIds: subnets.map((k) => ref(k)),
        securityGroupIds: [ref(sgKey)],
        crossZone: true,
        listener: { protocol: 'TCP', port: 443, targetGroupArn: ref(tgKey) },
      },
      // an internet-facing load balancer in subnets whose VPC has no internet gateway is refused
      { after: ['igw'] },
    );
    return tgKey;
  };
  return [
    ...(hasPublicApi ? [nlb('public', 'internet-facing', publicSubnets, 'sg/elb-public')] : []),
    nlb('internal', 'internal', privateSubnets, 'sg/elb-internal'),
  ];
}

/** Returns the keys of the load balancers made, the master's group registers with each. */
export function loadBalancers({ names, b }: Area, { publicSubnets, privateSubnets }: Network, hasPublicApi: boolean): string[] {
  const elb = (key: string, name: string, scheme: 'internet-facing' | 'internal', subnets: string[], sgKey: string) => {
    b.add(
      'load-balancer',
      key,
      name,
      {
        name,
        scheme,
        subnetIds: subnets.map((k) => ref(k)),
        securityGroupIds: [ref(sgKey)],
        listener: { protocol: 'TCP', port: 443, instanceProtocol: 'TCP', instancePort: PORTS.apiServer },
        healthCheck: API_ELB_HEALTH_CHECK,
        crossZone: true,
        idleTimeout: API_ELB_IDLE_TIMEOUT,
        drainingTimeout: API_ELB_DRAINING_TIMEOUT,
      },
      // a load balancer in subnets whose VPC has no internet gateway is refused
      { after: ['igw'] },
    );
    return key;
  };
  return [
    ...(hasPublicApi ? [elb('elb/public', names.elbPublic, 'internet-facing', publicSubnets, 'sg/elb-public')] : []),
    elb('elb/internal', names.elbInternal, 'internal', privateSubnets, 'sg/elb-internal'),
  ];
}
