/**
 * The cluster spec: one zod schema, cross-field rules in its refinements.
 * This file is a contract: users' cluster.yaml files depend on these names.
 */
import { z } from 'zod';
import { parseCidr, subnetLayout, type Cidr } from './cidr.js';
import { POD_CIDR, SERVICE_CIDR } from './cidr.js';
import { regionProblem, zonePattern } from './regions.js';
import {
  dnsLabelProblems,
  dnsSubdomainProblems,
  kubeletLabelProblem,
  labelValueProblems,
  qualifiedNameProblems,
  TAINT_EFFECTS,
} from './k8s-names.js';
import { archOf, MAX_INSTANCE_TYPES, SPOT_ALLOCATION_STRATEGIES } from './instance-types.js';
import {
  ASG_TAG_KEY_MAX,
  autoscalerTags,
  KUBEAZ_NODE_GROUP_ASG_TAGS,
  NODE_TEMPLATE_LABEL_PREFIX,
  NODE_TEMPLATE_TAINT_PREFIX,
} from './autoscaler-tags.js';

export const API_VERSION = 'kubeaz/v1';

/** AWS's tag limit per resource (EC2, IAM, S3, ELB, Route 53, auto scaling all allow 50). */
export const AWS_TAGS_PER_RESOURCE = 50;
/**
 * Tags kubeaz itself may put on one resource, reserved out of that budget: kubeaz:cluster,
 * kubeaz:key, Name, kubernetes.io/cluster/<id>, kubernetes.io/role/elb|internal-elb,
 * kubeaz:generation, kubeaz:node-group, kubeaz:eip-pool, kubeaz:desired-capacity, and room for
 * identity tags (name, environment, region) — 12. The most of them on one resource is the master's
 * launch template: Name and the five identity/ownership tags, kubeaz:kubernetes-version, kubeaz:irsa,
 * kubeaz:encryption, and what its kind writes with every version, kubeaz:data-hash and kubeaz:image
 * — 11 (model/limits.ts counts them over the derived graph).
 */
export const KUBEAZ_TAGS_PER_RESOURCE = 12;
export const MAX_SPEC_TAGS = AWS_TAGS_PER_RESOURCE - KUBEAZ_TAGS_PER_RESOURCE;
/** What IAM and S3 accept in tag keys and values (the strictest of the services kubeaz tags). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_CHARS_MESSAGE = 'tags may hold only letters, digits, spaces and _ . : / = + - @ (what IAM and S3 accept)';
/**
 * Tag keys that name a cluster to Kubernetes' controllers, not to people: cluster-autoscaler finds
 * and may resize a group by `k8s.io/cluster-autoscaler/…`, the cloud controller claims what carries
 * `kubernetes.io/cluster/<id>`, EKS reads `eks:…`. kubeaz writes this cluster's own; from
 * spec.tags (copied onto every resource, masters' groups included) they would hand this cluster's
 * groups and security groups to another cluster's autoscaler or cloud controller.
 */
const FOREIGN_CLUSTER_TAG = /^(k8s\.io\/cluster-autoscaler\/|kubernetes\.io\/cluster\/|eks:)/i;
const FOREIGN_CLUSTER_TAG_MESSAGE =
  "tag keys under 'k8s.io/cluster-autoscaler/', 'kubernetes.io/cluster/' or 'eks:' (in any case) are reserved: spec.tags go on every resource, masters' groups included, and these keys hand them to a cluster's autoscaler (which may then resize the groups and terminate their instances) or cloud controller; kubeaz writes this cluster's own (node-group labels become node-template tags by themselves)";
/** Address ranges no VPC can use: "this network", loopback, link-local, multicast, reserved. */
export const RESERVED_RANGES: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', '"this network"'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];
/** Private ranges (RFC 1918) and shared address space (RFC 6598); anything else is a public range. */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'];
export const overlaps = (a: Cidr, b: Cidr): boolean =>
  a.network <= b.network + 2 ** (32 - b.prefix) - 1 && b.network <= a.network + 2 ** (32 - a.prefix) - 1;
