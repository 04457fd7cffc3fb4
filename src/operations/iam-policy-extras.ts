/**
 * What AWS checks beyond the API kubeaz calls (operations/iam-policy.ts): permissions a call needs
 * on the caller besides its own action, each with the AWS documentation that says so, and the
 * checks that need nothing from the operator (KMS, IRSA roles), said once with their source too.
 * PURE.
 */
import { isRef, type DesiredGraph } from '../model/types.js';
import type { ClusterSpec } from '../spec/schema.js';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface OperatorPolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Why a statement (or a permission AWS checks that needs none from the user) is there, and where AWS says so. */
export interface PolicySource {
  sid: string;
  why: string;
  source: string;
}

export interface OperatorPolicy {
  policy: OperatorPolicyDocument;
  /** the statements AWS needs beyond the calls kubeaz makes, and the KMS notes: each with its documentation */
  sources: PolicySource[];
  /** every IAM action the declarations name for this spec (before the extras) */
  declared: string[];
}

const DOCS = {
  launchTemplates: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html',
  passRole: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html',
  addRoleToProfile: 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html',
  asgSlr: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html',
  elbSlr: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html',
  spotSlr: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html',
  tagOnCreate: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html',
  route53: 'https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/r53-api-permissions-ref.html',
  ebsKms: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html',
  kmsProvider: 'https://github.com/kubernetes-sigs/aws-encryption-provider',
  irsa: 'https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html',
} as const;

type Extras = Pick<OperatorPolicy, 'sources'> & { statements: PolicyStatement[] };

/** The instance roles: each instance profile's role, under the cluster's IAM path. */
function instanceRoleArns(graph: DesiredGraph): string[] {
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const arns = new Set<string>();
  for (const n of graph.nodes) {
    if (n.kind !== 'instance-profile' || !isRef(n.props.roleName)) continue;
    const role = byKey.get(n.props.roleName.$ref);
    if (role?.kind === 'iam-role') arns.add(`arn:aws:iam::*:role${role.props.path}${role.props.name}`);
  }
  return [...arns].sort();
}

/** iam:PassRole on the instance roles: launching through a launch template that names an instance profile, and adding a role to a profile. */
function passRole(graph: DesiredGraph, out: Extras): void {
  const roles = instanceRoleArns(graph);
  if (!roles.length) return;
  out.statements.push({ Sid: 'PassInstanceRoles', Effect: 'Allow', Action: ['iam:PassRole'], Resource: roles });
  out.sources.push(
    {
      sid: 'PassInstanceRoles',
      why: 'creating or updating an Auto Scaling group whose launch template names an instance profile passes its role (and AddRoleToInstanceProfile depends on iam:PassRole): only the instance roles of this cluster',
      source: `${DOCS.launchTemplates} ; ${DOCS.passRole} ; ${DOCS.addRoleToProfile}`,
    },
    {
      sid: '(none)',
      why: "IRSA roles are never passed: pods assume them with sts:AssumeRoleWithWebIdentity, which each role's trust policy governs; no iam:PassRole for them",
      source: DOCS.irsa,
    },
  );
}

/** iam:CreateServiceLinkedRole for the services that make theirs on first use in a fresh account. */
function serviceLinkedRoles(spec: ClusterSpec, graph: DesiredGraph, out: Extras): void {
  const kinds = new Set(graph.nodes.map((n) => n.kind));
  const services: Array<[string, string]> = [];
  if (kinds.has('auto-scaling-group')) services.push(['autoscaling.amazonaws.com', DOCS.asgSlr]);
  if (kinds.has('load-balancer') || kinds.has('network-load-balancer')) services.push(['elasticloadbalancing.amazonaws.com', DOCS.elbSlr]);
  if (spec.spec.nodeGroups.some((g) => g.spot)) services.push(['spot.amazonaws.com', DOCS.spotSlr]);
  if (!services.length) return;
  out.statements.push({
    Sid: 'ServiceLinkedRoles',
    Effect: 'Allow',
    Action: ['iam:CreateServiceLinkedRole'],
    Resource: 'arn:aws:iam::*:role/aws-service-role/*',
    Condition: { StringEquals: { 'iam:AWSServiceName': services.map(([s]) => s) } },
  });
  out.sources.push({
    sid: 'ServiceLinkedRoles',
    why: `on a fresh account the first Auto Scaling group, load balancer or spot request makes its service's service-linked role as the caller (${services.map(([s]) => s).join(', ')})`,
    source: services.map(([, d]) => d).join(' ; '),
  });
}

