/**
 * The desired graph: typed resource nodes with stable logical keys, their desired properties and
 * the keys they depend on. Computed by pure functions from the spec (see derive.ts).
 */

/** The EBS type of every instance's root volume, as the launch templates set it (cost reads it too). */
export const ROOT_VOLUME_TYPE = 'gp3';

/** A reference to another node's resolved attribute (its AWS id unless `attr` names another). */
export interface Ref {
  readonly $ref: string;
  readonly attr?: string;
}

export const ref = (key: string, attr?: string): Ref => (attr ? { $ref: key, attr } : { $ref: key });
export const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && typeof (v as Ref).$ref === 'string';

/** Replaces every Ref inside T by the resolved value's type. */
export type Resolved<T> = T extends Ref
  ? string
  : T extends readonly (infer U)[]
    ? Resolved<U>[]
    : T extends object
      ? { [K in keyof T]: Resolved<T[K]> }
      : T;

export type Tags = Record<string, string>;

export interface SgRule {
  protocol: 'tcp' | 'udp' | 'icmp' | '-1';
  fromPort: number;
  toPort: number;
  /** exactly one of cidr or sourceGroup */
  cidr?: string;
  sourceGroup?: Ref;
  description: string;
}

export interface NaclEntry {
  ruleNumber: number;
  egress: boolean;
  /** '-1' all, '6' tcp, '17' udp */
  protocol: '-1' | '6' | '17';
  cidr: string;
  fromPort?: number;
  toPort?: number;
  action: 'allow' | 'deny';
}

/** One S3 lifecycle rule, in the few terms kubeaz uses (prefix '' = the whole bucket). */
export interface LifecycleRule {
  id: string;
  prefix: string;
  /** expire noncurrent versions this many days after they became noncurrent */
  noncurrentDays?: number;
  /** remove delete markers that no longer hide any version */
  expiredDeleteMarkers?: boolean;
  /** abort multipart uploads left incomplete for this many days */
  abortIncompleteMultipartDays?: number;
}

export interface RouteSpec {
  destination: string;
  gatewayId?: Ref;
  natGatewayId?: Ref;
}

/** An IAM policy document; may hold Refs (a zone's ARN), resolved before it is sent. */
export type PolicyDocument = { Version: string; Statement: unknown[] };

/** A group's MixedInstancesPolicy in kubeaz's terms (launch template + one override per type, InstancesDistribution). */
export interface MixedInstances {
  /** the overrides, in order: the first is the preferred type (and the launch template's own) */
  instanceTypes: string[];
  onDemandBase: number;
  /** on-demand share above the base, 0–100 (100: no spot) */
  onDemandPercentage: number;
  onDemandAllocationStrategy: 'prioritized' | 'lowest-price';
  spotAllocationStrategy: string;
}

