/**
 * controlPlane.loadBalancer: network through the real CLI against moto, one cluster for the file:
 * the NLBs (scheme, subnets, security groups given at creation, cross-zone), their listeners, one
 * target group each (attributes, health check), the master group's TargetGroupARNs, the aliases with
 * the NLB's own hosted-zone id; a second create changes nothing; drift of the NLB's and the target
 * groups' settings repaired; network → classic → network switches through plan and create (the old
 * load balancers deleted only with --allow-delete); destroy leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLoadBalancersCommand as DescribeClassicCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { Plan } from '../../src/engine/compare.js';
import { ELB_HOSTED_ZONE_IDS } from '../../src/model/elb-zones.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const ID = 'nlb-qa';

const spec = (lb: 'classic' | 'network') => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: nlb, environment: qa }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 172.21.0.0/20
    nat: single
    apiAccess: [203.0.113.0/24]
  dns:
    publicDomain: nlb-example.com
  controlPlane: { instanceType: t3.medium, loadBalancer: ${lb} }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  plan: Plan;
  deleted: Array<{ key: string }>;
  notDeleted: Array<{ key: string }>;
}
type PlanJson = Plan & { calls: { mutating: number } };

const actionsOf = (p: Plan) => p.changes.map((c) => `${c.action} ${c.key}`).sort();

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('network load balancers for the API', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let before: Inventory;
  let ec2: EC2Client;
  let asg: AutoScalingClient;
  let elb: ElasticLoadBalancingClient;
  let elbv2: ElasticLoadBalancingV2Client;
  let r53: Route53Client;

  const create = async (args: string[] = []) => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json', ...args], env);
    return { r, out: r.json<CreateJson>() };
  };
  const plan = async () => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
  };
  const nlbs = async (): Promise<LoadBalancer[]> =>
    ((await elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).filter((l) => l.LoadBalancerName?.startsWith(`${ID}-`));
  const nlb = async (name: string) => (await nlbs()).find((l) => l.LoadBalancerName === name);
  const classicNames = async () =>
    ((await elb.send(new DescribeClassicCommand({}))).LoadBalancerDescriptions ?? []).map((l) => l.LoadBalancerName).sort();
  const masterGroup = async () =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${ID}-master`] }))).AutoScalingGroups![0]!;
  const byKey = async <T extends { Tags?: Array<{ Key?: string; Value?: string }> }>(items: T[], key: string) =>
    items.find((i) => i.Tags?.some((t) => t.Key === 'kubeaz:key' && t.Value === key))!;
  const records = async (): Promise<ResourceRecordSet[]> => {
    const out: ResourceRecordSet[] = [];
    for (const z of (await r53.send(new ListHostedZonesCommand({}))).HostedZones ?? [])
      out.push(...((await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: z.Id! }))).ResourceRecordSets ?? []));
    return out;
  };
  const alias = async (name: string) => (await records()).find((r) => r.Name === `${name}.` && r.Type === 'A')?.AliasTarget;

  beforeAll(async () => {
    env = moto.env;
    ec2 = new EC2Client({ region: REGION });
    asg = new AutoScalingClient({ region: REGION });
    elb = new ElasticLoadBalancingClient({ region: REGION });
    elbv2 = new ElasticLoadBalancingV2Client({ region: REGION });
    r53 = new Route53Client({ region: 'us-east-1' });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-nlb-'));
    file = path.join(dir, 'cluster.yaml');
    before = await inventory(REGION);
    await writeFile(file, spec('network'));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two NLBs: scheme, subnets of their tier, the API security groups given at creation, cross-zone on; no classic ELB', async () => {
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).Subnets ?? [];
    const sgs =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).SecurityGroups ?? [];
    const tier = (t: string) =>
      subnets
        .filter((s) => s.Tags?.some((x) => x.Key === 'kubeaz:key' && x.Value?.startsWith(`subnet/${t}/`)))
        .map((s) => s.SubnetId)
        .sort();
    const pub = (await nlb(`${ID}-nlb`))!;
    const int = (await nlb(`${ID}-nlb-int`))!;
    expect((await nlbs()).map((l) => l.LoadBalancerName).sort()).toEqual([`${ID}-nlb`, `${ID}-nlb-int`]);
    for (const [lb, scheme, t, sgKey] of [
      [pub, 'internet-facing', 'public', 'sg/elb-public'],
      [int, 'internal', 'private', 'sg/elb-internal'],
    ] as const) {
      expect(lb.Type).toBe('network');
      expect(lb.Scheme).toBe(scheme);
      expect((lb.AvailabilityZones ?? []).map((z) => z.SubnetId).sort()).toEqual(tier(t));
      expect(lb.SecurityGroups).toEqual([(await byKey(sgs, sgKey)).GroupId]);
      const attrs =
        (await elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn! }))).Attributes ?? [];
      expect(attrs.find((a) => a.Key === 'load_balancing.cross_zone.enabled')?.Value).toBe('true');
    }
    expect(await classicNames()).toEqual([]);
  });

  it('each NLB: one TCP:443 listener forwarding to its own TCP:6443 target group (HTTPS /readyz check, client IP preservation off)', async () => {
    const tgArns: string[] = [];
    for (const name of [`${ID}-nlb`, `${ID}-nlb-int`]) {
      const lb = (await nlb(name))!;
      const listeners = (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn! }))).Listeners ?? [];
      expect(listeners.map((l) => `${l.Protocol}:${l.Port}`)).toEqual(['TCP:443']);
      const actions = listeners[0]!.DefaultActions ?? [];
      expect(actions.map((a) => a.Type)).toEqual(['forward']);
      const tgArn = actions[0]!.TargetGroupArn!;
      tgArns.push(tgArn);
      const tg = (await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tgArn] }))).TargetGroups![0]!;
      expect(tg.TargetGroupName).toBe(name === `${ID}-nlb` ? `${ID}-api-tg` : `${ID}-api-int-tg`);
      expect({ protocol: tg.Protocol, port: tg.Port, type: tg.TargetType }).toEqual({ protocol: 'TCP', port: 6443, type: 'instance' });
      expect({
        p: tg.HealthCheckProtocol,
        port: tg.HealthCheckPort,
        path: tg.HealthCheckPath,
        code: tg.Matcher?.HttpCode,
        i: tg.HealthCheckIntervalSeconds,
        t: tg.HealthCheckTimeoutSeconds,
      }).toEqual({
        p: 'HTTPS',
        port: 'traffic-port',
        path: '/readyz',
        code: '200',
        i: 10,
        t: 5,
      });
      // moto does not refuse one target group behind two load balancers; AWS does: each has its own
      expect(tg.LoadBalancerArns).toEqual([lb.LoadBalancerArn]);
      const attrs = Object.fromEntries(
        ((await elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn }))).Attributes ?? []).map((a) => [
          a.Key,
          a.Value,
        ]),
      );
      expect(attrs['preserve_client_ip.enabled']).toBe('false');
      expect(attrs['deregistration_delay.timeout_seconds']).toBe('300');
    }
    expect(new Set(tgArns).size).toBe(2);
    // every master group lists both target groups, and its instance is a target of each
    const g = await masterGroup();
    expect([...(g.TargetGroupARNs ?? [])].sort()).toEqual([...tgArns].sort());
    expect(g.LoadBalancerNames ?? []).toEqual([]);
    const instance = g.Instances![0]!.InstanceId!;
    for (const arn of tgArns) {
      const health = (await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions ?? [];
      expect(health.map((h) => h.Target?.Id)).toEqual([instance]);
    }
    const workers = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${ID}-general`] })))
      .AutoScalingGroups![0]!;
    expect(workers.TargetGroupARNs ?? []).toEqual([]);
  });

  it("the master records alias the NLBs with the NLB's own hosted-zone id (not a classic ELB's)", async () => {
    const pub = (await nlb(`${ID}-nlb`))!;
    const int = (await nlb(`${ID}-nlb-int`))!;
    const internal = await alias('master.qa.kube');
    const external = await alias('master.qa.nlb-example.com');
    expect(internal?.DNSName?.replace(/\.$/, '')).toBe(int.DNSName);
    expect(internal?.HostedZoneId).toBe(int.CanonicalHostedZoneId);
    expect(external?.DNSName?.replace(/\.$/, '')).toBe(pub.DNSName);
    expect(external?.HostedZoneId).toBe(pub.CanonicalHostedZoneId);
    // AWS's NLB zone in us-east-1 (moto_server.py answers it as AWS does), not the classic ELB's
    expect(int.CanonicalHostedZoneId).toBe('Z26RNL4JYFTOTI');
    expect(int.CanonicalHostedZoneId).not.toBe(ELB_HOSTED_ZONE_IDS[REGION]);
  });

  it('a second create changes nothing (0 mutating calls); status reports target health per target group', async () => {
    const { r, out } = await create();
    expect(r.code, r.stderr).toBe(0);
    expect(out.calls.mutating, JSON.stringify(out.calls.byAction)).toBe(0);
    expect(out.plan.changes).toEqual([]);
    const st = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const health = st.json<{ health: Array<{ key: string; ok: boolean; summary: string }> }>().health;
    expect(health.find((h) => h.key === 'tg/internal')).toMatchObject({ ok: true, summary: '1/1 healthy' });
    expect(health.find((h) => h.key === 'tg/public')).toMatchObject({ ok: true, summary: '1/1 healthy' });
    expect(health.find((h) => h.key === 'nlb/internal')).toMatchObject({ ok: true });
  });

  it('kubeconfig without a public record points at the NLB, with the TLS name every API certificate has', async () => {
    const other = path.join(dir, 'no-public-domain.yaml');
    await writeFile(other, spec('network').replace('  dns:\n    publicDomain: nlb-example.com\n', ''));
    const r = await kubeaz(['kubeconfig', '-f', other, '--out', '-'], env);
    expect(r.code, r.stderr).toBe(0);
    const pub = (await nlb(`${ID}-nlb`))!;
    expect(r.stdout).toContain(`server: https://${pub.DNSName}:443`);
    expect(r.stdout).toContain('tls-server-name: master.qa.kube');
  });

  it('drift of cross-zone, client IP preservation and the health check is shown by plan and fixed in place by create', async () => {
    const lb = (await nlb(`${ID}-nlb-int`))!;
    const tgArn = (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn! }))).Listeners![0]!
      .DefaultActions![0]!.TargetGroupArn!;
    await elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lb.LoadBalancerArn!,
        Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }],
      }),
    );
    await elbv2.send(
      new ModifyTargetGroupAttributesCommand({ TargetGroupArn: tgArn, Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'true' }] }),
    );
    await elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: tgArn, HealthCheckProtocol: 'TCP', HealthCheckIntervalSeconds: 30 }));
    const { code, p } = await plan();
    expect(code).toBe(4);
    expect(p.changes.map((c) => [c.key, c.action, c.fields.map((f) => f.field)])).toEqual([
      ['tg/internal', 'update', ['healthCheck', 'preserveClientIp']],
      ['nlb/internal', 'update', ['crossZone']],
    ]);
    const { r, out } = await create();
    expect(r.code, r.stderr).toBe(0);
    expect(
      Object.keys(out.calls.byAction)
        .filter((k) => !/:(Describe|List|Get)/.test(k))
        .sort(),
    ).toEqual(['elbv2:ModifyLoadBalancerAttributes', 'elbv2:ModifyTargetGroup', 'elbv2:ModifyTargetGroupAttributes']);
    expect((await plan()).code).toBe(0);
  });

  it('network → classic: plan shows the ELBs made, the records and the master group moved, the NLBs deleted; only --allow-delete deletes them', async () => {
    await writeFile(file, spec('classic'));
    const { code, p } = await plan();
    expect(code).toBe(4);
    expect(actionsOf(p)).toEqual(
      [
        'create elb/public',
        'create elb/internal',
        'update record/master-internal',
        'update record/master-public',
        'update asg/master',
        'delete nlb/public',
        'delete nlb/internal',
        'delete tg/public',
        'delete tg/internal',
        // the VPC records the classic ELBs (kubeaz:features) before they are made; the NLBs stay recorded
        'update vpc',
      ].sort(),
    );
    expect(p.changes.find((c) => c.key === 'vpc')!.fields).toEqual([
      { field: 'tags', from: { 'kubeaz:features': 'nlb' }, to: { 'kubeaz:features': 'elb nlb' } },
    ]);
    const asgFields = p.changes.find((c) => c.key === 'asg/master')!.fields.map((f) => f.field);
    expect(asgFields.sort()).toEqual(['loadBalancerNames', 'targetGroupArns']);
    // deletions come last, load balancers before their target groups
    const keys = p.changes.map((c) => c.key);
    expect(keys.indexOf('nlb/internal')).toBeLessThan(keys.indexOf('tg/internal'));
    expect(keys.indexOf('update asg/master'.split(' ')[1]!)).toBeLessThan(keys.indexOf('nlb/internal'));

    const first = await create();
    expect(first.r.code).toBe(1); // something left undeleted
    expect(first.out.notDeleted.map((d) => d.key).sort()).toEqual(['nlb/internal', 'nlb/public', 'tg/internal', 'tg/public']);
    expect(await classicNames()).toEqual([`${ID}-api`, `${ID}-api-int`]);
    expect((await nlbs()).length).toBe(2);
    const g = await masterGroup();
    expect([...(g.LoadBalancerNames ?? [])].sort()).toEqual([`${ID}-api`, `${ID}-api-int`]);
    expect(g.TargetGroupARNs ?? []).toEqual([]);
    expect((await alias('master.qa.kube'))?.HostedZoneId).toBe(ELB_HOSTED_ZONE_IDS[REGION]);

    const second = await create(['--allow-delete']);
    expect(second.r.code, second.r.stderr).toBe(0);
    expect(second.out.deleted.map((d) => d.key).sort()).toEqual(['nlb/internal', 'nlb/public', 'tg/internal', 'tg/public']);
    expect(await nlbs()).toEqual([]);
    expect(((await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).length).toBe(0);
    expect((await plan()).code).toBe(0);
  });

  it('classic → network: the NLBs come up, the records move to them, the classic ELBs go only with --allow-delete', async () => {
    await writeFile(file, spec('network'));
    const { code, p } = await plan();
    expect(code).toBe(4);
    expect(actionsOf(p)).toEqual(
      [
        'create tg/public',
        'create tg/internal',
        'create nlb/public',
        'create nlb/internal',
        'update record/master-internal',
        'update record/master-public',
        'update asg/master',
        'delete elb/public',
        'delete elb/internal',
      ].sort(),
    );
    const first = await create();
    expect(first.r.code).toBe(1);
    expect(first.out.notDeleted.map((d) => d.key).sort()).toEqual(['elb/internal', 'elb/public']);
    expect((await alias('master.qa.kube'))?.HostedZoneId).toBe('Z26RNL4JYFTOTI');
    expect((await masterGroup()).TargetGroupARNs?.length).toBe(2);
    expect((await masterGroup()).LoadBalancerNames ?? []).toEqual([]);
    const second = await create(['--allow-delete']);
    expect(second.r.code, second.r.stderr).toBe(0);
    expect(await classicNames()).toEqual([]);
    const again = await create();
    expect(again.out.calls.mutating).toBe(0);
  });

  it('destroy leaves nothing: no load balancer, listener or target group of either kind', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await inventory(REGION)).toEqual(before);
  });

  it('an NLB name held by something kubeaz did not make: plan and create refuse before any change', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }))).Vpc!.VpcId!;
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.99.0.0/24', AvailabilityZone: 'us-east-1a' })))
      .Subnet!.SubnetId!;
    const foreign = (
      await elbv2.send(new CreateLoadBalancerCommand({ Name: `${ID}-nlb-int`, Type: 'network', Scheme: 'internal', Subnets: [subnet] }))
    ).LoadBalancers![0]!;
    try {
      const { code, stderr } = await kubeaz(['plan', '-f', file], env);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        new RegExp(`network-load-balancer ${ID}-nlb-int \\(nlb/internal\\) already exists and belongs to something kubeaz did not make`),
      );
      const r = await kubeaz(['create', '-f', file, '--yes'], env);
      expect(r.code).toBe(1);
      expect(await inventory(REGION)).toMatchObject({ vpcs: [...before.vpcs!, vpc].sort(), loadBalancersV2: [`${ID}-nlb-int (network)`] });
    } finally {
      await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: foreign.LoadBalancerArn! }));
      await ec2.send(new DeleteSubnetCommand({ SubnetId: subnet }));
      await ec2.send(new DeleteVpcCommand({ VpcId: vpc }));
    }
    expect(await inventory(REGION)).toEqual(before);
  });
});