export const within = (a: Cidr, b: Cidr): boolean => overlaps(a, b) && a.prefix >= b.prefix;
export const MAX_CLUSTER_ID_LENGTH = 24;
/** Masters: etcd keeps a majority of its members (quorum) — 3 survive one loss, 5 survive two. */
export const CONTROL_PLANE_COUNTS = [1, 3, 5] as const;
const CONTROL_PLANE_COUNT_MESSAGE =
  'controlPlane.count must be 1, 3 or 5: the masters run etcd, which needs a majority of its members to work, so an even count survives no more failures than the odd count below it (2 masters tolerate no loss, 4 tolerate one) while adding a member that can fail';
/** Service accounts of the add-ons that get their own IAM role with IRSA on (model/areas/irsa.ts): not the spec's to declare. */
export const RESERVED_SERVICE_ACCOUNTS: readonly string[] = [
  'kube-system/ebs-csi-controller-sa',
  'kube-system/cluster-autoscaler',
  'kube-system/aws-node-termination-handler',
];

/** Run a refinement even when fields failed, so cross-field problems are reported with the rest. */
/** A KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<id> (an alias ARN names no key the provider can pin). */
export const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]{1,128})$/;
/** An aescbc key's name in the EncryptionConfiguration and under pki/encryption/. */
export const ENCRYPTION_KEY_NAME = /^[a-z][a-z0-9]{0,15}$/;

const ALWAYS = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null };
/** A rule reading a value that is itself malformed (and reported as such) is skipped. */
const attempt = (fn: () => void): void => {
  try {
    fn();
  } catch {
    /* the field this rule reads is invalid; its own issue says so */
  }
};

const dnsLabel = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const name = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .regex(dnsLabel, `${what} may hold only lowercase letters, digits and '-', starting with a letter and not ending with '-'`);

const cidr = z.string().refine((v) => parseCidr(v) !== undefined, { message: 'must be an IPv4 CIDR such as 10.0.0.0/16' });

const domain = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
    'must be a lowercase DNS domain such as example.com',
  );

const size = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(0, `${what} must be 0 or more`);

const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as m5.large');

const taint = z
  .strictObject({
    key: z.string({ error: 'taint key must be a string' }),
    value: z.string({ error: 'taint value must be a string' }).optional(),
    effect: z.enum(TAINT_EFFECTS, {
      error: 'effect must be one of NoSchedule, PreferNoSchedule, NoExecute',
    }),
  })
  .superRefine((t, ctx) => {
    // Kubernetes' own rules: a taint key is a qualified name, its value a label value.
    if (typeof t.key === 'string')
      for (const m of qualifiedNameProblems(t.key))
        ctx.addIssue({ code: 'custom', path: ['key'], message: `taint key is not a valid Kubernetes key: ${m}` });
    if (typeof t.value === 'string')
      for (const m of labelValueProblems(t.value))
        ctx.addIssue({ code: 'custom', path: ['value'], message: `taint value is not a valid Kubernetes value: ${m}` });
  }, ALWAYS);

/** Labels by Kubernetes' rules, and none the kubelet refuses to set on its own Node. */
const labels = z
  .record(z.string(), z.string({ error: 'a label value must be a string (quote numbers and booleans: "true")' }))
  .superRefine((l, ctx) => {
    for (const [k, v] of Object.entries(l)) {
      for (const m of qualifiedNameProblems(k))
        ctx.addIssue({ code: 'custom', path: [k], message: `label key is not a valid Kubernetes label key: ${m}` });
      const refused = kubeletLabelProblem(k);
      if (refused) ctx.addIssue({ code: 'custom', path: [k], message: `label key ${refused}` });
      if (typeof v === 'string')
        for (const m of labelValueProblems(v)) ctx.addIssue({ code: 'custom', path: [k], message: `label ${k}: ${m}` });
    }
  });

