/**
 * The rendered IAM policies (src/model/policies.ts) held to what their callers need
 * (src/model/policy-sources.ts: each add-on's upstream reference policy, file and version, and the
 * node agent's own SDK calls as the boot simulation records them). A role that grants an action no
 * caller on it needs fails, and so does one that lacks an action a caller needs.
 */
import { describe, expect, it } from 'vitest';
import {
  clusterAutoscalerPolicy,
  ebsCsiPolicy,
  loadbalancerPolicy,
  masterPolicy,
  nodePolicy,
  nthPolicy,
  unlabelled,
} from '../../src/model/policies.js';
import {
  CLOUD_CONTROLLER_MANAGER,
  CLUSTER_AUTOSCALER,
  EBS_CSI_CONTROLLER,
  NODE_AGENT,
  NODE_NO_SUCH_KEY,
  NODE_TERMINATION_HANDLER,
  SSM_AGENT,
  SSM_SESSIONS,
  neededActions,
  type AgentRole,
  type PolicySource,
} from '../../src/model/policy-sources.js';
import { ref } from '../../src/model/types.js';

const B = 'arn:aws:s3:::kubeaz-demo-dev-123456789012';
const ZONES = [ref('zone/private', 'arn')];
const ID = 'demo-dev';
const R = 'us-east-1';
const A = '123456789012';
const NTH = { queueArn: `arn:aws:sqs:${R}:${A}:${ID}-drain`, clusterId: ID };

type Doc = { Statement: Array<{ Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }> };
const granted = (d: Doc): string[] =>
  [...new Set(d.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()))].sort();
const agent = (role: AgentRole) => NODE_AGENT[role].map((a) => a.action);
const needs = (...parts: Array<PolicySource | readonly string[]>): string[] =>
  [...new Set(parts.flatMap((p) => ('upstream' in p ? neededActions(p) : [...p])))].sort();

/** What differs: granted but needed by no caller, needed but not granted. */
function compare(doc: Doc, needed: string[]) {
  const g = granted(doc);
  return { grantedUnneeded: g.filter((a) => !needed.includes(a)), neededMissing: needed.filter((a) => !g.includes(a)) };
}
const SAME = { grantedUnneeded: [], neededMissing: [] };

const ROLES: Array<[string, Doc, string[]]> = [
  [
    'master (add-ons on its role)',
    masterPolicy(B, ZONES, ID, R, A, false, undefined, NTH),
    needs(agent('master'), CLOUD_CONTROLLER_MANAGER, EBS_CSI_CONTROLLER, CLUSTER_AUTOSCALER, NODE_TERMINATION_HANDLER, SSM_AGENT),
  ],
  [
    'master (add-ons on its role, no node groups: no drain queue)',
    masterPolicy(B, ZONES, ID, R, A, false),
    needs(agent('master'), CLOUD_CONTROLLER_MANAGER, EBS_CSI_CONTROLLER, CLUSTER_AUTOSCALER, SSM_AGENT),
  ],
  ['master (IRSA on)', masterPolicy(B, ZONES, ID, R, A, true), needs(agent('master'), CLOUD_CONTROLLER_MANAGER, SSM_AGENT)],
  ['EBS CSI controller (IRSA)', ebsCsiPolicy(ID, R, A), needs(EBS_CSI_CONTROLLER)],
  ['cluster-autoscaler (IRSA)', clusterAutoscalerPolicy(ID), needs(CLUSTER_AUTOSCALER)],
  ['node termination handler (IRSA)', nthPolicy(NTH), needs(NODE_TERMINATION_HANDLER)],
  ['node', nodePolicy(B), needs(agent('node'), NODE_NO_SUCH_KEY, SSM_SESSIONS)],
  ['loadbalancer', loadbalancerPolicy(B, R, A, ID), needs(agent('loadbalancer'), NODE_NO_SUCH_KEY, SSM_SESSIONS)],
];

describe('each role grants exactly what its callers need', () => {
  it.each(ROLES)('%s', (_name, doc, needed) => {
    expect(compare(doc, needed)).toEqual(SAME);
  });

  it('the comparison sees an extra grant and a missing one', () => {
    const node = nodePolicy(B);
    const extra: Doc = { Statement: [...node.Statement, { Effect: 'Allow', Action: ['ec2:DescribeRegions'], Resource: '*' }] };
    expect(compare(extra, needs(agent('node'), NODE_NO_SUCH_KEY, SSM_SESSIONS))).toEqual({
      grantedUnneeded: ['ec2:DescribeRegions'],
      neededMissing: [],
    });
    expect(compare(node, needs(agent('node'), NODE_NO_SUCH_KEY, SSM_SESSIONS, ['ecr:BatchGetImage']))).toEqual({
      grantedUnneeded: [],
      neededMissing: ['ecr:BatchGetImage'],
    });
    // a Deny grants nothing
    const denied: Doc = { Statement: [...node.Statement, { Effect: 'Deny', Action: 's3:*', Resource: '*' }] };
    expect(compare(denied, needs(agent('node'), NODE_NO_SUCH_KEY, SSM_SESSIONS))).toEqual(SAME);
  });
});

