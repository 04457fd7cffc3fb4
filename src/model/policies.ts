/**
 * The IAM policy documents of the cluster's instance roles, users and bucket. PURE.
 *
 * Anchors (each statement group names the upstream file and version it matches; the actions each
 * add-on and the node agent need, with their sources, are src/model/policy-sources.ts, and
 * test/unit/policy-sources.test.ts holds these documents to them): aws-ebs-csi-driver
 * `docs/example-iam-policy.json`, cloud-provider-aws's controller policy (docs/prerequisites.md),
 * cluster-autoscaler's cloudprovider/aws/README.md and kops `pkg/model/iam/iam_builder.go`. As in kops, what AWS
 * lets us scope is scoped: reads (Describe*) have no resource-level permissions and stay on `*`;
 * every change to an existing EC2 or ELB resource needs the resource to carry the cluster's
 * `kubernetes.io/cluster/<id>=owned` tag (the cloud controller tags everything it makes with it);
 * creating a load balancer or target group needs that tag in the request; EBS volumes and
 * snapshots follow the CSI driver's own tag conditions (`ebs.csi.aws.com/cluster=true`, …).
 */
import { autoscalerClusterTag } from '../spec/autoscaler-tags.js';
import { k8sClusterTag } from './names.js';
import { ADDON_MANIFEST_PREFIX } from './addon-manifests.js';
import type { PolicyDocument, Ref } from './types.js';

type Statement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | Ref | Array<string | Ref>;
  Condition?: unknown;
  Principal?: unknown;
};
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

/**
 * What the AWS cloud-controller-manager needs, on the master's role: kubernetes/cloud-provider-aws
 * docs/prerequisites.md (master @ 63ec440, 2026-07-07) without ec2:CreateRoute/DeleteRoute (kubeaz
 * runs it with --configure-cloud-routes=false: src/agent/master/addons.ts) and without
 * elasticloadbalancing:SetSecurityGroups (master's NLB security groups; no release-1.30 … 1.35
 * calls it), plus the two target-group attribute calls of pkg/providers/v1/aws_loadbalancer.go
 * (release-1.31 … release-1.35).
 */
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
  // the target-group-attributes Service annotation (pkg/providers/v1/aws_loadbalancer.go, release-1.31 … release-1.35)
  'elasticloadbalancing:DescribeTargetGroupAttributes',
  'elasticloadbalancing:ModifyTargetGroupAttributes',
  'iam:CreateServiceLinkedRole',
  'kms:DescribeKey',
];

/**
 * What the EBS CSI controller needs: kubernetes-sigs/aws-ebs-csi-driver docs/example-iam-policy.json
 * at v1.64.0 (6689789, chart 2.64.0). On the master's role, or its own role with IRSA on.
 */
export const EBS_CSI_ACTIONS = [
  'ec2:CreateSnapshot',
  'ec2:AttachVolume',
  'ec2:DetachVolume',
  'ec2:ModifyVolume',
  'ec2:DescribeAvailabilityZones',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeSnapshots',
  'ec2:DescribeTags',
  'ec2:DescribeVolumes',
  'ec2:DescribeVolumesModifications',
  'ec2:DescribeVolumeStatus',
  'ec2:CreateVolume',
  'ec2:CopyVolumes',
  'ec2:DeleteVolume',
  'ec2:DeleteSnapshot',
  'ec2:LockSnapshot',
  'ec2:CreateTags',
  'ec2:DeleteTags',
  'ec2:EnableFastSnapshotRestores',
];

/** Reads: AWS offers no resource-level permission for them, so they stay on `*`. */
const isRead = (a: string): boolean => /^(ec2|autoscaling|elasticloadbalancing):Describe/.test(a);

/** Changes to an existing ELB / target group / listener the cloud controller made (it tags them all owned). */
const ELB_CHANGES = [...new Set(CLOUD_CONTROLLER_ACTIONS)].filter(
  (a) =>
    a.startsWith('elasticloadbalancing:') &&
    !isRead(a) &&
    !['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup'].includes(a),
);

/** Changes to an existing EC2 resource of the cluster (security groups, instances, route tables). */
const EC2_CLUSTER_CHANGES = [
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:DeleteSecurityGroup',
  'ec2:ModifyInstanceAttribute',
];

/**
 * The cloud controller's and the EBS CSI controller's statements. Both on the master's role by
 * default; with IRSA on, the CSI part goes to the CSI controller's own role (`parts`), and the
 * master keeps the cloud controller's (which runs before any pod can: README, IAM roles for service accounts).
 */
