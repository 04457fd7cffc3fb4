/**
 * What each caller of AWS on the cluster's roles needs, with the upstream file and version each
 * list was read from. PURE. test/unit/policy-sources.test.ts holds the rendered policies
 * (src/model/policies.ts) to this table: it fails when a role grants an action no caller on it
 * needs, or lacks one a caller needs — so the next add-on upgrade, read against its new upstream
 * policy, shows what changes.
 *
 * An add-on's entry is the upstream reference policy's action list as published (`upstream`),
 * with what kubeaz leaves out (`omitted`, each with why) and grants beyond it (`added`, each with
 * where it comes from). The node agent's entries are its own SDK calls; the boot simulation
 * records them (`npm run boot-sim -- --iam-report`), and test/integration/boot-sim.test.ts fails
 * when an agent makes a call this table does not list. Verified 2026-12-06.
 */

export interface PolicySource {
  /** the program that calls AWS with the role */
  caller: string;
  /** the upstream file, its repository and the version or commit it was read at */
  source: string;
  /** the actions the source lists */
  upstream: readonly string[];
  /** actions of `upstream` kubeaz does not grant, and why */
  omitted?: Readonly<Record<string, string>>;
  /** actions kubeaz grants beyond `upstream`, and where each comes from */
  added?: Readonly<Record<string, string>>;
}

/** The actions a source makes kubeaz grant: upstream − omitted + added. */
export function neededActions(s: PolicySource): string[] {
  const out = new Set(s.upstream.filter((a) => !(s.omitted && a in s.omitted)));
  for (const a of Object.keys(s.added ?? {})) out.add(a);
  return [...out].sort();
}

export const CLOUD_CONTROLLER_MANAGER: PolicySource = {
  caller: 'aws-cloud-controller-manager (chart 0.0.11, images v1.30.10 … v1.35.2)',
  source:
    'kubernetes/cloud-provider-aws docs/prerequisites.md, "Control Plane Policy", master @ 63ec440c (2026-07-07); release-1.30 … release-1.35 list the same less SetSecurityGroups',
  upstream: [
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
    'ec2:DescribeVpcs',
    'ec2:DescribeInstanceTopology',
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
    'elasticloadbalancing:SetSecurityGroups',
    'iam:CreateServiceLinkedRole',
    'kms:DescribeKey',
  ],
  omitted: {
    ...Object.fromEntries(
      ['ec2:CreateVolume', 'ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:ModifyVolume', 'ec2:DeleteVolume'].map((a) => [
        a,
        "the controller's disk methods served only the in-tree aws-ebs volume plugin (gone since Kubernetes 1.27; release-1.31 … 1.35 dropped them): volumes are the EBS CSI driver's, on the master's role or its own",
      ]),
    ),
    'elasticloadbalancing:SetSecurityGroups':
      "added to master's list with NLB bring-your-own security groups (7de09447, 2026-05); no release-1.30 … release-1.35 calls it (the ELBv2 interface only)",
    'ec2:CreateRoute': 'cloud routes are off: --configure-cloud-routes=false (src/agent/master/addons.ts); Cilium routes pods itself',
    'ec2:DeleteRoute': 'cloud routes are off: --configure-cloud-routes=false (src/agent/master/addons.ts)',
  },
  added: {
    'elasticloadbalancing:DescribeTargetGroupAttributes':
      'pkg/providers/v1/aws_loadbalancer.go (release-1.31 … release-1.35): the service.beta.kubernetes.io/aws-load-balancer-target-group-attributes annotation; not yet in prerequisites.md',
    'elasticloadbalancing:ModifyTargetGroupAttributes': 'pkg/providers/v1/aws_loadbalancer.go (release-1.31 … release-1.35), as above',
  },
};