/** Spot capacity of a group with a MixedInstancesPolicy (the auto scaling API's InstancesDistribution). */
const spot = z.strictObject({
  onDemandBase: z
    .number({ error: 'onDemandBase must be a number' })
    .int('onDemandBase must be a whole number')
    .min(0, 'onDemandBase must be 0 or more')
    .default(0),
  onDemandPercentage: z
    .number({ error: 'onDemandPercentage must be a number' })
    .int('onDemandPercentage must be a whole number')
    .min(0, 'onDemandPercentage must be 0–100')
    .max(100, 'onDemandPercentage must be 0–100')
    .default(0),
  allocationStrategy: z
    .enum(SPOT_ALLOCATION_STRATEGIES, { error: `allocationStrategy must be one of ${SPOT_ALLOCATION_STRATEGIES.join(', ')}` })
    .default('price-capacity-optimized'),
});

const nodeGroup = z
  .strictObject({
    name: name('node group name').max(20, 'node group name must be at most 20 characters'),
    role: z.enum(['node', 'loadbalancer'], { error: "role must be 'node' or 'loadbalancer'" }).default('node'),
    instanceType: instanceType.optional(),
    minSize: size('minSize'),
    maxSize: size('maxSize').max(1000, 'maxSize must be at most 1000'),
    desiredCapacity: size('desiredCapacity').optional(),
    subnets: z.enum(['private', 'public'], { error: "subnets must be 'private' or 'public'" }).optional(),
    volumeSize: z.number().int().min(8).max(16384).optional(),
    labels: labels.default({}),
    taints: z.array(taint).default([]),
    elasticIps: z.number().int().min(1).max(20).optional(),
    publicRecord: z.string().regex(dnsLabel, 'publicRecord must be a single DNS label such as lb').optional(),
    instanceTypes: z
      .array(instanceType, { error: 'instanceTypes must be a list of EC2 instance types' })
      .min(1, 'instanceTypes must list at least one type')
      .max(MAX_INSTANCE_TYPES, `instanceTypes may list at most ${MAX_INSTANCE_TYPES} types (the auto scaling API's limit)`)
      .optional(),
    spot: spot.optional(),
  })
  .superRefine((g, ctx) => {
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (num(g.maxSize) && num(g.minSize) && g.maxSize < g.minSize)
      ctx.addIssue({ code: 'custom', path: ['maxSize'], message: `maxSize (${g.maxSize}) is less than minSize (${g.minSize})` });
    if (num(g.desiredCapacity) && num(g.minSize) && num(g.maxSize) && (g.desiredCapacity < g.minSize || g.desiredCapacity > g.maxSize))
      ctx.addIssue({
        code: 'custom',
        path: ['desiredCapacity'],
        message: `desiredCapacity (${g.desiredCapacity}) must lie between minSize (${g.minSize}) and maxSize (${g.maxSize})`,
      });
    if (g.instanceType !== undefined && g.instanceTypes !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['instanceTypes'],
        message: 'instanceType and instanceTypes are alternatives: give instanceTypes alone (its first type is the preferred one)',
      });
    if (g.instanceType === undefined && g.instanceTypes === undefined)
      ctx.addIssue({ code: 'custom', path: ['instanceType'], message: 'instanceType (or instanceTypes) is required' });
    if (Array.isArray(g.instanceTypes)) {
      const seen = new Set<string>();
      g.instanceTypes.forEach((t, i) => {
        if (typeof t !== 'string') return;
        if (seen.has(t)) ctx.addIssue({ code: 'custom', path: ['instanceTypes', i], message: `instance type ${t} is listed twice` });
        seen.add(t);
      });
      const types = g.instanceTypes.filter((t): t is string => typeof t === 'string');
      const archs = [...new Set(types.map(archOf))];
      if (archs.length > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['instanceTypes'],
          message: `the types of one group must share an architecture (one image, one launch template): ${types.map((t) => `${t} (${archOf(t)})`).join(', ')}`,
        });
    }
    if (g.role !== 'loadbalancer') {
      if (g.elasticIps !== undefined)
        ctx.addIssue({ code: 'custom', path: ['elasticIps'], message: "elasticIps is allowed only on a group with role 'loadbalancer'" });
      if (g.publicRecord !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['publicRecord'],
          message: "publicRecord is allowed only on a group with role 'loadbalancer'",
        });
    } else if (num(g.elasticIps) && num(g.maxSize) && g.elasticIps < g.maxSize)
      ctx.addIssue({
        code: 'custom',
        path: ['elasticIps'],
        message: `elasticIps (${g.elasticIps}) must be at least maxSize (${g.maxSize}): every instance of a group with an address pool claims one, and an instance that finds none free never joins the cluster`,
      });
  }, ALWAYS)
  .transform((g) => ({
    ...g,
    /** the group's (first, preferred) type: what its launch template names */
    instanceType: g.instanceType ?? g.instanceTypes?.[0] ?? '',
    desiredCapacity: g.desiredCapacity ?? g.minSize,
    subnets: g.subnets ?? (g.role === 'loadbalancer' ? ('public' as const) : ('private' as const)),
    elasticIps: g.elasticIps ?? 0,
  }));