export function cloudControllerAndCsiStatements(
  clusterId: string,
  region: string,
  account: string,
  parts: { ccm: boolean; csi: boolean } = { ccm: true, csi: true },
): Statement[] {
  const reads = [...new Set([...(parts.ccm ? CLOUD_CONTROLLER_ACTIONS : []), ...(parts.csi ? EBS_CSI_ACTIONS : [])].filter(isRead))].sort();
  const ccm = cloudControllerStatements(clusterId, region, account);
  const csi = ebsCsiStatements(clusterId, region, account);
  return [{ Sid: 'Describe', Effect: 'Allow', Action: reads, Resource: '*' }, ...(parts.ccm ? ccm : []), ...(parts.csi ? csi : [])];
}

/** An EC2 resource type's ARNs in this region and account. */
const ec2Arns = (region: string, account: string) => (type: string) => `arn:aws:ec2:${region}:${account}:${type}/*`;
/** The condition: the resource carries this cluster's `kubernetes.io/cluster/<id>=owned` tag. */
const ownedBy = (clusterId: string) => ({ StringEquals: { [`aws:ResourceTag/${k8sClusterTag(clusterId)}`]: 'owned' } });

/** The cloud controller's changes: its own load balancers, security groups, and the cluster's instances. */
function cloudControllerStatements(clusterId: string, region: string, account: string): Statement[] {
  const ec2 = ec2Arns(region, account);
  const owned = ownedBy(clusterId);
  const requestOwned = { StringEquals: { [`aws:RequestTag/${k8sClusterTag(clusterId)}`]: 'owned' } };
  return [
    { Sid: 'ClusterEc2Changes', Effect: 'Allow', Action: EC2_CLUSTER_CHANGES, Resource: '*', Condition: owned },
    { Sid: 'SecurityGroupInClusterVpc', Effect: 'Allow', Action: ['ec2:CreateSecurityGroup'], Resource: [ec2('vpc')], Condition: owned },
    { Sid: 'NewSecurityGroup', Effect: 'Allow', Action: ['ec2:CreateSecurityGroup'], Resource: [ec2('security-group')] },
    {
      Sid: 'TagOwnSecurityGroups',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: [ec2('security-group')],
      Condition: requestOwned,
    },
    {
      Sid: 'CreateOwnedLoadBalancers',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:AddTags'],
      Resource: '*',
      Condition: requestOwned,
    },
    { Sid: 'ChangeOwnedLoadBalancers', Effect: 'Allow', Action: ELB_CHANGES.sort(), Resource: '*', Condition: owned },
    {
      Sid: 'ElbServiceLinkedRole',
      Effect: 'Allow',
      Action: ['iam:CreateServiceLinkedRole'],
      Resource: [`arn:aws:iam::${account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*`],
      Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
    },
    {
      Sid: 'DescribeKeysOfEncryptedVolumes',
      Effect: 'Allow',
      Action: ['kms:DescribeKey'],
      Resource: [`arn:aws:kms:${region}:${account}:key/*`],
    },
  ];
}

