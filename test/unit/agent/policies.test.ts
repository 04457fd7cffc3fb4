/**
 * The instance roles against the node agent's calls: every call the node and loadbalancer flows
 * make is allowed by their role, and nothing else of the bucket is (no pki/, no etcd/, no writes
 * outside boot/). A small evaluator: Allow statements, actions and resources with * wildcards
 * (conditions are not evaluated here: they narrow further).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentBundleOf } from '../../../src/model/agent.js';
import { deriveGraph, type Facts } from '../../../src/model/derive.js';
import { parseSpec } from '../../../src/spec/load.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const facts: Facts = {
  accountId: '123456789012',
  images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' },
  templates: {},
  agent: agentBundleOf('x'),
};
type St = { Effect: string; Action: string | string[]; Resource: string | string[] };

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);
function allows(policy: { Statement: St[] }, action: string, resource: string): boolean {
  return policy.Statement.some(
    (s) =>
      s.Effect === 'Allow' &&
      ([] as string[]).concat(s.Action).some((a) => glob(a, action)) &&
      ([] as string[]).concat(s.Resource).some((r) => glob(r, resource)),
  );
}

describe("instance roles grant the agent's calls", () => {
  const spec = parseSpec(example, 'c.yaml', new Date('2026-01-15T00:00:00Z')).spec;
  const g = deriveGraph(spec, { ...facts, templates: loadAll() });
  const policyOf = (role: string) => {
    const n = g.nodes.find((x) => x.key === `role/${role}`) as unknown as { props: { policies: Record<string, { Statement: St[] }> } };
    return Object.values(n.props.policies)[0]!;
  };
  const bucket = 'arn:aws:s3:::kubeaz-demo-dev-123456789012';
  const NODE_CALLS: Array<[string, string]> = [
    ['s3:GetObject', `${bucket}/agent/config.json`],
    ['s3:GetObject', `${bucket}/agent/kubeaz-agent-${'a'.repeat(64)}.mjs`],
    ['s3:GetObject', `${bucket}/join/token`],
    ['s3:GetObject', `${bucket}/join/ca-cert-hash`],
    ['s3:PutObject', `${bucket}/boot/i-0123456789abcdef0.json`],
  ];
  const LB_CALLS: Array<[string, string]> = [
    ...NODE_CALLS,
    ['ec2:DescribeAddresses', '*'],
    ['ec2:AssociateAddress', 'arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-1'],
    ['ec2:AssociateAddress', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0'],
  ];
  const NEVER: Array<[string, string]> = [
    ['s3:GetObject', `${bucket}/pki/ca.key`],
    // the aescbc key Secrets are encrypted with: the masters' only
    ['s3:GetObject', `${bucket}/pki/encryption/key1`],
    ['s3:GetObject', `${bucket}/etcd/snapshot.db`],
    ['s3:PutObject', `${bucket}/join/token`],
    ['s3:PutObject', `${bucket}/agent/config.json`],
    ['s3:PutObject', `${bucket}/etcd/x`],
    ['s3:DeleteObject', `${bucket}/boot/i-0123456789abcdef0.json`],
    ['autoscaling:SetInstanceHealth', '*'],
  ];

  it.each([
    ['node', NODE_CALLS],
    ['loadbalancer', LB_CALLS],
  ] as const)('%s: every call the agent makes is allowed', (role, calls) => {
    const p = policyOf(role);
    for (const [a, r] of calls) expect(allows(p, a, r), `${role} ${a} ${r}`).toBe(true);
  });

  it.each(['node', 'loadbalancer'])(
    "%s: nothing of the bucket beyond the agent's own (no pki/, etcd/, writes outside boot/, no SetInstanceHealth)",
    (role) => {
      const p = policyOf(role);
      for (const [a, r] of NEVER) expect(allows(p, a, r), `${role} ${a} ${r}`).toBe(false);
    },
  );

  it('the masters read the agent, write boot reports and may mark an instance Unhealthy (their cluster only)', () => {
    const p = policyOf('master');
    for (const [a, r] of [...NODE_CALLS, ['autoscaling:SetInstanceHealth', '*'] as [string, string]])
      expect(allows(p, a, r), `${a} ${r}`).toBe(true);
    const health = p.Statement.find((s) => ([] as string[]).concat(s.Action).includes('autoscaling:SetInstanceHealth')) as St & {
      Condition?: unknown;
    };
    expect(health.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/kubeaz:cluster': 'demo-dev' } });
  });

  it("the masters read the aescbc key (the API server's EncryptionConfiguration) and record the Secrets' rewrite", () => {
    const p = policyOf('master');
    for (const [a, r] of [
      ['s3:GetObject', `${bucket}/pki/encryption/key1`],
      ['s3:GetObject', `${bucket}/etcd/control-plane/secrets-encryption.json`],
      ['s3:PutObject', `${bucket}/etcd/control-plane/secrets-encryption.json`],
    ] as Array<[string, string]>)
      expect(allows(p, a, r), `${a} ${r}`).toBe(true);
  });

  it('the masters read and (conditionally) write etcd/control-plane/addons.json and ask EC2 whether its installer runs', () => {
    // IfMatch / IfNoneMatch need no action of their own: s3:PutObject is what IAM checks
    const p = policyOf('master');
    for (const [a, r] of [
      ['s3:GetObject', `${bucket}/etcd/control-plane/addons.json`],
      ['s3:PutObject', `${bucket}/etcd/control-plane/addons.json`],
      ['ec2:DescribeInstances', '*'],
    ] as Array<[string, string]>)
      expect(allows(p, a, r), `${a} ${r}`).toBe(true);
  });
});

function loadAll(): Record<string, string> {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  const dir = join(ROOT, 'templates');
  return Object.fromEntries(walk(dir).map((p) => [p.slice(dir.length + 1), readFileSync(p, 'utf8')]));
}
