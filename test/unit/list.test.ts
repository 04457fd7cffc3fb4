/**
 * Finding clusters without a spec (issue 21): what `list` makes of tagged VPCs and groups (only
 * what carries kubeaz's proof counts, whatever the server-side filter let through), its text, the
 * bucket get-spec trusts, the -f default, and the JSON
 * envelope of both commands.
 */
import { describe, expect, it } from 'vitest';
import { CallCounter } from '../../src/aws/clients.js';
import { KubeazError } from '../../src/aws/errors.js';
import { specFileOf } from '../../src/cli/spec-file.js';
import { envelope, errorCodeOf } from '../../src/operations/envelope.js';
import { renderList } from '../../src/commands/list.js';
import { UsageError } from '../../src/errors.js';
import { CLUSTER_ID, foreignBucket } from '../../src/operations/get-spec.js';
import { clustersOf, provesOwnership } from '../../src/operations/list.js';
import type { TaggedGroup } from '../../src/resources/index.js';

const R = 'us-east-1';
const own = (id: string, name: string, env: string, key: string, extra: Record<string, string> = {}) => ({
  'kubeaz:cluster': id,
  'kubeaz:name': name,
  'kubeaz:environment': env,
  'kubeaz:region': R,
  'kubeaz:key': key,
  ...extra,
});
const group = (name: string, tags: Record<string, string>, sizes: [number, number, number], created: string | null): TaggedGroup => ({
  name,
  tags,
  min: sizes[0],
  desired: sizes[1],
  max: sizes[2],
  created,
});

describe('list: clusters from tagged VPCs and groups', () => {
  const vpcs = [
    { id: 'vpc-1', tags: own('demo-dev', 'demo', 'dev', 'vpc') },
    { id: 'vpc-2', tags: own('shop-prod', 'shop', 'prod', 'vpc') },
    // look-alikes the tag-key filter lets through: no key tag, another region, name/env that do not make the id
    { id: 'vpc-3', tags: { 'kubeaz:cluster': 'hand-made' } },
    { id: 'vpc-4', tags: own('far-away', 'far', 'away', 'vpc', { 'kubeaz:region': 'eu-west-1' }) },
    { id: 'vpc-5', tags: own('a-b', 'x', 'y', 'vpc') },
    { id: 'vpc-6', tags: own('', 'demo', 'dev', 'vpc') },
  ];
  const groups = [
    group(
      'demo-dev-master',
      own('demo-dev', 'demo', 'dev', 'asg/master', { 'kubeaz:node-group': 'master', 'kubeaz:kubernetes-version': '1.34.2' }),
      [1, 1, 1],
      '2026-12-06T02:41:00.000Z',
    ),
    group(
      'demo-dev-master-2',
      own('demo-dev', 'demo', 'dev', 'asg/master-2', { 'kubeaz:node-group': 'master-2', 'kubeaz:kubernetes-version': '1.35.0' }),
      [1, 1, 1],
      '2026-12-06T02:40:00.000Z',
    ),
    group(
      'demo-dev-workers',
      own('demo-dev', 'demo', 'dev', 'asg/workers', { 'kubeaz:node-group': 'workers' }),
      [3, 4, 6],
      '2026-12-06T02:42:00.000Z',
    ),
    group(
      'demo-dev-edge',
      own('demo-dev', 'demo', 'dev', 'asg/edge', { 'kubeaz:node-group': 'edge' }),
      [2, 2, 2],
      '2026-12-06T02:43:00.000Z',
    ),
    // a group made by hand with the ownership tag alone, and one of the VPC's key
    group('hand-made', { 'kubeaz:cluster': 'demo-dev' }, [9, 9, 9], '2020-01-01T00:00:00.000Z'),
    group('odd', own('demo-dev', 'demo', 'dev', 'vpc'), [9, 9, 9], '2020-01-01T00:00:00.000Z'),
    // an older kubeaz's group: no name/environment tags, no node-group tag (its key names it)
    group('old-dev-workers', { 'kubeaz:cluster': 'old-dev', 'kubeaz:key': 'asg/workers' }, [1, 1, 2], null),
  ];

  it('groups by the ownership tag: masters, the newest version, node groups with sizes, the oldest creation', () => {
    expect(clustersOf(R, vpcs, groups)).toEqual([
      {
        id: 'demo-dev',
        name: 'demo',
        environment: 'dev',
        region: R,
        kubernetesVersion: '1.35.0',
        masters: 2,
        nodeGroups: [
          { name: 'edge', min: 2, desired: 2, max: 2 },
          { name: 'workers', min: 3, desired: 4, max: 6 },
        ],
        created: '2026-12-06T02:40:00.000Z',
        vpcId: 'vpc-1',
      },
      {
        id: 'old-dev',
        name: null,
        environment: null,
        region: R,
        kubernetesVersion: null,
        masters: 0,
        nodeGroups: [{ name: 'workers', min: 1, desired: 1, max: 2 }],
        created: null,
        vpcId: null,
      },
      {
        id: 'shop-prod',
        name: 'shop',
        environment: 'prod',
        region: R,
        kubernetesVersion: null,
        masters: 0,
        nodeGroups: [],
        created: null,
        vpcId: 'vpc-2',
      },
    ]);
  });

  it('the proof: owner, the kind key, and agreeing name/environment/region tags', () => {
    const isVpc = (k: string) => k === 'vpc';
    expect(provesOwnership(own('demo-dev', 'demo', 'dev', 'vpc'), R, isVpc)).toBe(true);
    expect(provesOwnership(own('demo-dev', 'demo', 'dev', 'vpc'), 'eu-west-1', isVpc)).toBe(false);
    expect(provesOwnership(own('demo-dev', 'demo', 'dev', 'subnet/public/us-east-1a'), R, isVpc)).toBe(false);
    expect(provesOwnership(own('a-b-c', 'a', 'b-c', 'vpc'), R, isVpc)).toBe(true);
    expect(provesOwnership(own('a-b-c', 'a-b', 'd', 'vpc'), R, isVpc)).toBe(false);
    expect(provesOwnership({ 'kubeaz:key': 'vpc' }, R, isVpc)).toBe(false);
  });

  it('renders one row per cluster with its groups as min/desired/max, and says when there is none', () => {
    const text = renderList(clustersOf(R, vpcs, groups), [R]);
    expect(text.split('\n')).toEqual([
      'NAME     ENVIRONMENT  REGION     KUBERNETES  MASTERS  NODE GROUPS (min/desired/max)  CREATED',
      'demo     dev          us-east-1  1.35.0      2        edge 2/2/2, workers 3/4/6      2026-12-06 02:40 UTC',
      'old-dev  -            us-east-1  -           0        workers 1/1/2                  -',
      'shop     prod         us-east-1  -           0        -                              -',
      '',
    ]);
    expect(renderList([], [R])).toBe('no kubeaz clusters in us-east-1\n');
    expect(renderList([], ['eu-west-1', R])).toBe('no kubeaz clusters in any of the 2 enabled regions\n');
  });
});

