/**
 * Other people's things, end to end through the real CLI on the example spec with its commented
 * publicDomain (example.com) and publicRecord (lb) lines switched on (5 needs a public zone):
 *   9. what Kubernetes made (Service load balancers — classic and NLB — with their security group,
 *      the rule the cloud provider adds on our nodes' group, a target group, a detached interface)
 *      is removed by destroy before the VPC; a foreign interface (no tags) in one of our subnets is
 *      NOT deleted: destroy stops with one clear error naming it and what it blocks;
 *   5. foreign look-alikes planted before create (a VPC tagged Name=<cluster id> without our tag, a
 *      security group named like ours in another VPC, a bucket and an IAM role whose names contain
 *      the cluster id, a public hosted zone for publicDomain with a record of its own): create adopts
 *      none of them but uses the public zone; destroy leaves every one standing (the zone without
 *      our records).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateLoadBalancerCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  CreateLoadBalancerCommand as CreateV2LoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand as DescribeV2LoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { CreateBucketCommand, GetBucketTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { addedCounts, removedItems, report, startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';
import { examplePublicDomain } from '../helpers/example.js';

const ID = 'demo-dev';
const K8S = { Key: `kubernetes.io/cluster/${ID}`, Value: 'owned' };
const tagOf = (tags: Array<{ Key?: string; Value?: string }> | undefined, k: string) => tags?.find((t) => t.Key === k)?.Value;

describe("other people's things", () => {
  let w: FaultWorld;
  let baseline: Inventory;
  let clean: Record<string, number>;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingClient;
  let elbv2: ElasticLoadBalancingV2Client;
  let iam: IAMClient;
  let r53: Route53Client;
  let s3: S3Client;
  const run = (cmd: string, env: Record<string, string> = {}) => kubeaz([cmd, '-f', w.file, '--yes'], { ...w.env, ...env });

  const ours = async () => {
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).Subnets ?? [];
    const key = (k: string) => subnets.find((s) => tagOf(s.Tags, 'kubeaz:key') === k)!;
    const groups =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).SecurityGroups ?? [];
    return {
      vpcId: subnets[0]!.VpcId!,
      publicSubnets: ['a', 'b', 'c'].map((z) => key(`subnet/public/us-east-1${z}`).SubnetId!),
      privateA: key('subnet/private/us-east-1a').SubnetId!,
      nodeGroup: groups.find((g) => tagOf(g.Tags, 'kubeaz:key') === 'sg/node')!.GroupId!,
    };
  };

  beforeAll(async () => {
    w = await startFaultWorld({ text: examplePublicDomain() });
    baseline = await w.reset();
    ec2 = new EC2Client({ region: 'us-east-1' });
    elb = new ElasticLoadBalancingClient({ region: 'us-east-1' });
    elbv2 = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
    iam = new IAMClient({ region: 'us-east-1' });
    r53 = new Route53Client({ region: 'us-east-1' });
    s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('what Kubernetes made in our VPC goes before the VPC', async () => {
    const c = await run('create');
    expect(c.code, c.stderr).toBe(0);
    clean = addedCounts(await inventory(), baseline);
    const o = await ours();
    // as the AWS cloud provider does for a Service of type LoadBalancer …
    const sg = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'k8s-elb-a1b2c3d4',
        Description: 'Security group for Kubernetes ELB a1b2c3d4 (default/web)',
        VpcId: o.vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [K8S] }],
      }),
    );
    await elb.send(
      new CreateLoadBalancerCommand({
        LoadBalancerName: 'a1b2c3d4',
        Listeners: [{ Protocol: 'TCP', LoadBalancerPort: 80, InstanceProtocol: 'TCP', InstancePort: 30080 }],
        Subnets: o.publicSubnets,
        SecurityGroups: [sg.GroupId!],
        Tags: [K8S, { Key: 'kubernetes.io/service-name', Value: 'default/web' }],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: o.nodeGroup,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 30080,
            ToPort: 30080,
            UserIdGroupPairs: [{ GroupId: sg.GroupId!, Description: 'kubernetes.io/rule/nlb/client=a1b2c3d4' }],
          },
        ],
      }),
    );
    // … for an NLB Service, and a network interface it left behind
    await elbv2.send(
      new CreateV2LoadBalancerCommand({
        Name: 'k8s-default-api-e5f6',
        Type: 'network',
        Scheme: 'internet-facing',
        Subnets: o.publicSubnets,
        Tags: [K8S],
      }),
    );
    await elbv2.send(
      new CreateTargetGroupCommand({
        Name: 'k8s-default-api-e5f6',
        Protocol: 'TCP',
        Port: 30443,
        VpcId: o.vpcId,
        TargetType: 'instance',
        Tags: [K8S],
      }),
    );
    const eni = await ec2.send(
      new CreateNetworkInterfaceCommand({ SubnetId: o.privateA, TagSpecifications: [{ ResourceType: 'network-interface', Tags: [K8S] }] }),
    );
    w.proxy.resetCounts();
    const d = await run('destroy');
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/- kubernetes\s+load balancer a1b2c3d4/);
    expect(d.stderr).toMatch(/- kubernetes\s+security group sg-/);
    expect(await inventory()).toEqual(baseline);
    expect((await elbv2.send(new DescribeV2LoadBalancersCommand({}))).LoadBalancers ?? []).toEqual([]);
    expect((await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).toEqual([]);
    const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces ?? [];
    expect(enis.map((n) => n.NetworkInterfaceId)).not.toContain(eni.NetworkInterface!.NetworkInterfaceId);
    const calls = w.proxy.counts().calls;
    report('what Kubernetes made', {
      planted: { classicElb: 1, nlb: 1, targetGroup: 1, securityGroup: 1, ruleOnNodeGroup: 1, detachedEni: 1 },
      sweepCalls: Object.fromEntries(
        Object.entries(calls).filter(([k]) => /elasticloadbalancing:Delete|RevokeSecurityGroup|DeleteNetworkInterface/.test(k)),
      ),
      destroyExit: d.code,
      left: 'inventory equals the one before create; no NLB, target group or planted interface left',
    });
  });

  it('a foreign interface in our subnet is not deleted: destroy stops with one clear error naming it', async () => {
    const c = await run('create');
    expect(c.code, c.stderr).toBe(0);
    const o = await ours();
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: o.privateA, Description: 'someone else' }))).NetworkInterface!
      .NetworkInterfaceId!;
    const started = Date.now();
    const d = await run('destroy', { KUBEAZ_DEPENDENCY_SECONDS: '5' });
    const seconds = (Date.now() - started) / 1000;
    expect(d.code).toBe(1);
    const mentions = d.stderr.split('\n').filter((l) => l.includes(eni));
    expect(mentions, d.stderr).toHaveLength(1);
    expect(mentions[0]).toMatch(/network interface .* blocks deleting subnet\/private\/us-east-1a \(subnet-[0-9a-f]+\), vpc \(vpc-/);
    expect(d.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(seconds).toBeLessThan(30);
    // it is still there, untouched; only what it blocks is left of ours
    const still = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }))).NetworkInterfaces ?? [];
    expect(still).toHaveLength(1);
    const left = addedCounts(await inventory(), baseline);
    expect(Object.fromEntries(Object.entries(left).filter(([, n]) => n > 0))).toEqual({
      vpcs: 1,
      subnets: 1,
      routeTables: 1,
      networkAcls: 1,
      securityGroups: 1,
    });
    // its owner removes it; destroy again finishes
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni }));
    const again = await run('destroy');
    expect(again.code, again.stderr).toBe(0);
    expect(await inventory()).toEqual(baseline);
    report('foreign interface in our subnet', {
      destroyExit: d.code,
      seconds,
      errorLine: mentions[0],
      leftOfOurs: left,
      afterOwnerRemovedIt: 'destroy exit 0, inventory equals the one before create',
    });
  });

  it('foreign look-alikes are neither adopted nor deleted; the existing public zone is used, and left without our records', async () => {
    baseline = await w.reset();
    const vpc = (
      await ec2.send(
        new CreateVpcCommand({
          CidrBlock: '10.0.0.0/16',
          TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: ID }] }],
        }),
      )
    ).Vpc!.VpcId!;
    const defaultVpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs![0]!.VpcId!;
    const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${ID}-node`, Description: 'not kubeaz', VpcId: defaultVpc })))
      .GroupId!;
    const buckets = [`${ID}-backups`, `kubeaz-${ID}-logs`];
    for (const Bucket of buckets) await s3.send(new CreateBucketCommand({ Bucket }));
    const roles = [`${ID}-master-legacy`, `ci-${ID}`];
    const assume = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    for (const RoleName of roles) await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: assume }));
    const zone = (await r53.send(new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'someone-else-1' }))).HostedZone!.Id!;
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: { Name: 'www.example.com', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.10' }] },
            },
          ],
        },
      }),
    );
    const planted = await inventory();
    const zoneRecords = async () =>
      ((await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone }))).ResourceRecordSets ?? [])
        .map((r) => `${r.Type} ${r.Name}`)
        .sort();
    const recordsBefore = await zoneRecords();

    w.proxy.resetCounts();
    const c = await run('create');
    expect(c.code, c.stderr).toBe(0);
    const added = addedCounts(await inventory(), planted);
    // everything a clean create makes, except the public zone, which existed and was used (so
    // neither it nor its own SOA and NS records are new)
    expect(added).toEqual({ ...clean, hostedZones: clean.hostedZones! - 1, records: clean.records! - 2 });
    const ourVpcs = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).Vpcs ?? [];
    expect(ourVpcs).toHaveLength(1);
    expect(ourVpcs[0]!.VpcId).not.toBe(vpc);
    const theirVpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc] }))).Vpcs![0]!;
    expect(theirVpc.Tags).toEqual([{ Key: 'Name', Value: ID }]);
    const theirSg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups![0]!;
    expect(theirSg.VpcId).toBe(defaultVpc);
    expect(tagOf(theirSg.Tags, 'kubeaz:cluster')).toBeUndefined();
    for (const Bucket of buckets) await expect(s3.send(new GetBucketTaggingCommand({ Bucket }))).rejects.toThrow();
    for (const RoleName of roles) expect((await iam.send(new GetRoleCommand({ RoleName }))).Role?.Tags ?? []).toEqual([]);
    const recordsWithOurs = await zoneRecords();
    expect(recordsWithOurs).toEqual(expect.arrayContaining([...recordsBefore, 'A lb.example.com.', 'A master.dev.example.com.']));

    const d = await run('destroy');
    expect(d.code, d.stderr).toBe(0);
    const after = await inventory();
    expect(removedItems(after, planted)).toEqual({});
    expect(after).toEqual(planted);
    expect(await zoneRecords()).toEqual(recordsBefore);
    report('foreign look-alikes', {
      planted: {
        vpcNamedLikeUs: 1,
        securityGroupNamedLikeOursInDefaultVpc: 1,
        buckets: buckets.length,
        roles: roles.length,
        publicZoneWithOwnRecord: 1,
      },
      createdVsClean: added,
      publicZoneRecords: { before: recordsBefore.length, withOurs: recordsWithOurs.length, afterDestroy: recordsBefore.length },
      afterDestroy: 'every look-alike standing; inventory equals the planted one',
    });
  });
});