/** The EBS CSI controller's changes (its example policy, in this region and account). */
function ebsCsiStatements(clusterId: string, region: string, account: string): Statement[] {
  const ec2 = ec2Arns(region, account);
  const owned = ownedBy(clusterId);
  const csiTag = (prefix: 'aws:RequestTag' | 'ec2:ResourceTag' | 'aws:ResourceTag', key: string, value = '*') => ({
    StringLike: { [`${prefix}/${key}`]: value },
  });
  const allow = (Sid: string, Action: string[], Resource: string[], Condition?: Statement['Condition']): Statement => ({
    Sid,
    Effect: 'Allow',
    Action,
    Resource,
    ...(Condition ? { Condition } : {}),
  });
  return [
    allow('CsiModifyAndSnapshotVolumes', ['ec2:CreateSnapshot', 'ec2:ModifyVolume'], [ec2('volume')]),
    allow('CsiCopyVolumes', ['ec2:CopyVolumes'], [`arn:aws:ec2:${region}:${account}:volume/vol-*`]),
    allow('CsiAttachVolumes', ['ec2:AttachVolume', 'ec2:DetachVolume'], [ec2('volume')]),
    allow('CsiAttachToClusterInstances', ['ec2:AttachVolume', 'ec2:DetachVolume'], [ec2('instance')], owned),
    allow('CsiVolumesFromSnapshots', ['ec2:CreateVolume', 'ec2:EnableFastSnapshotRestores'], [ec2('snapshot')]),
    allow('CsiTagOnCreate', ['ec2:CreateTags'], [ec2('volume'), ec2('snapshot')], {
      StringEquals: { 'ec2:CreateAction': ['CreateVolume', 'CreateSnapshot', 'CopyVolumes'] },
    }),
    allow(
      'CsiRetagOwnVolumes',
      ['ec2:CreateTags', 'ec2:DeleteTags'],
      [ec2('volume'), ec2('snapshot')],
      csiTag('aws:ResourceTag', 'ebs.csi.aws.com/cluster', 'true'),
    ),
    allow(
      'CsiCreateVolumes',
      ['ec2:CreateVolume', 'ec2:CopyVolumes'],
      [ec2('volume')],
      csiTag('aws:RequestTag', 'ebs.csi.aws.com/cluster', 'true'),
    ),
    allow('CsiCreateNamedVolumes', ['ec2:CreateVolume', 'ec2:CopyVolumes'], [ec2('volume')], csiTag('aws:RequestTag', 'CSIVolumeName')),
    allow('CsiDeleteOwnVolumes', ['ec2:DeleteVolume'], [ec2('volume')], csiTag('ec2:ResourceTag', 'ebs.csi.aws.com/cluster', 'true')),
    allow('CsiDeleteNamedVolumes', ['ec2:DeleteVolume'], [ec2('volume')], csiTag('ec2:ResourceTag', 'CSIVolumeName')),
    allow('CsiDeletePvcVolumes', ['ec2:DeleteVolume'], [ec2('volume')], csiTag('ec2:ResourceTag', 'kubernetes.io/created-for/pvc/name')),
    allow('CsiCreateNamedSnapshots', ['ec2:CreateSnapshot'], [ec2('snapshot')], csiTag('aws:RequestTag', 'CSIVolumeSnapshotName')),
    allow('CsiCreateOwnSnapshots', ['ec2:CreateSnapshot'], [ec2('snapshot')], csiTag('aws:RequestTag', 'ebs.csi.aws.com/cluster', 'true')),
    allow(
      'CsiDeleteNamedSnapshots',
      ['ec2:DeleteSnapshot', 'ec2:LockSnapshot'],
      [ec2('snapshot')],
      csiTag('ec2:ResourceTag', 'CSIVolumeSnapshotName'),
    ),
    allow(
      'CsiDeleteOwnSnapshots',
      ['ec2:DeleteSnapshot', 'ec2:LockSnapshot'],
      [ec2('snapshot')],
      csiTag('ec2:ResourceTag', 'ebs.csi.aws.com/cluster', 'true'),
    ),
  ];
}

/**
 * cluster-autoscaler on AWS: kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md,
 * "Full Cluster Autoscaler Features Policy" (master @ 96b8554; auto-discovery), without
 * ec2:GetInstanceTypesFromInstanceRequirements and eks:DescribeNodegroup (no group has instance
 * requirements, none is an EKS node group) and without autoscaling:DescribeTags: the README dropped it
 * in 055e2bf (2024-05) and cluster-autoscaler 1.30.7 … 1.35.2 never call it (auto-discovery filters
 * DescribeAutoScalingGroups by tag). Reads on `*` (no resource-level
 * permissions exist for them), and the two calls that change a group only on groups that carry
 * this cluster's `k8s.io/cluster-autoscaler/<id>=owned` tag — the tag kubeaz puts on every node
 * group's ASG (never on the master's). Attached to the master's role while the autoscaler runs
 * there; the IRSA work moves it to the autoscaler's own role (same name, same statements).
 */
export function clusterAutoscalerStatements(clusterId: string): Statement[] {
  return [
    {
      Sid: 'AutoscalerDescribe',
      Effect: 'Allow',
      Action: [
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'autoscaling:DescribeLaunchConfigurations',
        'autoscaling:DescribeScalingActivities',
        'ec2:DescribeImages',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeLaunchTemplateVersions',
      ],
      Resource: '*',
    },
    {
      Sid: 'AutoscalerScaleOwnGroups',
      Effect: 'Allow',
      Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
      Resource: '*',
      Condition: { StringEquals: { [`aws:ResourceTag/${autoscalerClusterTag(clusterId)}`]: 'owned' } },
    },
  ];
}

/**
 * Secrets encrypted with KMS (spec.encryption.provider kms): the AWS encryption provider on each
 * master calls Encrypt, Decrypt and DescribeKey (its health check) on the spec's key, and on no other.
 */
export function kmsEncryptionStatements(keyArn: string | undefined): Statement[] {
  if (keyArn === undefined) return [];
  return [{ Sid: 'SecretsEncryptionKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt'], Resource: [keyArn] }];
}

/** What the node termination handler works on: the drain queue, and this cluster's auto scaling groups (by their ownership tag). */
export interface NthScope {
  queueArn: string;
  clusterId: string;
}