export const EBS_CSI_CONTROLLER: PolicySource = {
  caller: 'aws-ebs-csi-driver controller (chart 2.64.0 = driver v1.64.0)',
  source:
    'kubernetes-sigs/aws-ebs-csi-driver docs/example-iam-policy.json @ v1.64.0 (6689789f, 2026-08-17; unchanged on master @ 429e202e)',
  upstream: [
    'ec2:DescribeAvailabilityZones',
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceTypes',
    'ec2:DescribeSnapshots',
    'ec2:DescribeTags',
    'ec2:DescribeVolumes',
    'ec2:DescribeVolumesModifications',
    'ec2:DescribeVolumeStatus',
    'ec2:CreateSnapshot',
    'ec2:ModifyVolume',
    'ec2:CopyVolumes',
    'ec2:AttachVolume',
    'ec2:DetachVolume',
    'ec2:CreateVolume',
    'ec2:EnableFastSnapshotRestores',
    'ec2:CreateTags',
    'ec2:DeleteTags',
    'ec2:DeleteVolume',
    'ec2:DeleteSnapshot',
    'ec2:LockSnapshot',
  ],
};

export const CLUSTER_AUTOSCALER: PolicySource = {
  caller: 'cluster-autoscaler (chart 9.59.0, images v1.30.7 … v1.35.2), ASG auto-discovery',
  source:
    'kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster Autoscaler Features Policy", master @ 96b85541 (2025-12-11)',
  upstream: [
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:DescribeAutoScalingInstances',
    'autoscaling:DescribeLaunchConfigurations',
    'autoscaling:DescribeScalingActivities',
    'ec2:DescribeImages',
    'ec2:DescribeInstanceTypes',
    'ec2:DescribeLaunchTemplateVersions',
    'ec2:GetInstanceTypesFromInstanceRequirements',
    'eks:DescribeNodegroup',
    'autoscaling:SetDesiredCapacity',
    'autoscaling:TerminateInstanceInAutoScalingGroup',
  ],
  omitted: {
    'ec2:GetInstanceTypesFromInstanceRequirements':
      'called only for groups with InstanceRequirements (attribute-based types); kubeaz groups name their types',
    'eks:DescribeNodegroup': 'called only for groups tagged eks:nodegroup-name (EKS managed node groups); kubeaz has none',
  },
};

/**
 * The AWS Node Termination Handler in queue-processor mode (with node groups: the drain queue).
 * kubeaz scopes what the README grants on `*` (src/model/policies.ts nthStatements); the list here is
 * only which actions.
 */
export const NODE_TERMINATION_HANDLER: PolicySource = {
  caller: 'aws-node-termination-handler in queue-processor mode (chart 0.27.6 = handler v1.25.6)',
  source:
    'aws/aws-node-termination-handler README.md, "Queue Processor", 5. "IAM Policy for aws-node-termination-handler Deployment", @ v1.25.6 (77ca841d, 2026-04-02)',
  upstream: [
    'autoscaling:CompleteLifecycleAction',
    'autoscaling:DescribeAutoScalingInstances',
    'autoscaling:DescribeTags',
    'ec2:DescribeInstances',
    'sqs:DeleteMessage',
    'sqs:ReceiveMessage',
  ],
  omitted: {
    'autoscaling:DescribeAutoScalingInstances':
      "v1.25.6 never calls it: only pkg/test/aws-mocks.go names it; the queue processor reads an instance's group from its aws:autoscaling:groupName tag (pkg/monitor/sqsevent/sqs-monitor.go, ec2:DescribeInstances)",
    'autoscaling:DescribeTags':
      "v1.25.6 never calls it: only pkg/test/aws-mocks.go names it; the managed-tag check reads the instance's own tags (sqs-monitor.go, ec2:DescribeInstances)",
  },
};

/**
 * The SSM agent on the masters (the Run Command channel `kubeaz backup-etcd` uses): the part of the
 * AWS managed policy AmazonSSMManagedInstanceCore that Run Command needs (its associations,
 * inventory, patching and parameters are not used).
 */
