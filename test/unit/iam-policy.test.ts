/**
 * The operator's IAM policy (issue 21, `kubeaz iam-policy`): SDK calls named as IAM actions; every
 * kind's declaration holds the SDK commands its file and the shared modules it imports send (so
 * the declarations cannot fall behind the code unseen); and the policy for the example spec — no
 * wildcard action, PassRole on the cluster's instance roles only, tag conditions, the extras AWS
 * checks beyond the call, each with its source. The whole lifecycle's recorded calls are held to it
 * in test/e2e/iam-policy.test.ts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { iamActionsOf, isMutatingAction, ACCOUNT_PUBLIC_ACCESS_BLOCK } from '../../src/aws/iam-actions.js';
import { PREFLIGHT_CHECKS } from '../../src/checks/index.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import type { Kind } from '../../src/model/types.js';
import { declaredCalls, MANAGED_POLICY_QUOTA, operatorPolicy, policyParts, type PolicyStatement } from '../../src/operations/iam-policy.js';
import { DESTROY_SWEEP, HANDLERS, INSTANCE_CALLS } from '../../src/resources/index.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');
const NOW = new Date('2026-01-15T00:00:00Z');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(path.join(ROOT, 'templates', n), 'utf8')]));
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
const specOf = (yaml: string) => parseSpec(yaml, 'c.yaml', NOW).spec;
const policyOf = (yaml: string, state?: string) => {
  const spec = specOf(yaml);
  return operatorPolicy(spec, deriveGraph(spec, facts), state);
};

// ——— the SDK commands a file sends, read from its text (the way a reviewer would) ———

const CLIENT: Record<string, string> = {
  'client-ec2': 'ec2',
  'client-auto-scaling': 'autoscaling',
  'client-elastic-load-balancing': 'elb',
  'client-elastic-load-balancing-v2': 'elbv2',
  'client-route-53': 'route53',
  'client-iam': 'iam',
  'client-s3': 's3',
  'client-sqs': 'sqs',
  'client-eventbridge': 'events',
  'client-ssm': 'ssm',
  'client-service-quotas': 'servicequotas',
  'client-sts': 'sts',
};

/** service:Operation of every command, paginator and waiter a file uses, by the SDK client it takes it from. */
function sdkCallsOf(file: string): Set<string> {
  const src = readFileSync(file, 'utf8');
  const ns: Record<string, string> = {};
  const named: Record<string, string> = {};
  for (const m of src.matchAll(/import\s+(?:type\s+)?(?:\*\s+as\s+(\w+)|\{([^}]*)\})\s+from\s+'@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
    const svc = CLIENT[m[3]!];
    if (!svc) continue;
    if (m[1]) ns[m[1]] = svc;
    else
      for (const n of m[2]!.split(','))
        named[
          n
            .trim()
            .split(/\s+as\s+/)
            .pop()!
        ] = svc;
  }
  for (const m of src.matchAll(/(\w+)\s*=\s*await import\('@aws-sdk\/(client-[a-z0-9-]+)'\)/g))
    if (CLIENT[m[2]!]) ns[m[1]!] = CLIENT[m[2]!]!;
  for (const m of src.matchAll(/\{([\w\s,:]*)\}\s*=\s*await import\('@aws-sdk\/(client-[a-z0-9-]+)'\)/g))
    for (const n of m[1]!.split(','))
      if (CLIENT[m[2]!])
        named[
          n
            .trim()
            .split(/\s*:\s*/)
            .pop()!
        ] = CLIENT[m[2]!]!;
  const out = new Set<string>();
  for (const m of src.matchAll(/\b(?:(\w+)\.)?([A-Z]\w+Command|paginate[A-Z]\w+|waitUntil[A-Z]\w+)\b/g)) {
    const svc = m[1] ? ns[m[1]] : named[m[2]!];
    if (!svc || /^(type|interface)/.test(m[2]!)) continue;
    const name = m[2]!;
    if (name.startsWith('waitUntil')) {
      // the one waiter kubeaz uses polls GetCommandInvocation
      if (name === 'waitUntilCommandExecuted') out.add(`${svc}:GetCommandInvocation`);
      continue;
    }
    out.add(`${svc}:${name.replace(/Command$/, '').replace(/^paginate/, '')}`);
  }
  return out;
}