describe('get-spec: the bucket it trusts', () => {
  it('a cluster id is NAME-ENV', () => {
    for (const ok of ['demo-dev', 'a-b-c', 'shop1-prod']) expect(CLUSTER_ID.test(ok), ok).toBe(true);
    for (const bad of ['demo', 'Demo-dev', '-dev', 'demo-', 'demo_dev', 'demo-dev/x']) expect(CLUSTER_ID.test(bad), bad).toBe(false);
  });

  it('an untagged bucket of the derived name is the cluster’s; one tagged for another cluster or region is not', () => {
    expect(foreignBucket({}, 'demo-dev', R)).toBeUndefined();
    expect(foreignBucket(own('demo-dev', 'demo', 'dev', 'bucket'), 'demo-dev', R)).toBeUndefined();
    expect(foreignBucket({ 'kubeaz:cluster': 'other-dev' }, 'demo-dev', R)).toBe('it is tagged kubeaz:cluster=other-dev');
    // a-b/c and a/b-c make one id, so one bucket name: either's tags prove it the id's
    expect(foreignBucket(own('a-b-c', 'a', 'b-c', 'bucket'), 'a-b-c', R)).toBeUndefined();
    expect(foreignBucket(own('demo-dev', 'demo', 'prod', 'bucket'), 'demo-dev', R)).toBe('it is tagged for demo/prod');
    expect(foreignBucket(own('demo-dev', 'demo', 'dev', 'bucket'), 'demo-dev', 'eu-west-1')).toBe(
      'it is tagged for region us-east-1 but lives in eu-west-1',
    );
  });
});

describe('-f defaults to ./cluster.yaml', () => {
  it('the flag wins; else ./cluster.yaml when it exists; else a usage error naming both ways', () => {
    const none = () => false;
    expect(specFileOf('x/prod.yaml', '/work', none)).toEqual({ file: 'x/prod.yaml' });
    expect(specFileOf(undefined, '/work', (f) => f === '/work/cluster.yaml')).toEqual({ file: 'cluster.yaml' });
    expect(specFileOf(undefined, '/work', none)).toEqual({
      error: 'no spec file: pass -f FILE, or run where ./cluster.yaml is (there is none in /work)',
    });
  });
});

describe('the JSON envelope of list and get-spec (operations/envelope.ts, as every command)', () => {
  const calls = new CallCounter();
  calls.record('ec2', 'DescribeVpcs');
  calls.record('autoscaling', 'DescribeAutoScalingGroups');
  it('command, cluster, ok and calls first, then the command’s fields', () => {
    const out = envelope({ command: 'list', cluster: null, counter: calls, exitCode: 0 }, { clusters: [] });
    expect(Object.keys(out)).toEqual(['command', 'cluster', 'ok', 'calls', 'clusters']);
    expect(out).toEqual({
      command: 'list',
      cluster: null,
      ok: true,
      calls: { total: 2, mutating: 0, byAction: { 'ec2:DescribeVpcs': 1, 'autoscaling:DescribeAutoScalingGroups': 1 } },
      clusters: [],
    });
  });
  it('an error: ok false, its code and message, and the exit code the command ends with', () => {
    const e = new KubeazError('no spec is kept for demo-dev', 'NoSpecKept', 'demo-dev');
    expect(e.exitCode).toBe(1);
    const missing = envelope(
      {
        command: 'get-spec',
        cluster: 'demo-dev',
        counter: calls,
        exitCode: e.exitCode,
        error: { code: errorCodeOf(e), message: e.message },
      },
      {},
    );
    expect(missing).toMatchObject({
      command: 'get-spec',
      cluster: 'demo-dev',
      ok: false,
      error: { code: 'NoSpecKept', message: 'no spec is kept for demo-dev' },
    });
    const usage = new UsageError('--region x: expected an AWS region such as us-east-1');
    expect(usage.exitCode).toBe(2);
    expect(errorCodeOf(usage)).toBe('usage');
  });
});