export const SSM_AGENT: PolicySource = {
  caller: 'amazon-ssm-agent on the masters (AL2023 ships it), Run Command only',
  source:
    'AWS Systems Manager User Guide, "Reference: ec2messages, ssmmessages, and other API operations" (systems-manager-setting-up-messageAPIs.html): the agent-channel calls, all in the AWS managed policy AmazonSSMManagedInstanceCore, version v2 (default, edited 2019-05-23)',
  upstream: [
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
};

/**
 * Session Manager on the nodes and loadbalancers (`kubeaz ssh`; eksctl's `ssh.enableSsm`): the SSM
 * agent's Session Manager channel and nothing else — no Run Command, no inventory, no parameters.
 * The masters have these actions within SSM_AGENT.
 */
export const SSM_SESSIONS: PolicySource = {
  caller: 'amazon-ssm-agent on nodes and loadbalancers (AL2023 ships it), Session Manager only',
  source:
    'AWS Systems Manager User Guide, "Step 2: Verify or add instance permissions for Session Manager" (session-manager-getting-started-instance-profile.html), its Session Manager-only statement: the actions of the AWS managed policy AWSCloud9SSMInstanceProfile, version v1 (default, created 2020-05-14)',
  upstream: [
    'ssm:UpdateInstanceInformation',
    'ssmmessages:CreateControlChannel',
    'ssmmessages:CreateDataChannel',
    'ssmmessages:OpenControlChannel',
    'ssmmessages:OpenDataChannel',
  ],
};

export type AgentRole = 'master' | 'node' | 'loadbalancer';

/** One action of the node agent: where in src/agent/ it is called, and which boot-sim scenario makes it. */
export interface AgentAction {
  action: string;
  where: string;
  /** the boot-sim scenario that records it on cluster.example.yaml; null when none does (say why in `where`) */
  seenIn: 'boot' | 'init-fails' | null;
}

const S3_COMMON: AgentAction[] = [
  {
    action: 's3:GetObject',
    where: 'user data (aws s3 cp of the bundle), agent/bucket.ts getText: agent/, join/ (and on masters pki/, addons, etcd/)',
    seenIn: 'boot',
  },
  { action: 's3:PutObject', where: 'agent/report.ts: boot/<instance-id>.json (and on masters etcd/, join/)', seenIn: 'boot' },
];

/**
 * The node agent's own AWS calls per instance role (src/agent/), as the boot simulation records
 * them. s3:ListBucket on a node is no call: it is granted (on join/ only) so that a GetObject of a
 * key not written yet answers NoSuchKey instead of AccessDenied while the agent waits for join/.
 */
export const NODE_AGENT: Readonly<Record<AgentRole, readonly AgentAction[]>> = {
  master: [
    ...S3_COMMON,
    { action: 's3:ListBucket', where: 'agent/master/records.ts listKeys, etcd/snapshots.ts listSnapshots (etcd/)', seenIn: 'boot' },
    {
      action: 's3:DeleteObject',
      where: 'etcd/snapshots.ts pruneSnapshots (retention after a backup; the simulation has no snapshot old enough)',
      seenIn: null,
    },
    { action: 'route53:ListHostedZonesByName', where: 'agent/master/dns.ts', seenIn: 'boot' },
    { action: 'route53:ListResourceRecordSets', where: 'agent/master/dns.ts', seenIn: 'boot' },
    {
      action: 'route53:ChangeResourceRecordSets',
      where:
        'agent/master/dns.ts (only when the private zone has no alias for the master name; kubeaz makes one, so no simulation calls it)',
      seenIn: null,
    },
    {
      action: 'ec2:DescribeInstances',
      where:
        "agent/master/boot.ts instanceStates (the recorded members' instances: a master joining or replacing one; the boot scenario's single master has none)",
      seenIn: null,
    },
    { action: 'autoscaling:SetInstanceHealth', where: 'agent/master/boot.ts (a master whose init keeps failing)', seenIn: 'init-fails' },
  ],
  node: [...S3_COMMON],
  loadbalancer: [
    ...S3_COMMON,
    { action: 'ec2:DescribeAddresses', where: 'agent/node/eip.ts (its group pool)', seenIn: 'boot' },
    { action: 'ec2:AssociateAddress', where: 'agent/node/eip.ts', seenIn: 'boot' },
  ],
};

/** What a node's role grants that is not a call (see NODE_AGENT). */
export const NODE_NO_SUCH_KEY = ['s3:ListBucket'] as const;