/** The project files a file imports from resources/ and aws/ (its shared modules), transitively. */
function sharedClosure(file: string): string[] {
  const seen = new Set([file]);
  const stack = [file];
  while (stack.length) {
    const f = stack.pop()!;
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)) {
      const p = path.resolve(path.dirname(f), `${m[1]}.ts`);
      if (existsSync(p) && !seen.has(p) && /\/src\/(resources|aws)\//.test(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return [...seen];
}

/** The IAM actions these SDK calls need (the account Block Public Access read is the S3 Control one). */
function actionsOf(calls: Iterable<string>, file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...calls].flatMap((c) => {
    const [svc, op] = c.split(':') as [string, string];
    if (svc === 's3' && op === 'GetPublicAccessBlock' && text.includes('ACCOUNT_PUBLIC_ACCESS_BLOCK'))
      return ['s3:GetAccountPublicAccessBlock'];
    if (svc === 's3' && op === 'DeleteObjects') return ['s3:DeleteObject', 's3:DeleteObjectVersion'];
    return iamActionsOf(svc, op);
  });
}

const handlerFiles = readdirSync(path.join(SRC, 'resources'))
  .map((f) => path.join(SRC, 'resources', f))
  .map((file) => ({ file, kind: /ResourceHandler<'([a-z-]+)'/.exec(readFileSync(file, 'utf8'))?.[1] as Kind | undefined }))
  .filter((h): h is { file: string; kind: Kind } => h.kind !== undefined && h.kind in HANDLERS);

describe('SDK calls as IAM actions', () => {
  it.each([
    ['ec2', 'DescribeVpcs', undefined, ['ec2:DescribeVpcs']],
    ['elb', 'CreateLoadBalancer', undefined, ['elasticloadbalancing:CreateLoadBalancer']],
    ['elbv2', 'CreateLoadBalancer', undefined, ['elasticloadbalancing:CreateLoadBalancer']],
    ['events', 'PutRule', undefined, ['events:PutRule']],
    ['sts', 'GetCallerIdentity', undefined, []],
    ['s3', 'ListObjectsV2', { Bucket: 'b' }, ['s3:ListBucket']],
    ['s3', 'ListObjectVersions', { Bucket: 'b' }, ['s3:ListBucketVersions']],
    ['s3', 'HeadObject', { Bucket: 'b', Key: 'k' }, ['s3:GetObject']],
    ['s3', 'GetObject', { Bucket: 'b', Key: 'k', VersionId: 'v1' }, ['s3:GetObjectVersion']],
    ['s3', 'DeleteObject', { Bucket: 'b', Key: 'k', VersionId: 'v1' }, ['s3:DeleteObjectVersion']],
    ['s3', 'DeleteObjects', { Delete: { Objects: [{ Key: 'a', VersionId: 'v' }] } }, ['s3:DeleteObjectVersion']],
    [
      's3',
      'DeleteObjects',
      { Delete: { Objects: [{ Key: 'a' }, { Key: 'b', VersionId: 'v' }] } },
      ['s3:DeleteObject', 's3:DeleteObjectVersion'],
    ],
    ['s3', 'PutBucketEncryption', { Bucket: 'b' }, ['s3:PutEncryptionConfiguration']],
    ['s3', 'GetPublicAccessBlock', { Bucket: 'b' }, ['s3:GetBucketPublicAccessBlock']],
    ['s3', 'GetPublicAccessBlock', { Bucket: ACCOUNT_PUBLIC_ACCESS_BLOCK }, ['s3:GetAccountPublicAccessBlock']],
    ['s3', 'CreateMultipartUpload', { Bucket: 'b', Key: 'k' }, ['s3:PutObject']],
  ])('%s %s %j → %j', (service, operation, input, actions) => {
    expect(iamActionsOf(service, operation, input)).toEqual(actions);
  });

  it('reads are not mutating; the rest are', () => {
    expect(isMutatingAction('ec2:DescribeVpcs')).toBe(false);
    expect(isMutatingAction('s3:GetObject')).toBe(false);
    expect(isMutatingAction('s3:ListBucket')).toBe(false);
    expect(isMutatingAction('ec2:CreateTags')).toBe(true);
    expect(isMutatingAction('iam:PassRole')).toBe(true);
  });
});

