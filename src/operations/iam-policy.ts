/**
 * The OPERATOR's least-privilege IAM policy (`kubeaz iam-policy`): what a user needs to run every
 * kubeaz command on one cluster. Not the instance roles' policies (model/policies.ts,
 * model/policy-sources.ts): those are what the nodes may do; this is what the person running
 * kubeaz may do.
 *
 * Assembled, never hand-kept: from what every kind declares it calls (resources/*.ts `calls`;
 * create, update and delete only for the kinds the spec makes, reads for every kind, since observe
 * reads every kind before it knows what exists), from what the commands' operations declare
 * (status, logs, backup, rollout, kubeconfig, destroy's sweep, the session's image lookup, the S3
 * state), and from the pre-flight checks' declarations. Added to that: what AWS checks beyond the
 * API called (iam-policy-extras.ts, each with its source). PURE: spec and desired graph in, a policy out.
 *
 * Scoping: S3 to the cluster's two buckets (and the state's), IAM to the cluster's path
 * `/kubeaz/<id>/` (OIDC provider: its issuer), SQS and EventBridge to the drain queue and rules by
 * name, Auto Scaling and the EC2 calls that act on one resource kubeaz tagged to
 * `aws:ResourceTag/kubeaz:cluster`, creates that tag on creation to `aws:RequestTag/kubeaz:cluster`.
 * Reads (Describe/List/Get) are on `*`: most of them support no resource-level permission.
 */
import { isMutatingAction } from '../aws/iam-actions.js';
import { CALLS_OF_CHECKS } from '../checks/index.js';
import { deriveGraph } from '../model/derive.js';
import { iamPathOf } from '../model/names.js';
import { OWNER_TAG, type DesiredGraph, type Kind } from '../model/types.js';
import { DESTROY_SWEEP, HANDLERS, INVENTORY_CALLS, STORED_SPEC_READ_CALLS } from '../resources/index.js';
import type { KindCalls } from '../resources/types.js';
import { clusterIdOf, type ClusterSpec } from '../spec/schema.js';
import { parseS3Url, STATE_CALLS } from '../state/s3.js';
import { PRICING_CALLS } from '../aws/pricing.js';
import { BACKUP_CALLS } from './backup.js';
import { DESTROY_CALLS } from './destroy.js';
import { ENDPOINT_CALLS } from './endpoint.js';
import { extraStatements, type OperatorPolicy, type OperatorPolicyDocument, type PolicyStatement } from './iam-policy-extras.js';
import { LOGS_CALLS } from './logs.js';
import { ROLLOUT_CALLS } from './rollout.js';
import { SESSION_CALLS } from './session.js';
import { SSH_CALLS } from './ssh.js';
import { loadCheckedSpec, loadTemplates } from './spec.js';
import { STATUS_CALLS } from './status.js';

export type { OperatorPolicy, OperatorPolicyDocument, PolicySource, PolicyStatement } from './iam-policy-extras.js';

/** What the commands' operations declare beyond the kinds (the S3 state's are added when the state is in S3). */
export const OPERATION_CALLS: Readonly<Record<string, readonly string[]>> = {
  session: SESSION_CALLS,
  preflight: CALLS_OF_CHECKS,
  status: STATUS_CALLS,
  logs: LOGS_CALLS,
  'backup-etcd': BACKUP_CALLS,
  rollout: ROLLOUT_CALLS,
  kubeconfig: ENDPOINT_CALLS,
  destroy: DESTROY_CALLS,
  cost: PRICING_CALLS,
  list: INVENTORY_CALLS,
  'get-spec': STORED_SPEC_READ_CALLS,
  ssh: SSH_CALLS,
};

/**
 * EC2 calls that act on one resource of one type, always one kubeaz made and tagged (found by the
 * tag): granted only on resources tagged `kubeaz:cluster=<id>`. EC2 evaluates `aws:ResourceTag` per
 * resource, so a call that also touches something kubeaz does not tag (a default network ACL, an
 * image, a Kubernetes-made security group) is left out.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/control-access-with-iam.html (resource-level permissions)
 */
