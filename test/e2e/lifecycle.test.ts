/**
 * The whole life of a cluster through the real CLI against moto_server, on three different specs
 * (the first the example as shipped, with no public domain; the third the example with a highly
 * available control plane, three masters in three zones, and its commented publicDomain and
 * publicRecord lines switched on):
 * create → every resource there with the right relationships → a second create makes zero
 * mutating calls → status exits 0 → the state file deleted, create adopts everything → destroy →
 * nothing with the cluster tag, and nothing else the run made, is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { GetRolePolicyCommand, IAMClient, ListInstanceProfilesCommand, ListRolesCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { GetHostedZoneCommand, ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { useMoto } from '../helpers/moto.js';
import { withPublicDomain } from '../helpers/example.js';

const ACCOUNT = '123456789012';

const specB = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: small, environment: qa }
spec:
  region: us-west-2
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 172.20.0.0/20
    nat: single
    apiAccess: [203.0.113.0/24]
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m6g.large, minSize: 1, maxSize: 3, desiredCapacity: 2, taints: [{ key: dedicated, value: x, effect: NoSchedule }] }
`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number };
  actions: Array<{ key: string; action: string }>;
}

// one moto for the file; each cluster's block starts from an empty one (and this process's own
// SDK clients, for the checks and inventories, talk to it too)
const moto = useMoto({ processEnv: true });

function lifecycle(
  name: string,
  specText: () => Promise<string>,
  region: string,
  clusterId: string,
  checks: (c: Clients) => Promise<void>,
) {
  // The tests of this suite are the steps of one story on one cluster (create, look, change,
  // destroy), each building on the one before: declared in order, so a shuffled run keeps it.
  describe(name, { shuffle: false }, () => {
    let dir: string;
    let file: string;
    let env: Record<string, string>;
    let before: Inventory;
    let clients: Clients;

    beforeAll(async () => {
      await moto.reset();
      env = moto.env;
      dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-e2e-'));
      file = path.join(dir, 'cluster.yaml');
      await writeFile(file, await specText());
      clients = makeClients(region);
      before = await inventory(region);
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('create builds everything, with progress on stderr', async () => {
      const r = await kubeaz(['create', '-f', file, '--yes'], env);
      expect(r.stderr).toMatch(/\+ vpc\s+vpc-/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/done: \d+ created/);
      expect(existsSync(path.join(dir, '.kubeaz', `${clusterId}.json`))).toBe(true);
      const state = JSON.parse(await readFile(path.join(dir, '.kubeaz', `${clusterId}.json`), 'utf8'));
      expect(state.phase).toBe('ready');
      expect(state.resources.vpc.id).toMatch(/^vpc-/);
      expect(existsSync(path.join(dir, '.kubeaz', `${clusterId}.lock`))).toBe(false);
    });

    it('every resource exists with the right relationships', async () => {
      await checks(clients);
    });

    it('a second create makes zero mutating calls and changes nothing', async () => {
      const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = r.json<CreateJson>();
      expect(out.ok).toBe(true);
      expect(out.calls.mutating).toBe(0);
      expect(out.actions.filter((a) => a.action !== 'unchanged')).toEqual([]);
    });

    it('status exits 0 with every resource present', async () => {
      const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const out = r.json<{ ok: boolean; resources: Array<{ status: string }>; warnings: string[] }>();
      expect(out.ok).toBe(true);
      expect(out.resources.length).toBeGreaterThan(20);
      expect(out.resources.every((x) => x.status === 'present')).toBe(true);
      // moto runs no user-data, so no master ever takes a backup: a warning, not a failure
      expect(out.warnings.join('\n')).toMatch(/no etcd backup yet/);
      const text = await kubeaz(['status', '-f', file], env);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/healthy: \d+\/\d+ resources present/);
    });

    it('with the state file gone, create adopts everything without a duplicate', async () => {
      await rm(path.join(dir, '.kubeaz'), { recursive: true, force: true });
      const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<CreateJson>().calls.mutating).toBe(0);
    });

    it('destroy removes everything: nothing tagged, nothing else the run made', async () => {
      const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/nothing of .* remains/);
      // (moto's DescribeTags keeps the tags of deleted resources, so leftovers are judged by the
      // full inventory of every service instead: it must be exactly what it was before create.)
      expect(await inventory(region)).toEqual(before);
      expect(existsSync(path.join(dir, '.kubeaz', `${clusterId}.json`))).toBe(false);
    });

    it('destroy again is safe and finds nothing: one line, nothing done', async () => {
      const r = await kubeaz(['destroy', '-f', file, '--yes', '--output', 'json'], env);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { found: boolean; message: string; deleted: unknown[] };
      expect(out.found).toBe(false);
      expect(out.message).toMatch(/^cluster \S+ not found in \S+$/);
      expect(out.deleted).toEqual([]);
    });
  });
}

interface Clients {
  ec2: EC2Client;
  asg: AutoScalingClient;
  elb: ElasticLoadBalancingClient;
  iam: IAMClient;
  r53: Route53Client;
  s3: S3Client;
}

function makeClients(region: string): Clients {
  return {
    ec2: new EC2Client({ region }),
    asg: new AutoScalingClient({ region }),
    elb: new ElasticLoadBalancingClient({ region }),
    iam: new IAMClient({ region: 'us-east-1' }),
    r53: new Route53Client({ region: 'us-east-1' }),
    s3: new S3Client({ region, forcePathStyle: true }),
  };
}

const owned = (id: string) => [{ Name: 'tag:kubeaz:cluster', Values: [id] }];
const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, k: string) => tags?.find((t) => t.Key === k)?.Value;

async function networkChecks(c: Clients, id: string, zones: string[], natPerZone: boolean) {
  const vpcs = (await c.ec2.send(new DescribeVpcsCommand({ Filters: owned(id) }))).Vpcs ?? [];
  expect(vpcs).toHaveLength(1);
  const vpc = vpcs[0]!;
  expect(tag(vpc.Tags, `kubernetes.io/cluster/${id}`)).toBe('owned');
  expect(tag(vpc.Tags, 'kubeaz:generation')).toMatch(/^[0-9a-f]{12}$/);
  const subnets = (await c.ec2.send(new DescribeSubnetsCommand({ Filters: owned(id) }))).Subnets ?? [];
  expect(subnets).toHaveLength(zones.length * 2);
  for (const z of zones) {
    const pub = subnets.find((s) => tag(s.Tags, 'kubeaz:key') === `subnet/public/${z}`)!;
    const priv = subnets.find((s) => tag(s.Tags, 'kubeaz:key') === `subnet/private/${z}`)!;
    expect(pub.AvailabilityZone).toBe(z);
    expect(priv.AvailabilityZone).toBe(z);
    expect(pub.VpcId).toBe(vpc.VpcId);
    expect(tag(pub.Tags, 'kubernetes.io/role/elb')).toBe('1');
    expect(tag(priv.Tags, 'kubernetes.io/role/internal-elb')).toBe('1');
  }
  const igw = (await c.ec2.send(new DescribeInternetGatewaysCommand({ Filters: owned(id) }))).InternetGateways ?? [];
  expect(igw).toHaveLength(1);
  expect(igw[0]!.Attachments?.[0]?.VpcId).toBe(vpc.VpcId);
  const nats = ((await c.ec2.send(new DescribeNatGatewaysCommand({ Filter: owned(id) }))).NatGateways ?? []).filter(
    (n) => n.State !== 'deleted',
  );
  expect(nats).toHaveLength(natPerZone ? zones.length : 1);
  for (const n of nats) {
    expect(n.State).toBe('available');
    expect(subnets.find((s) => s.SubnetId === n.SubnetId)?.Tags?.find((t) => t.Key === 'kubeaz:key')?.Value).toMatch(/^subnet\/public\//);
  }
  const rts = (await c.ec2.send(new DescribeRouteTablesCommand({ Filters: owned(id) }))).RouteTables ?? [];
  expect(rts).toHaveLength(1 + zones.length);
  const pubRt = rts.find((r) => tag(r.Tags, 'kubeaz:key') === 'rt/public')!;
  expect(pubRt.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.GatewayId).toBe(igw[0]!.InternetGatewayId);
  expect(pubRt.Associations?.filter((a) => a.SubnetId)).toHaveLength(zones.length);
  for (const z of zones) {
    const rt = rts.find((r) => tag(r.Tags, 'kubeaz:key') === `rt/private/${z}`)!;
    const natId = rt.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NatGatewayId;
    const nat = nats.find((n) => n.NatGatewayId === natId)!;
    expect(nat).toBeDefined();
    if (natPerZone) expect(subnets.find((s) => s.SubnetId === nat.SubnetId)?.AvailabilityZone).toBe(z);
    const priv = subnets.find((s) => tag(s.Tags, 'kubeaz:key') === `subnet/private/${z}`)!;
    expect(rt.Associations?.map((a) => a.SubnetId)).toContain(priv.SubnetId);
  }
  const nacls = (await c.ec2.send(new DescribeNetworkAclsCommand({ Filters: owned(id) }))).NetworkAcls ?? [];
  expect(nacls).toHaveLength(2);
  for (const n of nacls) expect(n.Associations?.length).toBe(zones.length);
  return { vpc, subnets };
}

async function securityChecks(c: Clients, id: string, apiAccess: string[], lbGroup: boolean) {
  const sgs = (await c.ec2.send(new DescribeSecurityGroupsCommand({ Filters: owned(id) }))).SecurityGroups ?? [];
  const byKey = (k: string) => sgs.find((g) => tag(g.Tags, 'kubeaz:key') === k);
  expect(byKey('sg/master')).toBeDefined();
  expect(byKey('sg/node')).toBeDefined();
  expect(Boolean(byKey('sg/loadbalancer'))).toBe(lbGroup);
  // nothing open to the world except the public API listener (apiAccess) and loadbalancer 80/443
  for (const g of sgs) {
    for (const p of g.IpPermissions ?? []) {
      for (const r of p.IpRanges ?? []) {
        if (r.CidrIp === '0.0.0.0/0') {
          const key = tag(g.Tags, 'kubeaz:key');
          const allowed =
            (key === 'sg/loadbalancer' && (p.FromPort === 80 || p.FromPort === 443)) ||
            (key === 'sg/elb-public' && p.FromPort === 443 && apiAccess.includes('0.0.0.0/0'));
          expect(allowed, `${key} opens ${p.FromPort} to the world`).toBe(true);
        }
      }
    }
  }
  const pub = byKey('sg/elb-public');
  if (apiAccess.length)
    expect((pub?.IpPermissions ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => r.CidrIp)).sort()).toEqual([...apiAccess].sort());
  // etcd only from the master's own group
  const etcd = byKey('sg/master')!.IpPermissions!.find((p) => p.FromPort === 2379)!;
  expect(etcd.UserIdGroupPairs?.map((u) => u.GroupId)).toEqual([byKey('sg/master')!.GroupId]);
  expect(etcd.IpRanges ?? []).toEqual([]);
}

async function storageChecks(c: Clients, id: string) {
  const bucket = `kubeaz-${id}-${ACCOUNT}`;
  expect((await c.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
  const enc = await c.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
  expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
  const pab = (await c.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration!;
  expect([pab.BlockPublicAcls, pab.BlockPublicPolicy, pab.IgnorePublicAcls, pab.RestrictPublicBuckets]).toEqual([true, true, true, true]);
  const policy = JSON.parse((await c.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!);
  expect(JSON.stringify(policy)).toMatch(/aws:SecureTransport/);
  // no script: the add-on manifests the masters apply are all that is under bootstrap/
  const objects = (await c.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'bootstrap/' }))).Contents ?? [];
  expect(objects.map((o) => o.Key).sort()).toEqual(['bootstrap/master/addons/storageclass.yaml']);
  // every instance runs the agent: its bundle under its content hash and its configuration
  const agent = ((await c.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'agent/' }))).Contents ?? []).map((o) => o.Key);
  expect(agent).toContain('agent/config.json');
  expect(agent.filter((k) => /^agent\/kubeaz-agent-[a-f0-9]{64}\.mjs$/.test(k!))).toHaveLength(1);
}

async function iamChecks(c: Clients, id: string, roles: string[]) {
  const listed = (await c.iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${id}/` }))).Roles ?? [];
  expect(listed.map((r) => r.RoleName).sort()).toEqual(roles.map((r) => `${id}-${r}`).sort());
  const profiles = (await c.iam.send(new ListInstanceProfilesCommand({ PathPrefix: `/kubeaz/${id}/` }))).InstanceProfiles ?? [];
  expect(profiles).toHaveLength(roles.length);
  for (const p of profiles) expect(p.Roles?.map((r) => r.RoleName)).toEqual([p.InstanceProfileName]);
  for (const r of roles) {
    const doc = JSON.parse(
      decodeURIComponent(
        (await c.iam.send(new GetRolePolicyCommand({ RoleName: `${id}-${r}`, PolicyName: `kubeaz-${r}` }))).PolicyDocument!,
      ),
    );
    for (const st of doc.Statement as Array<{ Action: string | string[]; Resource: string | string[] }>) {
      const actions = ([] as string[]).concat(st.Action);
      const resources = ([] as string[]).concat(st.Resource);
      // no '*' or 'service:*' action on every resource
      if (resources.includes('*')) for (const a of actions) expect(a === '*' || a.endsWith(':*'), `${r}: ${a} on *`).toBe(false);
      // S3 writes only inside our bucket
      for (const a of actions)
        if (/^s3:(Put|Delete)/.test(a)) for (const res of resources) expect(res.startsWith(`arn:aws:s3:::kubeaz-${id}-`)).toBe(true);
    }
  }
}

async function computeChecks(
  c: Clients,
  id: string,
  groups: Array<{ name: string; min: number; max: number; desired: number; tier: 'public' | 'private'; zone?: string }>,
  subnets: Array<{ SubnetId?: string; Tags?: Array<{ Key?: string; Value?: string }> }>,
  elbNames: string[],
) {
  const asgs =
    (await c.asg.send(new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [id] }] })))
      .AutoScalingGroups ?? [];
  expect(asgs.map((g) => g.AutoScalingGroupName).sort()).toEqual(groups.map((g) => `${id}-${g.name}`).sort());
  for (const g of groups) {
    const asg = asgs.find((a) => a.AutoScalingGroupName === `${id}-${g.name}`)!;
    expect([asg.MinSize, asg.MaxSize, asg.DesiredCapacity]).toEqual([g.min, g.max, g.desired]);
    expect(tag(asg.Tags as never, 'kubeaz:node-group')).toBe(g.name);
    // a master of an HA control plane: its zone's subnet only
    const tierSubnets = subnets
      .filter((s) => tag(s.Tags, 'kubeaz:key')?.startsWith(`subnet/${g.tier}/${g.zone ?? ''}`))
      .map((s) => s.SubnetId)
      .sort();
    expect(asg.VPCZoneIdentifier!.split(',').sort()).toEqual(tierSubnets);
    expect((asg.LoadBalancerNames ?? []).sort()).toEqual(/^master(-\d+)?$/.test(g.name) ? [...elbNames].sort() : []);
    expect(asg.Instances?.filter((i) => i.LifecycleState === 'InService')).toHaveLength(g.desired);
    if (g.zone) expect(asg.Instances?.map((i) => i.AvailabilityZone)).toEqual([g.zone]);
    const lt = await c.ec2.send(
      new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: asg.LaunchTemplate!.LaunchTemplateId!,
        Versions: [asg.LaunchTemplate!.Version!],
      }),
    );
    const data = lt.LaunchTemplateVersions![0]!.LaunchTemplateData!;
    expect(data.MetadataOptions?.HttpTokens).toBe('required');
    expect(data.MetadataOptions?.HttpPutResponseHopLimit).toBe(1);
    const ebs = data.BlockDeviceMappings?.[0]?.Ebs;
    expect(ebs?.Encrypted).toBe(true);
    expect(ebs?.VolumeType).toBe('gp3');
    expect(data.IamInstanceProfile?.Arn).toMatch(/instance-profile\/kubeaz\//);
    const userData = Buffer.from(data.UserData!, 'base64').toString();
    expect(userData).toMatch(/^#!/);
    expect(userData).not.toMatch(/BEGIN (RSA |EC )?PRIVATE KEY|--token /);
    expect(Buffer.byteLength(userData)).toBeLessThan(16384);
  }
  const instances = (
    await c.ec2.send(
      new DescribeInstancesCommand({ Filters: [...owned(id), { Name: 'instance-state-name', Values: ['running', 'pending'] }] }),
    )
  ).Reservations!.flatMap((r) => r.Instances ?? []);
  expect(instances).toHaveLength(groups.reduce((n, g) => n + g.desired, 0));
  for (const i of instances) expect(tag(i.Tags, `kubernetes.io/cluster/${id}`)).toBe('owned');
  const elbs = (await c.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancerDescriptions ?? [];
  for (const n of elbNames) {
    const e = elbs.find((x) => x.LoadBalancerName === n)!;
    expect(e).toBeDefined();
    expect(e.ListenerDescriptions?.[0]?.Listener).toMatchObject({ LoadBalancerPort: 443, InstancePort: 6443 });
    expect(e.Subnets).toHaveLength(subnets.length / 2);
  }
}

async function dnsChecks(
  c: Clients,
  id: string,
  internal: string,
  publicDomain: string | undefined,
  expectRecords: Array<{ zone: string; name: string }>,
) {
  const zones = (await c.r53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
  const priv = zones.find((z) => z.Name === `${internal}.`)!;
  expect(priv.Config?.PrivateZone).toBe(true);
  const detail = await c.r53.send(new GetHostedZoneCommand({ Id: priv.Id! }));
  expect(detail.VPCs?.length).toBe(1);
  if (publicDomain) expect(zones.find((z) => z.Name === `${publicDomain}.`)?.Config?.PrivateZone).toBe(false);
  else expect(zones.filter((z) => !z.Config?.PrivateZone).map((z) => z.Name)).toEqual([]); // no public zone at all
  for (const r of expectRecords) {
    const z = zones.find((x) => x.Name === `${r.zone}.`)!;
    const sets = (await c.r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: z.Id! }))).ResourceRecordSets ?? [];
    expect(
      sets.some((s) => s.Name === `${r.name}.` && s.Type === 'A'),
      `${r.name} A in ${r.zone}`,
    ).toBe(true);
  }
  void id;
}

lifecycle(
  'example spec as shipped: 3 zones, per-zone NAT, loadbalancer group with elastic IPs, IAM user, no public domain',
  () => readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'),
  'us-east-1',
  'demo-dev',
  async (c) => {
    const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const { subnets } = await networkChecks(c, 'demo-dev', zones, true);
    await securityChecks(c, 'demo-dev', ['0.0.0.0/0'], true);
    await storageChecks(c, 'demo-dev');
    await iamChecks(c, 'demo-dev', ['master', 'node', 'loadbalancer']);
    const users = (await c.iam.send(new ListUsersCommand({ PathPrefix: '/kubeaz/demo-dev/' }))).Users ?? [];
    expect(users.map((u) => u.UserName)).toEqual(['backup-reader']);
    await computeChecks(
      c,
      'demo-dev',
      [
        { name: 'master', min: 1, max: 1, desired: 1, tier: 'private' },
        { name: 'workers', min: 3, max: 6, desired: 3, tier: 'private' },
        { name: 'edge', min: 2, max: 2, desired: 2, tier: 'public' },
      ],
      subnets,
      ['demo-dev-api', 'demo-dev-api-int'],
    );
    await dnsChecks(c, 'demo-dev', 'dev.kube', undefined, [{ zone: 'dev.kube', name: 'master.dev.kube' }]);
    // the loadbalancer group's pool: 2 elastic IPs tagged with the pool, plus 3 for NAT
    const { DescribeAddressesCommand } = await import('@aws-sdk/client-ec2');
    const eips = (await c.ec2.send(new DescribeAddressesCommand({ Filters: owned('demo-dev') }))).Addresses ?? [];
    expect(eips).toHaveLength(5);
    expect(eips.filter((a) => tag(a.Tags, 'kubeaz:eip-pool') === 'edge')).toHaveLength(2);
  },
);

lifecycle(
  'small spec: 2 zones in us-west-2, single NAT, arm64 nodes, restricted API access',
  async () => specB,
  'us-west-2',
  'small-qa',
  async (c) => {
    const zones = ['us-west-2a', 'us-west-2b'];
    const { subnets } = await networkChecks(c, 'small-qa', zones, false);
    await securityChecks(c, 'small-qa', ['203.0.113.0/24'], false);
    await storageChecks(c, 'small-qa');
    await iamChecks(c, 'small-qa', ['master', 'node']);
    await computeChecks(
      c,
      'small-qa',
      [
        { name: 'master', min: 1, max: 1, desired: 1, tier: 'private' },
        { name: 'general', min: 1, max: 3, desired: 2, tier: 'private' },
      ],
      subnets,
      ['small-qa-api', 'small-qa-api-int'],
    );
    await dnsChecks(c, 'small-qa', 'qa.kube', undefined, [{ zone: 'qa.kube', name: 'master.qa.kube' }]);
    const vpce = (await c.ec2.send(new DescribeVpcEndpointsCommand({ Filters: owned('small-qa') }))).VpcEndpoints ?? [];
    expect(vpce).toHaveLength(0);
  },
);

lifecycle(
  'highly available control plane and public DNS: the example spec with three masters, one per zone, and its publicDomain on',
  async () =>
    withPublicDomain(await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'))
      .replace('  name: demo\n', '  name: ha\n')
      .replace('    volumeSize: 50\n', '    volumeSize: 50\n    count: 3\n'),
  'us-east-1',
  'ha-dev',
  async (c) => {
    const zones = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const { subnets } = await networkChecks(c, 'ha-dev', zones, true);
    // etcd (2379-2380) only from the masters' own group
    await securityChecks(c, 'ha-dev', ['0.0.0.0/0'], true);
    await storageChecks(c, 'ha-dev');
    const config = await c.s3.send(new GetObjectCommand({ Bucket: `kubeaz-ha-dev-${ACCOUNT}`, Key: 'agent/config.json' }));
    expect(JSON.parse(await config.Body!.transformToString()).master.controlPlaneCount).toBe(3);
    await computeChecks(
      c,
      'ha-dev',
      [
        { name: 'master', min: 1, max: 1, desired: 1, tier: 'private', zone: 'us-east-1a' },
        { name: 'master-2', min: 1, max: 1, desired: 1, tier: 'private', zone: 'us-east-1b' },
        { name: 'master-3', min: 1, max: 1, desired: 1, tier: 'private', zone: 'us-east-1c' },
        { name: 'workers', min: 3, max: 6, desired: 3, tier: 'private' },
        { name: 'edge', min: 2, max: 2, desired: 2, tier: 'public' },
      ],
      subnets,
      ['ha-dev-api', 'ha-dev-api-int'],
    );
    await dnsChecks(c, 'ha-dev', 'dev.kube', 'example.com', [
      { zone: 'dev.kube', name: 'master.dev.kube' },
      { zone: 'example.com', name: 'master.dev.example.com' },
      { zone: 'example.com', name: 'lb.example.com' },
    ]);
    // every master registered with both API load balancers, each its own launch template naming its group
    const elbs =
      (await c.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: ['ha-dev-api', 'ha-dev-api-int'] })))
        .LoadBalancerDescriptions ?? [];
    const masters =
      (
        await c.asg.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['ha-dev-master', 'ha-dev-master-2', 'ha-dev-master-3'] }),
        )
      ).AutoScalingGroups ?? [];
    const masterInstances = masters.flatMap((g) => (g.Instances ?? []).map((i) => i.InstanceId)).sort();
    expect(masterInstances).toHaveLength(3);
    for (const e of elbs) expect((e.Instances ?? []).map((i) => i.InstanceId).sort(), e.LoadBalancerName).toEqual(masterInstances);
    expect(new Set(masters.map((g) => g.LaunchTemplate?.LaunchTemplateId)).size).toBe(3);
    for (const g of masters) {
      const lt = await c.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          LaunchTemplateId: g.LaunchTemplate!.LaunchTemplateId!,
          Versions: [g.LaunchTemplate!.Version!],
        }),
      );
      const group = tag(g.Tags as never, 'kubeaz:node-group')!;
      expect(Buffer.from(lt.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString()).toContain(
        `--group '${group}'`,
      );
    }
  },
);
