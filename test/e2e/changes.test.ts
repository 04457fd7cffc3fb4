/**
 * Changing a running cluster through the real CLI against moto, one cluster for the whole file:
 * resize in place; the spec's desiredCapacity applied only when it changes in the spec; a group
 * added; a group removed (refused without --allow-delete, deleted with it); an instance type change
 * → a new launch template version that the group launches; hand-made drift (an SG rule, an ASG's
 * max, a route, a DNS record) reported by status and plan and repaired by create.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteRouteCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
  SetDesiredCapacityCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  ChangeResourceRecordSetsCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { useMoto } from '../helpers/moto.js';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';

const REGION = 'us-west-2';
const ID = 'chg-qa';

interface Group {
  name: string;
  type?: string;
  min: number;
  max: number;
  desired?: number;
}
const spec = (groups: Group[], masters: 1 | 3 = 1) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: chg, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b${masters === 3 ? ', us-west-2c' : ''}]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 172.20.0.0/20
    nat: single
    apiAccess: [203.0.113.0/24]
  controlPlane: { instanceType: t3.medium${masters === 3 ? ', count: 3' : ''} }
  nodeGroups:
${groups.map((g) => `    - { name: ${g.name}, instanceType: ${g.type ?? 'm5.large'}, minSize: ${g.min}, maxSize: ${g.max}${g.desired !== undefined ? `, desiredCapacity: ${g.desired}` : ''} }`).join('\n')}
`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  plan: Plan;
  deleted: Array<{ key: string }>;
  notDeleted: Array<{ key: string }>;
}
type PlanJson = Plan & { calls: { mutating: number } };

const mutating = (c: CreateJson) =>
  Object.entries(c.calls.byAction)
    .filter(([k]) => !/:(Describe|List|Get|Head)/.test(k))
    .map(([k, n]) => `${k}×${n}`)
    .sort();

// The same changes on the seed's single master and on an HA control plane (three masters, one per zone).
const moto = useMoto();
// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('changes', { shuffle: false }, () =>
  describe.each([1, 3] as const)('changing a running cluster (%i master(s))', (masters) => {
    let dir: string;
    let file: string;
    let env: Record<string, string>;
    let ec2: EC2Client;
    let asg: AutoScalingClient;
    let r53: Route53Client;
    const group = async (name: string) =>
      (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${ID}-${name}`] }))).AutoScalingGroups?.[0];
    const create = async (args: string[] = []) => {
      const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json', ...args], env);
      return { r, out: r.json<CreateJson>() };
    };
    const plan = async () => {
      const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
      return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
    };

    beforeAll(async () => {
      await moto.reset();
      env = moto.env;
      Object.assign(process.env, env);
      delete process.env.AWS_PROFILE;
      ec2 = new EC2Client({ region: REGION });
      asg = new AutoScalingClient({ region: REGION });
      r53 = new Route53Client({ region: 'us-east-1' });
      dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-changes-'));
      file = path.join(dir, 'cluster.yaml');
      await writeFile(file, spec([{ name: 'general', min: 1, max: 3, desired: 2 }], masters));
      const r = await kubeaz(['create', '-f', file, '--yes'], env);
      expect(r.code, r.stderr).toBe(0);
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('resize: min/max/desired updated in place on the group', async () => {
      await writeFile(file, spec([{ name: 'general', min: 2, max: 5, desired: 3 }], masters));
      const { p } = await plan();
      expect(p.changes).toHaveLength(1);
      expect(p.changes[0]!.fields).toEqual([
        { field: 'minSize', from: 1, to: 2 },
        { field: 'maxSize', from: 3, to: 5 },
        { field: 'desiredCapacity', from: 2, to: 3 },
        { field: 'tags', from: { 'kubeaz:desired-capacity': '2' }, to: { 'kubeaz:desired-capacity': '3' } },
      ]);
      const { r, out } = await create();
      expect(r.code, r.stderr).toBe(0);
      // and the spec kept in the bucket for get-spec (issue 21): written once the run ended well
      expect(mutating(out)).toEqual(['autoscaling:CreateOrUpdateTags×1', 'autoscaling:UpdateAutoScalingGroup×1', 's3:PutObject×1']);
      console.log(`resize: ${out.calls.total} calls, mutating ${mutating(out).join(', ')}`);
      const g = await group('general');
      expect([g?.MinSize, g?.MaxSize, g?.DesiredCapacity]).toEqual([2, 5, 3]);
      expect((await plan()).code).toBe(0);
    });

    it("the group's own desired capacity within [min, max] is not drift; a change of the spec's desiredCapacity applies", async () => {
      await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: `${ID}-general`, DesiredCapacity: 4 }));
      expect((await plan()).code).toBe(0); // an autoscaler's decision
      await writeFile(file, spec([{ name: 'general', min: 2, max: 5, desired: 2 }], masters));
      const { p } = await plan();
      expect(p.changes[0]!.fields[0]).toEqual({ field: 'desiredCapacity', from: 4, to: 2 });
      const { r } = await create();
      expect(r.code, r.stderr).toBe(0);
      expect((await group('general'))?.DesiredCapacity).toBe(2);
    });

    it('a group added is created; removing it is refused without --allow-delete and done with it', async () => {
      await writeFile(
        file,
        spec(
          [
            { name: 'general', min: 2, max: 5, desired: 2 },
            { name: 'extra', type: 'c5.large', min: 1, max: 1 },
          ],
          masters,
        ),
      );
      const add = await create();
      expect(add.r.code, add.r.stderr).toBe(0);
      // the drain set-up follows the group: its termination hook, and the lifecycle rule names its group;
      // the master's role is untouched (the handler's lifecycle actions are granted by the cluster's tag)
      expect(add.out.plan.changes.map((c) => `${c.action} ${c.key}`)).toEqual([
        'create lt/extra',
        'create asg/extra',
        'update rule/drain/asg-lifecycle',
        'create hook/extra',
      ]);
      console.log(`add a group: ${add.out.calls.total} calls, mutating ${mutating(add.out).join(', ')}`);
      expect((await group('extra'))?.Instances).toHaveLength(1);

      await writeFile(file, spec([{ name: 'general', min: 2, max: 5, desired: 2 }], masters));
      const { p } = await plan();
      expect(p.changes.map((c) => `${c.action} ${c.key}`)).toEqual([
        'update rule/drain/asg-lifecycle',
        'delete hook/extra',
        'delete asg/extra',
        'delete lt/extra',
      ]);
      const refused = await create();
      expect(refused.r.code).toBe(1);
      expect(refused.r.stderr).toMatch(/NOT deleted: hook\/extra .*asg\/extra .*lt\/extra .*--allow-delete/);
      // what is not a deletion is applied: the lifecycle rule stops naming the group (its hook still
      // lets each termination continue after the heartbeat); nothing is deleted
      expect(mutating(refused.out)).toEqual(['events:PutRule×1']);
      expect(await group('extra')).toBeDefined();

      const del = await create(['--allow-delete']);
      expect(del.r.code, del.r.stderr).toBe(0);
      expect(del.out.deleted.map((d) => d.key)).toEqual(['hook/extra', 'asg/extra', 'lt/extra']);
      // the refused run kept no spec; this one, which applied the spec in full, keeps it
      expect(mutating(del.out)).toEqual([
        'autoscaling:DeleteAutoScalingGroup×1',
        'autoscaling:DeleteLifecycleHook×1',
        'ec2:DeleteLaunchTemplate×1',
        's3:PutObject×1',
      ]);
      console.log(`remove a group: ${del.out.calls.total} calls, mutating ${mutating(del.out).join(', ')}`);
      expect(await group('extra')).toBeUndefined();
      const lts = await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:kubeaz:key', Values: ['lt/extra'] }] }));
      expect(lts.LaunchTemplates ?? []).toEqual([]);
      expect((await plan()).code).toBe(0);
    });

    it('an instance type change makes a new launch template version that the group launches; instances keep the old one', async () => {
      await writeFile(file, spec([{ name: 'general', type: 'm5.xlarge', min: 2, max: 5, desired: 2 }], masters));
      const { p } = await plan();
      const lt = p.changes.find((c) => c.key === 'lt/general')!;
      expect(lt.fields[0]).toEqual({ field: 'instanceType', from: 'm5.large', to: 'm5.xlarge' });
      expect(lt.note).toBe('new launch template version 2');
      expect(p.changes.find((c) => c.key === 'asg/general')!.fields).toEqual([{ field: 'launchTemplateVersion', from: '1', to: '2' }]);
      const { r, out } = await create();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/asg\/general now launches launch template version 2; its running instances still run version 1/);
      expect(mutating(out)).toEqual([
        'autoscaling:UpdateAutoScalingGroup×1',
        'ec2:CreateLaunchTemplateVersion×1',
        'ec2:CreateTags×1',
        'ec2:ModifyLaunchTemplate×1',
        's3:PutObject×1',
      ]);
      expect(out.calls.byAction['autoscaling:StartInstanceRefresh']).toBeUndefined();
      console.log(`instance type change: ${out.calls.total} calls, mutating ${mutating(out).join(', ')}`);
      const g = await group('general');
      expect(g?.LaunchTemplate?.Version).toBe('2');
      const v = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: g!.LaunchTemplate!.LaunchTemplateId!, Versions: ['2'] }),
      );
      expect(v.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.InstanceType).toBe('m5.xlarge');
      expect((await plan()).code).toBe(0);
    });

    it('hand-made drift (SG rule added, ASG max, route deleted, DNS record deleted) is reported and repaired', async () => {
      const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:key', Values: ['sg/node'] }] })))
        .SecurityGroups![0]!;
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: sg.GroupId!,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        }),
      );
      await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: `${ID}-general`, MaxSize: 9 }));
      const rt = (
        await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:kubeaz:key', Values: ['rt/private/us-west-2b'] }] }))
      ).RouteTables![0]!;
      await ec2.send(new DeleteRouteCommand({ RouteTableId: rt.RouteTableId!, DestinationCidrBlock: '0.0.0.0/0' }));
      const zone = (await r53.send(new ListHostedZonesCommand({}))).HostedZones!.find((z) => z.Name === 'qa.kube.')!;
      const rec = (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id! }))).ResourceRecordSets!.find(
        (x) => x.Name === 'master.qa.kube.' && x.Type === 'A',
      )!;
      await r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.Id!,
          ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: rec }] },
        }),
      );

      const status = await kubeaz(['status', '-f', file, '--output', 'json'], env);
      expect(status.code).toBe(3);
      const drifted = status
        .json<{ resources: Array<{ key: string; status: string }> }>()
        .resources.filter((x) => x.status !== 'present')
        .map((x) => `${x.key} ${x.status}`);
      expect(drifted.sort()).toEqual([
        'asg/general drifted',
        'record/master-internal drifted',
        'rt/private/us-west-2b drifted',
        'sg/node/rules drifted',
      ]);

      const { code, p } = await plan();
      expect(code).toBe(4);
      expect(p.changes.map((c) => `${c.action} ${c.key}`).sort()).toEqual([
        'update asg/general',
        'update record/master-internal',
        'update rt/private/us-west-2b',
        'update sg/node/rules',
      ]);
      const rules = p.changes.find((c) => c.key === 'sg/node/rules')!.fields[0]!;
      expect((rules.from as unknown[]).length - (rules.to as unknown[]).length).toBe(1);
      expect(p.changes.find((c) => c.key === 'asg/general')!.fields).toEqual([{ field: 'maxSize', from: 9, to: 5 }]);

      const { r, out } = await create();
      expect(r.code, r.stderr).toBe(0);
      console.log(`drift repair: ${out.calls.total} calls, mutating ${mutating(out).join(', ')}`);
      const after = await plan();
      expect(after.code, JSON.stringify(after.p.changes)).toBe(0);
      const sgAfter = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg.GroupId!] }))).SecurityGroups![0]!;
      expect(sgAfter.IpPermissions?.some((x) => x.FromPort === 22)).toBe(false);
      expect((await group('general'))?.MaxSize).toBe(5);
    });
  }),
);
