/**
 * spec → desired graph. PURE: no AWS, no I/O. Everything the graph needs from the outside world
 * (account id, resolved images, template texts) comes in as `facts`.
 */
import type { ClusterSpec, NodeGroupSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import { ELB_HOSTED_ZONE_IDS } from '../aws/elb-zones.js';
import { subnetLayout } from './cidr.js';
import { baseTags, k8sClusterTag, naming, type Naming } from './names.js';
import { clusterVars, renderBootstrapFiles, renderUserData } from './bootstrap.js';
import {
  GROUP_TAG,
  POOL_TAG,
  ref,
  type AnyNode,
  type DesiredGraph,
  type DesiredNode,
  type Kind,
  type KindProps,
  type NaclEntry,
  type PolicyDocument,
  type Ref,
  type SgRule,
  type Tags,
} from './types.js';

export type Arch = 'x86_64' | 'arm64';

export interface Facts {
  accountId: string;
  /** image id per architecture that the spec needs (ignored when spec.ami is set) */
  images: Partial<Record<Arch, string>>;
  /** template texts keyed by their path under templates/ */
  templates: Readonly<Record<string, string>>;
}

/** Graviton and other arm64 instance families: a 'g' after the generation digit (m6g, c7gn, t4g), or a1. */
export function archOf(instanceType: string): Arch {
  const family = instanceType.split('.')[0] ?? '';
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) || family === 'a1' ? 'arm64' : 'x86_64';
}

export function requiredArchs(spec: ClusterSpec): Arch[] {
  const set = new Set<Arch>([archOf(spec.spec.controlPlane.instanceType), ...spec.spec.nodeGroups.map((g) => archOf(g.instanceType))]);
  return [...set].sort();
}

export const SSM_IMAGE_PARAMETERS: Record<Arch, string> = {
  x86_64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
};

/** Ports of the cluster's own traffic (README lists them). Cilium in VXLAN mode. */
export const PORTS = {
  apiServer: 6443,
  etcd: [2379, 2380] as const,
  kubelet: 10250,
  ciliumVxlan: 8472,
  ciliumHealth: 4240,
  hubble: 4244,
};

class GraphBuilder {
  readonly nodes: AnyNode[] = [];
  constructor(private readonly spec: ClusterSpec) {}

  add<K extends Kind>(kind: K, key: string, name: string, props: KindProps[K], deps: string[], extraTags: Tags = {}, ready: string[] = []): Ref {
    const node: DesiredNode<K> = { key, kind, props, deps: [...new Set([...deps, ...ready])], tags: baseTags(this.spec, key, name, extraTags), ...(ready.length ? { ready: [...new Set(ready)] } : {}) };
    this.nodes.push(node as unknown as AnyNode);
    return ref(key);
  }
}

