/** The API's classic load balancers: internet-facing (when apiAccess lists anything) and internal. */
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
export const API_ELB_HEALTH_CHECK = { target: `TCP:${PORTS.apiServer}`, interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 };
/**
 * 300 s idle timeout, as kops sets: the classic ELB default of 60 s cuts `kubectl exec`,
 * `logs -f`, `port-forward` and watches that are quiet for a minute; the API server's own
 * streaming idle timeout is 4 h, and 300 s stays well under the kubelet's and clients' keepalives
 * while still reaping dead connections within minutes. (3600 s is the ELB maximum.)
 */
export const API_ELB_IDLE_TIMEOUT = 300;
/** Connection draining on: a master leaving the ELB (rollout, rebuild) finishes in-flight calls. */
export const API_ELB_DRAINING_TIMEOUT = 300;

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
