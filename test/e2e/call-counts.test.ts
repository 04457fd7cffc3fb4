/**
 * Reads that don't grow with the cluster: a no-op create (and status) costs at most 40 AWS calls —
 * 32 for a cluster without NLBs or IRSA, which reads nothing of either (issue 22), and 45 for six
 * zones, three masters behind NLBs and IRSA —, and the same number for a 2-zone / 1-group cluster
 * as for a 6-zone / 5-group one. Issue 20 adds the drain set-up, which a no-op reads in at most 5
 * calls plus one per node group (DRAIN_READS: ListQueues, ListQueueTags, GetQueueAttributes,
 * ListRules, ListRuleNamesByTarget, and DescribeLifecycleHooks per node group — AWS has no batch
 * form of the last): every budget below is the old one raised by exactly that, and the lifecycle
 * hooks' reads are the one count that grows with the node groups. Counts, never seconds: these
 * machines are shared and noisy (the benchmark prints the times). Status (not create) also reads
 * etcd/control-plane/addons.json once — one s3:GetObject — to compare the add-on versions the
 * masters recorded with the table (issue 20).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useMoto } from '../helpers/moto.js';
import { kubeaz, ROOT } from '../helpers/cli.js';

const spec = (name: string, zones: string[], groups: string) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ${name}, environment: t }
spec:
  region: us-east-1
  zones: [${zones.join(', ')}]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: ${name}.example.com }
  controlPlane: { instanceType: m4.large }
  nodeGroups:
${groups}
`;

// six zones, three masters behind NLBs, IRSA, five groups: scripts/noop-calls.sh's big spec
const ha = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ha, environment: t }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: ha.example.com }
  controlPlane: { instanceType: m4.large, count: 3, loadBalancer: network }
  nodeGroups:
    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }
    - { name: memory, instanceType: r4.large, minSize: 1, maxSize: 2 }
    - { name: compute, instanceType: c4.large, minSize: 1, maxSize: 2 }
    - { name: batch, instanceType: c4.xlarge, minSize: 1, maxSize: 2 }
    - { name: edge, role: loadbalancer, instanceType: c4.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: lb }
  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
`;

const small = spec('small', ['us-east-1a', 'us-east-1b'], '    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }');
const big = spec(
  'big',
  ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f'],
  [
    // us-east-1e offers only the older families (as on AWS): the 6-zone groups use them
    '    - { name: workers, instanceType: m4.large, minSize: 1, maxSize: 2 }',
    '    - { name: memory, instanceType: r4.large, minSize: 1, maxSize: 2 }',
    '    - { name: compute, instanceType: c4.large, minSize: 1, maxSize: 2 }',
    '    - { name: batch, instanceType: c4.xlarge, minSize: 1, maxSize: 2 }',
    '    - { name: edge, role: loadbalancer, instanceType: c4.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: lb }',
  ].join('\n'),
);

/** Issue 20: what a no-op reads of the drain set-up — the queue in 3 calls, the rules in 2, the hooks one per node group. */
const DRAIN_READS = (nodeGroups: number): number => 5 + nodeGroups;
/** node groups of each spec measured here (cluster.example.yaml: workers and edge) */
const NODE_GROUPS: Record<string, number> = { small: 1, big: 5, example: 2, ha: 5 };