export function deriveGraph(spec: ClusterSpec, facts: Facts): DesiredGraph {
  const s = spec.spec;
  const id = clusterIdOf(spec);
  const names = naming(spec);
  const k8s = k8sClusterTag(id);
  const b = new GraphBuilder(spec);
  const layout = subnetLayout(s.network.vpcCidr, s.zones.length);
  if (!layout) throw new Error(`${s.network.vpcCidr} cannot hold ${s.zones.length * 2} subnets`);

  // ── network ────────────────────────────────────────────────────────────────────────────────
  const vpc = b.add('vpc', 'vpc', id, { cidr: s.network.vpcCidr, tenancy: s.network.tenancy }, [], { [k8s]: 'owned' });
  const igw = b.add('internet-gateway', 'igw', id, { vpcId: vpc }, ['vpc']);
  const pub: Record<string, string> = {};
  const priv: Record<string, string> = {};
  s.zones.forEach((zone, i) => {
    pub[zone] = `subnet/public/${zone}`;
    priv[zone] = `subnet/private/${zone}`;
    b.add('subnet', pub[zone]!, `${id}-public-${zone}`, { vpcId: vpc, cidr: layout.public[i]!, zone, tier: 'public' }, ['vpc'], {
      [k8s]: 'owned',
      'kubernetes.io/role/elb': '1',
    });
    b.add('subnet', priv[zone]!, `${id}-private-${zone}`, { vpcId: vpc, cidr: layout.private[i]!, zone, tier: 'private' }, ['vpc'], {
      [k8s]: 'owned',
      'kubernetes.io/role/internal-elb': '1',
    });
  });
  const publicSubnets = s.zones.map((z) => pub[z]!);
  const privateSubnets = s.zones.map((z) => priv[z]!);

  const natZones = s.network.nat === 'perZone' ? s.zones : s.network.nat === 'single' ? s.zones.slice(0, 1) : [];
  const natKey: Record<string, string> = {};
  for (const zone of natZones) {
    const eip = `eip/nat/${zone}`;
    b.add('elastic-ip', eip, `${id}-nat-${zone}`, { purpose: 'nat' }, []);
    natKey[zone] = `nat/${zone}`;
    b.add('nat-gateway', natKey[zone]!, `${id}-${zone}`, { subnetId: ref(pub[zone]!), allocationId: ref(eip) }, [pub[zone]!, eip, 'igw']);
  }

  b.add('route-table', 'rt/public', `${id}-public`, { vpcId: vpc, routes: [{ destination: '0.0.0.0/0', gatewayId: igw }], subnetIds: publicSubnets.map((k) => ref(k)) }, [
    'vpc',
    'igw',
    ...publicSubnets,
  ]);
  const privateTables: string[] = [];
  for (const zone of s.zones) {
    const nat = natKey[zone] ?? (natZones[0] ? natKey[natZones[0]] : undefined);
    const key = `rt/private/${zone}`;
    privateTables.push(key);
    b.add(
      'route-table',
      key,
      `${id}-private-${zone}`,
      { vpcId: vpc, routes: nat ? [{ destination: '0.0.0.0/0', natGatewayId: ref(nat) }] : [], subnetIds: [ref(priv[zone]!)] },
      ['vpc', priv[zone]!, ...(nat ? [nat] : [])],
    );
  }
  if (s.network.nat === 'none') {
    b.add('vpc-endpoint', 'vpce/s3', `${id}-s3`, { vpcId: vpc, serviceName: `com.amazonaws.${s.region}.s3`, routeTableIds: privateTables.map((k) => ref(k)) }, ['vpc', ...privateTables]);
  }

  const vpcCidr = s.network.vpcCidr;
  const publicAcl: NaclEntry[] = [
    { ruleNumber: 100, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 443, toPort: 443, action: 'allow' },
    { ruleNumber: 110, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 80, toPort: 80, action: 'allow' },
    { ruleNumber: 120, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 130, egress: false, protocol: '17', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 140, egress: false, protocol: '-1', cidr: vpcCidr, action: 'allow' },
    { ruleNumber: 100, egress: true, protocol: '-1', cidr: '0.0.0.0/0', action: 'allow' },
  ];
  const privateAcl: NaclEntry[] = [
    { ruleNumber: 100, egress: false, protocol: '-1', cidr: vpcCidr, action: 'allow' },
    { ruleNumber: 110, egress: false, protocol: '6', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 120, egress: false, protocol: '17', cidr: '0.0.0.0/0', fromPort: 1024, toPort: 65535, action: 'allow' },
    { ruleNumber: 100, egress: true, protocol: '-1', cidr: '0.0.0.0/0', action: 'allow' },
  ];
  b.add('network-acl', 'nacl/public', `${id}-public`, { vpcId: vpc, entries: publicAcl, subnetIds: publicSubnets.map((k) => ref(k)) }, ['vpc', ...publicSubnets]);
  b.add('network-acl', 'nacl/private', `${id}-private`, { vpcId: vpc, entries: privateAcl, subnetIds: privateSubnets.map((k) => ref(k)) }, ['vpc', ...privateSubnets]);

  // ── security groups ────────────────────────────────────────────────────────────────────────
  const hasPublicApi = s.network.apiAccess.length > 0;
  const lbGroups = s.nodeGroups.filter((g) => g.role === 'loadbalancer');
  const sg = (key: string, suffix: string, description: string, extra: Tags = {}) =>
    b.add('security-group', key, names.securityGroup(suffix), { vpcId: vpc, groupName: names.securityGroup(suffix), description }, ['vpc'], extra);
  const sgElbPublic = hasPublicApi ? sg('sg/elb-public', 'api-elb', `kubeaz ${id}: internet-facing API load balancer`) : undefined;
  const sgElbInternal = sg('sg/elb-internal', 'api-elb-internal', `kubeaz ${id}: internal API load balancer`);
  // Only the master's and the nodes' groups carry the cluster tag: the cloud provider wants exactly
  // one tagged group per instance to add Service rules to.
  const sgMaster = sg('sg/master', 'master', `kubeaz ${id}: control plane`, { [k8s]: 'owned' });
  const sgNode = sg('sg/node', 'node', `kubeaz ${id}: nodes`, { [k8s]: 'owned' });
  const sgLb = lbGroups.length ? sg('sg/loadbalancer', 'loadbalancer', `kubeaz ${id}: loadbalancer nodes (HTTP/HTTPS from anywhere)`) : undefined;

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
  const rules = (key: string, group: Ref, ingress: SgRule[], groups: string[]) =>
    b.add('security-group-rules', `${key}/rules`, `${key}-rules`, { groupId: group, ingress }, [...new Set([key, ...groups])]);
  const allSgKeys = ['sg/master', 'sg/node'];
  if (sgElbPublic)
    rules('sg/elb-public', sgElbPublic, s.network.apiAccess.map((c) => ({ protocol: 'tcp' as const, fromPort: 443, toPort: 443, cidr: c, description: 'Kubernetes API from apiAccess' })), []);
  rules('sg/elb-internal', sgElbInternal, [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: vpcCidr, description: 'Kubernetes API from the VPC' }], []);
  rules(
    'sg/master',
    sgMaster,
    [
      ...(sgElbPublic ? [{ protocol: 'tcp' as const, fromPort: PORTS.apiServer, toPort: PORTS.apiServer, sourceGroup: sgElbPublic, description: 'API from the internet-facing load balancer' }] : []),
      { protocol: 'tcp', fromPort: PORTS.apiServer, toPort: PORTS.apiServer, sourceGroup: sgElbInternal, description: 'API from the internal load balancer' },
      ...fromGroups('tcp', PORTS.apiServer, PORTS.apiServer, 'API (service VIP)', [[sgNode, 'nodes']]),
      { protocol: 'tcp', fromPort: PORTS.etcd[0], toPort: PORTS.etcd[1], sourceGroup: sgMaster, description: 'etcd from master' },
      ...podNetwork(),
    ],
    [...allSgKeys, 'sg/elb-internal', ...(sgElbPublic ? ['sg/elb-public'] : [])],
  );
  rules('sg/node', sgNode, podNetwork(), allSgKeys);
  if (sgLb)
    rules(
      'sg/loadbalancer',
      sgLb,
      [
        { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '0.0.0.0/0', description: 'HTTP from anywhere' },
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '0.0.0.0/0', description: 'HTTPS from anywhere' },
      ],
      [],
    );

  // ── bucket and bootstrap files ─────────────────────────────────────────────────────────────
  const bucketName = names.bucket(facts.accountId);
  const bucketArn = `arn:aws:s3:::${bucketName}`;
  const bucket = b.add('bucket', 'bucket', bucketName, { name: bucketName, policy: JSON.stringify(tlsOnlyPolicy(bucketArn)) }, []);
  const vars = clusterVars(spec, names, bucketName);
  const objectKeys: string[] = [];
  for (const f of renderBootstrapFiles(facts.templates, vars)) {
    const key = `object/${f.key}`;
    objectKeys.push(key);
    b.add('bucket-object', key, f.key, { bucket, objectKey: f.key, body: f.body, contentType: f.contentType }, ['bucket']);
  }
  // The CAs and service-account keys: generated once by create, kept in pki/ (src/resources/pki.ts).
  b.add('pki', 'pki', `${id}-pki`, { bucket }, ['bucket']);

  // ── DNS zones (before IAM: the roles name the zones they may change) ──────────────────────
  const privateZone = b.add(
    'hosted-zone',
    'zone/private',
    names.internalDomain,
    {
      domain: names.internalDomain,
      private: true,
      vpcId: vpc,
      vpcRegion: s.region,
      comment: `kubeaz:${id} zone/private`,
      callerReference: `kubeaz-${id}-zone-private`,
      mode: 'own',
    },
    ['vpc'],
  );
  const publicDomain = s.dns.publicDomain;
  const publicZone = publicDomain
    ? b.add(
        'hosted-zone',
        'zone/public',
        publicDomain,
        { domain: publicDomain, private: false, comment: `kubeaz:${id} zone/public`, callerReference: `kubeaz-${id}-zone-public`, mode: 'adopt-or-own' },
        [],
      )
    : undefined;

  // ── IAM ────────────────────────────────────────────────────────────────────────────────────
  const zoneArns: Ref[] = [ref('zone/private', 'arn'), ...(publicZone ? [ref('zone/public', 'arn')] : [])];
  const zoneDeps = ['zone/private', ...(publicZone ? ['zone/public'] : [])];
  const roles: Array<['master' | 'node' | 'loadbalancer', PolicyDocument]> = [
    ['master', masterPolicy(bucketArn, zoneArns)],
    ['node', nodePolicy(bucketArn)],
  ];
  if (lbGroups.length) roles.push(['loadbalancer', loadbalancerPolicy(bucketArn, s.region, facts.accountId, id)]);
  for (const [role, policy] of roles) {
    const roleName = names.role(role);
    b.add(
      'iam-role',
      `role/${role}`,
      roleName,
      { name: roleName, path: names.iamPath, assumeService: 'ec2.amazonaws.com', policies: { [`kubeaz-${role}`]: policy } },
      role === 'master' ? zoneDeps : [],
    );
    b.add('instance-profile', `profile/${role}`, roleName, { name: roleName, path: names.iamPath, roleName: ref(`role/${role}`, 'name') }, [`role/${role}`]);
  }
  for (const u of s.iam.users) {
    b.add('iam-user', `user/${u.name}`, u.name, { name: u.name, path: names.iamPath, policies: { [`kubeaz-bucket-${u.bucketAccess}`]: userPolicy(bucketArn, u.bucketAccess) } }, []);
  }

  // ── API load balancers ─────────────────────────────────────────────────────────────────────
  const elb = (key: string, name: string, scheme: 'internet-facing' | 'internal', subnets: string[], sgKey: string) =>
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
        healthCheck: { target: `SSL:${PORTS.apiServer}`, interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
        crossZone: true,
      },
      [...subnets, sgKey, 'igw'],
    );
  const elbs: string[] = [];
  if (hasPublicApi) {
    elb('elb/public', names.elbPublic, 'internet-facing', publicSubnets, 'sg/elb-public');
    elbs.push('elb/public');
  }
  elb('elb/internal', names.elbInternal, 'internal', privateSubnets, 'sg/elb-internal');
  elbs.push('elb/internal');

  // ── DNS records ────────────────────────────────────────────────────────────────────────────
  const elbZone = ELB_HOSTED_ZONE_IDS[s.region];
  if (!elbZone) throw new Error(`no classic ELB hosted-zone id is known for region ${s.region}`);
  b.add(
    'dns-record',
    'record/master-internal',
    `master.${names.internalDomain}`,
    { zoneId: privateZone, name: `master.${names.internalDomain}`, type: 'A', alias: { dnsName: ref('elb/internal', 'dnsName'), hostedZoneId: elbZone } },
    ['zone/private', 'elb/internal'],
  );
  if (publicZone && publicDomain && hasPublicApi) {
    const name = `master.${spec.metadata.environment}.${publicDomain}`;
    b.add('dns-record', 'record/master-public', name, { zoneId: publicZone, name, type: 'A', alias: { dnsName: ref('elb/public', 'dnsName'), hostedZoneId: elbZone } }, [
      'zone/public',
      'elb/public',
    ]);
  }

  // ── elastic IPs of loadbalancer groups and their public records ───────────────────────────
  for (const g of lbGroups) {
    const eips: string[] = [];
    for (let i = 0; i < g.elasticIps; i++) {
      const key = `eip/lb/${g.name}/${i}`;
      eips.push(key);
      b.add('elastic-ip', key, `${id}-${g.name}-${i}`, { purpose: 'loadbalancer', pool: g.name }, [], { [POOL_TAG]: g.name });
    }
    if (g.publicRecord && publicZone && publicDomain) {
      const name = `${g.publicRecord}.${publicDomain}`;
      b.add('dns-record', `record/lb/${g.name}`, name, { zoneId: publicZone, name, type: 'A', ttl: 60, values: eips.map((k) => ref(k, 'publicIp')) }, ['zone/public', ...eips]);
    }
  }

  // ── launch templates and auto scaling groups ───────────────────────────────────────────────
  const routeKeys = ['rt/public', ...privateTables];
  const imageFor = (instanceType: string): string => {
    if (s.ami) return s.ami;
    const img = facts.images[archOf(instanceType)];
    if (!img) throw new Error(`no image resolved for ${archOf(instanceType)} (${instanceType})`);
    return img;
  };
  const group = (
    gname: string,
    role: 'master' | 'node' | 'loadbalancer',
    instanceType: string,
    volumeSize: number,
    tier: 'public' | 'private',
    sizes: { min: number; max: number; desired: number },
    labels: Record<string, string>,
    taints: NodeGroupSpec['taints'],
  ) => {
    const profile = role === 'master' ? 'profile/master' : role === 'loadbalancer' ? 'profile/loadbalancer' : 'profile/node';
    const sgs = role === 'master' ? ['sg/master'] : role === 'loadbalancer' ? ['sg/node', 'sg/loadbalancer'] : ['sg/node'];
    const instanceTags: Tags = {
      ...s.tags,
      Name: role === 'master' ? `master.${names.internalDomain}` : `${id}-${gname}`,
      'kubeaz:cluster': id,
      [GROUP_TAG]: gname,
      [k8s]: 'owned',
    };
    const ltKey = `lt/${gname}`;
    b.add(
      'launch-template',
      ltKey,
      names.launchTemplate(gname),
      {
        name: names.launchTemplate(gname),
        imageId: imageFor(instanceType),
        instanceType,
        instanceProfileArn: ref(profile, 'arn'),
        securityGroupIds: sgs.map((k) => ref(k)),
        associatePublicIp: tier === 'public',
        ...(s.sshKeyName ? { keyName: s.sshKeyName } : {}),
        volumeSize,
        hopLimit: 1,
        userData: renderUserData(facts.templates, vars, role, gname, labels, taints),
        instanceTags,
      },
      [profile, ...sgs],
    );
    const subnets = tier === 'public' ? publicSubnets : privateSubnets;
    b.add(
      'auto-scaling-group',
      `asg/${gname}`,
      names.asg(gname),
      {
        name: names.asg(gname),
        launchTemplateId: ref(ltKey),
        launchTemplateVersion: ref(ltKey, 'version'),
        subnetIds: subnets.map((k) => ref(k)),
        minSize: sizes.min,
        maxSize: sizes.max,
        desiredCapacity: sizes.desired,
        loadBalancerNames: role === 'master' ? elbs.map((k) => ref(k, 'name')) : [],
        healthCheckGracePeriod: 300,
        instanceTags,
      },
      // A group in the public subnets needs only the public route table. One in the private subnets
      // needs every route table (its NAT gateways sit in the public subnets) and its zones' NAT
      // gateways *available*: its instances fetch their bootstrap from S3 through them (README,
      // Performance: why the groups do not start before). Nothing else waits for a NAT gateway.
      [ltKey, ...subnets, ...(tier === 'public' ? ['rt/public'] : routeKeys), ...objectKeys, 'pki', ...(role === 'master' ? [...elbs, 'record/master-internal'] : [])],
      { [GROUP_TAG]: gname, [k8s]: 'owned' },
      tier === 'private' ? [...new Set(s.zones.map((z) => natKey[z] ?? (natZones[0] ? natKey[natZones[0]] : undefined)).filter((k): k is string => Boolean(k)))] : [],
    );
  };
  // kubeadm labels and taints the control plane itself; a kubelet may not set node-role.* labels
  // on itself (NodeRestriction), so roles travel as kubeaz.io/role.
  group('master', 'master', s.controlPlane.instanceType, s.controlPlane.volumeSize, 'private', { min: 1, max: 1, desired: 1 }, { 'kubeaz.io/role': 'master' }, []);
  for (const g of s.nodeGroups) {
    group(g.name, g.role, g.instanceType, g.volumeSize ?? 50, g.subnets, { min: g.minSize, max: g.maxSize, desired: g.desiredCapacity }, {
      'kubeaz.io/role': g.role,
      ...g.labels,
    }, g.taints);
  }

  const graph: DesiredGraph = { clusterId: id, nodes: b.nodes };
  return graph;
}