describe('what the code declares it calls', () => {
  it('finds a handler file for every kind', () => {
    expect(handlerFiles.map((h) => h.kind).sort()).toEqual(Object.keys(HANDLERS).sort());
  });

  it.each(handlerFiles)('$kind: its declaration names every SDK call of its file and the shared modules it imports', ({ file, kind }) => {
    const h = HANDLERS[kind];
    const declared = new Set([...h.calls.observe, ...h.calls.create, ...(h.calls.update ?? []), ...h.calls.delete]);
    // aws/s3.ts also holds pre-flight's account Block Public Access read: a kind's only if it calls it
    const own = readFileSync(file, 'utf8');
    const sent = sharedClosure(file)
      .filter((f) => !f.endsWith('/common.ts'))
      .flatMap((f) => actionsOf(sdkCallsOf(f), f))
      .filter((a) => a !== 's3:GetAccountPublicAccessBlock' || own.includes('accountPublicAccessBlock('));
    expect(sent.length, 'the scan finds calls').toBeGreaterThan(0);
    expect(sent.filter((a) => !declared.has(a)).sort()).toEqual([]);
    // the EC2 tag helpers of common.ts: a kind that uses them declares ec2:CreateTags
    if (/\b(ec2Tag|applyEc2TagChanges)\(/.test(readFileSync(file, 'utf8'))) expect(declared.has('ec2:CreateTags')).toBe(true);
    for (const a of declared) expect(a, `${kind} declares ${a}`).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/);
  });

  it('the sweep, the instances and every pre-flight check declare what their files send', () => {
    const sweep = path.join(SRC, 'resources', 'kubernetes-made.ts');
    expect(actionsOf(sdkCallsOf(sweep), sweep).filter((a) => !DESTROY_SWEEP.calls.includes(a))).toEqual([]);
    const inst = path.join(SRC, 'resources', 'instances.ts');
    expect(actionsOf(sdkCallsOf(inst), inst).filter((a) => !INSTANCE_CALLS.includes(a))).toEqual([]);
    const checkCalls = new Set(PREFLIGHT_CHECKS.flatMap((c) => c.calls));
    // each check file's own commands (the aws/ helpers they call are named in their declarations by hand)
    for (const f of ['foreign-holders.ts', 'images.ts', 'offerings.ts', 'quotas.ts', 'shared.ts']) {
      const file = path.join(SRC, 'checks', f);
      expect(
        actionsOf(sdkCallsOf(file), file).filter((a) => !checkCalls.has(a)),
        f,
      ).toEqual([]);
    }
    expect(checkCalls.has('s3:GetAccountPublicAccessBlock')).toBe(true);
    expect(checkCalls.has('route53:ListResourceRecordSets')).toBe(true);
  });
});

const grants = (statements: PolicyStatement[], action: string) => statements.filter((s) => s.Action.includes(action));