interface Calls {
  total: number;
  mutating: number;
  byAction: Record<string, number>;
}

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('API calls of a no-op run', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let env: Record<string, string>;
  const counts: Record<string, { create: Calls; noop: Calls; status: Calls }> = {};

  async function measure(name: string, text: string) {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, text);
    const callsFile = path.join(dir, `${name}.calls.json`);
    const run = async (args: string[]) => {
      await rm(callsFile, { force: true });
      const r = await kubeaz(args, { ...env, KUBEAZ_CALLS_FILE: callsFile });
      // a run that ends before it writes its call count says why, not ENOENT
      const text = await readFile(callsFile, 'utf8').catch(() => {
        throw new Error(`kubeaz ${args.join(' ')} exited ${r.code} without writing ${callsFile}:\n${r.stderr}\n${r.stdout}`);
      });
      return { r, calls: JSON.parse(text) as Calls };
    };
    const create = await run(['create', '-f', file, '--yes']);
    expect(create.r.code, create.r.stderr).toBe(0);
    const noop = await run(['create', '-f', file, '--yes']);
    expect(noop.r.code, noop.r.stderr).toBe(0);
    const status = await run(['status', '-f', file]);
    counts[name] = { create: create.calls, noop: noop.calls, status: status.calls };
    const destroy = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(destroy.code, destroy.stderr).toBe(0);
  }

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-calls-'));
    await measure('small', small);
    await measure('big', big);
    await measure('example', await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'));
    await measure('ha', ha);
    // four whole lifecycles (create, no-op, status, destroy) in one set-up: the default 120 s hook
    // limit was hit once on a loaded 2-core machine; the assertions count calls, never seconds
  }, 900_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a no-op create makes no mutating call and at most 40 calls (+ the drain set-up: 5 + 1 per node group)', () => {
    for (const name of ['small', 'big', 'example']) {
      const c = counts[name]!;
      expect(c.noop.mutating, name).toBe(0);
      expect(c.noop.total, `${name}: ${JSON.stringify(c.noop.byAction)}`).toBeLessThanOrEqual(40 + DRAIN_READS(NODE_GROUPS[name]!));
    }
  });

  it('at most 32 for a cluster without NLBs or IRSA, 45 for six zones, three masters, NLBs and IRSA (each + the drain set-up)', () => {
    for (const name of ['small', 'big'])
      expect(counts[name]!.noop.total, `${name}: ${JSON.stringify(counts[name]!.noop.byAction)}`).toBeLessThanOrEqual(
        32 + DRAIN_READS(NODE_GROUPS[name]!),
      );
    expect(counts.ha!.noop.mutating).toBe(0);
    expect(counts.ha!.noop.total, JSON.stringify(counts.ha!.noop.byAction)).toBeLessThanOrEqual(45 + DRAIN_READS(NODE_GROUPS.ha!));
  });

  it('the drain set-up is read in exactly 5 calls plus one DescribeLifecycleHooks per node group (issue 20)', () => {
    for (const name of ['small', 'big', 'example', 'ha']) {
      const b = counts[name]!.noop.byAction;
      const drain = [
        'sqs:ListQueues',
        'sqs:ListQueueTags',
        'sqs:GetQueueAttributes',
        'events:ListRules',
        'events:ListRuleNamesByTarget',
        'autoscaling:DescribeLifecycleHooks',
      ].map((a) => [a, b[a]]);
      expect(drain, name).toEqual([
        ['sqs:ListQueues', 1],
        ['sqs:ListQueueTags', 1],
        ['sqs:GetQueueAttributes', 1],
        ['events:ListRules', 1],
        ['events:ListRuleNamesByTarget', 1],
        ['autoscaling:DescribeLifecycleHooks', NODE_GROUPS[name]],
      ]);
      // no rule's tags are read on a no-op: its proof is its target, the cluster's own queue
      expect(b['events:ListTagsForResource'], name).toBeUndefined();
    }
  });

  it('a cluster that never had an NLB or IRSA reads nothing of either (no ELBv2, OIDC provider, discovery bucket or sa.pub)', () => {
    for (const name of ['small', 'big']) {
      for (const run of ['noop', 'status'] as const) {
        const actions = Object.keys(counts[name]![run].byAction);
        expect(
          actions.filter((a) => a.startsWith('elbv2:') || a.includes('OpenIDConnect') || (a === 's3:GetObject' && run === 'noop')),
          `${name} ${run}`,
        ).toEqual([]);
        // status' one object read: etcd/control-plane/addons.json, the add-on versions the masters
        // recorded (issue 20: the note on versions that differ from the table); create never reads it
        if (run === 'status') expect(counts[name]!.status.byAction['s3:GetObject'], `${name} status`).toBe(1);
        // one bucket's reads: the cluster bucket's, not the discovery bucket's
        for (const a of ['s3:GetBucketTagging', 's3:GetBucketPolicy', 's3:GetPublicAccessBlock', 's3:GetBucketEncryption'])
          expect(counts[name]![run].byAction[a], `${name} ${run} ${a}`).toBe(1);
      }
    }
    // the cluster that has them reads both buckets, the provider and the NLBs
    for (const a of ['s3:GetBucketTagging', 's3:GetBucketPolicy']) expect(counts.ha!.noop.byAction[a], a).toBe(2);
    expect(counts.ha!.noop.byAction['iam:GetOpenIDConnectProvider']).toBe(1);
    expect(counts.ha!.noop.byAction['elbv2:DescribeLoadBalancers']).toBe(1);
  });

  it('the same number of calls for 2 zones / 1 group and 6 zones / 5 groups, but for one DescribeLifecycleHooks per node group', () => {
    // issue 20: a node group's lifecycle hook is read per group (DescribeLifecycleHooks takes one
    // group); every other action is read as often for one group as for five
    const HOOKS = 'autoscaling:DescribeLifecycleHooks';
    const others = (c: Calls) => Object.fromEntries(Object.entries(c.byAction).filter(([a]) => a !== HOOKS));
    for (const run of ['noop', 'status'] as const) {
      expect(others(counts.big![run]), run).toEqual(others(counts.small![run]));
      expect(counts.small![run].byAction[HOOKS], run).toBe(1);
      expect(counts.big![run].byAction[HOOKS], run).toBe(5);
    }
  });

  it('the create itself makes no more calls than the resources need (no read after every write)', () => {
    // Reads during create of the big spec: the observe pass plus the waits and the few reads a
    // create needs (default NACL associations), not one read per resource created.
    // A cluster being made has no VPC yet to record its features on, so its observe pass also makes
    // the reads its later no-ops are spared (issue 22): the NLB and target group lists, the OIDC
    // provider, and both buckets' locations.
    const spared: Record<string, number> = {
      'elbv2:DescribeLoadBalancers': 1,
      'elbv2:DescribeTargetGroups': 1,
      'iam:GetOpenIDConnectProvider': 1,
      's3:GetBucketLocation': 2,
    };
    for (const a of Object.keys(spared)) expect(counts.big!.noop.byAction[a], a).toBeUndefined();
    const observePass = counts.big!.noop.total + Object.values(spared).reduce((x, y) => x + y, 0);
    const reads = counts.big!.create.total - counts.big!.create.mutating;
    expect(reads, JSON.stringify(counts.big!.create.byAction)).toBeLessThan(observePass + 15);
  });
});