export interface KindProps {
  vpc: { cidr: string; tenancy: 'default' | 'dedicated' };
  subnet: { vpcId: Ref; cidr: string; zone: string; tier: 'public' | 'private' };
  'internet-gateway': { vpcId: Ref };
  'elastic-ip': { purpose: 'nat' | 'loadbalancer'; pool?: string };
  'nat-gateway': { subnetId: Ref; allocationId: Ref };
  'route-table': { vpcId: Ref; routes: RouteSpec[]; subnetIds: Ref[] };
  'network-acl': { vpcId: Ref; entries: NaclEntry[]; subnetIds: Ref[] };
  'vpc-endpoint': { vpcId: Ref; serviceName: string; routeTableIds: Ref[] };
  'security-group': { vpcId: Ref; groupName: string; description: string };
  'security-group-rules': { groupId: Ref; ingress: SgRule[] };
  bucket: { name: string; policy: string; lifecycle: LifecycleRule[] };
  /** body: the text, or (the issuer's JWKS) a reference to the pki's `jwks`, known once pki/sa.pub exists */
  'bucket-object': { bucket: Ref; objectKey: string; body: string | Ref; contentType: string };
  /** IRSA's public bucket: only the issuer's two documents are readable, by anyone (policy), nothing else */
  'discovery-bucket': { name: string; policy: string };
  /** IAM OIDC identity provider of the service-account issuer */
  'oidc-provider': { url: string; clientIds: string[] };
  /** the cluster's CAs and service-account keys under pki/ in the bucket (never in the state) */
  pki: {
    bucket: Ref;
    /** the aescbc keys' names (spec.encryption; [] with kms): each generated once under pki/encryption/<name>, its bytes never here */
    encryptionKeys: string[];
  };
  /**
   * assumeService: an AWS service's role (ec2.amazonaws.com); trust: any other trust policy (IRSA's
   * web identity); exactly one of the two. managedPolicyArns, when set, is the whole list of managed
   * policies attached (kubeaz attaches and detaches them); unset, hand-attached ones are left alone.
   */
  'iam-role': {
    name: string;
    path: string;
    assumeService?: string;
    trust?: PolicyDocument;
    policies: Record<string, PolicyDocument>;
    managedPolicyArns?: string[];
  };
  'instance-profile': { name: string; path: string; roleName: Ref };
  'iam-user': { name: string; path: string; policies: Record<string, PolicyDocument> };
  'hosted-zone': {
    domain: string;
    private: boolean;
    vpcId?: Ref;
    vpcRegion?: string;
    comment: string;
    callerReference: string;
    mode: 'own' | 'adopt-or-own';
  };
  'dns-record': { zoneId: Ref; name: string; type: 'A'; alias?: { dnsName: Ref; hostedZoneId: Ref }; values?: Ref[]; ttl?: number };
  'load-balancer': {
    name: string;
    scheme: 'internet-facing' | 'internal';
    subnetIds: Ref[];
    securityGroupIds: Ref[];
    listener: { protocol: 'TCP'; port: number; instanceProtocol: 'TCP'; instancePort: number };
    healthCheck: { target: string; interval: number; timeout: number; healthyThreshold: number; unhealthyThreshold: number };
    crossZone: boolean;
    /** seconds an idle TCP connection is kept (kubectl exec / logs -f / port-forward ride on it) */
    idleTimeout: number;
    /** connection draining: on, with this many seconds for in-flight connections of a leaving instance */
    drainingTimeout: number;
  };
  /**
   * A Network Load Balancer for the API (controlPlane.loadBalancer: network) with its one TCP
   * listener forwarding to its own target group. Security groups are given at creation: AWS
   * refuses to add any to an NLB made without.
   */
  'network-load-balancer': {
    name: string;
    scheme: 'internet-facing' | 'internal';
    subnetIds: Ref[];
    securityGroupIds: Ref[];
    crossZone: boolean;
    listener: { protocol: 'TCP'; port: number; targetGroupArn: Ref };
  };
  /** The API's TCP target group: one per network load balancer (on AWS a target group serves one load balancer). */
  'target-group': {
    name: string;
    vpcId: Ref;
    protocol: 'TCP';
    port: number;
    targetType: 'instance';
    healthCheck: {
      protocol: 'TCP' | 'HTTPS';
      port: string;
      path?: string;
      matcher?: string;
      interval: number;
      timeout: number;
      healthyThreshold: number;
      unhealthyThreshold: number;
    };
    /** seconds a leaving target keeps its connections (deregistration_delay.timeout_seconds) */
    deregistrationDelay: number;
    /** preserve_client_ip.enabled: off, so a master reaches its own API through the load balancer (hairpin) */
    preserveClientIp: boolean;
  };
  'launch-template': {
    name: string;
    imageId: string;
    instanceType: string;
    instanceProfileArn: Ref;
    securityGroupIds: Ref[];
    associatePublicIp: boolean;
    keyName?: string;
    /** GiB of the root volume, of type ROOT_VOLUME_TYPE */
    volumeSize: number;
    hopLimit: number;
    userData: string;
    instanceTags: Tags;
  };
  'auto-scaling-group': {
    name: string;
    launchTemplateId: Ref;
    launchTemplateVersion: Ref;
    subnetIds: Ref[];
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    loadBalancerNames: Ref[];
    /** the API target groups (master groups with controlPlane.loadBalancer: network); absent = none */
    targetGroupArns?: Ref[];
    healthCheckGracePeriod: number;
    instanceTags: Tags;
    /** present only for a group with instanceTypes or spot: a MixedInstancesPolicy (capacity rebalancing on) instead of a plain launch template */
    mixedInstances?: MixedInstances;
  };
  /**
   * The queue the termination handler reads (queue-processor mode): the EventBridge rules send it
   * what ends an instance. Encrypted with SQS-managed keys; `policy` (JSON) lets only EventBridge,
   * for this account, send to it.
   */
  'sqs-queue': { name: string; policy: string; messageRetentionSeconds: number };
  /** An EventBridge rule of the default bus whose one target is the drain queue. `eventPattern` is JSON. */
  'event-rule': { name: string; description: string; eventPattern: string; queueArn: Ref };
  /**
   * A lifecycle hook on a node group's auto scaling group: a leaving instance waits (at most
   * `heartbeatTimeout` seconds, then `defaultResult`) while the termination handler drains its node.
   * It has no tags: it is the group's, found on the groups the cluster owns, by its name.
   */
  'lifecycle-hook': {
    groupName: Ref;
    hookName: string;
    transition: 'autoscaling:EC2_INSTANCE_TERMINATING';
    heartbeatTimeout: number;
    defaultResult: 'CONTINUE' | 'ABANDON';
  };
}