describe('the operator policy of the example spec', () => {
  const { policy, sources, declared } = policyOf(example);
  const st = policy.Statement;
  const id = 'demo-dev';

  it('is an IAM policy document: version, unique alphanumeric Sids, Allow only', () => {
    expect(policy.Version).toBe('2012-10-17');
    const sids = st.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const s of st) {
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
      expect(s.Effect).toBe('Allow');
      expect(s.Action.length, s.Sid).toBeGreaterThan(0);
    }
  });

  it('comes in parts that each fit a managed policy (6,144 characters), together granting exactly the whole', () => {
    const parts = policyParts(policy);
    const size = (d: unknown) => JSON.stringify(d).replace(/\s+/g, '').length;
    if (size(policy) <= MANAGED_POLICY_QUOTA) expect(parts).toEqual([policy]);
    else expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(size(p)).toBeLessThanOrEqual(MANAGED_POLICY_QUOTA);
      expect(p.Version).toBe('2012-10-17');
    }
    const flat = (docs: Array<{ Statement: PolicyStatement[] }>) =>
      docs.flatMap((d) => d.Statement.flatMap((x) => x.Action.map((a) => JSON.stringify([a, x.Resource, x.Condition ?? null])))).sort();
    expect(flat(parts)).toEqual(flat([policy]));
    const sids = parts.flatMap((p) => p.Statement.map((x) => x.Sid));
    expect(new Set(sids).size).toBe(sids.length);
    // a tiny quota still packs every statement, splitting the large ones by their actions
    const small = policyParts(policy, 2000);
    for (const p of small) expect(size(p)).toBeLessThanOrEqual(2000);
    expect(flat(small)).toEqual(flat([policy]));
  });

  it('names every action in full: no wildcard, no service:* grant', () => {
    for (const s of st) for (const a of s.Action) expect(a, s.Sid).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
  });

  it('grants every declared call', () => {
    expect(declared.length).toBeGreaterThan(100);
    expect(declared.filter((a) => !grants(st, a).length)).toEqual([]);
  });

  it("iam:PassRole only on the cluster's instance roles, under its IAM path", () => {
    const [pass, ...more] = grants(st, 'iam:PassRole');
    expect(more).toEqual([]);
    expect(pass!.Action).toEqual(['iam:PassRole']);
    const roles = ['master', 'node', 'loadbalancer'].map((r) => `arn:aws:iam::*:role/kubeaz/${id}/${id}-${r}`).sort();
    expect(pass!.Resource).toEqual(roles);
    // exactly the roles of the instance profiles the graph makes
    const profiles = deriveGraph(specOf(example), facts).nodes.filter((n) => n.kind === 'instance-profile');
    expect(profiles.map((p) => `arn:aws:iam::*:role/kubeaz/${id}/${p.props.name}`).sort()).toEqual(roles);
  });

  it('mutating IAM calls only under the cluster path; S3 only on its buckets; the drain queue and rules by name', () => {
    for (const s of st.filter((x) => x.Action.some((a) => a.startsWith('iam:')) && x.Sid !== 'ServiceLinkedRoles' && x.Sid !== 'Read')) {
      const r = [s.Resource].flat();
      expect(
        r.every((x) => x.includes(`/kubeaz/${id}/`) || /:(group|mfa)\/\*$/.test(x) || x.includes(`oidc-provider/kubeaz-${id}-`)),
        s.Sid,
      ).toBe(true);
    }
    for (const s of st.filter((x) => x.Action.some((a) => a.startsWith('s3:') && a !== 's3:GetAccountPublicAccessBlock')))
      for (const r of [s.Resource].flat()) expect(r, s.Sid).toMatch(new RegExp(`^arn:aws:s3:::kubeaz-${id}-\\?{12}(-oidc)?(/\\*)?$`));
    expect(grants(st, 'sqs:CreateQueue')[0]!.Resource).toBe(`arn:aws:sqs:us-east-1:*:${id}-drain`);
    expect(grants(st, 'events:PutRule')[0]!.Resource).toBe(`arn:aws:events:us-east-1:*:rule/${id}-drain-*`);
  });

  it('tag conditions: Auto Scaling groups made with the tag and changed only when tagged; EC2 deletes of what kubeaz tagged', () => {
    const owner = (key: string) => ({ StringEquals: { [`${key}/kubeaz:cluster`]: id } });
    expect(grants(st, 'autoscaling:CreateAutoScalingGroup').map((s) => s.Condition)).toEqual([owner('aws:RequestTag')]);
    expect(grants(st, 'autoscaling:DeleteAutoScalingGroup').map((s) => s.Condition)).toEqual([owner('aws:ResourceTag')]);
    // rollout terminates the group's instances itself (and --force completes their lifecycle actions)
    expect(grants(st, 'autoscaling:TerminateInstanceInAutoScalingGroup').map((s) => s.Condition)).toEqual([owner('aws:ResourceTag')]);
    expect(grants(st, 'autoscaling:CompleteLifecycleAction').map((s) => s.Condition)).toEqual([owner('aws:ResourceTag')]);
    expect(grants(st, 'autoscaling:StartInstanceRefresh')).toEqual([]);
    expect(grants(st, 'ec2:DeleteVpc').map((s) => s.Condition)).toEqual([owner('aws:ResourceTag')]);
    expect(grants(st, 'ec2:CreateVpc').map((s) => s.Condition)).toEqual([owner('aws:RequestTag')]);
    // what the sweep deletes is Kubernetes', not tagged kubeaz:cluster: no owner condition there
    for (const a of ['ec2:DeleteSecurityGroup', 'ec2:DeleteNetworkInterface', 'elasticloadbalancing:DeleteLoadBalancer'])
      expect(
        grants(st, a).some((s) => !s.Condition),
        a,
      ).toBe(true);
    // CreateTags: on the cluster's resources, or as part of a create kubeaz makes
    const tags = grants(st, 'ec2:CreateTags');
    expect(tags.map((s) => Object.keys(s.Condition!.StringEquals!)[0]).sort()).toEqual([
      'aws:ResourceTag/kubeaz:cluster',
      'ec2:CreateAction',
    ]);
    const actions = tags.find((s) => s.Sid === 'TagOnCreate')!.Condition!.StringEquals!['ec2:CreateAction'];
    expect(actions).toEqual(
      expect.arrayContaining(['CreateVpc', 'CreateSubnet', 'CreateSecurityGroup', 'CreateLaunchTemplate', 'RunInstances']),
    );
    expect(actions).not.toContain('CreateTags');
  });

  it('what AWS checks beyond the call, each with its source: service-linked roles, launching through templates, the private zone, KMS', () => {
    const slr = grants(st, 'iam:CreateServiceLinkedRole');
    expect(slr.length).toBe(1);
    expect(slr[0]!.Condition).toEqual({
      StringEquals: { 'iam:AWSServiceName': ['autoscaling.amazonaws.com', 'elasticloadbalancing.amazonaws.com'] },
    });
    expect(grants(st, 'ec2:RunInstances').length).toBe(1);
    expect(st.find((s) => s.Sid === 'PrivateZoneVpc')!.Action).toEqual(['ec2:DescribeVpcs', 'route53:AssociateVPCWithHostedZone']);
    for (const sid of ['PassInstanceRoles', 'ServiceLinkedRoles', 'LaunchThroughTemplates', 'TagOnCreate', 'PrivateZoneVpc'])
      expect(sources.find((s) => s.sid === sid)?.source, sid).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    expect(sources.some((s) => /EBS key/.test(s.why) && s.source.includes('key-policy-requirements-EBS-encryption'))).toBe(true);
    expect(sources.some((s) => /IRSA roles are never passed/.test(s.why))).toBe(true);
  });

  it('only the kinds the spec makes are changed: no IRSA, no NLB, no OIDC provider in the example', () => {
    for (const a of ['iam:CreateOpenIDConnectProvider', 'elasticloadbalancing:CreateListener', 'elasticloadbalancing:CreateTargetGroup'])
      expect(grants(st, a), a).toEqual([]);
    // reads of every kind stay: observe reads every kind before it knows what exists
    expect(grants(st, 'iam:GetOpenIDConnectProvider').length).toBe(1);
  });
});