const EC2_OWNED = new Set([
  'ec2:DeleteVpc',
  'ec2:ModifyVpcAttribute',
  'ec2:DeleteSubnet',
  'ec2:DeleteInternetGateway',
  'ec2:AttachInternetGateway',
  'ec2:DetachInternetGateway',
  'ec2:DeleteNatGateway',
  'ec2:DeleteRouteTable',
  'ec2:DeleteNetworkAcl',
  'ec2:ReleaseAddress',
  'ec2:DeleteLaunchTemplate',
  'ec2:ModifyLaunchTemplate',
  'ec2:CreateLaunchTemplateVersion',
  'ec2:DeleteVpcEndpoints',
  'ec2:CreateTags',
]);

/**
 * EC2 creates of a single new resource, made with the cluster tag in TagSpecifications:
 * `aws:RequestTag/kubeaz:cluster`. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html
 */
const EC2_CREATE_TAGGED = new Set(['ec2:CreateVpc', 'ec2:CreateInternetGateway', 'ec2:AllocateAddress', 'ec2:CreateLaunchTemplate']);

/** Auto Scaling: a group is made with the tag (aws:RequestTag) and changed only when it carries it (aws:ResourceTag).
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/control-access-using-iam.html */
const ASG_CREATE = new Set(['autoscaling:CreateAutoScalingGroup', 'autoscaling:CreateOrUpdateTags']);

/** S3 actions on objects (the rest act on the bucket). */
const S3_OBJECT =
  /^s3:(GetObject|GetObjectVersion|PutObject|DeleteObject|DeleteObjectVersion|AbortMultipartUpload|ListMultipartUploadParts)$/;

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** Every action the declarations name for this graph: reads of every kind, changes of the kinds it makes, the operations'. */
export function declaredCalls(graph: DesiredGraph, opts: { stateInS3?: boolean } = {}): string[] {
  const made = new Set<Kind>(graph.nodes.map((n) => n.kind));
  const out = new Set<string>();
  for (const [kind, h] of Object.entries(HANDLERS) as Array<[Kind, { calls: KindCalls }]>) {
    for (const a of h.calls.observe) out.add(a);
    if (made.has(kind)) for (const a of [...h.calls.create, ...(h.calls.update ?? []), ...h.calls.delete]) out.add(a);
  }
  for (const list of Object.values(OPERATION_CALLS)) for (const a of list) out.add(a);
  if (opts.stateInS3) for (const a of STATE_CALLS) out.add(a);
  return sorted(out);
}

interface Scope {
  id: string;
  region: string;
  state?: { bucket: string; prefix: string };
}

const OWNER_CONDITION = (id: string, key: 'aws:ResourceTag' | 'aws:RequestTag') => ({ StringEquals: { [`${key}/${OWNER_TAG}`]: id } });

/** The IAM resource an action of the cluster's acts on, and its statement: the cluster's path, the issuer for the OIDC provider. */
function iamResource(action: string, s: Scope): { sid: string; resource: string } {
  const path = iamPathOf(s.id);
  if (/InstanceProfile/.test(action)) return { sid: 'IamInstanceProfiles', resource: `arn:aws:iam::*:instance-profile${path}*` };
  if (/OpenIDConnectProvider/.test(action))
    return {
      sid: 'IamOidcProvider',
      resource: `arn:aws:iam::*:oidc-provider/kubeaz-${s.id}-????????????-oidc.s3.${s.region}.amazonaws.com`,
    };
  if (/Role/.test(action)) return { sid: 'IamRoles', resource: `arn:aws:iam::*:role${path}*` };
  // a user's group memberships and MFA devices, added by hand, are removed before the user is deleted
  if (/FromGroup$/.test(action)) return { sid: 'IamUserGroups', resource: 'arn:aws:iam::*:group/*' };
  if (/VirtualMFADevice$/.test(action)) return { sid: 'IamUserMfaDevices', resource: 'arn:aws:iam::*:mfa/*' };
  return { sid: 'IamUsers', resource: `arn:aws:iam::*:user${path}*` };
}