export type Kind = keyof KindProps;

export interface DesiredNode<K extends Kind = Kind> {
  readonly key: string;
  readonly kind: K;
  readonly props: KindProps[K];
  /** every key this node needs to exist first; must include every key its props reference */
  readonly deps: readonly string[];
  /**
   * the deps that must also be *ready*, not only made, before this node starts (a NAT gateway
   * `available`, for the groups whose instances need a way out); the others need only exist
   */
  readonly ready?: readonly string[];
  /** full tag set at creation (ownership tag and key tag included) */
  readonly tags: Tags;
}

export type AnyNode = { [K in Kind]: DesiredNode<K> }[Kind];

export interface DesiredGraph {
  clusterId: string;
  nodes: AnyNode[];
}

export const OWNER_TAG = 'kubeaz:cluster';
export const KEY_TAG = 'kubeaz:key';
/**
 * With OWNER_TAG, the rest of the ownership proof: the spec's own name and environment (two specs
 * whose ids coincide, `a-b`/`c` and `a`/`b-c`, stay apart) and the region the cluster lives in
 * (IAM, Route 53 and S3 are global: a copy of the spec in another region must not reach them).
 * A resource made before these tags existed lacks them; it gets them on the cluster's next create.
 */
export const NAME_TAG = 'kubeaz:name';
export const ENV_TAG = 'kubeaz:environment';
export const REGION_TAG = 'kubeaz:region';
export const GENERATION_TAG = 'kubeaz:generation';
export const GROUP_TAG = 'kubeaz:node-group';
export const POOL_TAG = 'kubeaz:eip-pool';
/**
 * On every launch template, written by its kind (not in the node's tags): the digest of the data its
 * current version holds. With the image record (model/images.ts IMAGE_TAG) the tags a launch
 * template carries beyond its node's (model/limits.ts counts them).
 */
export const DATA_HASH_TAG = 'kubeaz:data-hash';
/** On the master's launch template (and its instances): the Kubernetes version last applied to the cluster. */
export const K8S_VERSION_TAG = 'kubeaz:kubernetes-version';
/**
 * On a master's launch template: the IRSA setting its versions are rendered with. Desired `on` or
 * `off`; the launch-template kind records `<on|off>@<first version rendered so>` (model/irsa-switch.ts).
 */
export const IRSA_TAG = 'kubeaz:irsa';
