/**
 * What a create sets, in a few words per kind (plan's text shows it under each `+` line, and the
 * JSON plan carries it as a create's `about`): a subnet's CIDR and zone, a group's instance types
 * and sizes, a role's trust and policies. Pure: from the node's props alone, and — for a group
 * whose types live in its launch template — the props of the node a reference names.
 */
import { isRef, type AnyNode, type Kind, type KindProps, type Ref } from './types.js';

/** The props of another node, by key (a reference's target); undefined when there is none. */
export type Lookup = (key: string) => AnyNode | undefined;

type Describe<K extends Kind> = (p: KindProps[K], look: Lookup) => string;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** A reference as the key it names (a subnet's `subnet/public/us-east-1a`), a value as itself. */
const target = (v: Ref | string | undefined): string => (v === undefined ? '(none)' : isRef(v) ? v.$ref : v);
const ports = (from: number, to: number): string => (from === to ? String(from) : `${from}-${to}`);

const ABOUT: { [K in Kind]?: Describe<K> } = {
  vpc: (p) => `${p.cidr}${p.tenancy === 'dedicated' ? ', dedicated tenancy' : ''}`,
  subnet: (p) => `${p.cidr} in ${p.zone}, ${p.tier}`,
  'internet-gateway': () => 'attached to the VPC',
  'elastic-ip': (p) => `for the ${p.purpose === 'nat' ? 'NAT gateway' : 'load balancer'}${p.pool ? ` (pool ${p.pool})` : ''}`,
  'nat-gateway': (p) => `in ${target(p.subnetId)}`,
  'route-table': (p) =>
    `${p.routes.map((r) => `${r.destination} → ${target(r.natGatewayId ?? r.gatewayId)}`).join(', ') || 'local routes only'}; ${plural(p.subnetIds.length, 'subnet')}`,
  'network-acl': (p) =>
    `${plural(p.entries.filter((e) => !e.egress).length, 'inbound rule')}, ${plural(p.entries.filter((e) => e.egress).length, 'outbound rule')}; ${plural(p.subnetIds.length, 'subnet')}`,
  'vpc-endpoint': (p) => `${p.serviceName}, ${plural(p.routeTableIds.length, 'route table')}`,
  'security-group': (p) => p.groupName,
  'security-group-rules': (p) => {
    const rules = p.ingress.map(
      (r) => `${r.protocol === '-1' ? 'all' : `${r.protocol} ${ports(r.fromPort, r.toPort)}`} from ${r.cidr ?? target(r.sourceGroup)}`,
    );
    return `${plural(rules.length, 'ingress rule')}${rules.length ? `: ${rules.slice(0, 3).join(', ')}${rules.length > 3 ? ', …' : ''}` : ''}`;
  },
  bucket: (p) => `${p.name}, ${plural(p.lifecycle.length, 'lifecycle rule')}`,
  'bucket-object': (p) => `${p.objectKey} (${p.contentType})`,
  'discovery-bucket': (p) => `${p.name}, the issuer's two documents readable by anyone`,
  'oidc-provider': (p) => `${p.url} for ${p.clientIds.join(', ')}`,
  pki: (p) => `the cluster's CAs and keys under pki/${p.encryptionKeys.length ? `, encryption keys ${p.encryptionKeys.join(', ')}` : ''}`,
  'iam-role': (p) =>
    `${p.path}${p.name}, assumed by ${p.assumeService ?? 'a web identity (IRSA)'}; ${plural(Object.keys(p.policies).length, 'inline policy', 'inline policies')}${p.managedPolicyArns?.length ? `, ${plural(p.managedPolicyArns.length, 'managed policy', 'managed policies')}` : ''}`,
  'instance-profile': (p) => `${p.path}${p.name} with ${target(p.roleName)}`,
  'iam-user': (p) => `${p.path}${p.name}; ${plural(Object.keys(p.policies).length, 'inline policy', 'inline policies')}`,
  'hosted-zone': (p) => `${p.domain}, ${p.private ? 'private' : 'public'}${p.mode === 'adopt-or-own' ? ' (adopted if it exists)' : ''}`,
  'dns-record': (p) => `${p.name} A → ${p.alias ? `alias of ${target(p.alias.dnsName)}` : (p.values ?? []).map(target).join(', ')}`,
  'load-balancer': (p) =>
    `${p.name}, ${p.scheme}, TCP ${p.listener.port} → ${p.listener.instancePort}, ${plural(p.subnetIds.length, 'subnet')}${p.crossZone ? ', cross-zone' : ''}`,
  'network-load-balancer': (p) =>
    `${p.name}, ${p.scheme}, TCP ${p.listener.port}, ${plural(p.subnetIds.length, 'subnet')}${p.crossZone ? ', cross-zone' : ''}`,
  'target-group': (p) =>
    `${p.name}, TCP ${p.port}, health check ${p.healthCheck.protocol} ${p.healthCheck.port}${p.healthCheck.path ?? ''}`,
  'launch-template': (p) =>
    `${p.name}: ${p.instanceType}, image ${p.imageId}, ${p.volumeSize} GiB${p.associatePublicIp ? ', public IP' : ''}${p.keyName ? `, key ${p.keyName}` : ''}`,
  'auto-scaling-group': (p, look) => {
    const lt = isRef(p.launchTemplateId) ? look(p.launchTemplateId.$ref) : undefined;
    const types = p.mixedInstances?.instanceTypes ?? (lt?.kind === 'launch-template' ? [lt.props.instanceType] : []);
    const m = p.mixedInstances;
    const spot = m && m.onDemandPercentage < 100 ? `, spot above ${m.onDemandBase} on-demand (${100 - m.onDemandPercentage}% spot)` : '';
    return `${p.name}: ${types.join(', ') || '(types of its launch template)'}, min ${p.minSize} / desired ${p.desiredCapacity} / max ${p.maxSize}, ${plural((p.subnetIds as readonly unknown[] | undefined)?.length ?? 0, 'subnet')}${spot}`;
  },
  'sqs-queue': (p) => `${p.name}, messages kept ${Math.round(p.messageRetentionSeconds / 60)} min`,
  'event-rule': (p) => `${p.name}: ${p.description}`,
  'lifecycle-hook': (p) =>
    `${p.hookName} on ${target(p.groupName)}: waits up to ${p.heartbeatTimeout}s on termination, then ${p.defaultResult}`,
};

/** What creating this node sets, in a few words ('' for a kind without a summary). PURE. */
export function describeNode(node: AnyNode, look: Lookup = () => undefined): string {
  const fn = ABOUT[node.kind] as ((p: unknown, look: Lookup) => string) | undefined;
  return fn ? fn(node.props, look) : '';
}