/** The statements that grant the declared calls, each action in its narrowest scope. */
function callStatements(declared: readonly string[], s: Scope): PolicyStatement[] {
  const foreign = new Set(DESTROY_SWEEP.calls);
  const buckets = [`arn:aws:s3:::kubeaz-${s.id}-????????????`, `arn:aws:s3:::kubeaz-${s.id}-????????????-oidc`];
  const groups = new Map<string, { resource: string | string[]; condition?: PolicyStatement['Condition']; actions: Set<string> }>();
  const put = (sid: string, action: string, resource: string | string[], condition?: PolicyStatement['Condition']) => {
    const g = groups.get(sid) ?? { resource, ...(condition ? { condition } : {}), actions: new Set<string>() };
    g.actions.add(action);
    groups.set(sid, g);
  };
  for (const a of declared) {
    const [service] = a.split(':') as [string];
    if (service === 's3' && a !== 's3:GetAccountPublicAccessBlock') {
      if (STATE_CALLS.includes(a) && s.state) put(S3_OBJECT.test(a) ? 'StateObjects' : 'StateBucket', a, stateResource(a, s.state));
      if (declaredByCluster(a))
        put(S3_OBJECT.test(a) ? 'ClusterBucketObjects' : 'ClusterBuckets', a, S3_OBJECT.test(a) ? buckets.map((b) => `${b}/*`) : buckets);
    } else if (!isMutatingAction(a)) put('Read', a, '*');
    else if (service === 'iam') {
      const r = iamResource(a, s);
      put(r.sid, a, r.resource);
    } else if (service === 'sqs') put('DrainQueue', a, `arn:aws:sqs:${s.region}:*:${s.id}-drain`);
    else if (service === 'events') put('DrainRules', a, `arn:aws:events:${s.region}:*:rule/${s.id}-drain-*`);
    else if (service === 'autoscaling') {
      if (ASG_CREATE.has(a)) put('AutoScalingCreateTagged', a, '*', OWNER_CONDITION(s.id, 'aws:RequestTag'));
      if (a !== 'autoscaling:CreateAutoScalingGroup') put('AutoScalingOwned', a, '*', OWNER_CONDITION(s.id, 'aws:ResourceTag'));
    } else if (EC2_OWNED.has(a) && !foreign.has(a)) put('Ec2Owned', a, '*', OWNER_CONDITION(s.id, 'aws:ResourceTag'));
    else if (EC2_CREATE_TAGGED.has(a)) put('Ec2CreateTagged', a, '*', OWNER_CONDITION(s.id, 'aws:RequestTag'));
    else if (a === 'ssm:SendCommand') sendCommand(s).forEach((st) => put(st.Sid, a, st.Resource, st.Condition));
    else put('Change', a, '*');
  }
  return [...groups.entries()].map(([Sid, g]) => ({
    Sid,
    Effect: 'Allow' as const,
    Action: sorted(g.actions),
    Resource: g.resource,
    ...(g.condition ? { Condition: g.condition } : {}),
  }));
}

/** An S3 action the cluster's own commands call on its buckets (the state's calls go to the state bucket only). */
const declaredByCluster = (a: string): boolean =>
  Object.values(HANDLERS).some((h) => [...h.calls.observe, ...h.calls.create, ...(h.calls.update ?? []), ...h.calls.delete].includes(a)) ||
  Object.values(OPERATION_CALLS).some((l) => l.includes(a));

function stateResource(action: string, state: { bucket: string; prefix: string }): string {
  if (!S3_OBJECT.test(action)) return `arn:aws:s3:::${state.bucket}`;
  return `arn:aws:s3:::${state.bucket}/${state.prefix ? `${state.prefix.replace(/\/$/, '')}/` : ''}*`;
}

