/**
 * Per kind, the cases terraform-provider-aws writes for each resource, through the real CLI against
 * moto, on ONE example cluster (cluster.example.yaml with its commented publicDomain and publicRecord
 * lines switched on, so the public zone and its records are among the kinds' resources) built once:
 *   created     — the first create makes every key of the kind, and the plan after it finds each
 *                 one there, unchanged;
 *   no-op       — a second create leaves every key of the kind unchanged, with zero mutating calls;
 *   disappears  — one resource of the kind deleted out of band with the SDK (where AWS lets it go
 *                 on its own): plan shows it missing, create makes it again, and the plan after
 *                 that is empty;
 *   destroy     — after destroy, plan finds nothing of the kind (every key to create again).
 * Every step runs once, in the hooks; each kind's test only reads what they recorded, so the tests
 * do not hang on their order. A kind that cannot disappear on its own names why in KINDS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DeleteAutoScalingGroupCommand, DeleteLifecycleHookCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteRuleCommand, EventBridgeClient, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteLaunchTemplateCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  DisassociateAddressCommand,
  DeleteNatGatewayCommand,
  DeleteNetworkAclCommand,
  DeleteRouteTableCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DisassociateRouteTableCommand,
  EC2Client,
  ReleaseAddressCommand,
  ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { DeleteLoadBalancerCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  DeleteAccessKeyCommand,
  DeleteInstanceProfileCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetInstanceProfileCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Plan } from '../../src/engine/compare.js';
import type { Kind } from '../../src/model/types.js';
import { HANDLERS } from '../../src/resources/index.js';
import { kubeaz } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';
import { examplePublicDomain } from '../helpers/example.js';

const REGION = 'us-east-1';
const CLUSTER = 'demo-dev';

interface Action {
  key: string;
  kind: Kind;
  action: string;
  id?: string;
}
interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number };
  actions: Action[];
}
type PlanJson = Plan & { calls: { total: number; mutating: number } };
interface State {
  resources: Record<string, { id: string }>;
}

/** Deletes the resource `key` (id from the state file) out of band, as someone in the console would. */
type Vanish = (key: string, id: string, s: State) => Promise<void>;
/** per kind: how one of its resources disappears (the key picked from the example's), or why it cannot */
type Row = { pick: (keys: string[]) => string; vanish: Vanish; missingAs?: 'update' } | { cannot: string };

const clients = () => {
  const cfg = { region: REGION };
  return {
    ec2: new EC2Client(cfg),
    asg: new AutoScalingClient(cfg),
    elb: new ElasticLoadBalancingClient(cfg),
    iam: new IAMClient(cfg),
    r53: new Route53Client(cfg),
    s3: new S3Client({ ...cfg, forcePathStyle: true }),
    sqs: new SQSClient(cfg),
    events: new EventBridgeClient(cfg),
  };
};
let aws: ReturnType<typeof clients>;
const first = (prefix: string) => (keys: string[]) => keys.find((k) => k.startsWith(prefix)) ?? keys[0]!;

