/**
 * The instance-role policies against what the add-ons need: aws-ebs-csi-driver
 * docs/example-iam-policy.json and the cloud-provider-aws controller policy (docs/prerequisites.md),
 * as src/model/policy-sources.ts records them with their versions (test/unit/policy-sources.test.ts
 * holds every role to exactly its callers' needs). Every action they need must be granted by the
 * master's role, and nothing is granted on `*` without a condition unless AWS offers no
 * resource-level permission for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { CLOUD_CONTROLLER_MANAGER, EBS_CSI_CONTROLLER, neededActions } from '../../src/model/policy-sources.js';
import type { AnyNode } from '../../src/model/types.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');

/**
 * Every action the EBS CSI controller and the cloud-controller-manager need: their upstream
 * reference policies as published (file and version in src/model/policy-sources.ts), less what
 * kubeaz leaves out there with a reason (cloud routes), plus what their code calls beyond them.
 */
const EBS_CSI_NEEDS = neededActions(EBS_CSI_CONTROLLER);
const CCM_NEEDS = neededActions(CLOUD_CONTROLLER_MANAGER);

/**
 * Actions AWS's Service Authorization Reference lists with no resource type (so only `*` works):
 * reads, the SSM agent's channel, Route 53's zone lookup, the address lookup.
 */
const ONLY_ON_STAR = (a: string) =>
  /^(ec2|autoscaling|elasticloadbalancing):Describe/.test(a) ||
  /^(ec2messages|ssmmessages):/.test(a) ||
  ['ssm:UpdateInstanceInformation', 'ssm:ListInstanceAssociations', 'route53:ListHostedZonesByName'].includes(a);

type St = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
const facts: Facts = {
  accountId: '123456789012',
  images: { x86_64: 'ami-0123456789abcdef0' },
  templates: new Proxy({}, { get: (_t, k) => `# ${String(k)}\n`, has: () => true }) as Record<string, string>,
};

function rolePolicies() {
  const g = deriveGraph(parseSpec(example, 'cluster.example.yaml').spec, facts);
  const roles = g.nodes.filter((n): n is Extract<AnyNode, { kind: 'iam-role' }> => n.kind === 'iam-role');
  return Object.fromEntries(roles.map((r) => [r.key, Object.values(r.props.policies).flatMap((p) => p.Statement as St[])]));
}
const actionsOf = (s: St) => ([] as string[]).concat(s.Action);
const resourcesOf = (s: St) => ([] as unknown[]).concat(s.Resource);

describe('instance-role policies', () => {
  const policies = rolePolicies();
  const master = policies['role/master']!;

  it.each([...new Set([...EBS_CSI_NEEDS, ...CCM_NEEDS])].sort())('the master role grants %s (EBS CSI / cloud controller)', (action) => {
    expect(master.some((s) => s.Effect === 'Allow' && actionsOf(s).includes(action))).toBe(true);
  });

  it('nothing on `*` without a condition that AWS would let us scope', () => {
    for (const [role, statements] of Object.entries(policies)) {
      for (const s of statements) {
        if (s.Effect !== 'Allow' || s.Condition || !resourcesOf(s).includes('*')) continue;
        for (const a of actionsOf(s)) expect(ONLY_ON_STAR(a), `${role} ${s.Sid}: ${a} on * without a condition`).toBe(true);
      }
    }
  });

  it('changes to existing EC2 and ELB resources need the cluster tag; creating a load balancer needs it in the request', () => {
    const tag = 'kubernetes.io/cluster/demo-dev';
    const grants = (action: string) => master.filter((s) => s.Effect === 'Allow' && actionsOf(s).includes(action));
    for (const a of [
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:DeleteSecurityGroup',
      'ec2:ModifyInstanceAttribute',
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:RegisterInstancesWithLoadBalancer',
      'elasticloadbalancing:ModifyTargetGroup',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
    ]) {
      expect(grants(a).length, a).toBeGreaterThan(0);
      for (const s of grants(a)) expect(s.Condition?.StringEquals?.[`aws:ResourceTag/${tag}`], `${a} in ${s.Sid}`).toBe('owned');
    }
    for (const a of ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup'])
      for (const s of grants(a)) expect(s.Condition?.StringEquals?.[`aws:RequestTag/${tag}`], a).toBe('owned');
    // the EBS CSI driver deletes only volumes and snapshots it made (its tags)
    for (const s of grants('ec2:DeleteVolume'))
      expect(JSON.stringify(s.Condition)).toMatch(/ebs\.csi\.aws\.com\/cluster|CSIVolumeName|created-for\/pvc\/name/);
    for (const s of grants('ec2:DeleteSnapshot'))
      expect(JSON.stringify(s.Condition)).toMatch(/ebs\.csi\.aws\.com\/cluster|CSIVolumeSnapshotName/);
    // attaching volumes: only to the cluster's instances
    expect(
      grants('ec2:AttachVolume')
        .filter((s) => resourcesOf(s).some((r) => String(r).includes(':instance/')))
        .every((s) => s.Condition?.StringEquals?.[`aws:ResourceTag/${tag}`] === 'owned'),
    ).toBe(true);
    // the ARNs name this cluster's region and account, not any
    for (const s of master)
      for (const r of resourcesOf(s))
        if (typeof r === 'string' && r.startsWith('arn:aws:ec2:')) expect(r).toMatch(/^arn:aws:ec2:us-east-1:123456789012:/);
  });

  it("each role policy fits IAM's 10,240-character limit for inline policies", () => {
    for (const [role, statements] of Object.entries(policies))
      expect(JSON.stringify({ Version: '2012-10-17', Statement: statements }).replace(/\s/g, '').length, role).toBeLessThan(10240);
  });
});