/** ec2:RunInstances and tag-on-create through launch templates; CreateTags only as part of a create. */
function launchThroughTemplates(graph: DesiredGraph, declared: readonly string[], out: Extras): void {
  const creates = declared.filter((a) => /^ec2:(Create|Allocate)/.test(a) && a !== 'ec2:CreateTags').map((a) => a.slice(4));
  if (graph.nodes.some((n) => n.kind === 'launch-template')) {
    out.statements.push({ Sid: 'LaunchThroughTemplates', Effect: 'Allow', Action: ['ec2:RunInstances'], Resource: '*' });
    out.sources.push({
      sid: 'LaunchThroughTemplates',
      why: 'Auto Scaling checks that the caller may launch what a launch template describes (ec2:RunInstances on its image, subnets, security groups, volumes, interfaces) when a group is created or updated with it',
      source: DOCS.launchTemplates,
    });
    creates.push('RunInstances');
  }
  out.statements.push({
    Sid: 'TagOnCreate',
    Effect: 'Allow',
    Action: ['ec2:CreateTags'],
    Resource: '*',
    Condition: { StringEquals: { 'ec2:CreateAction': [...new Set(creates)].sort() } },
  });
  out.sources.push({
    sid: 'TagOnCreate',
    why: 'EC2 authorizes the tags of TagSpecifications (and a launch template’s tags at launch) as ec2:CreateTags, limited here to the create calls kubeaz makes',
    source: DOCS.tagOnCreate,
  });
}

/** A private hosted zone is created associated with the VPC: two more checks on the caller. */
function privateZone(graph: DesiredGraph, out: Extras): void {
  if (!graph.nodes.some((n) => n.kind === 'hosted-zone' && n.props.private)) return;
  out.statements.push({
    Sid: 'PrivateZoneVpc',
    Effect: 'Allow',
    Action: ['ec2:DescribeVpcs', 'route53:AssociateVPCWithHostedZone'],
    Resource: '*',
  });
  out.sources.push({
    sid: 'PrivateZoneVpc',
    why: 'CreateHostedZone with a VPC (the private zone) also needs route53:AssociateVPCWithHostedZone and ec2:DescribeVpcs',
    source: DOCS.route53,
  });
}

/** KMS: checked, but on the service-linked role and the master's instance role, not on the operator. */
function kmsNotes(spec: ClusterSpec, out: Extras): void {
  out.sources.push({
    sid: '(none)',
    why: 'the volumes are encrypted with the account default EBS key: with aws/ebs nothing is needed; a customer managed default key must let the Auto Scaling service-linked role use it in its key policy (the key’s policy, not this one)',
    source: DOCS.ebsKms,
  });
  if (spec.spec.encryption?.provider === 'kms')
    out.sources.push({
      sid: '(none)',
      why: `encryption provider kms: the master's instance role calls kms:Encrypt, kms:Decrypt and kms:DescribeKey on ${spec.spec.encryption.keyArn ?? 'the key'}; kubeaz itself makes no KMS call, so the operator needs no KMS permission`,
      source: DOCS.kmsProvider,
    });
}

/** Every statement AWS needs beyond the declared calls, and the sources of each. */
export function extraStatements(spec: ClusterSpec, graph: DesiredGraph, declared: readonly string[]): Extras {
  const out: Extras = { statements: [], sources: [] };
  passRole(graph, out);
  serviceLinkedRoles(spec, graph, out);
  launchThroughTemplates(graph, declared, out);
  privateZone(graph, out);
  kmsNotes(spec, out);
  return out;
}
