/** Compute: a launch template and an auto scaling group per group, the master's first. */
import type { ClusterSpec, NodeGroupSpec } from '../../spec/schema.js';
import { archOf } from '../../spec/instance-types.js';
import { autoscalerTags } from '../../spec/autoscaler-tags.js';
import { renderUserData } from '../bootstrap.js';
import { masterGroups } from '../names.js';
import { GROUP_TAG, IRSA_TAG, K8S_VERSION_TAG, ref, type MixedInstances, type Tags } from '../types.js';
import { ENCRYPTION_TAG, encryptionProviderTokens } from '../encryption.js';
import type { Arch, Area, Facts } from './builder.js';
import { groupImage, imageUpdatesOf, type ImageInput, type ImageUpdate } from '../images.js';
import type { Network } from './network.js';
import type { Storage } from './storage.js';

export { archOf };

/** GiB of a node group's root volume when the spec names none (the control plane's default is the schema's). */
export const DEFAULT_NODE_VOLUME_SIZE = 50;

/**
 * A group's MixedInstancesPolicy, when it lists instanceTypes or asks for spot (else undefined: a
 * plain launch template, as before). Without spot every instance is on-demand; on-demand capacity
 * takes the types in the listed order ('prioritized'), so the first type is the usual one — the
 * one cluster-autoscaler sizes the group by.
 */
export function mixedInstancesOf(g: NodeGroupSpec): MixedInstances | undefined {
  if (g.instanceTypes === undefined && g.spot === undefined) return undefined;
  return {
    instanceTypes: [...(g.instanceTypes ?? [g.instanceType])],
    onDemandBase: g.spot?.onDemandBase ?? 0,
    onDemandPercentage: g.spot ? g.spot.onDemandPercentage : 100,
    onDemandAllocationStrategy: 'prioritized',
    spotAllocationStrategy: g.spot?.allocationStrategy ?? 'price-capacity-optimized',
  };
}

export function requiredArchs(spec: ClusterSpec): Arch[] {
  const set = new Set<Arch>([archOf(spec.spec.controlPlane.instanceType), ...spec.spec.nodeGroups.map((g) => archOf(g.instanceType))]);
  return [...set].sort();
}

export const SSM_IMAGE_PARAMETERS: Record<Arch, string> = {
  x86_64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
};

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

/** What every group of a cluster is built from. */
interface GroupEnv {
  area: Area;
  net: Network;
  storage: Storage;
  /** the classic load balancer keys the master groups register with */
  elbs: string[];
  /** the NLB target group keys the master groups register with */
  targetGroups: string[];
}

/** One auto scaling group as compute builds it: a master's or a node group's. */
interface GroupShape {
  name: string;
  role: 'master' | 'node' | 'loadbalancer';
  instanceType: string;
  volumeSize: number;
  tier: 'public' | 'private';
  sizes: { min: number; max: number; desired: number };
  labels: Record<string, string>;
  taints: NodeGroupSpec['taints'];
  /** a master of an HA control plane: its group runs in this zone only */
  zone?: string;
  scaling?: { mixed: MixedInstances | undefined };
  /** a loadbalancer group's elastic-IP pool (its agent claims one of them) */
  elasticIps?: number;
}

/** What decides a group's image (model/images.ts): spec.ami, its recorded image, the available one. */
function imageInput(s: ClusterSpec['spec'], facts: Facts, group: string, instanceType: string): ImageInput {
  const arch = archOf(instanceType);
  return {
    ami: s.ami,
    arch,
    available: facts.images[arch],
    recorded: facts.recordedImages?.[group],
    updateImages: facts.updateImages,
  };
}

function imageFor({ s, facts }: Area, group: string, instanceType: string): string {
  return groupImage(imageInput(s, facts, group, instanceType)).imageId;
}

/**
 * The newer image the public parameter names while groups keep their recorded one (plan's and
 * status' note; nothing changes): every group of the spec, as compute builds them.
 */
export function imageUpdates(spec: ClusterSpec, facts: Facts): ImageUpdate[] {
  const s = spec.spec;
  const groups = [
    ...masterGroups(spec, facts.masterZone).map((m) => ({ group: m.name, instanceType: s.controlPlane.instanceType })),
    ...s.nodeGroups.map((g) => ({ group: g.name, instanceType: g.instanceType })),
  ];
  return imageUpdatesOf(groups.map((g) => ({ group: g.group, ...imageInput(s, facts, g.group, g.instanceType) })));
}

function instanceTagsOf({ s, id, names, k8s }: Area, g: GroupShape): Tags {
  return {
    ...s.tags,
    Name: g.role === 'master' ? `${g.name}.${names.internalDomain}` : `${id}-${g.name}`,
    'kubeaz:cluster': id,
    [GROUP_TAG]: g.name,
    [k8s]: 'owned',
    // the version each master instance was launched with: rollout reads it to order a minor upgrade
    ...(g.role === 'master' ? { [K8S_VERSION_TAG]: s.kubernetesVersion } : {}),
  };
}

