/**
 * End to end against moto: security groups and their rules, launch templates, auto scaling groups.
 */
import { describe, expect, it } from 'vitest';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeTagsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { CLUSTER, node } from '../helpers/nodes.js';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { RecordingProgress } from '../../src/engine/progress.js';
import { vpc } from '../../src/resources/vpc.js';
import { subnet } from '../../src/resources/subnet.js';
import { securityGroup } from '../../src/resources/security-group.js';
import { securityGroupRules } from '../../src/resources/security-group-rules.js';
import { DATA_HASH_TAG, launchTemplate } from '../../src/resources/launch-template.js';
import { autoScalingGroup } from '../../src/resources/auto-scaling-group.js';
import type { Actual, ResolvedNode } from '../../src/resources/types.js';
import { GROUP_TAG, KEY_TAG, OWNER_TAG, type Tags } from '../../src/model/types.js';

useMoto({ processEnv: { KUBEAZ_POLL_SECONDS: '0.2' } });

const progress = new RecordingProgress();
const ctx = createRunContext({
  clusterId: CLUSTER,
  region: 'us-east-1',
  accountId: '123456789012',
  generation: 'g1',
  aws: new AwsClients({ region: 'us-east-1' }),
  progress,
  zoneDomains: ['dev.kube', 'example.com'],
});

const byKey = <A extends Actual>(actuals: A[], key: string) => actuals.find((a) => a.key === key);
const ec2 = () => ctx.aws.ec2();
const asgClient = () => ctx.aws.autoscaling();

/** A fresh observe pass (the memo lives for one pass). */
async function observe<A extends Actual>(h: { observe: (c: typeof ctx) => Promise<A[]> }): Promise<A[]> {
  ctx.resetMemo();
  return h.observe(ctx);
}

/**
 * moto answers DescribeLaunchTemplates with the tags a template had at its creation (AWS: its
 * current tags), so the data hash re-tagged by an update stays invisible there. The live tags
 * (DescribeTags) stand in for them; on AWS both agree.
 */
async function observeLt(): ReturnType<typeof launchTemplate.observe> {
  const seen = await observe(launchTemplate);
  const live = await (await ec2()).send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: [DATA_HASH_TAG] }] }));
  for (const a of seen) {
    const t = live.Tags?.find((x) => x.ResourceId === a.id);
    if (t?.Value && t.Value !== a.tags[DATA_HASH_TAG]) {
      a.tags[DATA_HASH_TAG] = t.Value;
      (a.observed as { hash: string }).hash = t.Value;
    }
  }
  return seen;
}