describe('the policy follows the spec', () => {
  const irsaSpot = example
    .replace(
      '  iam:\n',
      '  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts: [{ name: app, namespace: default, policyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess] }]\n',
    )
    .replace('      labels: { tier: general }\n', '      labels: { tier: general }\n      spot: { onDemandBase: 1 }\n');

  it('IRSA: the OIDC provider by its issuer, the discovery bucket, the account Block Public Access read; spot: its service-linked role', () => {
    const { policy } = policyOf(irsaSpot);
    const st = policy.Statement;
    expect(grants(st, 'iam:CreateOpenIDConnectProvider')[0]!.Resource).toBe(
      'arn:aws:iam::*:oidc-provider/kubeaz-demo-dev-????????????-oidc.s3.us-east-1.amazonaws.com',
    );
    expect(grants(st, 's3:GetAccountPublicAccessBlock')[0]!.Resource).toBe('*');
    expect(grants(st, 'iam:CreateServiceLinkedRole')[0]!.Condition!.StringEquals!['iam:AWSServiceName']).toContain('spot.amazonaws.com');
    // IRSA roles are not passed: PassRole stays on the instance roles
    expect(
      [grants(st, 'iam:PassRole')[0]!.Resource].flat().every((r) => /role\/kubeaz\/demo-dev\/demo-dev-(master|node|loadbalancer)$/.test(r)),
    ).toBe(true);
    expect(irsaSpot).toContain('serviceAccounts');
    expect(irsaSpot).toContain('spot:');
  });

  it('an S3 state: its calls on its bucket and prefix only', () => {
    const { policy } = policyOf(example, 's3://team-state/kubeaz');
    const objects = policy.Statement.find((s) => s.Sid === 'StateObjects')!;
    expect(objects.Action).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(objects.Resource).toEqual('arn:aws:s3:::team-state/kubeaz/*');
    const bucket = policy.Statement.find((s) => s.Sid === 'StateBucket')!;
    expect(bucket.Action).toEqual(['s3:GetBucketVersioning']);
    expect(bucket.Resource).toEqual('arn:aws:s3:::team-state');
    expect(policyOf(example).policy.Statement.find((s) => s.Sid.startsWith('State'))).toBeUndefined();
  });

  it('declaredCalls: changes only of the kinds made', () => {
    const spec = specOf(example);
    const g = deriveGraph(spec, facts);
    const fewer = { ...g, nodes: g.nodes.filter((n) => n.kind !== 'sqs-queue') };
    expect(declaredCalls(g)).toContain('sqs:CreateQueue');
    expect(declaredCalls(fewer)).not.toContain('sqs:CreateQueue');
    expect(declaredCalls(fewer)).toContain('sqs:ListQueues');
  });
});