/** The group's launch template; returns its key. */
function addLaunchTemplate({ area, storage }: GroupEnv, g: GroupShape, instanceTags: Tags): string {
  const { s, names, facts, b } = area;
  const profile = g.role === 'master' ? 'profile/master' : g.role === 'loadbalancer' ? 'profile/loadbalancer' : 'profile/node';
  const sgs = g.role === 'master' ? ['sg/master'] : g.role === 'loadbalancer' ? ['sg/node', 'sg/loadbalancer'] : ['sg/node'];
  const ltKey = `lt/${g.name}`;
  b.add(
    'launch-template',
    ltKey,
    names.launchTemplate(g.name),
    {
      name: names.launchTemplate(g.name),
      imageId: imageFor(area, g.name, g.instanceType),
      instanceType: g.instanceType,
      instanceProfileArn: ref(profile, 'arn'),
      securityGroupIds: sgs.map((k) => ref(k)),
      associatePublicIp: g.tier === 'public',
      ...(s.sshKeyName ? { keyName: s.sshKeyName } : {}),
      volumeSize: g.volumeSize,
      hopLimit: 1,
      userData: renderUserData(facts.templates, storage.vars, g.role, g.name, g.labels, g.taints, storage.agent, g.elasticIps ?? 0),
      instanceTags,
    },
    // what the version-skew check in plan reads back: the version the control plane was given
    // and the IRSA setting its user data is rendered with (the IRSA switch reads it back: model/irsa-switch.ts)
    {
      tags:
        g.role === 'master'
          ? {
              [K8S_VERSION_TAG]: s.kubernetesVersion,
              [IRSA_TAG]: s.iam.serviceAccountIssuerDiscovery.enabled ? 'on' : 'off',
              // the encryption providers the API servers are given (checks/encryption.ts reads it back)
              [ENCRYPTION_TAG]: encryptionProviderTokens(area.spec).join(' '),
            }
          : {},
    },
  );
  return ltKey;
}

function addScalingGroup({ area, net, storage, elbs, targetGroups }: GroupEnv, g: GroupShape, ltKey: string, instanceTags: Tags): void {
  const { s, id, names, k8s, b } = area;
  const routeKeys = ['rt/public', ...net.privateTables];
  const tierSubnets = g.tier === 'public' ? net.publicSubnets : net.privateSubnets;
  const subnets = g.zone ? [(g.tier === 'public' ? net.pub : net.priv)[g.zone]!] : tierSubnets;
  b.add(
    'auto-scaling-group',
    `asg/${g.name}`,
    names.asg(g.name),
    {
      name: names.asg(g.name),
      launchTemplateId: ref(ltKey),
      launchTemplateVersion: ref(ltKey, 'version'),
      subnetIds: subnets.map((k) => ref(k)),
      minSize: g.sizes.min,
      maxSize: g.sizes.max,
      desiredCapacity: g.sizes.desired,
      loadBalancerNames: g.role === 'master' ? elbs.map((k) => ref(k, 'name')) : [],
      ...(g.role === 'master' && targetGroups.length ? { targetGroupArns: targetGroups.map((k) => ref(k)) } : {}),
      healthCheckGracePeriod: 300,
      instanceTags,
      ...(g.scaling?.mixed ? { mixedInstances: g.scaling.mixed } : {}),
    },
    {
      // Instances boot from what is already there: a group in the public subnets needs the public
      // route table; one in the private subnets needs every route table (its NAT gateways sit in
      // the public subnets) and its zones' NAT gateways *available*: its instances fetch their
      // bootstrap from S3 through them (README, Performance: why the groups do not start
      // before). Nothing else waits for a NAT gateway. The master also needs its API name.
      after: [
        ...(g.tier === 'public' ? ['rt/public'] : routeKeys),
        ...storage.objectKeys,
        'pki',
        ...(g.role === 'master' ? ['record/master-internal'] : []),
      ],
      // node groups carry cluster-autoscaler's discovery and node-template tags (not propagated
      // to instances); the master's group is not the autoscaler's to change
      tags: { [GROUP_TAG]: g.name, [k8s]: 'owned', ...(g.scaling ? autoscalerTags(id, g.labels, g.taints) : {}) },
      ready: g.tier === 'private' ? [...new Set((g.zone ? [g.zone] : s.zones).map(net.natOf).filter((k): k is string => Boolean(k)))] : [],
    },
  );
}

/** A group: its launch template, then its auto scaling group. */
function addGroup(env: GroupEnv, g: GroupShape): void {
  const instanceTags = instanceTagsOf(env.area, g);
  addScalingGroup(env, g, addLaunchTemplate(env, g, instanceTags), instanceTags);
}

/** `elbs`: the classic load balancer keys the master groups register with; `targetGroups`: the NLB target group keys. */
export function compute(area: Area, net: Network, storage: Storage, elbs: string[], targetGroups: string[] = []): void {
  const { spec, s, facts } = area;
  const env: GroupEnv = { area, net, storage, elbs, targetGroups };
  // kubeadm labels and taints the control plane itself; a kubelet may not set node-role.* labels
  // on itself (NodeRestriction), so roles travel as kubeaz.io/role.
  // One master: group `master` across every zone (the seed's). Three or five: a group of one per
  // master, pinned to its zone, with its own launch template (NODE_GROUP in its user data is the
  // master's identity at boot: its etcd member record in the bucket is kept per group).
  for (const m of masterGroups(spec, facts.masterZone)) {
    addGroup(env, {
      name: m.name,
      role: 'master',
      instanceType: s.controlPlane.instanceType,
      volumeSize: s.controlPlane.volumeSize,
      tier: instanceTier(s, 'private'),
      sizes: { min: 1, max: 1, desired: 1 },
      labels: { 'kubeaz.io/role': 'master' },
      taints: [],
      zone: m.zone,
    });
  }
  for (const g of s.nodeGroups) {
    addGroup(env, {
      name: g.name,
      role: g.role,
      instanceType: g.instanceType,
      volumeSize: g.volumeSize ?? DEFAULT_NODE_VOLUME_SIZE,
      tier: instanceTier(s, g.subnets),
      sizes: { min: g.minSize, max: g.maxSize, desired: g.desiredCapacity },
      labels: { 'kubeaz.io/role': g.role, ...g.labels },
      taints: g.taints,
      scaling: { mixed: mixedInstancesOf(g) },
      elasticIps: g.role === 'loadbalancer' ? g.elasticIps : 0,
    });
  }
}