/**
 * The AWS Node Termination Handler in queue-processor mode: the Deployment's IAM policy of
 * aws/aws-node-termination-handler README.md ("Queue Processor", @ v1.25.6) — all on `*` there —
 * scoped here: the two SQS calls on this cluster's drain queue only, and CompleteLifecycleAction on
 * groups that carry this cluster's ownership tag only, as kops does (iam_builder.go
 * AddNodeTerminationHandlerSQSPermissions: `*` with an `aws:ResourceTag/KubernetesCluster`
 * condition). Not one ARN per node group: the master role's inline policies share AWS's 10,240
 * characters, and a list that grows with the node groups pushed a six-zone cluster with five groups
 * past it (test/unit/limits.test.ts holds the largest spec under it). The masters' groups carry
 * the tag too but have no lifecycle hook, so there is nothing there to complete. Only
 * DescribeInstances on `*` (a read: no resource-level permission exists). Without
 * autoscaling:DescribeAutoScalingInstances and DescribeTags, which v1.25.6 never calls
 * (src/model/policy-sources.ts). `describe`: false on the master's role, whose cloud-controller
 * statement grants ec2:DescribeInstances already.
 */
export function nthStatements(scope: NthScope, describe = true): Statement[] {
  return [
    ...(describe ? [{ Sid: 'NthDescribeInstances', Effect: 'Allow' as const, Action: ['ec2:DescribeInstances'], Resource: '*' }] : []),
    { Sid: 'NthDrainQueue', Effect: 'Allow', Action: ['sqs:DeleteMessage', 'sqs:ReceiveMessage'], Resource: [scope.queueArn] },
    {
      Sid: 'NthCompleteLifecycleActions',
      Effect: 'Allow',
      Action: ['autoscaling:CompleteLifecycleAction'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': scope.clusterId } },
    },
  ];
}

/** The node termination handler's own policy (IRSA): the statements the master's role gives up. */
export const nthPolicy = (scope: NthScope) => doc(nthStatements(scope));

/**
 * A statement without its Sid: the master role's document carries none. Sids are labels IAM does not
 * need, and without IRSA the master's role holds the cloud controller's, EBS CSI's, cluster
 * autoscaler's and node termination handler's statements beside kubeaz's own: at a 24-character
 * cluster id, six zones and KMS the labelled document was 10,536 characters, past IAM's 10,240 for a
 * role's inline policies together (kops hit the same wall: kubernetes/kops#12606); without labels,
 * 9,447. The statements keep their names here in the source, and every other role keeps its Sids.
 */
export const unlabelled = <S extends { Sid?: string }>({ Sid: _sid, ...rest }: S): Omit<S, 'Sid'> => rest;

/**
 * With IRSA on (`irsa`), the EBS CSI and cluster-autoscaler statements leave the master's role for
 * the add-ons' own roles; `kmsKeyArn`: the key Secrets are encrypted with (kms only); `nth`: the
 * node termination handler runs in queue-processor mode on the masters with the master's role
 * (IRSA off, or a switch under way), on this queue and the groups tagged with this cluster.
 */
export function masterPolicy(
  bucketArn: string,
  zoneArns: Ref[],
  clusterId: string,
  region: string,
  account: string,
  irsa = false,
  kmsKeyArn?: string,
  nth?: NthScope,
) {
  const statements: Statement[] = [
    ...agentStatements(bucketArn),
    // a master whose kubeadm init keeps failing marks itself Unhealthy so its group replaces it (this cluster's groups only)
    {
      Sid: 'OwnGroupHealth',
      Effect: 'Allow',
      Action: ['autoscaling:SetInstanceHealth'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': clusterId } },
    },
    // the add-on manifests rendered at create, and the CAs' files kubeadm needs
    {
      Sid: 'ReadBootstrap',
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: [`${bucketArn}/${ADDON_MANIFEST_PREFIX}*`, `${bucketArn}/pki/*`],
    },
    // snapshots and the control-plane records; retention deletes old snapshots (etcd/snapshots.ts pruneSnapshots)
    {
      Sid: 'EtcdBackups',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: [`${bucketArn}/etcd/*`],
    },
    // the join token and CA hash the master renews (day-jobs.ts) and reads before deciding to init; nothing deletes them
    { Sid: 'JoinRecord', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`${bucketArn}/join/*`] },
    // etcd/: the agent lists snapshots and records; join/: not listed, but a key not written yet must answer NoSuchKey
    {
      Sid: 'ListOwnPrefixes',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': ['etcd/*', 'join/*'] } },
    },
    {
      Sid: 'InternalDns',
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'],
      Resource: zoneArns,
    },
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
    ...cloudControllerAndCsiStatements(clusterId, region, account, { ccm: true, csi: !irsa }),
    ...(irsa ? [] : clusterAutoscalerStatements(clusterId)),
    ...kmsEncryptionStatements(kmsKeyArn),
    ...(nth ? nthStatements(nth, false) : []),
  ];
  return doc(statements.map(unlabelled));
}

/** The EBS CSI controller's own policy (IRSA): the statements the master's role gives up. */
export function ebsCsiPolicy(clusterId: string, region: string, account: string) {
  return doc(cloudControllerAndCsiStatements(clusterId, region, account, { ccm: false, csi: true }));
}

/** The cluster-autoscaler's own policy (IRSA): the statements the master's role gives up. */
export const clusterAutoscalerPolicy = (clusterId: string) => doc(clusterAutoscalerStatements(clusterId));

/**
 * The trust policy of an IRSA role: tokens of exactly one service account
 * (`system:serviceaccount:<ns>:<name>`), with the audience the pod-identity webhook asks for,
 * issued by the cluster's issuer (the OIDC provider, by ARN).
 */
export function webIdentityTrust(providerArn: Ref, issuerHost: string, namespace: string, name: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${issuerHost}:sub`]: `system:serviceaccount:${namespace}:${name}`, [`${issuerHost}:aud`]: STS_AUDIENCE },
        },
      },
    ],
  };
}

/** The audience of the tokens the pod-identity webhook projects, and the OIDC provider's one client id. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/**
 * The discovery bucket's policy: anonymous s3:GetObject on exactly the two documents STS reads,
 * nothing else (no listing, no other key). Kept without Condition: it applies to every request.
 */
export function discoveryBucketPolicy(bucketArn: string, keys: readonly string[]) {
  return doc([
    {
      Sid: 'PublicReadOfIssuerDiscovery',
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: keys.map((k) => `${bucketArn}/${k}`),
    },
  ]);
}

/**
 * What the node agent itself calls on every instance (src/agent/): read its bundle and
 * configuration (agent/*, user data's `aws s3 cp` included), write its boot report under boot/.
 * The report's key is boot/<instance-id>.json; IAM has no documented policy variable holding the
 * bare instance id (for instance-role credentials aws:userid is "<role id>:<instance id>", and
 * ec2:SourceInstanceARN is a whole ARN), so a role's instances may write any key under boot/ and no
 * other prefix. Nodes never call SetInstanceHealth (only a master whose init failed does).
 */
export function agentStatements(bucketArn: string): Statement[] {
  return [
    { Sid: 'ReadAgent', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/agent/*`] },
    { Sid: 'WriteBootReport', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [`${bucketArn}/boot/*`] },
  ];
}

/**
 * A node's role: the agent's own calls and Session Manager's channel only. No EC2 reads: the kubelet runs with
 * --cloud-provider=external and never calls EC2 (kops' node policy keeps DescribeInstances/Regions
 * for its nodeup; kubeaz's agent makes no EC2 call on a node — the boot simulation records it). No
 * ECR: the kubelet's ECR credential provider is not configured, so nothing on a node would use an ECR
 * token (README, IAM: private ECR images need an image pull secret).
 */
export function nodePolicy(bucketArn: string) {
  return doc([
    ...agentStatements(bucketArn),
    // Session Manager (kubeaz ssh): the SSM agent's session channel only (policy-sources.ts SSM_SESSIONS); no port 22 anywhere
    {
      Sid: 'SsmSessions',
      Effect: 'Allow',
      Action: [
        'ssm:UpdateInstanceInformation',
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
      Resource: '*',
    },
    { Sid: 'ReadJoin', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/join/*`] },
    // a key not there yet answers NoSuchKey (not AccessDenied) when listing is allowed: the agent waits for join/
    // (agent/ is not listed: create uploads everything there before any instance starts)
    {
      Sid: 'ListJoin',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': ['join/*'] } },
    },
  ]);
}

export function loadbalancerPolicy(bucketArn: string, region: string, account: string, clusterId: string) {
  const base = nodePolicy(bucketArn);
  return doc([
    ...base.Statement,
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

export function userPolicy(bucketArn: string, access: 'read' | 'write') {
  const actions = access === 'read' ? ['s3:GetObject'] : ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
  return doc([
    { Sid: 'Backups', Effect: 'Allow', Action: actions, Resource: [`${bucketArn}/etcd/*`] },
    {
      Sid: 'ListBackups',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [bucketArn],
      Condition: { StringLike: { 's3:prefix': ['etcd/*'] } },
    },
  ]);
}