// shared state of the sequential steps
let vpcId = '';
const subnetIds: string[] = [];
const zones = ['us-east-1a', 'us-east-1b'];
let profileArn = '';
let imageId = '';
let masterId = '';
let nodeId = '';

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('compute resources against moto', { shuffle: false }, () => {
  it('prerequisites: VPC, two subnets, an instance profile, an image', async () => {
    const v = await vpc.create(ctx, node('vpc', 'vpc', { cidr: '10.0.0.0/16', tenancy: 'default' }));
    vpcId = v.id;
    for (const [i, zone] of zones.entries()) {
      const s = await subnet.create(
        ctx,
        node('subnet', `subnet/private/${zone}`, { vpcId, cidr: `10.0.${i}.0/24`, zone, tier: 'private' }),
      );
      subnetIds.push(s.id);
    }
    const iam = await ctx.aws.iam();
    const assume = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    await iam.send(new CreateRoleCommand({ RoleName: `${CLUSTER}-node`, Path: `/kubeaz/${CLUSTER}/`, AssumeRolePolicyDocument: assume }));
    const p = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: `${CLUSTER}-node`, Path: `/kubeaz/${CLUSTER}/` }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: `${CLUSTER}-node`, RoleName: `${CLUSTER}-node` }));
    profileArn = p.InstanceProfile!.Arn!;
    const images = await (
      await ec2()
    ).send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: ['x86_64'] }] }));
    imageId = images.Images?.[0]?.ImageId ?? '';
    expect(imageId).toMatch(/^ami-/);
  });

  // ── security groups ────────────────────────────────────────────────────────────────────────
  const sgNode = (key: string, suffix: string) =>
    node(
      'security-group',
      key,
      { vpcId, groupName: `${CLUSTER}-${suffix}`, description: `kubeaz ${CLUSTER}: ${suffix}` },
      { tags: { [`kubernetes.io/cluster/${CLUSTER}`]: 'owned' } },
    );

  it('security groups: create, observe, diff [], tag drift repaired, no-op recreate check', async () => {
    const m = await securityGroup.create(ctx, sgNode('sg/master', 'master'));
    const n = await securityGroup.create(ctx, sgNode('sg/node', 'node'));
    masterId = m.id;
    nodeId = n.id;
    const seen = await observe(securityGroup);
    expect(seen.map((a) => a.key).sort()).toEqual(['sg/master', 'sg/node']);
    expect(byKey(seen, 'sg/master')!.id).toBe(masterId);
    for (const a of seen) expect(securityGroup.diff(sgNode(a.key, a.key === 'sg/master' ? 'master' : 'node'), a)).toEqual([]);

    // drift: a hand-changed Name tag
    await (await ec2()).send(new CreateTagsCommand({ Resources: [nodeId], Tags: [{ Key: 'Name', Value: 'hand-made' }] }));
    const drifted = byKey(await observe(securityGroup), 'sg/node')!;
    const changes = securityGroup.diff(sgNode('sg/node', 'node'), drifted);
    expect(changes).toEqual([{ field: 'tags', from: { Name: 'hand-made' }, to: { Name: `${CLUSTER}-sg-node` }, inPlace: true }]);
    await securityGroup.update!(ctx, sgNode('sg/node', 'node'), drifted, changes);
    expect(securityGroup.diff(sgNode('sg/node', 'node'), byKey(await observe(securityGroup), 'sg/node')!)).toEqual([]);

    // a changed description cannot be applied in place
    const other = { ...sgNode('sg/node', 'node'), props: { ...sgNode('sg/node', 'node').props, description: 'other' } };
    expect(securityGroup.diff(other, drifted).find((c) => c.field === 'description')?.inPlace).toBe(false);
  });

  const masterRules = () =>
    node('security-group-rules', 'sg/master/rules', {
      groupId: masterId,
      ingress: [
        { protocol: 'tcp', fromPort: 6443, toPort: 6443, sourceGroup: nodeId, description: 'API from nodes' },
        { protocol: 'tcp', fromPort: 2379, toPort: 2380, sourceGroup: masterId, description: 'etcd from master' },
        { protocol: 'icmp', fromPort: 8, toPort: 0, sourceGroup: nodeId, description: 'ping from nodes' },
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '10.0.0.0/16', description: 'API from the VPC' },
      ],
    });
  const nodeRules = () =>
    node('security-group-rules', 'sg/node/rules', {
      groupId: nodeId,
      ingress: [
        { protocol: 'udp', fromPort: 8472, toPort: 8472, sourceGroup: masterId, description: 'VXLAN from master' },
        { protocol: 'udp', fromPort: 8472, toPort: 8472, sourceGroup: nodeId, description: 'VXLAN from nodes' },
        { protocol: 'tcp', fromPort: 10250, toPort: 10250, sourceGroup: masterId, description: 'kubelet from master' },
        { protocol: '-1', fromPort: 0, toPort: 0, cidr: '10.0.5.0/24', description: 'everything from a trusted subnet' },
      ],
    });

  it('security group rules: cross references, observed back equal, shared describe', async () => {
    const mr = await securityGroupRules.create(ctx, masterRules());
    const nr = await securityGroupRules.create(ctx, nodeRules());
    expect(securityGroupRules.diff(masterRules(), mr)).toEqual([]);
    expect(securityGroupRules.diff(nodeRules(), nr)).toEqual([]);

    // one observe pass of both kinds: ONE DescribeSecurityGroups call
    ctx.resetMemo();
    const before = ctx.aws.counter.byAction()['ec2:DescribeSecurityGroups'] ?? 0;
    const [groups, rules] = await Promise.all([securityGroup.observe(ctx), securityGroupRules.observe(ctx)]);
    expect((ctx.aws.counter.byAction()['ec2:DescribeSecurityGroups'] ?? 0) - before).toBe(1);
    expect(groups).toHaveLength(2);
    expect(rules.map((a) => a.key).sort()).toEqual(['sg/master/rules', 'sg/node/rules']);
    expect(byKey(rules, 'sg/master/rules')!.id).toBe(masterId);
    expect(securityGroupRules.diff(masterRules(), byKey(rules, 'sg/master/rules')!)).toEqual([]);
    expect(securityGroupRules.diff(nodeRules(), byKey(rules, 'sg/node/rules')!)).toEqual([]);
    // the default egress rule stays
    const g = await (await ec2()).send(new DescribeSecurityGroupsCommand({ GroupIds: [nodeId] }));
    expect(
      g.SecurityGroups![0]!.IpPermissionsEgress?.some((p) => p.IpProtocol === '-1' && p.IpRanges?.some((r) => r.CidrIp === '0.0.0.0/0')),
    ).toBe(true);

    // a second create of the same rules is tolerated (InvalidPermission.Duplicate)
    await securityGroupRules.create(ctx, masterRules());
    expect(securityGroupRules.diff(masterRules(), byKey(await observe(securityGroupRules), 'sg/master/rules')!)).toEqual([]);
  });

  it('security group rules: a hand-added rule is detected and revoked; a missing one re-added', async () => {
    await (
      await ec2()
    ).send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: nodeId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const drifted = byKey(await observe(securityGroupRules), 'sg/node/rules')!;
    const changes = securityGroupRules.diff(nodeRules(), drifted);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ field: 'ingress', inPlace: true });

    // desired also gains a rule: update revokes the extra and authorizes the missing
    const wanted = nodeRules();
    wanted.props.ingress.push({ protocol: 'tcp', fromPort: 4240, toPort: 4240, sourceGroup: masterId, description: 'health from master' });
    await securityGroupRules.update!(ctx, wanted, drifted, securityGroupRules.diff(wanted, drifted));
    const after = byKey(await observe(securityGroupRules), 'sg/node/rules')!;
    expect(securityGroupRules.diff(wanted, after)).toEqual([]);
    expect(JSON.stringify(after.observed)).not.toContain('"fromPort":22');
    // back to the plain desired set
    await securityGroupRules.update!(ctx, nodeRules(), after, securityGroupRules.diff(nodeRules(), after));
    expect(securityGroupRules.diff(nodeRules(), byKey(await observe(securityGroupRules), 'sg/node/rules')!)).toEqual([]);
  });

  // ── launch templates ───────────────────────────────────────────────────────────────────────
  const instanceTags: Tags = { Name: `${CLUSTER}-nodes`, [OWNER_TAG]: CLUSTER, [GROUP_TAG]: 'nodes', team: 'platform' };
  const ltNode = (over: Partial<ResolvedNode<'launch-template'>['props']> = {}, key = 'lt/nodes') =>
    node('launch-template', key, {
      name: `${CLUSTER}-${key.split('/')[1]}`,
      imageId,
      instanceType: 't3.medium',
      instanceProfileArn: profileArn,
      securityGroupIds: [nodeId],
      associatePublicIp: false,
      volumeSize: 50,
      hopLimit: 1,
      userData: '#!/bin/bash\necho hello\n',
      instanceTags,
      ...over,
    });
  let ltId = '';
  let ltVersion = '';

  it('launch template: create, data read back, observe, diff [], changed prop → new default version', async () => {
    const a = await launchTemplate.create(ctx, ltNode());
    ltId = a.id;
    expect(a.attrs).toEqual({ name: `${CLUSTER}-nodes`, version: '1' });
    const pub = await launchTemplate.create(ctx, ltNode({ associatePublicIp: true }, 'lt/edge'));

    const client = await ec2();
    const v = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: ltId, Versions: ['$Default'] }));
    const data = v.LaunchTemplateVersions![0]!.LaunchTemplateData!;
    expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' });
    expect(data.BlockDeviceMappings![0]).toMatchObject({
      DeviceName: '/dev/xvda',
      Ebs: { VolumeSize: 50, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
    });
    expect(data.IamInstanceProfile?.Arn).toBe(profileArn);
    expect(data.SecurityGroupIds).toEqual([nodeId]);
    expect(Buffer.from(data.UserData!, 'base64').toString()).toContain('echo hello');
    // volumes AND network interfaces are tagged at launch with the cluster's tags (moto copies
    // neither onto what it launches, so the template is what is checked). moto also lists the
    // template's own 'launch-template' tags among the data's TagSpecifications (AWS does not).
    const launchTags = (data.TagSpecifications ?? []).filter((t) => t.ResourceType !== 'launch-template');
    const tagsOf = (type: string) =>
      Object.fromEntries(launchTags.find((t) => t.ResourceType === type)?.Tags?.map((t) => [t.Key, t.Value]) ?? []);
    expect(launchTags.map((t) => t.ResourceType).sort()).toEqual(['network-interface', 'volume']);
    expect(tagsOf('network-interface')).toEqual(instanceTags);
    expect(tagsOf('volume')).toEqual(instanceTags);
    const pv = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: pub.id, Versions: ['$Default'] }));
    expect(pv.LaunchTemplateVersions![0]!.LaunchTemplateData!.NetworkInterfaces![0]).toMatchObject({
      DeviceIndex: 0,
      AssociatePublicIpAddress: true,
      Groups: [nodeId],
    });

    // observe: one call however many templates
    ctx.resetMemo();
    const before = ctx.aws.counter.total;
    const seen = await launchTemplate.observe(ctx);
    expect(ctx.aws.counter.total - before).toBe(1);
    expect(seen.map((x) => x.key).sort()).toEqual(['lt/edge', 'lt/nodes']);
    const nodes = byKey(seen, 'lt/nodes')!;
    expect(nodes.id).toBe(ltId);
    expect(nodes.attrs).toEqual({ name: `${CLUSTER}-nodes`, version: '1' });
    expect(launchTemplate.diff(ltNode(), nodes)).toEqual([]);

    // a changed prop → new version, the default
    const bigger = ltNode({ volumeSize: 80 });
    const changes = launchTemplate.diff(bigger, nodes);
    expect(changes.map((c) => [c.field, c.inPlace])).toEqual([['launchTemplateData', true]]);
    const updated = await launchTemplate.update!(ctx, bigger, nodes, changes);
    expect(updated.attrs.version).toBe('2');
    const d = await client.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [ltId] }));
    expect(d.LaunchTemplates![0]!.DefaultVersionNumber).toBe(2);
    const v2 = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: ltId, Versions: ['$Default'] }));
    expect(v2.LaunchTemplateVersions![0]!.LaunchTemplateData!.BlockDeviceMappings![0]!.Ebs!.VolumeSize).toBe(80);
    const again = byKey(await observeLt(), 'lt/nodes')!;
    expect(again.attrs.version).toBe('2');
    expect(launchTemplate.diff(bigger, again)).toEqual([]);
    expect(launchTemplate.diff(ltNode(), again).map((c) => c.field)).toEqual(['launchTemplateData']);
    ltVersion = again.attrs.version!;

    // the edge template is not needed further
    await launchTemplate.delete(ctx, byKey(seen, 'lt/edge')!);
    expect((await observe(launchTemplate)).map((x) => x.key)).toEqual(['lt/nodes']);
  });

  // ── auto scaling groups ────────────────────────────────────────────────────────────────────
  const asgNode = (over: Partial<ResolvedNode<'auto-scaling-group'>['props']> = {}) =>
    node(
      'auto-scaling-group',
      'asg/nodes',
      {
        name: `${CLUSTER}-nodes`,
        launchTemplateId: ltId,
        // moto cannot launch from a version made by CreateLaunchTemplateVersion with user data (an
        // assertion on the user data's type answers 500); AWS can. The groups here use version 1.
        launchTemplateVersion: '1',
        subnetIds: [...subnetIds],
        minSize: 1,
        maxSize: 3,
        desiredCapacity: 2,
        loadBalancerNames: [],
        healthCheckGracePeriod: 300,
        instanceTags,
        ...over,
      },
      { tags: { [GROUP_TAG]: 'nodes' } },
    );
  let instanceIds: string[] = [];

  it('auto scaling group: create waits for 2 in service, tags propagate, diff []', async () => {
    const a = await autoScalingGroup.create(ctx, asgNode());
    expect(a.id).toBe(`${CLUSTER}-nodes`);
    expect(a.attrs).toEqual({ name: `${CLUSTER}-nodes` });
    expect(progress.events.some((e) => e.type === 'wait' && e.what === 'instances to be in service')).toBe(true);

    const seen = await observe(autoScalingGroup);
    expect(seen.map((x) => x.key)).toEqual(['asg/nodes']);
    const o = seen[0]!.observed as {
      instances: Array<{ id: string; lifecycleState: string; zone: string }>;
      subnetIds: string[];
      desired: number;
    };
    expect(o.instances.filter((i) => i.lifecycleState === 'InService')).toHaveLength(2);
    expect(o.subnetIds).toEqual([...subnetIds].sort());
    // AWS balances the zones; moto places every instance in some zone of the group
    for (const i of o.instances) expect(zones).toContain(i.zone);
    instanceIds = o.instances.map((i) => i.id);
    expect(autoScalingGroup.diff(asgNode(), seen[0]!)).toEqual([]);

    const r = await (await ec2()).send(new DescribeInstancesCommand({ InstanceIds: instanceIds }));
    for (const inst of r.Reservations!.flatMap((x) => x.Instances ?? [])) {
      const t = Object.fromEntries((inst.Tags ?? []).map((x) => [x.Key, x.Value]));
      expect(t).toMatchObject({ team: 'platform', [OWNER_TAG]: CLUSTER, [GROUP_TAG]: 'nodes', Name: `${CLUSTER}-asg-nodes` });
      expect(t[KEY_TAG]).toBeUndefined();
    }
    const [h] = await autoScalingGroup.health!(ctx, seen);
    expect(h).toMatchObject({ key: 'asg/nodes', ok: true, summary: '2/2 in service' });
  });

  it('auto scaling group: min/max drift repaired; desired within range is no drift; outside is', async () => {
    const asg = await asgClient();
    const name = `${CLUSTER}-nodes`;
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: 0, MaxSize: 5 }));
    let a = (await observe(autoScalingGroup))[0]!;
    let changes = autoScalingGroup.diff(asgNode(), a);
    expect(changes.map((c) => c.field).sort()).toEqual(['maxSize', 'minSize']);
    await autoScalingGroup.update!(ctx, asgNode(), a, changes);
    a = (await observe(autoScalingGroup))[0]!;
    expect(autoScalingGroup.diff(asgNode(), a)).toEqual([]);
    expect(a.observed).toMatchObject({ min: 1, max: 3, desired: 2 });

    // the autoscaler moved desired within [min, max]: not drift
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: 3 }));
    a = (await observe(autoScalingGroup))[0]!;
    expect((a.observed as { desired: number }).desired).toBe(3);
    expect(autoScalingGroup.diff(asgNode(), a)).toEqual([]);

    // outside the range (max lowered by hand): desired is reported and repaired
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MaxSize: 6, DesiredCapacity: 6 }));
    a = (await observe(autoScalingGroup))[0]!;
    changes = autoScalingGroup.diff(asgNode(), a);
    expect(changes.map((c) => c.field).sort()).toEqual(['desiredCapacity', 'maxSize']);
    await autoScalingGroup.update!(ctx, asgNode(), a, changes);
    a = (await observe(autoScalingGroup))[0]!;
    expect(a.observed).toMatchObject({ min: 1, max: 3, desired: 2 });
    expect(autoScalingGroup.diff(asgNode(), a)).toEqual([]);

    // a new launch template version and a changed tag are applied in place
    const drift = autoScalingGroup.diff(asgNode({ launchTemplateVersion: ltVersion, instanceTags: { ...instanceTags, team: 'infra' } }), a);
    expect(drift.map((c) => c.field).sort()).toEqual(['launchTemplateVersion', 'tags']);
    await autoScalingGroup.update!(
      ctx,
      asgNode({ launchTemplateVersion: ltVersion, instanceTags: { ...instanceTags, team: 'infra' } }),
      a,
      drift,
    );
    a = (await observe(autoScalingGroup))[0]!;
    expect(
      autoScalingGroup.diff(asgNode({ launchTemplateVersion: ltVersion, instanceTags: { ...instanceTags, team: 'infra' } }), a),
    ).toEqual([]);
    await autoScalingGroup.update!(ctx, asgNode(), a, autoScalingGroup.diff(asgNode(), a));
    expect(autoScalingGroup.diff(asgNode(), (await observe(autoScalingGroup))[0]!)).toEqual([]);
    const g = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
    instanceIds = [...new Set([...instanceIds, ...(g.AutoScalingGroups![0]!.Instances ?? []).map((i) => i.InstanceId!)])];
  });

  it('a second observe/diff pass of every kind makes zero mutating calls', async () => {
    const before = ctx.aws.counter.mutating;
    const lts = await observeLt();
    ctx.resetMemo();
    const [groups, rules, asgs] = await Promise.all([
      securityGroup.observe(ctx),
      securityGroupRules.observe(ctx),
      autoScalingGroup.observe(ctx),
    ]);
    expect(securityGroup.diff(sgNode('sg/master', 'master'), byKey(groups, 'sg/master')!)).toEqual([]);
    expect(securityGroup.diff(sgNode('sg/node', 'node'), byKey(groups, 'sg/node')!)).toEqual([]);
    expect(securityGroupRules.diff(masterRules(), byKey(rules, 'sg/master/rules')!)).toEqual([]);
    expect(securityGroupRules.diff(nodeRules(), byKey(rules, 'sg/node/rules')!)).toEqual([]);
    expect(launchTemplate.diff(ltNode({ volumeSize: 80 }), byKey(lts, 'lt/nodes')!)).toEqual([]);
    expect(autoScalingGroup.diff(asgNode(), byKey(asgs, 'asg/nodes')!)).toEqual([]);
    expect(ctx.aws.counter.mutating).toBe(before);
  });

  it('delete: the group waits for its instances to terminate; templates, rules, then cross-referenced groups go', async () => {
    const asgs = await observe(autoScalingGroup);
    await autoScalingGroup.delete(ctx, asgs[0]!);
    const r = await (await ec2()).send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: instanceIds }] }));
    for (const inst of r.Reservations!.flatMap((x) => x.Instances ?? [])) expect(inst.State?.Name).toBe('terminated');
    expect(await observe(autoScalingGroup)).toEqual([]);
    await autoScalingGroup.delete(ctx, asgs[0]!);

    const lts = await observe(launchTemplate);
    for (const lt of lts) await launchTemplate.delete(ctx, lt);
    expect(await observe(launchTemplate)).toEqual([]);
    for (const lt of lts) await launchTemplate.delete(ctx, lt);

    const rules = await observe(securityGroupRules);
    for (const x of rules) await securityGroupRules.delete(ctx, x);
    const bare = await observe(securityGroupRules);
    expect(bare.map((x) => x.observed)).toEqual([[], []]);
    const groups = await observe(securityGroup);
    for (const x of groups) await securityGroup.delete(ctx, x);
    expect(await observe(securityGroup)).toEqual([]);
    expect(await observe(securityGroupRules)).toEqual([]);
    for (const x of groups) await securityGroup.delete(ctx, x);
    for (const x of rules) await securityGroupRules.delete(ctx, x);
  });
});