/** An IAM managed policy ARN (AWS's own, or an account's customer-managed one). */
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/;

/** One of the spec's service accounts that gets an IAM role (IRSA). */
const serviceAccountRole = z
  .strictObject({
    namespace: z.string({ error: 'namespace must be a string' }),
    name: z.string({ error: 'name must be a string' }),
    policyArns: z
      .array(z.string().regex(POLICY_ARN, 'must be an IAM policy ARN such as arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'))
      .min(1, 'policyArns must name at least one policy')
      .max(20, 'at most 20 managed policies can be attached to a role'),
  })
  .superRefine((a, ctx) => {
    // Kubernetes' own rules: a namespace is a DNS-1123 label, a service account's name a DNS-1123 subdomain.
    if (typeof a.namespace === 'string')
      for (const m of dnsLabelProblems(a.namespace))
        ctx.addIssue({ code: 'custom', path: ['namespace'], message: `namespace is not a valid Kubernetes namespace: ${m}` });
    if (typeof a.name === 'string')
      for (const m of dnsSubdomainProblems(a.name))
        ctx.addIssue({ code: 'custom', path: ['name'], message: `name is not a valid Kubernetes service account name: ${m}` });
  }, ALWAYS);

/** The cluster document's fields; the cross-field rules (CLUSTER_RULES) run on it after. */
const clusterObject = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be '${API_VERSION}'` }),
  kind: z.literal('Cluster', { error: "kind must be 'Cluster'" }),
  metadata: z.strictObject({
    name: name('metadata.name'),
    environment: name('metadata.environment'),
  }),
  spec: z.strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2,4}(-gov|-iso[a-z]*|-de)?-[a-z]+-\d+$/, 'must be an AWS region such as us-east-1')
      .superRefine((r, ctx) => {
        if (!/^[a-z]{2,4}(-gov|-iso[a-z]*|-de)?-[a-z]+-\d+$/.test(r)) return; // the format check above said what is wrong
        const why = regionProblem(r);
        if (why) ctx.addIssue({ code: 'custom', message: why });
      }),
    zones: z
      .array(z.string(), { error: 'zones must be a list of availability zones' })
      .min(2, 'at least 2 zones are needed for a multi-AZ cluster')
      .max(6, 'at most 6 zones are supported'),
    kubernetesVersion: z
      .string({ error: 'kubernetesVersion must be a quoted string such as "1.31.2"' })
      .regex(/^\d+\.\d+\.\d+$/, 'must be MAJOR.MINOR.PATCH such as 1.31.2')
      .refine((v) => {
        const m = /^(\d+)\.(\d+)\.\d+$/.exec(v);
        if (!m) return true; // the format check above already said what is wrong
        return Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 28);
      }, 'must be 1.28 or newer'),
    ami: z
      .string()
      .regex(/^ami-[0-9a-f]{8,17}$/, 'must be an AMI id such as ami-0123456789abcdef0')
      .optional(),
    sshKeyName: z.string().min(1).max(255).optional(),
    network: z.strictObject({
      vpcCidr: cidr,
      tenancy: z.enum(['default', 'dedicated'], { error: "tenancy must be 'default' or 'dedicated'" }).default('default'),
      nat: z.enum(['perZone', 'single', 'none'], { error: 'nat must be one of perZone, single, none' }).default('perZone'),
      apiAccess: z.array(cidr).default(['0.0.0.0/0']),
    }),
    dns: z
      .strictObject({
        internalDomain: domain.optional(),
        publicDomain: domain.optional(),
      })
      .default({}),
    controlPlane: z.strictObject({
      instanceType,
      volumeSize: z.number().int().min(8).max(16384).default(50),
      /** the API's load balancers: classic ELBs (the seed's) or Network Load Balancers */
      loadBalancer: z.enum(['classic', 'network'], { error: "loadBalancer must be 'classic' or 'network'" }).default('classic'),
      count: z.literal(CONTROL_PLANE_COUNTS, { error: CONTROL_PLANE_COUNT_MESSAGE }).default(1),
    }),
    nodeGroups: z.array(nodeGroup).default([]),
    iam: z
      .strictObject({
        users: z
          .array(
            z.strictObject({
              name: z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,40}$/, 'IAM user name: letters, digits and +=,.@_- (at most 40)'),
              bucketAccess: z.enum(['read', 'write'], { error: "bucketAccess must be 'read' or 'write'" }),
            }),
          )
          .default([]),
        /** IAM roles for service accounts: kube-apiserver's issuer published in a public discovery bucket (README, IAM roles for service accounts) */
        serviceAccountIssuerDiscovery: z
          .strictObject({
            enabled: z.boolean({ error: 'enabled must be true or false' }).default(false),
          })
          .default({ enabled: false }),
        serviceAccounts: z.array(serviceAccountRole).default([]),
      })
      .default({ users: [], serviceAccountIssuerDiscovery: { enabled: false }, serviceAccounts: [] }),
    etcd: z
      .strictObject({
        backupIntervalMinutes: z.number().int().min(1).max(1440).default(15),
        backupRetentionDays: z.number().int().min(1).max(3650).default(7),
      })
      .default({ backupIntervalMinutes: 15, backupRetentionDays: 7 }),
    /** Secrets encrypted at rest in etcd (README, Secrets encrypted at rest); the provider's own rules in encryptionRules */
    encryption: z
      .strictObject({
        provider: z.enum(['aescbc', 'kms'], { error: "provider must be 'aescbc' or 'kms'" }).default('aescbc'),
        keyArn: z.string().optional(),
        keys: z
          .array(z.string().regex(ENCRYPTION_KEY_NAME, 'key names: lowercase letters and digits, starting with a letter (key1, key2, …)'))
          .min(1, 'keys must name at least one key')
          .max(4, 'at most 4 keys')
          .optional(),
      })
      .default({ provider: 'aescbc' }),
    tags: z
      .record(
        z
          .string()
          .min(1)
          .max(127)
          .refine((k) => !/^(aws|kubeaz):/i.test(k), "tag keys starting with 'aws:' or 'kubeaz:' (in any case) are reserved")
          .refine((k) => !FOREIGN_CLUSTER_TAG.test(k), FOREIGN_CLUSTER_TAG_MESSAGE)
          .refine((k) => TAG_CHARS.test(k), TAG_CHARS_MESSAGE),
        z
          .string()
          .max(255)
          .refine((v) => TAG_CHARS.test(v), TAG_CHARS_MESSAGE),
      )
      .refine((t) => Object.keys(t).length <= MAX_SPEC_TAGS, {
        message: `at most ${MAX_SPEC_TAGS} tags: AWS allows ${AWS_TAGS_PER_RESOURCE} per resource and kubeaz adds up to ${KUBEAZ_TAGS_PER_RESOURCE} of its own`,
      })
      .default({}),
    /** where the state lives for a team: s3://bucket/prefix (default: .kubeaz/ beside the spec) */
    state: z
      .string()
      .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'must be s3://bucket/prefix')
      .optional(),
  }),
});

/** The parsed cluster document as the cross-field rules see it (fields may have failed their own checks). */
type ClusterDraft = z.output<typeof clusterObject>;
/** A cross-field rule: reads only what it needs and reports through ctx. */
type ClusterRule = (c: ClusterDraft, ctx: z.core.$RefinementCtx<ClusterDraft>) => void;

/** The cluster id (name-environment) fits every AWS name limit. */
const clusterIdFits: ClusterRule = (c, ctx) => {
  const id = `${c.metadata.name}-${c.metadata.environment}`;
  if (id.length > MAX_CLUSTER_ID_LENGTH)
    ctx.addIssue({
      code: 'custom',
      path: ['metadata', 'name'],
      message: `the cluster id '${id}' (name-environment) is ${id.length} characters; at most ${MAX_CLUSTER_ID_LENGTH} fit every AWS name limit`,
    });
};

/** Each zone is in the region, and listed once. */
const zonesInRegion: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const zoneRe = zonePattern(s.region);
  const seen = new Set<string>();
  s.zones.forEach((zone, i) => {
    if (!zoneRe.test(zone))
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'zones', i],
        message: `zone '${zone}' is not in region ${s.region} (expected ${s.region}a, ${s.region}b, …)`,
      });
    if (seen.has(zone)) ctx.addIssue({ code: 'custom', path: ['spec', 'zones', i], message: `zone '${zone}' is listed twice` });
    seen.add(zone);
  });
};

/** The VPC CIDR: its size, no overlap with the ranges the cluster uses inside or no VPC may use, no host bits. */
const vpcCidrFits: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const net = typeof s.network.vpcCidr === 'string' ? parseCidr(s.network.vpcCidr) : undefined;
  if (net) {
    if (net.prefix < 16 || net.prefix > 28)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'network', 'vpcCidr'],
        message: `a VPC CIDR must be between /16 and /28 (got /${net.prefix})`,
      });
    else if (s.zones.length >= 2 && s.zones.length <= 6 && !subnetLayout(s.network.vpcCidr, s.zones.length))
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'network', 'vpcCidr'],
        message: `${s.network.vpcCidr} is too small for a public and a private subnet in each of ${s.zones.length} zones (AWS's smallest subnet is /28)`,
      });
    const last = (c: Cidr) => c.network + 2 ** (32 - c.prefix) - 1;
    for (const [what, reserved] of [
      ['pod', POD_CIDR],
      ['service', SERVICE_CIDR],
    ] as const) {
      const r = parseCidr(reserved)!;
      if (net.network <= last(r) && r.network <= last(net))
        ctx.addIssue({
          code: 'custom',
          path: ['spec', 'network', 'vpcCidr'],
          message: `${s.network.vpcCidr} overlaps the ${what} CIDR ${reserved} that the cluster uses inside; choose another range such as 10.0.0.0/16`,
        });
    }
    for (const [range, what] of RESERVED_RANGES)
      if (overlaps(net, parseCidr(range)!))
        ctx.addIssue({
          code: 'custom',
          path: ['spec', 'network', 'vpcCidr'],
          message: `${s.network.vpcCidr} overlaps ${range} (${what}), which no VPC may use; choose a private range such as 10.0.0.0/16`,
        });
    if (net.base !== net.network)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'network', 'vpcCidr'],
        message: `${s.network.vpcCidr} has host bits set; did you mean ${net.canonical}?`,
      });
  }
};