// ── policy documents ──────────────────────────────────────────────────────────────────────────

type Statement = { Sid?: string; Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource: string | Ref | Array<string | Ref>; Condition?: unknown; Principal?: unknown };
const doc = (Statement: Statement[]): PolicyDocument & { Statement: Statement[] } => ({ Version: '2012-10-17', Statement });

export function tlsOnlyPolicy(bucketArn: string) {
  return doc([
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ]);
}

/** What the AWS cloud-controller-manager needs (cloud-provider-aws docs), on the master's role. */
export const CLOUD_CONTROLLER_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeTags',
  'ec2:DescribeInstances',
  'ec2:DescribeRegions',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVolumes',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeVpcs',
  'ec2:DescribeInstanceTopology',
  'ec2:CreateSecurityGroup',
  'ec2:CreateTags',
  'ec2:CreateVolume',
  'ec2:ModifyInstanceAttribute',
  'ec2:ModifyVolume',
  'ec2:AttachVolume',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:CreateRoute',
  'ec2:DeleteRoute',
  'ec2:DeleteSecurityGroup',
  'ec2:DeleteVolume',
  'ec2:DetachVolume',
  'ec2:RevokeSecurityGroupIngress',
  'elasticloadbalancing:AddTags',
  'elasticloadbalancing:AttachLoadBalancerToSubnets',
  'elasticloadbalancing:ApplySecurityGroupsToLoadBalancer',
  'elasticloadbalancing:CreateLoadBalancer',
  'elasticloadbalancing:CreateLoadBalancerPolicy',
  'elasticloadbalancing:CreateLoadBalancerListeners',
  'elasticloadbalancing:ConfigureHealthCheck',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteLoadBalancerListeners',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DetachLoadBalancerFromSubnets',
  'elasticloadbalancing:DeregisterInstancesFromLoadBalancer',
  'elasticloadbalancing:ModifyLoadBalancerAttributes',
  'elasticloadbalancing:RegisterInstancesWithLoadBalancer',
  'elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer',
  'elasticloadbalancing:CreateListener',
  'elasticloadbalancing:CreateTargetGroup',
  'elasticloadbalancing:DeleteListener',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeLoadBalancerPolicies',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:ModifyListener',
  'elasticloadbalancing:ModifyTargetGroup',
  'elasticloadbalancing:RegisterTargets',
  'elasticloadbalancing:DeregisterTargets',
  'elasticloadbalancing:SetLoadBalancerPoliciesOfListener',
  'iam:CreateServiceLinkedRole',
  'kms:DescribeKey',
];