describe('the sources', () => {
  const sources = [CLOUD_CONTROLLER_MANAGER, EBS_CSI_CONTROLLER, CLUSTER_AUTOSCALER, NODE_TERMINATION_HANDLER, SSM_AGENT, SSM_SESSIONS];
  it.each(sources.map((s) => [s.caller, s] as const))(
    '%s: names its file and version; omissions are of its list, additions are not',
    (_c, s) => {
      expect(s.source).toMatch(/\.(md|json)\b|managed policy/);
      expect(s.source).toMatch(/@ [0-9a-fv]|version|AmazonSSMManagedInstanceCore/);
      for (const [a, why] of Object.entries(s.omitted ?? {})) {
        expect(s.upstream, a).toContain(a);
        expect(why.length).toBeGreaterThan(20);
      }
      for (const [a, where] of Object.entries(s.added ?? {})) {
        expect(s.upstream, a).not.toContain(a);
        expect(where.length).toBeGreaterThan(20);
      }
      expect(new Set(s.upstream).size, 'no action listed twice').toBe(s.upstream.length);
    },
  );

  it("every agent action says where it is called; the boot simulation's scenarios name the ones it records", () => {
    for (const role of ['master', 'node', 'loadbalancer'] as const)
      for (const a of NODE_AGENT[role]) {
        expect(a.where).toMatch(/agent\/|user data|etcd\//);
        expect(['boot', 'init-fails', null]).toContain(a.seenIn);
      }
  });
});

describe('the gaps an upstream comparison found stay closed', () => {
  const master = masterPolicy(B, ZONES, ID, R, A, false);
  const sid = (d: Doc, s: string) => d.Statement.find((x) => x.Sid === s)!;
  const withAction = (d: Doc, a: string) => d.Statement.filter((s) => [s.Action].flat().includes(a));
  // the master's document carries no Sids (policies.ts unlabelled: IAM's 10,240 characters): its statements are found by what they grant
  const bare = (d: Doc) => d.Statement.map((x) => JSON.stringify(unlabelled(x)));

  it("the master's statements are the labelled ones without their labels", () => {
    expect((master as Doc).Statement.filter((x) => x.Sid !== undefined)).toEqual([]);
    const lock = bare(ebsCsiPolicy(ID, R, A)).find((x) => x.includes('ec2:LockSnapshot'));
    expect(lock).toBeDefined();
    expect(bare(master)).toContain(lock);
  });

  it('target-group attributes: read on *, changed only on load balancers the cluster owns', () => {
    expect(withAction(master, 'elasticloadbalancing:DescribeTargetGroupAttributes').map((s) => s.Resource)).toEqual(['*']);
    expect(withAction(master, 'elasticloadbalancing:ModifyTargetGroupAttributes').map((s) => s.Condition)).toEqual([
      { StringEquals: { 'aws:ResourceTag/kubernetes.io/cluster/demo-dev': 'owned' } },
    ]);
  });

  it('LockSnapshot on the CSI driver’s own snapshots, on the master and on its IRSA role (one builder); DescribeInstanceTypes on the IRSA role', () => {
    const own = withAction(ebsCsiPolicy(ID, R, A), 'ec2:LockSnapshot');
    expect(own.map((s) => s.Sid)).toEqual(['CsiDeleteNamedSnapshots', 'CsiDeleteOwnSnapshots']);
    // the master's are the same two statements, unlabelled
    expect(withAction(master, 'ec2:LockSnapshot')).toEqual(own.map(unlabelled));
    for (const s of own) expect(s.Resource).toEqual([`arn:aws:ec2:${R}:${A}:snapshot/*`]);
    expect(sid(ebsCsiPolicy(ID, R, A), 'Describe').Action).toContain('ec2:DescribeInstanceTypes');
  });

  it('no routes, no GetChange, no deleting join/, no listing of pki/ or agent/, no DescribeTags for the autoscaler, nothing of EC2 or ECR on nodes', () => {
    const all = granted(master);
    for (const a of ['ec2:CreateRoute', 'ec2:DeleteRoute', 'route53:GetChange']) expect(all).not.toContain(a);
    for (const s of withAction(master, 's3:DeleteObject')) expect(s.Resource).toEqual([`${B}/etcd/*`]);
    expect(
      (withAction(master, 's3:ListBucket')[0]!.Condition as { StringLike: { 's3:prefix': string[] } }).StringLike['s3:prefix'],
    ).toEqual(['etcd/*', 'join/*']);
    expect(granted(clusterAutoscalerPolicy(ID))).not.toContain('autoscaling:DescribeTags');
    const node = nodePolicy(B);
    expect(granted(node).filter((a) => /^(ec2|ecr):/.test(a))).toEqual([]);
    expect((sid(node, 'ListJoin').Condition as { StringLike: { 's3:prefix': string[] } }).StringLike['s3:prefix']).toEqual(['join/*']);
  });
});