/** `apiAccess` CIDRs have no host bits set. */
const apiAccessHasNoHostBits: ClusterRule = (c, ctx) => {
  const s = c.spec;
  s.network.apiAccess.forEach((a, i) => {
    const p = typeof a === 'string' ? parseCidr(a) : undefined;
    if (p && p.base !== p.network)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'network', 'apiAccess', i],
        message: `${a} has host bits set; did you mean ${p.canonical}?`,
      });
  });
};

/** Node group names: unique, not the control plane's; publicRecord has what it needs. */
const nodeGroupNames: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const groups = new Set<string>();
  s.nodeGroups.forEach((g, i) => {
    if (groups.has(g.name))
      ctx.addIssue({ code: 'custom', path: ['spec', 'nodeGroups', i, 'name'], message: `node group name '${g.name}' is used twice` });
    if (g.name === 'master' || g.name.startsWith('master-'))
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'nodeGroups', i, 'name'],
        message: `'${g.name}': 'master' and names starting with 'master-' are reserved for the control plane's groups`,
      });
    groups.add(g.name);
    if (g.publicRecord !== undefined && !s.dns.publicDomain)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'nodeGroups', i, 'publicRecord'],
        message: 'publicRecord needs spec.dns.publicDomain',
      });
    if (g.publicRecord !== undefined && g.elasticIps === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'nodeGroups', i, 'publicRecord'],
        message: 'publicRecord needs elasticIps on the same group (the record lists those addresses)',
      });
  });
};

