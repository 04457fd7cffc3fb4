/**
 * spec → desired graph. PURE: no AWS, no I/O. Everything the graph needs from the outside world
 * (account id, resolved images, template texts) comes in as `facts`.
 */
import type { ClusterSpec, NodeGroupSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import { subnetLayout } from '../spec/cidr.js';
import { baseTags, k8sClusterTag, naming, type Naming } from './names.js';
import { clusterVars, renderBootstrapFiles, renderUserData } from './bootstrap.js';
import { loadbalancerPolicy, masterPolicy, nodePolicy, tlsOnlyPolicy, userPolicy } from './policies.js';
import {
  GROUP_TAG,
  K8S_VERSION_TAG,
  POOL_TAG,
  ref,
  type AnyNode,
  type DesiredGraph,
  type DesiredNode,
  type Kind,
  type KindProps,
  type LifecycleRule,
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

/**
 * The subnet tier instances of a group actually run in. With `nat: none` the private subnets have
 * no route to the internet (only the S3 gateway endpoint), and an instance there could never fetch
 * the kubelet packages, images, charts or reach the EC2/ELB APIs: every group (master included)
 * goes to the public subnets with a public IPv4 address instead — the cheap development topology.
 * Security groups are unchanged (nothing new is open); the internal API ELB stays internal.
 */
export function instanceTier(s: ClusterSpec['spec'], wanted: 'public' | 'private'): 'public' | 'private' {
  return s.network.nat === 'none' ? 'public' : wanted;
}

/**
 * The bucket is versioned, so pruning a snapshot only puts a delete marker on it: without these
 * rules every snapshot ever taken stays as a noncurrent version (and is billed). Noncurrent
 * versions under etcd/ go one day after they were pruned or replaced (a day to undo a mistaken
 * prune), then the delete markers left hiding nothing; an upload that died half-way (multipart)
 * is aborted after a day anywhere in the bucket.
 */
export const BUCKET_LIFECYCLE: LifecycleRule[] = [
  { id: 'kubeaz-etcd-noncurrent', prefix: 'etcd/', noncurrentDays: 1, expiredDeleteMarkers: true },
  { id: 'kubeaz-abort-incomplete-uploads', prefix: '', abortIncompleteMultipartDays: 1 },
];

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
  const bucket = b.add('bucket', 'bucket', bucketName, { name: bucketName, policy: JSON.stringify(tlsOnlyPolicy(bucketArn)), lifecycle: BUCKET_LIFECYCLE }, []);
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
    ['master', masterPolicy(bucketArn, zoneArns, id, s.region, facts.accountId)],
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
        healthCheck: API_ELB_HEALTH_CHECK,
        crossZone: true,
        idleTimeout: API_ELB_IDLE_TIMEOUT,
        drainingTimeout: API_ELB_DRAINING_TIMEOUT,
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
  // The alias target's hosted-zone id is the load balancer's own (AWS's answer, see load-balancer.ts).
  b.add(
    'dns-record',
    'record/master-internal',
    `master.${names.internalDomain}`,
    { zoneId: privateZone, name: `master.${names.internalDomain}`, type: 'A', alias: { dnsName: ref('elb/internal', 'dnsName'), hostedZoneId: ref('elb/internal', 'hostedZoneId') } },
    ['zone/private', 'elb/internal'],
  );
  if (publicZone && publicDomain && hasPublicApi) {
    const name = `master.${spec.metadata.environment}.${publicDomain}`;
    b.add('dns-record', 'record/master-public', name, { zoneId: publicZone, name, type: 'A', alias: { dnsName: ref('elb/public', 'dnsName'), hostedZoneId: ref('elb/public', 'hostedZoneId') } }, [
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
      // the version each master instance was launched with: rollout reads it to order a minor upgrade
      ...(role === 'master' ? { [K8S_VERSION_TAG]: s.kubernetesVersion } : {}),
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
      // what the version-skew check in plan reads back: the version the control plane was given
      role === 'master' ? { [K8S_VERSION_TAG]: s.kubernetesVersion } : {},
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
  group('master', 'master', s.controlPlane.instanceType, s.controlPlane.volumeSize, instanceTier(s, 'private'), { min: 1, max: 1, desired: 1 }, { 'kubeaz.io/role': 'master' }, []);
  for (const g of s.nodeGroups) {
    group(g.name, g.role, g.instanceType, g.volumeSize ?? 50, instanceTier(s, g.subnets), { min: g.minSize, max: g.maxSize, desired: g.desiredCapacity }, {
      'kubeaz.io/role': g.role,
      ...g.labels,
    }, g.taints);
  }

  const graph: DesiredGraph = { clusterId: id, nodes: b.nodes };
  return graph;
}

export { CLOUD_CONTROLLER_ACTIONS, EBS_CSI_ACTIONS, tlsOnlyPolicy } from './policies.js';

export type { Naming };
