/**
 * AWS's limits on what kubeaz derives (names, tags, paths, policy documents, user data), checked
 * over the DERIVED desired graph — every node's names, tags and documents — so that a field added
 * to the spec tomorrow cannot slip a value past them: whatever a node carries is measured here.
 * PURE. `limitIssues` runs at load (validate and every command that reads the spec), before any
 * AWS call: a spec AWS would refuse half-way through a create is refused whole, with the spec
 * field that produced the value where one can be found.
 */
import type { ClusterSpec } from '../spec/schema.js';
import { deriveGraph, requiredArchs, type Facts } from './derive.js';
import { IMAGE_TAG } from './images.js';
import { DATA_HASH_TAG, isRef, type AnyNode, type DesiredGraph, type Kind, type Tags } from './types.js';

/** AWS's documented limits, in one table (characters unless `bytes`). */
export const AWS_LIMITS = {
  /** EC2, IAM, S3, ELB, Route 53, auto scaling: keys 128, values 256, 50 tags per resource */
  tagKey: 128,
  tagValue: 256,
  tagsPerResource: 50,
  iamRoleName: 64,
  iamUserName: 64,
  instanceProfileName: 128,
  iamPath: 512,
  iamPolicyName: 128,
  /** a role's trust policy (IAM quota "role trust policy length", default 2048) */
  trustPolicy: 2048,
  /** all inline policies of one role together (IAM: 10,240 characters) */
  roleInlinePolicies: 10_240,
  /** all inline policies of one user together (IAM: 2,048 characters) */
  userInlinePolicies: 2_048,
  bucketName: 63,
  /** bytes */
  bucketPolicy: 20_480,
  /** bytes */
  objectKey: 1_024,
  elbName: 32,
  launchTemplateName: 128,
  /** bytes, before base64 (EC2: user data is limited to 16 KB) */
  userData: 16_384,
  autoScalingGroupName: 255,
  securityGroupName: 255,
  securityGroupDescription: 255,
  oidcProviderUrl: 255,
  /** a DNS name: 253 characters without the final dot, each label at most 63 */
  dnsName: 253,
  dnsLabel: 63,
  hostedZoneCallerReference: 128,
  hostedZoneComment: 256,
  /** SQS: a queue's name */
  queueName: 80,
  /** EventBridge PutRule: name 64, description 512, event pattern 4096 (the lifecycle rule's names every node group's group) */
  eventRuleName: 64,
  eventRuleDescription: 512,
  eventPattern: 4_096,
} as const;

/** Tags a kind writes on its resource beyond its node's tags (counted against AWS's 50). */
export const KIND_WRITTEN_TAGS = { 'launch-template': [DATA_HASH_TAG, IMAGE_TAG] } as const;

/** How many tags the node's kind writes beyond those the node names (a launch template: the two above). */
const kindWrittenTags = (n: AnyNode): number =>
  n.kind === 'launch-template' ? KIND_WRITTEN_TAGS['launch-template'].filter((k) => !(k in n.tags)).length : 0;

