/**
 * Issue 23 #7: turning IRSA on and then off for a running cluster never leaves an add-on (EBS CSI,
 * cluster-autoscaler) without its permissions. The old grant goes only once every master runs a
 * launch template version rendered with the new setting — a fact read from AWS (the version each
 * master instance was launched from, the setting recorded on the template). Against moto through
 * the real CLI; moto has no instance refresh, so `rollout` is played by terminating the master's
 * instance in its group: the group launches a new one from the version it launches now.
 * At each step: the master role's policy and the IRSA roles read back, and plan's word on the step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetRolePolicyCommand, IAMClient, ListOpenIDConnectProvidersCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';

const REGION = 'us-west-2';
const ID = 'sw-qa';
const ASG = `${ID}-master`;

const spec = (irsa: boolean) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: sw, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
${irsa ? '  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n' : ''}`;

interface PlanOut {
  summary: { create: number; update: number; delete: number; refuse: number };
  changes: Array<{ key: string; action: string }>;
  irsaSwitch?: { irsa: boolean; step: string; text: string };
  calls: { mutating: number };
}

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('turning IRSA on and off for a running cluster: no add-on is ever without its permissions', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let iam: IAMClient;
  let asg: AutoScalingClient;
  let ec2: EC2Client;

  /**
   * The master role's add-on statements: the EBS CSI and cluster-autoscaler ones, found by what they
   * grant (the master's document carries no Sids: IAM's 10,240 characters).
   */
  const masterAddonSids = async () => {
    const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: `${ID}-master`, PolicyName: 'kubeaz-master' }))).PolicyDocument!;
    const sts = (JSON.parse(decodeURIComponent(doc)) as { Statement: Array<{ Action: string | string[] }> }).Statement;
    const granting = (re: RegExp) => sts.filter((s) => [s.Action].flat().some((a) => re.test(a))).length;
    return {
      // the CSI driver's own volume and snapshot changes (the cloud controller makes neither)
      csi: granting(/^ec2:(CreateVolume|DeleteVolume|AttachVolume|CreateSnapshot|DeleteSnapshot)$/),
      autoscaler: granting(/^autoscaling:(SetDesiredCapacity|TerminateInstanceInAutoScalingGroup)$/),
      all: sts.map((s) => JSON.stringify(s)),
    };
  };
  const irsaRoles = async () =>
    ((await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? [])
      .map((r) => r.RoleName!)
      .filter((n) => n.includes('-irsa-'))
      .sort();
  const providers = async () =>
    ((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? []).map((p) => p.Arn!);
  const irsaTag = async () => {
    const lt = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [`${ID}-master`] }))).LaunchTemplates![0]!;
    return lt.Tags?.find((t) => t.Key === 'kubeaz:irsa')?.Value;
  };
  const masterGroup = async () =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [ASG] }))).AutoScalingGroups![0]!;
  /** `kubeaz rollout` played on moto (no instance refresh there): the master replaced from the version its group launches. */
  const rollout = async () => {
    const g = await masterGroup();
    for (const i of g.Instances ?? [])
      await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: i.InstanceId!, ShouldDecrementDesiredCapacity: false }));
    const after = await masterGroup();
    const want = after.LaunchTemplate!.Version!;
    expect(after.Instances!.map((i) => i.LaunchTemplate?.Version)).toEqual([want]);
  };
  const plan = async () => {
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.code, text.stderr).toBe(0);
    const json = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const p = json.json<PlanOut>();
    expect(p.calls.mutating).toBe(0);
    return { text: text.stdout, p };
  };
  const create = async (...extra: string[]) => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json', ...extra], env);
    expect(r.code, r.stderr).toBe(0);
    return r.json<{ calls: { mutating: number }; actions: Array<{ key: string; action: string }>; plan: PlanOut | null }>();
  };

  beforeAll(async () => {
    env = moto.env;
    iam = new IAMClient({ region: 'us-east-1' });
    asg = new AutoScalingClient({ region: REGION });
    ec2 = new EC2Client({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-irsa-switch-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec(false));
    await create();
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('without IRSA: the master role holds the add-on statements; the template records IRSA off since version 1', async () => {
    const s = await masterAddonSids();
    expect(s.csi).toBeGreaterThan(0);
    expect(s.autoscaler).toBeGreaterThan(0);
    expect(await irsaTag()).toBe('off@1');
    expect(await irsaRoles()).toEqual([]);
  }, 60_000);

  it('on, step 1: plan says so; create makes the roles and provider and KEEPS the add-on statements on the master role', async () => {
    await writeFile(file, spec(true));
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('apply');
    expect(text).toContain(
      "IRSA switch (on): step 1/2 — this create renders the masters' launch template with IRSA on; the master's role keeps the EBS CSI, cluster-autoscaler and termination handler statements until every master runs that version (kubeaz rollout)",
    );
    expect(p.changes.find((c) => c.key === 'role/master')).toBeUndefined();
    const before = await masterAddonSids();
    const out = await create();
    expect(out.actions.find((a) => a.key === 'role/master')?.action).toBe('unchanged');
    expect(await irsaRoles()).toEqual([`${ID}-irsa-cluster-autoscaler`, `${ID}-irsa-ebs-csi`, `${ID}-irsa-nth`]);
    expect(await providers()).toHaveLength(1);
    expect(await masterAddonSids()).toEqual(before);
    expect(await irsaTag()).toBe('on@2');
    // the running master still runs version 1 (rendered without IRSA)
    expect((await masterGroup()).Instances!.map((i) => i.LaunchTemplate?.Version)).toEqual(['1']);
  }, 240_000);

  it('on, between the steps: plan names the version every master must run; create changes nothing', async () => {
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('rollout');
    expect(text).toContain(
      "IRSA switch (on): step 1/2 done — the master's role keeps the EBS CSI, cluster-autoscaler and termination handler statements until every master runs the version rendered with IRSA on: master on version 2 (runs 1) (kubeaz rollout); then create removes them from the master's role",
    );
    expect(p.changes).toEqual([]);
    const out = await create();
    expect(out.calls.mutating).toBe(0);
    expect((await masterAddonSids()).csi).toBeGreaterThan(0);
  }, 240_000);

  it('on, step 2: after rollout, plan says step 2/2 and create removes the add-on statements from the master role', async () => {
    await rollout();
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('finish');
    expect(text).toContain(
      "IRSA switch (on): step 2/2 — every master runs a launch template version rendered with IRSA on: the EBS CSI, cluster-autoscaler and termination handler statements leave the master's role",
    );
    expect(p.changes.map((c) => `${c.action} ${c.key}`)).toEqual(['update role/master']);
    await create();
    const s = await masterAddonSids();
    expect(s.csi).toBe(0);
    expect(s.autoscaler).toBe(0);
    // the cloud controller's own changes stay
    expect(s.all.some((x) => x.includes('"ec2:AuthorizeSecurityGroupIngress"'))).toBe(true);
    const again = await plan();
    expect(again.p.irsaSwitch).toBeUndefined();
    expect(again.p.changes).toEqual([]);
  }, 240_000);

  it('off, step 1: create puts the add-on statements back and KEEPS the IRSA roles, their trust and the provider', async () => {
    await writeFile(file, spec(false));
    const trustBefore = ((await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? [])
      .filter((r) => r.RoleName!.includes('-irsa-'))
      .map((r) => r.AssumeRolePolicyDocument);
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('apply');
    expect(text).toContain(
      "IRSA switch (off): step 1/2 — this create renders the masters' launch template with IRSA off; the IRSA roles, OIDC provider and discovery documents stay (the add-ons still use them) until every master runs that version (kubeaz rollout)",
    );
    expect(p.summary.delete).toBe(0);
    expect(p.changes.find((c) => c.key === 'role/master')?.action).toBe('update');
    await create();
    const s = await masterAddonSids();
    expect(s.csi).toBeGreaterThan(0);
    expect(s.autoscaler).toBeGreaterThan(0);
    expect(await irsaRoles()).toEqual([`${ID}-irsa-cluster-autoscaler`, `${ID}-irsa-ebs-csi`, `${ID}-irsa-nth`]);
    const trustAfter = ((await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? [])
      .filter((r) => r.RoleName!.includes('-irsa-'))
      .map((r) => r.AssumeRolePolicyDocument);
    expect(trustAfter).toEqual(trustBefore);
    expect(await providers()).toHaveLength(1);
    expect(await irsaTag()).toBe('off@3');
  }, 240_000);

  it('off, between the steps: plan names the version; create changes nothing', async () => {
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('rollout');
    expect(text).toContain('master on version 3 (runs 2)');
    expect(p.changes).toEqual([]);
    expect((await create()).calls.mutating).toBe(0);
    expect(await irsaRoles()).toHaveLength(3);
  }, 240_000);

  it('off, step 2: after rollout, create --allow-delete deletes the IRSA roles, provider and discovery bucket; a re-run changes nothing', async () => {
    await rollout();
    const { text, p } = await plan();
    expect(p.irsaSwitch?.step).toBe('finish');
    expect(text).toContain('IRSA switch (off): step 2/2');
    for (const k of ['oidc-provider', 'role/irsa-ebs-csi', 'role/irsa-cluster-autoscaler', 'role/irsa-nth', 'bucket/discovery'])
      expect(p.changes.find((c) => c.key === k)?.action, k).toBe('delete');
    await create('--allow-delete');
    expect(await irsaRoles()).toEqual([]);
    expect(await providers()).toEqual([]);
    expect((await masterAddonSids()).csi).toBeGreaterThan(0);
    const noop = await create();
    expect(noop.calls.mutating).toBe(0);
    expect(noop.actions.filter((a) => a.action !== 'unchanged')).toEqual([]);
  }, 240_000);

  it('destroy leaves nothing', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const inv = await inventory(REGION);
    expect(inv.oidcProviders).toEqual([]);
    expect(inv.buckets).toEqual([]);
    expect(inv.roles).toEqual([]);
    expect(inv.autoScalingGroups ?? []).toEqual([]);
  }, 240_000);
});