/** What the EBS CSI controller needs (aws-ebs-csi-driver's example policy), on the master's role. */
export const EBS_CSI_ACTIONS = [
  'ec2:CreateSnapshot',
  'ec2:AttachVolume',
  'ec2:DetachVolume',
  'ec2:ModifyVolume',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeInstances',
  'ec2:DescribeSnapshots',
  'ec2:DescribeTags',
  'ec2:DescribeVolumes',
  'ec2:DescribeVolumesModifications',
  'ec2:CreateVolume',
  'ec2:DeleteVolume',
  'ec2:DeleteSnapshot',
];

function masterPolicy(bucketArn: string, zoneArns: Ref[]) {
  return doc([
    { Sid: 'ReadBootstrap', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/bootstrap/common/*`, `${bucketArn}/bootstrap/master/*`, `${bucketArn}/pki/*`] },
    { Sid: 'EtcdBackups', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [`${bucketArn}/etcd/*`, `${bucketArn}/join/*`] },
    {
      Sid: 'ListOwnPrefixes',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': ['etcd/*', 'join/*', 'pki/*', 'bootstrap/common/*', 'bootstrap/master/*'] } },
    },
    { Sid: 'InternalDns', Effect: 'Allow', Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'], Resource: zoneArns },
    { Sid: 'FindZones', Effect: 'Allow', Action: ['route53:ListHostedZonesByName'], Resource: '*' },
    // The SSM agent's Run Command channel (the core of AmazonSSMManagedInstanceCore): `kubeaz backup-etcd` asks the master through it.
    {
      Sid: 'SsmRunCommand',
      Effect: 'Allow',
      Action: [
        'ssm:UpdateInstanceInformation',
        'ssm:ListInstanceAssociations',
        'ec2messages:AcknowledgeMessage',
        'ec2messages:DeleteMessage',
        'ec2messages:FailMessage',
        'ec2messages:GetEndpoint',
        'ec2messages:GetMessages',
        'ec2messages:SendReply',
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
      Resource: '*',
    },
    { Sid: 'DnsChangeStatus', Effect: 'Allow', Action: ['route53:GetChange'], Resource: ['arn:aws:route53:::change/*'] },
    { Sid: 'CloudController', Effect: 'Allow', Action: [...new Set([...CLOUD_CONTROLLER_ACTIONS, ...EBS_CSI_ACTIONS])].sort(), Resource: '*' },
  ]);
}

function nodePolicy(bucketArn: string) {
  return doc([
    { Sid: 'ReadBootstrap', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/bootstrap/common/*`, `${bucketArn}/bootstrap/node/*`, `${bucketArn}/join/*`] },
    { Sid: 'ListBootstrap', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [bucketArn], Condition: { StringLike: { 's3:prefix': ['bootstrap/common/*', 'bootstrap/node/*', 'join/*'] } } },
    { Sid: 'DescribeForKubelet', Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:DescribeRegions'], Resource: '*' },
    {
      Sid: 'PullImages',
      Effect: 'Allow',
      Action: ['ecr:GetAuthorizationToken', 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      Resource: '*',
    },
  ]);
}

function loadbalancerPolicy(bucketArn: string, region: string, account: string, clusterId: string) {
  const base = nodePolicy(bucketArn);
  return doc([
    ...(base.Statement as Statement[]),
    { Sid: 'FindPool', Effect: 'Allow', Action: ['ec2:DescribeAddresses'], Resource: '*' },
    {
      Sid: 'ClaimOwnElasticIps',
      Effect: 'Allow',
      Action: ['ec2:AssociateAddress'],
      Resource: [`arn:aws:ec2:${region}:${account}:elastic-ip/*`],
      Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': clusterId } },
    },
    {
      Sid: 'OntoOwnInstances',
      Effect: 'Allow',
      Action: ['ec2:AssociateAddress'],
      Resource: [`arn:aws:ec2:${region}:${account}:instance/*`, `arn:aws:ec2:${region}:${account}:network-interface/*`],
      Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': clusterId } },
    },
  ]);
}

function userPolicy(bucketArn: string, access: 'read' | 'write') {
  const actions = access === 'read' ? ['s3:GetObject'] : ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
  return doc([
    { Sid: 'Backups', Effect: 'Allow', Action: actions, Resource: [`${bucketArn}/etcd/*`] },
    { Sid: 'ListBackups', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [bucketArn], Condition: { StringLike: { 's3:prefix': ['etcd/*'] } } },
  ]);
}

export type { Naming };
