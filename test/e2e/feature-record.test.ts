/**
 * Issue 22, a no-op's reads: the VPC records the cluster's optional features (`kubeaz:features`,
 * model/features.ts). A cluster that never had a feature makes none of its reads; one whose
 * feature was turned off still finds what it left — with the state file gone, from the record in
 * AWS — and deletes it with --allow-delete; a VPC without the record (an older kubeaz's) is read in
 * full once and recorded. On moto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteTagsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const ID = 'rec-qa';
const FEATURES_TAG = 'kubeaz:features';

const spec = (lb: 'classic' | 'network') => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: rec, environment: qa }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.22.0.0/20, nat: single }
  dns: { publicDomain: rec-example.com }
  controlPlane: { instanceType: t3.medium, loadBalancer: ${lb} }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
`;

interface Calls {
  total: number;
  mutating: number;
  byAction: Record<string, number>;
}
interface CreateJson {
  ok: boolean;
  calls: Calls;
  plan: Plan | null;
  deleted: Array<{ key: string }>;
  notDeleted: Array<{ key: string }>;
}

/** The reads of IRSA (OIDC provider, discovery bucket's location, sa.pub) and of each load balancer family, by action. */
const irsaReads = (c: Calls) =>
  Object.keys(c.byAction).filter((a) => a.includes('OpenIDConnect') || a === 's3:GetObject' || a === 's3:GetBucketLocation');
const elbv2Reads = (c: Calls) => Object.keys(c.byAction).filter((a) => a.startsWith('elbv2:'));
const classicReads = (c: Calls) => Object.keys(c.byAction).filter((a) => a.startsWith('elb:'));

const moto = useMoto({ processEnv: true });

// The steps of one story on one cluster, each building on the one before: declared in order.
describe('the features a cluster records on its VPC', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let ec2: EC2Client;
  let elbv2: ElasticLoadBalancingV2Client;
  let before: Inventory;

  const create = async (args: string[] = []) => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json', ...args], env);
    return { r, out: r.json<CreateJson>() };
  };
  const vpc = async () => {
    const vpcs = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).Vpcs ?? [];
    expect(vpcs).toHaveLength(1);
    return vpcs[0]!;
  };
  const recorded = async () => (await vpc()).Tags?.find((t) => t.Key === FEATURES_TAG)?.Value;
  const nlbs = async () =>
    ((await elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).filter((l) => l.LoadBalancerName?.startsWith(`${ID}-`));
  const targetGroups = async () =>
    ((await elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).filter((t) => t.TargetGroupName?.startsWith(`${ID}-`));

  beforeAll(async () => {
    env = moto.env;
    ec2 = new EC2Client({ region: REGION });
    elbv2 = new ElasticLoadBalancingV2Client({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-record-'));
    file = path.join(dir, 'cluster.yaml');
    before = await inventory(REGION);
    await writeFile(file, spec('network'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a cluster made with NLBs records them; its no-op reads no classic ELB and nothing of IRSA, which it never had', async () => {
    const made = await create();
    expect(made.r.code, made.r.stderr).toBe(0);
    expect(await recorded()).toBe('nlb');
    const noop = await create();
    expect(noop.r.code, noop.r.stderr).toBe(0);
    expect(noop.out.calls.mutating).toBe(0);
    expect(classicReads(noop.out.calls)).toEqual([]);
    expect(irsaReads(noop.out.calls)).toEqual([]);
    expect(elbv2Reads(noop.out.calls).length).toBeGreaterThan(0);
    // status reads the same way
    await kubeaz(['status', '-f', file], { ...env, KUBEAZ_CALLS_FILE: path.join(dir, 'status.calls.json') });
    const stCalls = JSON.parse(await readFile(path.join(dir, 'status.calls.json'), 'utf8')) as Calls;
    expect(classicReads(stCalls)).toEqual([]);
    // status reads one object of the cluster's bucket, the add-on versions record (etcd/control-plane/addons.json);
    // an IRSA read (the discovery bucket's documents, the provider) would add to it
    expect(irsaReads(stCalls)).toEqual(['s3:GetObject']);
    expect(stCalls.byAction['s3:GetObject']).toBe(1);
  }, 300_000);

  it('NLBs turned off, the state file lost: the record still finds them, and --allow-delete deletes them', async () => {
    await writeFile(file, spec('classic'));
    const first = await create();
    expect(first.r.code).toBe(1); // the NLBs are left until --allow-delete
    expect(first.out.notDeleted.map((d) => d.key).sort()).toEqual(['nlb/internal', 'nlb/public', 'tg/internal', 'tg/public']);
    expect(await recorded()).toBe('elb nlb');
    await rm(path.join(dir, '.kubeaz'), { recursive: true, force: true });
    const second = await create(['--allow-delete']);
    expect(second.r.code, second.r.stderr).toBe(0);
    expect(second.out.deleted.map((d) => d.key).sort()).toEqual(['nlb/internal', 'nlb/public', 'tg/internal', 'tg/public']);
    expect(await nlbs()).toEqual([]);
    expect(await targetGroups()).toEqual([]);
    // a feature once recorded stays recorded: the run after the deletion is a no-op, and still looks
    const noop = await create();
    expect(noop.out.calls.mutating).toBe(0);
    expect(await recorded()).toBe('elb nlb');
    expect(elbv2Reads(noop.out.calls).length).toBeGreaterThan(0);
  }, 300_000);

  it('a VPC without the record (an older kubeaz) is read in full once, then recorded from what was found', async () => {
    await ec2.send(new DeleteTagsCommand({ Resources: [(await vpc()).VpcId!], Tags: [{ Key: FEATURES_TAG }] }));
    const once = await create();
    expect(once.r.code, once.r.stderr).toBe(0);
    // nothing to go by: every feature's reads, and the one tag written
    expect(elbv2Reads(once.out.calls).length).toBeGreaterThan(0);
    expect(classicReads(once.out.calls).length).toBeGreaterThan(0);
    expect(once.out.calls.byAction['iam:GetOpenIDConnectProvider']).toBe(1);
    expect(once.out.plan!.changes.map((c) => `${c.action} ${c.key}`)).toEqual(['update vpc']);
    expect(once.out.calls.mutating).toBe(1);
    expect(await recorded()).toBe('elb');
    const noop = await create();
    expect(noop.out.calls.mutating).toBe(0);
    expect(elbv2Reads(noop.out.calls)).toEqual([]);
    expect(irsaReads(noop.out.calls)).toEqual([]);
  }, 300_000);

  it('destroy leaves nothing', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await inventory(REGION)).toEqual(before);
  }, 300_000);
});