const NOT_IN_EXAMPLE = 'not in the example cluster';
const KINDS: Record<Kind, Row> = {
  vpc: { cannot: 'DeleteVpc is refused (DependencyViolation) while subnets, gateways and groups are in it: it only goes with the cluster' },
  subnet: {
    cannot: "DeleteSubnet is refused (DependencyViolation) while the groups' instances, NAT gateways and ELB interfaces are in it",
  },
  'internet-gateway': {
    cannot: 'DetachInternetGateway is refused while public addresses are mapped in the VPC (the NAT gateways\u2019 Elastic IPs)',
  },
  'elastic-ip': {
    // the loadbalancer group's pool: unassociated until its agent takes one (a NAT gateway's address cannot be released under it)
    pick: (keys) => keys.find((k) => !k.startsWith('eip/nat/')) ?? keys[0]!,
    vanish: async (_k, id) => void (await aws.ec2.send(new ReleaseAddressCommand({ AllocationId: id }))),
  },
  'nat-gateway': {
    pick: first('nat/'),
    vanish: async (_k, id) => {
      const gw = (await aws.ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [id] }))).NatGateways![0]!;
      await aws.ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: id }));
      // AWS frees a deleted gateway's Elastic IP (disassociated, not released); moto keeps it associated, so do it here
      const allocations = (gw.NatGatewayAddresses ?? []).map((a) => a.AllocationId!).filter(Boolean);
      for (const a of (await aws.ec2.send(new DescribeAddressesCommand({ AllocationIds: allocations }))).Addresses ?? []) {
        if (a.AssociationId) await aws.ec2.send(new DisassociateAddressCommand({ AssociationId: a.AssociationId }));
      }
    },
  },
  'route-table': {
    pick: first('rt/private/us-east-1b'),
    vanish: async (_k, id) => {
      const rt = (await aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] }))).RouteTables![0]!;
      for (const a of rt.Associations ?? [])
        if (a.RouteTableAssociationId && !a.Main)
          await aws.ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId }));
      await aws.ec2.send(new DeleteRouteTableCommand({ RouteTableId: id }));
    },
  },
  'network-acl': {
    pick: first('nacl/private'),
    vanish: async (_k, id, s) => {
      const acls =
        (await aws.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [s.resources.vpc!.id] }] })))
          .NetworkAcls ?? [];
      const dflt = acls.find((a) => a.IsDefault)!.NetworkAclId!;
      for (const a of acls.find((x) => x.NetworkAclId === id)!.Associations ?? [])
        await aws.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: a.NetworkAclAssociationId!, NetworkAclId: dflt }));
      await aws.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: id }));
    },
  },
  'vpc-endpoint': { cannot: NOT_IN_EXAMPLE },
  'security-group': {
    cannot: 'DeleteSecurityGroup is refused (DependencyViolation) while instances, ELBs or other groups\u2019 rules use it',
  },
  'security-group-rules': {
    // the rules of a group that is still there: their loss is an update of the rules (ingress +), not a create
    missingAs: 'update',
    pick: first('sg/node/rules'),
    vanish: async (key, _id, s) => {
      const groupId = s.resources[key.replace(/\/rules$/, '')]!.id;
      const sg = (await aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))).SecurityGroups![0]!;
      if (sg.IpPermissions?.length)
        await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: sg.IpPermissions }));
    },
  },
  bucket: {
    cannot:
      'DeleteBucket is refused (BucketNotEmpty) while it holds the cluster\u2019s PKI, agent and records; emptying it is losing the cluster',
  },
  'bucket-object': {
    pick: first('object/bootstrap/'),
    vanish: async (_k, id, s) => void (await aws.s3.send(new DeleteObjectCommand({ Bucket: s.resources.bucket!.id, Key: id }))),
  },
  'discovery-bucket': { cannot: `${NOT_IN_EXAMPLE} (IRSA is off): irsa.test.ts` },
  pki: {
    cannot:
      'its objects are the cluster\u2019s certificate authorities: create after losing them would make new CAs the running cluster does not trust (destroy-backups.test.ts: pki/ kept and reused)',
  },
  'iam-role': { cannot: 'DeleteRole is refused (DeleteConflict) while the role is in an instance profile and has its policies' },
  'oidc-provider': { cannot: `${NOT_IN_EXAMPLE} (IRSA is off): irsa.test.ts` },
  'instance-profile': {
    pick: first('profile/loadbalancer'),
    vanish: async (_k, id) => {
      const p = (await aws.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: id }))).InstanceProfile!;
      for (const r of p.Roles ?? [])
        await aws.iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: id, RoleName: r.RoleName! }));
      await aws.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: id }));
    },
  },
  'iam-user': {
    pick: first('user/'),
    vanish: async (_k, id) => {
      for (const p of (await aws.iam.send(new ListUserPoliciesCommand({ UserName: id }))).PolicyNames ?? [])
        await aws.iam.send(new DeleteUserPolicyCommand({ UserName: id, PolicyName: p }));
      for (const p of (await aws.iam.send(new ListAttachedUserPoliciesCommand({ UserName: id }))).AttachedPolicies ?? [])
        await aws.iam.send(new DetachUserPolicyCommand({ UserName: id, PolicyArn: p.PolicyArn! }));
      for (const k of (await aws.iam.send(new ListAccessKeysCommand({ UserName: id }))).AccessKeyMetadata ?? [])
        await aws.iam.send(new DeleteAccessKeyCommand({ UserName: id, AccessKeyId: k.AccessKeyId! }));
      await aws.iam.send(new DeleteUserCommand({ UserName: id }));
    },
  },
  'hosted-zone': { cannot: 'DeleteHostedZone is refused (HostedZoneNotEmpty) while it holds the cluster\u2019s records' },
  'dns-record': {
    pick: first('record/lb/'),
    vanish: async (_k, id) => {
      const [zoneId, name] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
      const sets = (await aws.r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? [];
      const mine = sets.filter((r) => r.Name!.replace(/\.$/, '') === name.replace(/\.$/, ''));
      expect(mine.length, `records named ${name}`).toBeGreaterThan(0);
      await aws.r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: { Changes: mine.map((r) => ({ Action: 'DELETE', ResourceRecordSet: r })) },
        }),
      );
    },
  },
  'load-balancer': {
    pick: first('elb/internal'),
    vanish: async (_k, id) => void (await aws.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerName: id }))),
  },
  'target-group': {
    cannot: `${NOT_IN_EXAMPLE} (a classic ELB fronts its API; and DeleteTargetGroup is refused while a listener uses it): nlb.test.ts`,
  },
  'network-load-balancer': { cannot: `${NOT_IN_EXAMPLE} (a classic ELB fronts its API): nlb.test.ts` },
  'launch-template': {
    pick: first('lt/edge'),
    vanish: async (_k, id) => void (await aws.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }))),
  },
  'auto-scaling-group': {
    pick: first('asg/workers'),
    vanish: async (_k, id) => void (await aws.asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: id, ForceDelete: true }))),
  },
  // the drain set-up (issue 20): its queue (id: its URL), a rule (id: its name), a hook (id: group/name)
  'sqs-queue': {
    pick: first('queue/drain'),
    vanish: async (_k, id) => void (await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: id }))),
  },
  'event-rule': {
    pick: first('rule/drain/spot-interruption'),
    vanish: async (_k, id) => {
      await aws.events.send(new RemoveTargetsCommand({ Rule: id, Ids: ['drain-queue'] }));
      await aws.events.send(new DeleteRuleCommand({ Name: id }));
    },
  },
  'lifecycle-hook': {
    pick: first('hook/edge'),
    vanish: async (_k, id) => {
      const [group, name] = id.split('/');
      await aws.asg.send(new DeleteLifecycleHookCommand({ AutoScalingGroupName: group!, LifecycleHookName: name! }));
    },
  },
};

