import { beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  ApplySecurityGroupsToLoadBalancerCommand,
  ConfigureHealthCheckCommand,
  CreateLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
  RegisterInstancesWithLoadBalancerCommand,
  DetachLoadBalancerFromSubnetsCommand,
  DeleteLoadBalancerListenersCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { useMoto } from '../helpers/moto.js';
import { CLUSTER, nodeMaker } from '../helpers/nodes.js';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { ELB_HOSTED_ZONE_IDS } from '../../src/model/elb-zones.js';
import { KEY_TAG, OWNER_TAG, type Kind } from '../../src/model/types.js';
import { hostedZone as hostedZoneTyped, tagsOfZone } from '../../src/resources/hosted-zone.js';
import { markerValue } from '../../src/model/record-marker.js';
import { dnsRecord as dnsRecordTyped } from '../../src/resources/dns-record.js';
import { loadBalancer as loadBalancerTyped } from '../../src/resources/load-balancer.js';
import { API_ELB_DRAINING_TIMEOUT, API_ELB_HEALTH_CHECK, API_ELB_IDLE_TIMEOUT } from '../../src/model/derive.js';
import type { Actual, ResolvedNode, ResourceHandler, RunContext } from '../../src/resources/types.js';
import { wide } from '../helpers/wide.js';
const hostedZone = wide(hostedZoneTyped);
const dnsRecord = wide(dnsRecordTyped);
const loadBalancer = wide(loadBalancerTyped);

useMoto({ processEnv: { KUBEAZ_POLL_SECONDS: '0.2' } });

const makeCtx = (clusterId: string, zoneDomains: string[]) =>
  createRunContext({
    clusterId,
    region: 'us-east-1',
    accountId: '123456789012',
    generation: 'g1',
    aws: new AwsClients({ region: 'us-east-1' }),
    zoneDomains,
    ...(zoneDomains[1] ? { publicDomain: zoneDomains[1] } : {}),
  });
const ctx = makeCtx(CLUSTER, ['dev.kube', 'example.com']);

const node = nodeMaker({ tags: { env: 'test' } });

/** observe + diff of one kind against its nodes, with a fresh memo; the number of mutating calls made. */
async function settled<K extends Kind>(c: RunContext, h: ResourceHandler<K>, nodes: ResolvedNode<K>[]) {
  c.resetMemo();
  const before = c.aws.counter.mutating;
  const actuals = await h.observe(c);
  const diffs = nodes.map((n) => {
    const a = actuals.find((x) => x.key === n.key);
    return a ? h.diff(n, a) : [{ field: 'missing', from: undefined, to: n.key, inPlace: false }];
  });
  return { actuals, diffs, mutating: c.aws.counter.mutating - before };
}

const r53 = () => ctx.aws.route53();
const elb = () => ctx.aws.elb();
const ec2 = () => ctx.aws.ec2();
const recordsOf = async (zoneId: string): Promise<ResourceRecordSet[]> =>
  (await (await r53()).send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? [];
const bare = (name: string | undefined) => (name ?? '').replace(/\.$/, '');

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('hosted-zone, dns-record, load-balancer against moto', { shuffle: false }, () => {
  let vpcId = '';
  let pub: string[] = [];
  let priv: string[] = [];
  let sgPublic = '';
  let sgInternal = '';
  let elbNodes: ResolvedNode<'load-balancer'>[] = [];
  let zoneNodes: ResolvedNode<'hosted-zone'>[] = [];
  let recordNodes: ResolvedNode<'dns-record'>[] = [];
  let foreignZoneId = '';
  const elbZoneId = ELB_HOSTED_ZONE_IDS['us-east-1']!;
  const hc = API_ELB_HEALTH_CHECK;
  const attrs = { crossZone: true, idleTimeout: API_ELB_IDLE_TIMEOUT, drainingTimeout: API_ELB_DRAINING_TIMEOUT };
  const listener = { protocol: 'TCP' as const, port: 443, instanceProtocol: 'TCP' as const, instancePort: 6443 };

  // the prerequisites (VPC, public/private subnets, two security groups): set-up, not a test
  beforeAll(async () => {
    const e = await ec2();
    vpcId = (await e.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
    const sub = async (cidr: string, zone: string) =>
      (await e.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
    pub = [await sub('10.20.0.0/24', 'us-east-1a'), await sub('10.20.1.0/24', 'us-east-1b')];
    priv = [await sub('10.20.10.0/24', 'us-east-1a'), await sub('10.20.11.0/24', 'us-east-1b')];
    const sg = async (name: string) =>
      (await e.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }))).GroupId!;
    sgPublic = await sg('demo-dev-api-elb');
    sgInternal = await sg('demo-dev-api-elb-internal');
  });

  it('creates the internet-facing and internal ELBs; a look-alike without our tag is never observed', async () => {
    // Someone else's ELB whose name starts like ours.
    await (
      await elb()
    ).send(
      new CreateLoadBalancerCommand({
        LoadBalancerName: `${CLUSTER}-api-x`,
        Listeners: [{ Protocol: 'TCP', LoadBalancerPort: 80, InstanceProtocol: 'TCP', InstancePort: 80 }],
        Subnets: [pub[0]!],
        Tags: [{ Key: 'team', Value: 'other' }],
      }),
    );
    elbNodes = [
      node('load-balancer', 'elb/public', {
        name: `${CLUSTER}-api`,
        scheme: 'internet-facing',
        subnetIds: pub,
        securityGroupIds: [sgPublic],
        listener,
        healthCheck: hc,
        ...attrs,
      }),
      node('load-balancer', 'elb/internal', {
        name: `${CLUSTER}-api-int`,
        scheme: 'internal',
        subnetIds: priv,
        securityGroupIds: [sgInternal],
        listener,
        healthCheck: hc,
        ...attrs,
      }),
    ];
    const created = [];
    for (const n of elbNodes) created.push(await loadBalancer.create(ctx, n));
    expect(created.map((a) => a.attrs.dnsName).every((d) => d && d.length > 0)).toBe(true);

    const { actuals, diffs, mutating } = await settled(ctx, loadBalancer, elbNodes);
    expect(actuals.map((a) => a.key).sort()).toEqual(['elb/internal', 'elb/public']);
    expect(actuals.map((a) => a.id)).not.toContain(`${CLUSTER}-api-x`);
    expect(diffs).toEqual([[], []]);
    expect(mutating).toBe(0);
    const internal = actuals.find((a) => a.key === 'elb/internal')!;
    const o = internal.observed as { scheme: string; healthCheck: unknown; crossZone: boolean; subnetIds: string[]; listeners: unknown[] };
    expect(o.scheme).toBe('internal');
    expect(o.healthCheck).toEqual(hc);
    expect(o.crossZone).toBe(true);
    expect(o.subnetIds).toEqual([...priv].sort());
    expect(o.listeners).toEqual([listener]);
    expect((actuals.find((a) => a.key === 'elb/public')!.observed as { scheme: string }).scheme).toBe('internet-facing');
    expect(internal.attrs).toMatchObject({ name: `${CLUSTER}-api-int` });
    expect(internal.attrs.dnsName).toMatch(/elb\.amazonaws\.com$/);

    // read back through the API itself, too
    for (const name of [`${CLUSTER}-api`, `${CLUSTER}-api-int`]) {
      const read = await (await elb()).send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerName: name }));
      expect(read.LoadBalancerAttributes?.CrossZoneLoadBalancing?.Enabled).toBe(true);
      expect(read.LoadBalancerAttributes?.ConnectionSettings?.IdleTimeout).toBe(300);
      expect(read.LoadBalancerAttributes?.ConnectionDraining).toMatchObject({ Enabled: true, Timeout: 300 });
      const lb = (await (await elb()).send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }))).LoadBalancerDescriptions![0]!;
      // a TCP connect, never SSL: Go 1.22+ API servers refuse the classic ELB's SSL-check ciphers
      expect(lb.HealthCheck?.Target).toBe('TCP:6443');
    }
  });

  it('an API ELB of an older kubeaz (SSL:6443 check, 60 s idle, no draining) is brought to TCP:6443 in place', async () => {
    const e = await elb();
    const name = `${CLUSTER}-api-int`;
    await e.send(
      new ConfigureHealthCheckCommand({
        LoadBalancerName: name,
        HealthCheck: { Target: 'SSL:6443', Interval: 10, Timeout: 5, HealthyThreshold: 2, UnhealthyThreshold: 3 },
      }),
    );
    await e.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerName: name,
        LoadBalancerAttributes: { ConnectionSettings: { IdleTimeout: 60 }, ConnectionDraining: { Enabled: false } },
      }),
    );
    const { actuals, diffs } = await settled(ctx, loadBalancer, elbNodes);
    const i = elbNodes.findIndex((n) => n.key === 'elb/internal');
    expect(diffs[i]!.map((c) => c.field).sort()).toEqual(['connectionDraining', 'healthCheck', 'idleTimeout']);
    expect(diffs[i]!.every((c) => c.inPlace)).toBe(true);
    expect(diffs[i]!.find((c) => c.field === 'healthCheck')).toMatchObject({ from: { target: 'SSL:6443' }, to: { target: 'TCP:6443' } });
    await loadBalancer.update!(
      ctx,
      elbNodes[i]!,
      actuals.find((a) => a.key === 'elb/internal')!,
      diffs[i]!,
    );
    expect((await settled(ctx, loadBalancer, elbNodes)).diffs).toEqual([[], []]);
    const read = await e.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerName: name }));
    expect(read.LoadBalancerAttributes?.ConnectionSettings?.IdleTimeout).toBe(300);
    expect(read.LoadBalancerAttributes?.ConnectionDraining).toMatchObject({ Enabled: true, Timeout: 300 });
    expect(
      (await e.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }))).LoadBalancerDescriptions![0]!.HealthCheck?.Target,
    ).toBe('TCP:6443');
  });

  it('repairs a drifted ELB in place (health check, cross-zone, security groups)', async () => {
    const e = await elb();
    const name = `${CLUSTER}-api`;
    await e.send(
      new ConfigureHealthCheckCommand({
        LoadBalancerName: name,
        HealthCheck: { Target: 'TCP:22', Interval: 30, Timeout: 5, HealthyThreshold: 2, UnhealthyThreshold: 2 },
      }),
    );
    await e.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerName: name,
        LoadBalancerAttributes: { CrossZoneLoadBalancing: { Enabled: false } },
      }),
    );
    await e.send(new ApplySecurityGroupsToLoadBalancerCommand({ LoadBalancerName: name, SecurityGroups: [sgInternal] }));
    const { actuals, diffs } = await settled(ctx, loadBalancer, elbNodes);
    const i = elbNodes.findIndex((n) => n.key === 'elb/public');
    expect(diffs[i]!.map((c) => c.field).sort()).toEqual(['crossZone', 'healthCheck', 'securityGroupIds']);
    expect(diffs[i]!.every((c) => c.inPlace)).toBe(true);
    await loadBalancer.update!(
      ctx,
      elbNodes[i]!,
      actuals.find((a) => a.key === 'elb/public')!,
      diffs[i]!,
    );
    const again = await settled(ctx, loadBalancer, elbNodes);
    expect(again.diffs).toEqual([[], []]);

    // scheme cannot change in place
    const flipped = { ...elbNodes[i]!, props: { ...elbNodes[i]!.props, scheme: 'internal' as const } };
    expect(
      loadBalancer.diff(
        flipped,
        again.actuals.find((a) => a.key === 'elb/public')!,
      ),
    ).toEqual([expect.objectContaining({ field: 'scheme', inPlace: false })]);
  });

  it('repairs subnet and listener drift of the internal ELB', async () => {
    const e = await elb();
    const name = `${CLUSTER}-api-int`;
    await e.send(new DetachLoadBalancerFromSubnetsCommand({ LoadBalancerName: name, Subnets: [priv[1]!] }));
    await e.send(new DeleteLoadBalancerListenersCommand({ LoadBalancerName: name, LoadBalancerPorts: [443] }));
    const { actuals, diffs } = await settled(ctx, loadBalancer, elbNodes);
    const i = elbNodes.findIndex((n) => n.key === 'elb/internal');
    expect(diffs[i]!.map((c) => c.field).sort()).toEqual(['listeners', 'subnetIds']);
    await loadBalancer.update!(
      ctx,
      elbNodes[i]!,
      actuals.find((a) => a.key === 'elb/internal')!,
      diffs[i]!,
    );
    expect((await settled(ctx, loadBalancer, elbNodes)).diffs).toEqual([[], []]);
  });

  it('reports ELB health as n/m InService', async () => {
    const e = await ec2();
    const image = (await e.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images?.[0]?.ImageId ?? 'ami-12c6146b';
    const instanceId = (
      await e.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: priv[0]! }))
    ).Instances![0]!.InstanceId!;
    await (
      await elb()
    ).send(
      new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: `${CLUSTER}-api-int`, Instances: [{ InstanceId: instanceId }] }),
    );
    const { actuals } = await settled(ctx, loadBalancer, elbNodes);
    const health = await loadBalancer.health!(ctx, actuals);
    expect(health.find((h) => h.key === 'elb/internal')).toMatchObject({ ok: true, summary: '1/1 InService' });
    expect(health.find((h) => h.key === 'elb/public')).toMatchObject({ ok: false, summary: '0/0 InService' });
  });

  it('creates the private zone associated with the VPC, tagged, owned through its comment', async () => {
    const priv = node('hosted-zone', 'zone/private', {
      domain: 'dev.kube',
      private: true,
      vpcId,
      vpcRegion: 'us-east-1',
      comment: `kubeaz:${CLUSTER} zone/private`,
      callerReference: `kubeaz-${CLUSTER}-zone-private`,
      mode: 'own',
    });
    zoneNodes = [priv];
    const a = await hostedZone.create(ctx, priv);
    expect(a.attrs).toEqual({ id: a.id, arn: `arn:aws:route53:::hostedzone/${a.id}`, name: 'dev.kube' });
    const got = await (await r53()).send(new GetHostedZoneCommand({ Id: a.id }));
    expect(got.HostedZone?.Config?.PrivateZone).toBe(true);
    expect(got.HostedZone?.Config?.Comment).toBe(`kubeaz:${CLUSTER} zone/private`);
    expect(got.HostedZone?.CallerReference).toMatch(new RegExp(`^kubeaz-${CLUSTER}-zone-private-g1`));
    expect(got.VPCs?.map((v) => v.VPCId)).toContain(vpcId);
    expect(await tagsOfZone(ctx, a.id)).toMatchObject({ [OWNER_TAG]: CLUSTER, [KEY_TAG]: 'zone/private', env: 'test' });

    const { actuals, diffs } = await settled(ctx, hostedZone, zoneNodes);
    expect(actuals.map((x) => [x.key, x.id])).toEqual([['zone/private', a.id]]);
    expect(diffs).toEqual([[]]);

    // tag drift is repaired in place; a public/private flip is not in place
    await (await r53()).send(new ChangeTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: a.id, RemoveTagKeys: ['env'] }));
    const drift = await settled(ctx, hostedZone, zoneNodes);
    expect(drift.diffs[0]).toEqual([expect.objectContaining({ field: 'tags', inPlace: true })]);
    await hostedZone.update!(ctx, priv, drift.actuals[0]!, drift.diffs[0]!);
    expect((await settled(ctx, hostedZone, zoneNodes)).diffs).toEqual([[]]);
    expect(hostedZone.diff({ ...priv, props: { ...priv.props, private: false } }, drift.actuals[0]!)).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'private', inPlace: false })]),
    );
  });

  it('writes an alias A record to the internal ELB with its TXT ownership marker', async () => {
    const zones = await hostedZone.observe((ctx.resetMemo(), ctx));
    const zoneId = zones.find((z) => z.key === 'zone/private')!.id;
    const elbs = await loadBalancer.observe(ctx);
    const internalDns = elbs.find((a) => a.key === 'elb/internal')!.attrs.dnsName!;
    const rec = node('dns-record', 'record/master-internal', {
      zoneId,
      name: 'master.dev.kube',
      type: 'A',
      alias: { dnsName: internalDns, hostedZoneId: elbZoneId },
    });
    recordNodes = [rec];
    await dnsRecord.create(ctx, rec);

    const sets = await recordsOf(zoneId);
    const a = sets.find((s) => s.Type === 'A' && bare(s.Name) === 'master.dev.kube');
    expect(bare(a?.AliasTarget?.DNSName).toLowerCase()).toBe(internalDns.toLowerCase());
    expect(a?.AliasTarget?.HostedZoneId).toBe(elbZoneId);
    const txt = sets.find((s) => s.Type === 'TXT' && bare(s.Name) === 'master.dev.kube');
    expect(txt?.ResourceRecords?.map((r) => r.Value)).toEqual([markerValue(CLUSTER, 'record/master-internal')]);

    const { actuals, diffs } = await settled(ctx, dnsRecord, recordNodes);
    expect(actuals).toHaveLength(1);
    expect(actuals[0]).toMatchObject({
      key: 'record/master-internal',
      id: `${zoneId}:master.dev.kube`,
      attrs: { zoneId, name: 'master.dev.kube' },
    });
    expect(diffs).toEqual([[]]);

    // drift: someone points the alias elsewhere → in-place change, update repairs it
    await (
      await r53()
    ).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'master.dev.kube',
                Type: 'A',
                AliasTarget: { DNSName: 'elsewhere.example.net', HostedZoneId: elbZoneId, EvaluateTargetHealth: false },
              },
            },
          ],
        },
      }),
    );
    const drift = await settled(ctx, dnsRecord, recordNodes);
    expect(drift.diffs[0]).toEqual([expect.objectContaining({ field: 'alias.dnsName', inPlace: true })]);
    await dnsRecord.update!(ctx, rec, drift.actuals[0]!, drift.diffs[0]!);
    expect((await settled(ctx, dnsRecord, recordNodes)).diffs).toEqual([[]]);
  });

  it('adopts a pre-existing public zone, upserts our records there and refuses to overwrite a foreign record', async () => {
    // 'Someone else' made the public zone, with a record of their own.
    const r = await r53();
    const made = await r.send(
      new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'someone-else-1', HostedZoneConfig: { Comment: 'hand made' } }),
    );
    foreignZoneId = made.HostedZone!.Id!.replace('/hostedzone/', '');
    await r.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: foreignZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: { Name: 'www.example.com', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '198.51.100.7' }] },
            },
          ],
        },
      }),
    );

    const pubZone = node('hosted-zone', 'zone/public', {
      domain: 'example.com',
      private: false,
      comment: `kubeaz:${CLUSTER} zone/public`,
      callerReference: `kubeaz-${CLUSTER}-zone-public`,
      mode: 'adopt-or-own',
    });
    const before = ctx.aws.counter.byAction()['route53:CreateHostedZone'] ?? 0;
    const adopted = await hostedZone.create(ctx, pubZone);
    expect(ctx.aws.counter.byAction()['route53:CreateHostedZone'] ?? 0).toBe(before);
    expect(adopted).toMatchObject({
      key: 'zone/public',
      id: foreignZoneId,
      attrs: { id: foreignZoneId, adopted: 'true', name: 'example.com', arn: `arn:aws:route53:::hostedzone/${foreignZoneId}` },
    });
    zoneNodes.push(pubZone);

    // observe re-finds it every run, as adopted
    const zones = await settled(ctx, hostedZone, zoneNodes);
    expect(zones.actuals.map((a) => [a.key, a.attrs.adopted]).sort()).toEqual([
      ['zone/private', undefined],
      ['zone/public', 'true'],
    ]);
    expect(zones.diffs).toEqual([[], []]);

    const elbs = await loadBalancer.observe(ctx);
    const publicDns = elbs.find((a) => a.key === 'elb/public')!.attrs.dnsName!;
    const master = node('dns-record', 'record/master-public', {
      zoneId: foreignZoneId,
      name: 'master.dev.example.com',
      type: 'A',
      alias: { dnsName: publicDns, hostedZoneId: elbZoneId },
    });
    const lb = node('dns-record', 'record/lb/ingress', {
      zoneId: foreignZoneId,
      name: 'ingress.example.com',
      type: 'A',
      ttl: 60,
      values: ['203.0.113.10', '203.0.113.11'],
    });
    await dnsRecord.create(ctx, master);
    await dnsRecord.create(ctx, lb);
    recordNodes.push(master, lb);

    const sets = await recordsOf(foreignZoneId);
    const ingress = sets.find((s) => s.Type === 'A' && bare(s.Name) === 'ingress.example.com');
    expect(ingress?.TTL).toBe(60);
    expect(ingress?.ResourceRecords?.map((x) => x.Value).sort()).toEqual(['203.0.113.10', '203.0.113.11']);
    expect(sets.find((s) => s.Type === 'TXT' && bare(s.Name) === 'ingress.example.com')?.ResourceRecords?.[0]?.Value).toBe(
      markerValue(CLUSTER, 'record/lb/ingress'),
    );

    const recs = await settled(ctx, dnsRecord, recordNodes);
    expect(recs.actuals.map((a) => a.key).sort()).toEqual(['record/lb/ingress', 'record/master-internal', 'record/master-public']);
    expect(recs.diffs).toEqual([[], [], []]);

    // value drift (one IP dropped) → in place
    await r53().then((c) =>
      c.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: foreignZoneId,
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: { Name: 'ingress.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.10' }] },
              },
            ],
          },
        }),
      ),
    );
    const drift = await settled(ctx, dnsRecord, recordNodes);
    const li = recordNodes.indexOf(lb);
    expect(drift.diffs[li]).toEqual([expect.objectContaining({ field: 'values', inPlace: true })]);
    await dnsRecord.update!(
      ctx,
      lb,
      drift.actuals.find((a) => a.key === lb.key)!,
      drift.diffs[li]!,
    );
    expect((await settled(ctx, dnsRecord, recordNodes)).diffs).toEqual([[], [], []]);

    // the foreign www record is someone else's: never overwritten
    const www = node('dns-record', 'record/www', { zoneId: foreignZoneId, name: 'www.example.com', type: 'A', values: ['203.0.113.99'] });
    await expect(dnsRecord.create(ctx, www)).rejects.toThrow(/not ours/);
  });

  it('a second observe+diff pass over every kind makes zero mutating calls and shares one ListHostedZones', async () => {
    ctx.resetMemo();
    const calls = ctx.aws.counter.byAction();
    const before = ctx.aws.counter.mutating;
    const [zones, records, elbs] = await Promise.all([hostedZone.observe(ctx), dnsRecord.observe(ctx), loadBalancer.observe(ctx)]);
    const after = ctx.aws.counter.byAction();
    expect((after['route53:ListHostedZones'] ?? 0) - (calls['route53:ListHostedZones'] ?? 0)).toBe(1);
    expect((after['elb:DescribeLoadBalancers'] ?? 0) - (calls['elb:DescribeLoadBalancers'] ?? 0)).toBe(1);
    expect((after['elb:DescribeTags'] ?? 0) - (calls['elb:DescribeTags'] ?? 0)).toBe(1);
    const diff = <K extends Kind>(h: ResourceHandler<K>, nodes: ResolvedNode<K>[], actuals: Actual[]) =>
      nodes.map((n) =>
        h.diff(
          n,
          actuals.find((a) => a.key === n.key)!,
        ),
      );
    expect(diff(hostedZone, zoneNodes, zones).flat()).toEqual([]);
    expect(diff(dnsRecord, recordNodes, records).flat()).toEqual([]);
    expect(diff(loadBalancer, elbNodes, elbs).flat()).toEqual([]);
    expect(ctx.aws.counter.mutating - before).toBe(0);
  });

  it('refuses to adopt when two public zones have the same name, and owns the zone when none exists', async () => {
    const c2 = makeCtx('other-dev', ['twice.example']);
    const r = await r53();
    const ids: string[] = [];
    for (const ref of ['a', 'b']) {
      ids.push(
        (await r.send(new CreateHostedZoneCommand({ Name: 'twice.example', CallerReference: `someone-${ref}` }))).HostedZone!.Id!.replace(
          '/hostedzone/',
          '',
        ),
      );
    }
    const n = node(
      'hosted-zone',
      'zone/public',
      {
        domain: 'twice.example',
        private: false,
        comment: 'kubeaz:other-dev zone/public',
        callerReference: 'kubeaz-other-dev-zone-public',
        mode: 'adopt-or-own',
      },
      { cluster: 'other-dev' },
    );
    const err = await hostedZone.create(c2, n).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/ambiguous/);
    for (const id of ids) expect(err?.message).toContain(id);
    expect(await hostedZone.observe(c2)).toEqual([]);

    // none exists → created and owned (not adopted), then deleted
    const c3 = makeCtx('fresh-dev', ['fresh.example']);
    const fresh = node(
      'hosted-zone',
      'zone/public',
      {
        domain: 'fresh.example',
        private: false,
        comment: 'kubeaz:fresh-dev zone/public',
        callerReference: 'kubeaz-fresh-dev-zone-public',
        mode: 'adopt-or-own',
      },
      { cluster: 'fresh-dev' },
    );
    const owned = await hostedZone.create(c3, fresh);
    expect(owned.attrs.adopted).toBeUndefined();
    const seen = await hostedZone.observe(c3);
    expect(seen.map((a) => [a.key, a.id, a.attrs.adopted])).toEqual([['zone/public', owned.id, undefined]]);
    expect(hostedZone.diff(fresh, seen[0]!)).toEqual([]);
    await hostedZone.delete(c3, seen[0]!);
    c3.resetMemo();
    expect(await hostedZone.observe(c3)).toEqual([]);
  });

  it('deletes records, zones and ELBs; the adopted zone and its foreign record stay; twice is fine', async () => {
    // a record someone else (a node) put in our private zone goes with the zone
    const zones0 = await settled(ctx, hostedZone, zoneNodes);
    const privId = zones0.actuals.find((a) => a.key === 'zone/private')!.id;
    await (
      await r53()
    ).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: privId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: { Name: 'node-1.dev.kube', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.20.10.5' }] },
            },
          ],
        },
      }),
    );

    const deleteAll = async () => {
      ctx.resetMemo();
      const records = await dnsRecord.observe(ctx);
      for (const a of records) await dnsRecord.delete(ctx, a);
      ctx.resetMemo();
      const zones = await hostedZone.observe(ctx);
      for (const a of zones) await hostedZone.delete(ctx, a);
      for (const a of await loadBalancer.observe(ctx)) await loadBalancer.delete(ctx, a);
      return { records, zones };
    };
    const first = await deleteAll();
    expect(first.records).toHaveLength(3);
    expect(first.zones).toHaveLength(2);

    ctx.resetMemo();
    expect(await dnsRecord.observe(ctx)).toEqual([]);
    expect(await loadBalancer.observe(ctx)).toEqual([]);
    // the adopted zone is still observed (as adopted) because it still exists, untouched
    const left = await hostedZone.observe(ctx);
    expect(left.map((a) => [a.key, a.id, a.attrs.adopted])).toEqual([['zone/public', foreignZoneId, 'true']]);
    const sets = await recordsOf(foreignZoneId);
    expect(sets.map((s) => `${bare(s.Name)} ${s.Type}`).sort()).toEqual(['example.com NS', 'example.com SOA', 'www.example.com A']);
    await expect((await r53()).send(new GetHostedZoneCommand({ Id: privId }))).rejects.toMatchObject({ name: 'NoSuchHostedZone' });

    // the look-alike ELB was never touched
    const names = ((await (await elb()).send(new DescribeLoadBalancersCommand({}))).LoadBalancerDescriptions ?? []).map(
      (l) => l.LoadBalancerName,
    );
    expect(names).toEqual([`${CLUSTER}-api-x`]);

    // deleting again (stale actuals) does not throw
    for (const a of first.records) await dnsRecord.delete(ctx, a);
    for (const a of first.zones) await hostedZone.delete(ctx, a);
    for (const n of elbNodes) await loadBalancer.delete(ctx, { key: n.key, kind: 'load-balancer', id: n.props.name, attrs: {}, tags: {} });
  });
});
