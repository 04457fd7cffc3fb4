/**
 * `nat: none` against moto through the real CLI: no instance may end up where it cannot fetch what
 * it installs. Read back what AWS holds: every running instance of the cluster sits in a subnet
 * whose route table sends 0.0.0.0/0 to the internet gateway, and its launch template asks for a
 * public IPv4 address; the internal API ELB stays internal, in the private subnets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const REGION = 'us-west-2';
const ID = 'cheap-dev';
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: cheap, environment: dev }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.60.0.0/20, nat: none, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: t3.large, minSize: 1, maxSize: 2, desiredCapacity: 1 }
`;

const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, k: string) => tags?.find((t) => t.Key === k)?.Value;

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('nat: none builds instances that can reach the internet', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-natnone-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create: every instance in a public subnet routed to the IGW, with a public IPv4 on its launch template', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    const ec2 = new EC2Client({ region: REGION });
    const owned = [{ Name: 'tag:kubeaz:cluster', Values: [ID] }];
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: owned }))).Subnets ?? [];
    const rts = (await ec2.send(new DescribeRouteTablesCommand({ Filters: owned }))).RouteTables ?? [];
    const defaultRouteOf = (subnetId: string) =>
      rts.find((t) => t.Associations?.some((a) => a.SubnetId === subnetId))?.Routes?.find((x) => x.DestinationCidrBlock === '0.0.0.0/0');

    const instances = (
      await ec2.send(new DescribeInstancesCommand({ Filters: [...owned, { Name: 'instance-state-name', Values: ['running', 'pending'] }] }))
    ).Reservations!.flatMap((x) => x.Instances ?? []);
    expect(instances).toHaveLength(2); // master + one node
    for (const i of instances) {
      const route = defaultRouteOf(i.SubnetId!);
      expect(route?.GatewayId, `${tag(i.Tags, 'Name')} in ${i.SubnetId}`).toMatch(/^igw-/);
      expect(tag(subnets.find((s) => s.SubnetId === i.SubnetId)?.Tags, 'kubeaz:key')).toMatch(/^subnet\/public\//);
    }

    const asg = new AutoScalingClient({ region: REGION });
    const groups =
      (await asg.send(new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] })))
        .AutoScalingGroups ?? [];
    expect(groups.map((g) => g.AutoScalingGroupName).sort()).toEqual([`${ID}-general`, `${ID}-master`]);
    for (const g of groups) {
      for (const sub of g.VPCZoneIdentifier!.split(','))
        expect(defaultRouteOf(sub)?.GatewayId, `${g.AutoScalingGroupName} subnet ${sub}`).toMatch(/^igw-/);
      const lt = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: g.LaunchTemplate!.LaunchTemplateId!,
          Versions: [g.LaunchTemplate!.Version!],
        }),
      );
      expect(
        lt.LaunchTemplateVersions![0]!.LaunchTemplateData!.NetworkInterfaces?.[0]?.AssociatePublicIpAddress,
        g.AutoScalingGroupName,
      ).toBe(true);
    }

    const elb = new ElasticLoadBalancingClient({ region: REGION });
    const lbs = ((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancerDescriptions ?? []).filter((l) =>
      l.LoadBalancerName?.startsWith(`${ID}-`),
    );
    expect(lbs.map((l) => [l.LoadBalancerName, l.Scheme])).toEqual([[`${ID}-api-int`, 'internal']]);
    for (const sub of lbs[0]!.Subnets ?? [])
      expect(tag(subnets.find((s) => s.SubnetId === sub)?.Tags, 'kubeaz:key')).toMatch(/^subnet\/private\//);
  });

  it('destroy leaves nothing', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing of .* remains/);
  });
});