/**
 * cluster-autoscaler's tags on each group's auto scaling group (scale from zero needs one per
 * label and per taint): every key must fit an ASG tag key, and the group's tags fit in 50.
 */
const autoscalerTagsFit: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const id = clusterIdOf(c);
  s.nodeGroups.forEach((g, i) => {
    const at = ['spec', 'nodeGroups', i];
    for (const k of Object.keys(g.labels)) {
      const key = `${NODE_TEMPLATE_LABEL_PREFIX}${k}`;
      if (key.length > ASG_TAG_KEY_MAX)
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'labels', k],
          message: `label ${k} does not fit cluster-autoscaler's node-template tag: ${key} is ${key.length} characters and an auto scaling group's tag key holds at most ${ASG_TAG_KEY_MAX} (the autoscaler could not scale this group from zero knowing the label); use a key of at most ${ASG_TAG_KEY_MAX - NODE_TEMPLATE_LABEL_PREFIX.length} characters`,
        });
    }
    const taintKeys = new Set<string>();
    g.taints.forEach((t, j) => {
      const key = `${NODE_TEMPLATE_TAINT_PREFIX}${t.key}`;
      if (key.length > ASG_TAG_KEY_MAX)
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'taints', j, 'key'],
          message: `taint ${t.key} does not fit cluster-autoscaler's node-template tag: ${key} is ${key.length} characters and an auto scaling group's tag key holds at most ${ASG_TAG_KEY_MAX}; use a key of at most ${ASG_TAG_KEY_MAX - NODE_TEMPLATE_TAINT_PREFIX.length} characters`,
        });
      if (taintKeys.has(t.key))
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'taints', j, 'key'],
          message: `taint key ${t.key} is used twice in this group: cluster-autoscaler's node-template tag holds one taint per key`,
        });
      taintKeys.add(t.key);
    });
    const user = Object.keys(s.tags).length;
    const scaler = Object.keys(autoscalerTags(id, { 'kubeaz.io/role': g.role, ...g.labels }, g.taints)).length;
    const total = user + KUBEAZ_NODE_GROUP_ASG_TAGS + scaler;
    if (total > AWS_TAGS_PER_RESOURCE)
      ctx.addIssue({
        code: 'custom',
        path: at,
        message: `the auto scaling group of node group '${g.name}' would carry ${total} tags and AWS allows ${AWS_TAGS_PER_RESOURCE}: ${user} from spec.tags, ${KUBEAZ_NODE_GROUP_ASG_TAGS} of kubeaz's and ${scaler} for cluster-autoscaler (2 for discovery, one per label — kubeaz.io/role included — and one per taint); drop ${total - AWS_TAGS_PER_RESOURCE} tags, labels or taints`,
      });
  });
};