export interface LimitViolation {
  key: string;
  kind: Kind;
  /** what is measured: 'name', 'tag kubeaz:service-account (value)', 'trust policy', … */
  what: string;
  value: string;
  size: number;
  limit: number;
  unit: 'characters' | 'bytes' | 'tags';
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** A Ref's value is unknown here: measure it as an ARN of generous length. */
const REF_PLACEHOLDER = 'x'.repeat(96);
/** A document as IAM measures it: JSON without whitespace, Refs as ARN-long strings. */
const doc = (d: unknown): string => JSON.stringify(d, (_k, v: unknown) => (isRef(v) ? REF_PLACEHOLDER : v));

/** Every value of a node measured against AWS_LIMITS; an empty list when all fit. */
export function nodeViolations(n: AnyNode): LimitViolation[] {
  const out: LimitViolation[] = [];
  const chars = (what: string, value: string, limit: number) => {
    if (value.length > limit) out.push({ key: n.key, kind: n.kind, what, value, size: value.length, limit, unit: 'characters' });
  };
  const octets = (what: string, value: string, limit: number) => {
    if (bytes(value) > limit) out.push({ key: n.key, kind: n.kind, what, value, size: bytes(value), limit, unit: 'bytes' });
  };
  const tags = (what: string, t: Tags, extra = 0) => {
    for (const [k, v] of Object.entries(t)) {
      chars(`${what} key`, k, AWS_LIMITS.tagKey);
      chars(`${what} ${k} (value)`, v, AWS_LIMITS.tagValue);
    }
    const count = Object.keys(t).length + extra;
    if (count > AWS_LIMITS.tagsPerResource)
      out.push({
        key: n.key,
        kind: n.kind,
        what: `${what} count`,
        value: Object.keys(t).join(', '),
        size: count,
        limit: AWS_LIMITS.tagsPerResource,
        unit: 'tags',
      });
  };
  const dns = (what: string, name: string) => {
    chars(what, name.replace(/\.$/, ''), AWS_LIMITS.dnsName);
    for (const label of name.replace(/\.$/, '').split('.')) chars(`${what} label`, label, AWS_LIMITS.dnsLabel);
  };
  tags('tag', n.tags, kindWrittenTags(n));
  switch (n.kind) {
    case 'security-group':
      chars('group name', n.props.groupName, AWS_LIMITS.securityGroupName);
      chars('description', n.props.description, AWS_LIMITS.securityGroupDescription);
      break;
    case 'bucket':
    case 'discovery-bucket':
      chars('bucket name', n.props.name, AWS_LIMITS.bucketName);
      octets('bucket policy', n.props.policy, AWS_LIMITS.bucketPolicy);
      break;
    case 'bucket-object':
      octets('object key', n.props.objectKey, AWS_LIMITS.objectKey);
      break;
    case 'oidc-provider':
      chars('issuer URL', n.props.url, AWS_LIMITS.oidcProviderUrl);
      break;
    case 'iam-role': {
      chars('role name', n.props.name, AWS_LIMITS.iamRoleName);
      chars('path', n.props.path, AWS_LIMITS.iamPath);
      if (n.props.trust) chars('trust policy', doc(n.props.trust), AWS_LIMITS.trustPolicy);
      for (const p of Object.keys(n.props.policies)) chars('inline policy name', p, AWS_LIMITS.iamPolicyName);
      chars('inline policies (together)', Object.values(n.props.policies).map(doc).join(''), AWS_LIMITS.roleInlinePolicies);
      break;
    }
    case 'instance-profile':
      chars('instance profile name', n.props.name, AWS_LIMITS.instanceProfileName);
      chars('path', n.props.path, AWS_LIMITS.iamPath);
      break;
    case 'iam-user':
      chars('user name', n.props.name, AWS_LIMITS.iamUserName);
      chars('path', n.props.path, AWS_LIMITS.iamPath);
      for (const p of Object.keys(n.props.policies)) chars('inline policy name', p, AWS_LIMITS.iamPolicyName);
      chars('inline policies (together)', Object.values(n.props.policies).map(doc).join(''), AWS_LIMITS.userInlinePolicies);
      break;
    case 'hosted-zone':
      dns('domain', n.props.domain);
      chars('caller reference', n.props.callerReference, AWS_LIMITS.hostedZoneCallerReference);
      chars('comment', n.props.comment, AWS_LIMITS.hostedZoneComment);
      break;
    case 'dns-record':
      dns('record name', n.props.name);
      break;
    case 'load-balancer':
    case 'network-load-balancer':
    case 'target-group':
      chars('name', n.props.name, AWS_LIMITS.elbName);
      break;
    case 'launch-template':
      chars('launch template name', n.props.name, AWS_LIMITS.launchTemplateName);
      octets('user data', n.props.userData, AWS_LIMITS.userData);
      tags('instance tag', n.props.instanceTags);
      break;
    case 'auto-scaling-group':
      chars('group name', n.props.name, AWS_LIMITS.autoScalingGroupName);
      // the group's tags are its own and its instances' in one set, plus kubeaz:desired-capacity
      tags('group and instance tag', { ...n.props.instanceTags, ...n.tags }, 1);
      break;
    case 'sqs-queue':
      chars('queue name', n.props.name, AWS_LIMITS.queueName);
      break;
    case 'event-rule':
      chars('rule name', n.props.name, AWS_LIMITS.eventRuleName);
      chars('rule description', n.props.description, AWS_LIMITS.eventRuleDescription);
      chars('event pattern', n.props.eventPattern, AWS_LIMITS.eventPattern);
      break;
    default:
      break;
  }
  return out;
}

export const graphViolations = (g: DesiredGraph): LimitViolation[] => g.nodes.flatMap(nodeViolations);

/**
 * The facts of the longest values AWS can hand back: account ids are always 12 digits, image ids
 * at most `ami-` + 17 hex digits. The zone of a running master only moves names within the spec's zones.
 */
export function worstCaseFacts(spec: ClusterSpec, templates: Readonly<Record<string, string>>): Facts {
  const ami = `ami-${'f'.repeat(17)}`;
  return { accountId: '999999999999', images: Object.fromEntries(requiredArchs(spec).map((a) => [a, ami])), templates };
}

type PathSeg = string | number;

/** Every string in the spec with its path; a record's keys count too (tags, labels). */
function leaves(
  v: unknown,
  path: PathSeg[] = [],
  out: Array<{ path: PathSeg[]; text: string }> = [],
): Array<{ path: PathSeg[]; text: string }> {
  if (typeof v === 'string') out.push({ path, text: v });
  else if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push({ path: [...path, k], text: k });
      leaves(x, [...path, k], out);
    }
  return out;
}

/**
 * The spec field that put the most into a derived value: the longest spec string found inside it
 * (a service account's name inside its tag, a tag's key, a node group's name inside a group's
 * name). Names made of the cluster id alone point at metadata.name.
 */
export function sourceField(spec: ClusterSpec, value: string): PathSeg[] {
  let best: { path: PathSeg[]; text: string } | undefined;
  for (const l of leaves(spec)) {
    if (l.text.length < 2 || !value.includes(l.text)) continue;
    if (l.path[0] === 'apiVersion' || l.path[0] === 'kind') continue;
    if (!best || l.text.length > best.text.length) best = l;
  }
  return best?.path ?? ['metadata', 'name'];
}

const shown = (v: string) => (v.length > 400 ? `${v.slice(0, 200)}…${v.slice(-80)}` : v);

/** The spec's problems with AWS's limits: [] when every derived value fits. */
export function limitIssues(spec: ClusterSpec, templates: Readonly<Record<string, string>>): Array<{ path: PathSeg[]; message: string }> {
  const graph = deriveGraph(spec, worstCaseFacts(spec, templates));
  const seen = new Set<string>();
  const out: Array<{ path: PathSeg[]; message: string }> = [];
  for (const v of graphViolations(graph)) {
    const path = sourceField(spec, v.value);
    const message = `kubeaz would derive the ${v.what} of ${v.kind} ${v.key} from it as '${shown(v.value)}' — ${v.size} ${v.unit}, and AWS allows at most ${v.limit}; shorten it`;
    const id = `${path.join('.')}\u0000${v.what}\u0000${v.kind}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path, message });
  }
  return out;
}