const moto = useMoto({ processEnv: true });

/** what each step saw */
const seen: {
  desired: Map<Kind, string[]>;
  created?: CreateJson;
  afterCreate?: PlanJson;
  again?: CreateJson;
  vanished: Map<Kind, string>;
  afterVanish?: PlanJson;
  restored?: CreateJson;
  afterRestore?: PlanJson;
  destroyCode?: number;
  afterDestroy?: PlanJson;
} = { desired: new Map(), vanished: new Map() };

describe('every kind: created, no-op, disappears, destroyed (one example cluster)', () => {
  let dir: string;

  beforeAll(async () => {
    aws = clients();
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-kinds-'));
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, examplePublicDomain());
    const env = moto.env;
    const run = async (args: string[], codes = [0]) => {
      const r = await kubeaz([...args, '-f', file], env, { timeoutMs: 600_000 });
      expect(codes, `kubeaz ${args.join(' ')}:\n${r.stderr}`).toContain(r.code);
      return r;
    };
    const plan = async () => (await run(['plan', '--output', 'json', '--detailed-exitcode'], [0, 4])).json<PlanJson>();

    for (const c of (await plan()).changes) seen.desired.set(c.kind, [...(seen.desired.get(c.kind) ?? []), c.key]);
    seen.created = (await run(['create', '--yes', '--output', 'json'])).json<CreateJson>();
    seen.afterCreate = await plan();
    seen.again = (await run(['create', '--yes', '--output', 'json'])).json<CreateJson>();

    // one resource of every kind that can go on its own, all at once
    const state = JSON.parse(await readFile(path.join(dir, '.kubeaz', `${CLUSTER}.json`), 'utf8')) as State;
    for (const [kind, row] of Object.entries(KINDS) as Array<[Kind, Row]>) {
      const keys = seen.desired.get(kind);
      if ('cannot' in row || !keys) continue;
      const key = row.pick(keys);
      await row.vanish(key, state.resources[key]!.id, state);
      seen.vanished.set(kind, key);
    }
    seen.afterVanish = await plan();
    seen.restored = (await run(['create', '--yes', '--output', 'json'])).json<CreateJson>();
    seen.afterRestore = await plan();

    seen.destroyCode = (await run(['destroy', '--yes'])).code;
    seen.afterDestroy = await plan();
  }, 1_800_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the table names every kind of the registry, and only those', () => {
    expect(Object.keys(KINDS).sort()).toEqual(Object.keys(HANDLERS).sort());
    // a kind the table calls absent from the example is absent; every other kind is in it
    for (const [kind, row] of Object.entries(KINDS) as Array<[Kind, Row]>) {
      if ('cannot' in row && row.cannot.startsWith(NOT_IN_EXAMPLE)) expect(seen.desired.get(kind), kind).toBeUndefined();
      else expect(seen.desired.get(kind)?.length, kind).toBeGreaterThan(0);
    }
  });

  const inExample = (Object.keys(KINDS) as Kind[]).filter(
    (k) => !('cannot' in KINDS[k] && (KINDS[k] as { cannot: string }).cannot.startsWith(NOT_IN_EXAMPLE)),
  );

  describe.each(inExample)('%s', (kind) => {
    const keys = () => seen.desired.get(kind)!;
    const actionsOf = (r: CreateJson | undefined) => (r?.actions ?? []).filter((a) => a.kind === kind);
    const changesOf = (p: PlanJson | undefined) => (p?.changes ?? []).filter((c) => c.kind === kind);

    it('created: the first create makes every key, and the plan after it finds each one unchanged', () => {
      expect(seen.created!.ok).toBe(true);
      expect(
        actionsOf(seen.created)
          .map((a) => [a.key, a.action])
          .sort(),
      ).toEqual(
        keys()
          .map((k) => [k, 'create'])
          .sort(),
      );
      expect(changesOf(seen.afterCreate)).toEqual([]);
    });

    it('no-op: a second create leaves every key unchanged, with zero mutating calls', () => {
      expect(seen.again!.calls.mutating).toBe(0);
      expect(
        actionsOf(seen.again)
          .map((a) => [a.key, a.action])
          .sort(),
      ).toEqual(
        keys()
          .map((k) => [k, 'unchanged'])
          .sort(),
      );
    });

    const row = KINDS[kind];
    if ('cannot' in row) {
      it.skip(`disappears: not deleted out of band — ${row.cannot}`, () => {});
    } else {
      it('disappears: deleted out of band, plan shows it missing, create makes it again, the plan after is empty', () => {
        const key = seen.vanished.get(kind)!;
        expect(key).toBeDefined();
        const missing = row.missingAs ?? 'create';
        expect(changesOf(seen.afterVanish).find((c) => c.key === key)?.action, `${key} after it was deleted`).toBe(missing);
        expect(actionsOf(seen.restored).find((a) => a.key === key)?.action).toBe(missing);
        expect(seen.restored!.ok).toBe(true);
        expect(changesOf(seen.afterRestore)).toEqual([]);
      });
    }

    it('destroy: nothing of the kind is left (plan finds every key to create again)', () => {
      expect(seen.destroyCode).toBe(0);
      expect(
        changesOf(seen.afterDestroy)
          .map((c) => [c.key, c.action])
          .sort(),
      ).toEqual(
        keys()
          .map((k) => [k, 'create'])
          .sort(),
      );
    });
  });
});