/** IAM users are listed once. */
const iamUsersOnce: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const users = new Set<string>();
  s.iam.users.forEach((u, i) => {
    if (users.has(u.name))
      ctx.addIssue({ code: 'custom', path: ['spec', 'iam', 'users', i, 'name'], message: `IAM user '${u.name}' is listed twice` });
    users.add(u.name);
  });
};

/** Service accounts: need issuer discovery, listed once, not an add-on's. */
const serviceAccountsRules: ClusterRule = (c, ctx) => {
  const s = c.spec;
  const seen = new Set<string>();
  s.iam.serviceAccounts.forEach((a, i) => {
    const id = `${a.namespace}/${a.name}`;
    if (!s.iam.serviceAccountIssuerDiscovery.enabled && i === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'iam', 'serviceAccounts'],
        message:
          "serviceAccounts needs spec.iam.serviceAccountIssuerDiscovery.enabled: true (the roles trust the cluster's service-account issuer)",
      });
    if (seen.has(id))
      ctx.addIssue({ code: 'custom', path: ['spec', 'iam', 'serviceAccounts', i], message: `service account ${id} is listed twice` });
    if (RESERVED_SERVICE_ACCOUNTS.includes(id))
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'iam', 'serviceAccounts', i],
        message: `service account ${id} is an add-on's: kubeaz gives it its own role`,
      });
    seen.add(id);
  });
};