/** Run Command: the shell document AWS owns, on instances carrying the cluster tag. https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up.html */
function sendCommand(s: Scope): PolicyStatement[] {
  return [
    { Sid: 'RunCommandDocument', Effect: 'Allow', Action: [], Resource: `arn:aws:ssm:${s.region}::document/AWS-RunShellScript` },
    {
      Sid: 'RunCommandOnClusterInstances',
      Effect: 'Allow',
      Action: [],
      Resource: `arn:aws:ec2:${s.region}:*:instance/*`,
      Condition: { StringEquals: { [`ssm:resourceTag/${OWNER_TAG}`]: s.id } },
    },
  ];
}

/** The operator policy for this spec and its desired graph (`state`: the S3 state URL, when there is one). PURE. */
export function operatorPolicy(spec: ClusterSpec, graph: DesiredGraph, state?: string): OperatorPolicy {
  const loc = state ? parseS3Url(state) : undefined;
  const s: Scope = { id: clusterIdOf(spec), region: spec.spec.region, ...(loc ? { state: loc } : {}) };
  const declared = declaredCalls(graph, { stateInS3: Boolean(loc) });
  const extras = extraStatements(spec, graph, declared);
  const statements = [...callStatements(declared, s), ...extras.statements];
  return { policy: { Version: '2012-10-17', Statement: statements }, sources: extras.sources, declared };
}

/** The size quota of a customer managed policy: characters, whitespace not counted. */
export const MANAGED_POLICY_QUOTA = 6144;

const sizeOf = (v: unknown): number => JSON.stringify(v).replace(/\s+/g, '').length;

/** A statement too large for one document, split by its actions (Sids numbered). */
function splitStatement(st: PolicyStatement, room: number): PolicyStatement[] {
  if (sizeOf(st) <= room || st.Action.length < 2) return [st];
  const half = Math.ceil(st.Action.length / 2);
  return [
    ...splitStatement({ ...st, Sid: `${st.Sid}1`, Action: st.Action.slice(0, half) }, room),
    ...splitStatement({ ...st, Sid: `${st.Sid}2`, Action: st.Action.slice(half) }, room),
  ];
}

/**
 * The policy as documents each within the managed policy quota (the whole policy is larger than one
 * may hold): statements kept whole where they fit, packed first-fit in their order. One document
 * when it fits.
 */
export function policyParts(doc: OperatorPolicyDocument, quota = MANAGED_POLICY_QUOTA): OperatorPolicyDocument[] {
  const empty = (): OperatorPolicyDocument => ({ Version: '2012-10-17', Statement: [] });
  if (sizeOf(doc) <= quota) return [doc];
  const room = quota - sizeOf(empty()) - 1;
  const parts: OperatorPolicyDocument[] = [];
  for (const st of doc.Statement.flatMap((x) => splitStatement(x, room))) {
    let part = parts.find((p) => sizeOf({ ...p, Statement: [...p.Statement, st] }) <= quota);
    if (!part) parts.push((part = empty()));
    part.Statement.push(st);
  }
  return parts;
}

/**
 * The policy for a spec file, with no AWS call: its desired graph derived with placeholder facts
 * (the account and image ids shape no statement: the names do). `state`: --state, else the spec's.
 */
export async function loadOperatorPolicy(file: string, state?: string): Promise<{ clusterId: string; policy: OperatorPolicy }> {
  const { spec } = await loadCheckedSpec(file);
  const templates = await loadTemplates();
  const graph = deriveGraph(spec, {
    accountId: '000000000000',
    images: { x86_64: 'ami-00000000000000000', arm64: 'ami-00000000000000001' },
    templates,
  });
  return { clusterId: clusterIdOf(spec), policy: operatorPolicy(spec, graph, state ?? spec.spec.state) };
}
