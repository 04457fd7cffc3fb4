/**
 * Moving a running single-master cluster to three masters through the real CLI against moto
 * (issue 13): plan shows the `master` group pinned to its zone in place plus the new groups and
 * launch templates; create applies it and the master keeps its instance; status lists the masters
 * and the restore record a lost quorum left; going back to one master
 * is refused by plan and create before any mutating call; destroy leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import type { ControlPlaneInfo } from '../../src/operations/status.js';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const REGION = 'us-west-2';
const ID = 'hach-qa';
const ZONES = ['us-west-2a', 'us-west-2b', 'us-west-2c'];

const spec = (count: number) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: hach, environment: qa }
spec:
  region: ${REGION}
  zones: [${ZONES.join(', ')}]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 172.20.0.0/20
    nat: single
    apiAccess: [203.0.113.0/24]
  controlPlane: { instanceType: t3.medium${count === 1 ? '' : `, count: ${count}`} }
`;

type PlanJson = Plan & { calls: { mutating: number } };
interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
}
const mutatingCalls = (c: CreateJson) =>
  Object.entries(c.calls.byAction)
    .filter(([k]) => !/:(Describe|List|Get|Head)/.test(k))
    .map(([k, n]) => `${k}×${n}`)
    .sort();

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('controlPlane.count on a running cluster: 1 → 3, and back refused', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let asg: AutoScalingClient;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingClient;
  let before: Inventory;
  let first: { instance: string; zone: string };
  const groups = async () =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).AutoScalingGroups ??
    [];
  const plan = async () => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
  };

  beforeAll(async () => {
    env = moto.env;
    asg = new AutoScalingClient({ region: REGION });
    ec2 = new EC2Client({ region: REGION });
    elb = new ElasticLoadBalancingClient({ region: REGION });
    before = await inventory(REGION);
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-ha-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec(1));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    const [master] = await groups();
    const i = master!.Instances![0]!;
    first = { instance: i.InstanceId!, zone: i.AvailabilityZone! };
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan 1 → 3: the master group pinned to its zone in place, two new groups and launch templates, nothing deleted', async () => {
    await writeFile(file, spec(3));
    const { code, p, stderr } = await plan();
    expect(code, stderr).toBe(4);
    expect(p.summary.refuse).toBe(0);
    expect(p.calls.mutating).toBe(0);
    const by = (action: string) =>
      p.changes
        .filter((c) => c.action === action)
        .map((c) => c.key)
        .sort();
    expect(by('create')).toEqual(['asg/master-2', 'asg/master-3', 'lt/master-2', 'lt/master-3']);
    expect(by('update')).toEqual(['asg/master', 'object/agent/config.json']);
    expect(by('delete')).toEqual([]);
    const m = p.changes.find((c) => c.key === 'asg/master')!;
    expect(m.fields.map((f) => f.field)).toEqual(['subnetIds']);
    expect(m.fields[0]!.to as string[]).toHaveLength(1);
  });

  it('create 1 → 3: the master keeps its instance, now pinned to its zone; the others take the other zones; all three behind both API ELBs', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<CreateJson>();
    // the master group: only its subnets change (UpdateAutoScalingGroup); nothing is terminated
    expect(mutatingCalls(out).filter((c) => /Terminate|DeleteAutoScaling|Detach/.test(c))).toEqual([]);
    expect(mutatingCalls(out)).toContain('autoscaling:UpdateAutoScalingGroup×1');
    const gs = await groups();
    const master = gs.find((g) => g.AutoScalingGroupName === `${ID}-master`)!;
    expect(master.Instances?.map((i) => i.InstanceId)).toEqual([first.instance]);
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).Subnets ?? [];
    const zoneOf = (g: (typeof gs)[number]) =>
      g.VPCZoneIdentifier!.split(',').map((id) => subnets.find((s) => s.SubnetId === id)!.AvailabilityZone);
    expect(zoneOf(master)).toEqual([first.zone]);
    const zones = ['master', 'master-2', 'master-3'].map((n) => zoneOf(gs.find((g) => g.AutoScalingGroupName === `${ID}-${n}`)!));
    expect(zones.every((z) => z.length === 1)).toBe(true);
    expect(new Set(zones.flat()).size).toBe(3);
    const instances = gs
      .filter((g) => /-master(-\d)?$/.test(g.AutoScalingGroupName!))
      .flatMap((g) => g.Instances!.map((i) => i.InstanceId!))
      .sort();
    expect(instances).toHaveLength(3);
    const elbs = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [`${ID}-api`, `${ID}-api-int`] })))
      .LoadBalancerDescriptions!;
    for (const e of elbs) expect(e.Instances!.map((i) => i.InstanceId).sort(), e.LoadBalancerName).toEqual(instances);
    // and the cluster now matches the spec
    const again = await plan();
    expect(again.code, JSON.stringify(again.p.changes)).toBe(0);
  });

  it('status lists each master group (zone, instance, in service) and the restore record a lost quorum left', async () => {
    const bucket = `kubeaz-${ID}-123456789012`;
    const s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const read = async () => {
      const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.json<{ controlPlane: ControlPlaneInfo }>().controlPlane;
    };
    const cp = await read();
    expect(cp.count).toBe(3);
    expect(cp.masters.map((m) => m.group)).toEqual(['master', 'master-2', 'master-3']);
    expect(cp.masters[0]!.zone).toBe(first.zone);
    expect(cp.masters[0]!.instances.map((i) => [i.id, i.lifecycleState])).toEqual([[first.instance, 'InService']]);
    for (const m of cp.masters) expect(m.instances.map((i) => i.zone)).toEqual([m.zone]);
    expect(new Set(cp.masters.map((m) => m.zone)).size).toBe(3);
    expect(cp.restore).toBeUndefined();
    // what haboot's restore step writes when it wins the restore record
    const record = {
      snapshot: 'etcd/2026/11/28/etcd-20261128T220000Z.db',
      snapshotTime: '2026-11-28T22:00:00Z',
      restoredAt: '2026-11-28T22:31:05Z',
      by: 'master-2 i-0abc',
    };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'etcd/control-plane/restore.json', Body: JSON.stringify(record) }));
    expect((await read()).restore).toEqual(record);
    const text = await kubeaz(['status', '-f', file], env);
    expect(text.stdout).toMatch(/^control plane: 3\/3 masters in service$/m);
    expect(text.stdout).toMatch(new RegExp(`^ {2}master +${first.zone} +${first.instance} +in service$`, 'm'));
    // (long lines wrap at 100 columns, continuing indented)
    expect(text.stdout.replace(/\n {5,}/g, ' ')).toMatch(
      /etcd was restored from etcd\/2026\/11\/28\/etcd-20261128T220000Z\.db \(taken 2026-11-28T22:00:00Z\) at 2026-11-28T22:31:05Z by master-2 i-0abc/,
    );
  });

  it('3 → 1 is refused by plan and by create, with the reason, before any mutating call', async () => {
    await writeFile(file, spec(1));
    const { code, p } = await plan();
    expect(code).toBe(1);
    const refused = p.changes.filter((c) => c.action === 'refuse');
    expect(refused.map((c) => [c.key, c.fields])).toEqual([['asg/master', [{ field: 'controlPlane.count', from: 3, to: 1 }]]]);
    expect(refused[0]!.reason).toMatch(/removes masters.*etcd/);
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/controlPlane\.count 3 → 1 removes masters/);
    expect(mutatingCalls(r.json<CreateJson>())).toEqual([]);
    expect((await groups()).length).toBe(3);
  });

  it('destroy leaves nothing', async () => {
    await writeFile(file, spec(3));
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await inventory(REGION)).toEqual(before);
  });
});