/** spec.encryption: kms needs a key ARN of the spec's region; aescbc takes key names (the first encrypts), kms the aescbc keys it keeps for reading. */
const encryptionRules: ClusterRule = (c, ctx) => {
  const e = c.spec.encryption;
  const path = ['spec', 'encryption'];
  if (e.provider === 'aescbc') {
    if (e.keyArn !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'keyArn'],
        message: "keyArn is for provider 'kms' (aescbc keeps its key under pki/)",
      });
    if (e.keys && new Set(e.keys).size !== e.keys.length)
      ctx.addIssue({ code: 'custom', path: [...path, 'keys'], message: 'each key is named once' });
    return;
  }
  // kms with keys: the aescbc keys kept after a switch from aescbc, to read the Secrets written under them (never to encrypt)
  if (e.keys && new Set(e.keys).size !== e.keys.length)
    ctx.addIssue({ code: 'custom', path: [...path, 'keys'], message: 'each key is named once' });
  if (e.keyArn === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'keyArn'],
      message: "provider 'kms' needs keyArn (arn:aws:kms:<region>:<account>:key/<id>)",
    });
    return;
  }
  const m = KMS_KEY_ARN.exec(e.keyArn);
  if (!m) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'keyArn'],
      message: 'keyArn must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    return;
  }
  if (m[2] !== c.spec.region)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'keyArn'],
      message: `keyArn is a key of ${m[2]}, but the cluster is in ${c.spec.region}: the API server's encryption provider calls KMS in its own region`,
    });
};

/** The internal and the public domain differ. */
const domainsDiffer: ClusterRule = (c, ctx) => {
  const s = c.spec;
  if (s.dns.internalDomain && s.dns.publicDomain && s.dns.internalDomain === s.dns.publicDomain)
    ctx.addIssue({ code: 'custom', path: ['spec', 'dns', 'internalDomain'], message: 'internalDomain and publicDomain must differ' });
};
const CLUSTER_RULES: readonly ClusterRule[] = [
  clusterIdFits,
  zonesInRegion,
  vpcCidrFits,
  apiAccessHasNoHostBits,
  nodeGroupNames,
  autoscalerTagsFit,
  iamUsersOnce,
  serviceAccountsRules,
  domainsDiffer,
  encryptionRules,
];

export const clusterSchema = clusterObject.superRefine((c, ctx) => {
  // Runs even when some fields are invalid (so every problem is reported at once): each rule
  // reads only what it needs and is skipped when that is itself malformed (already reported).
  for (const rule of CLUSTER_RULES) attempt(() => rule(c, ctx));
}, ALWAYS);

export type ClusterSpecInput = z.input<typeof clusterSchema>;
export type ClusterSpec = z.output<typeof clusterSchema>;
export type NodeGroupSpec = ClusterSpec['spec']['nodeGroups'][number];

/** Upstream end-of-life dates (kubernetes.io/releases). A version past its date is a warning. */
export const KUBERNETES_EOL: Record<string, string> = {
  '1.28': '2024-10-28',
  '1.29': '2025-02-28',
  '1.30': '2025-06-28',
  '1.31': '2025-10-28',
  '1.32': '2026-02-28',
  '1.33': '2026-06-28',
  '1.34': '2026-10-27',
  '1.35': '2027-02-28',
};

export function clusterIdOf(spec: Pick<ClusterSpec, 'metadata'>): string {
  return `${spec.metadata.name}-${spec.metadata.environment}`;
}
