/**
 * Issue 22, a no-op's reads: the cluster's optional features recorded on its VPC (`kubeaz:features`,
 * model/features.ts) and the reads they spare (resources/cluster-record.ts). Pure model, and the
 * record's reads against a mocked EC2/S3 (no process, no emulator).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import { DescribeVpcAttributeCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetBucketLocationCommand, S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import {
  FEATURES_TAG,
  featureOf,
  featuresOf,
  featuresOfSpec,
  featuresSeen,
  featuresTagValue,
  recordedFeatures,
} from '../../src/model/features.js';
import { KEY_TAG, OWNER_TAG, type Kind, type Tags } from '../../src/model/types.js';
import { clusterHome, mayHave } from '../../src/resources/cluster-record.js';
import { HANDLERS } from '../../src/resources/index.js';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(
  TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]),
);
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates };

const spec = (opts: { nlb?: boolean; irsa?: boolean } = {}) =>
  clusterSchema.parse({
    apiVersion: 'kubeaz/v1',
    kind: 'Cluster',
    metadata: { name: 'demo', environment: 'dev' },
    spec: {
      region: 'eu-west-1',
      zones: ['eu-west-1a', 'eu-west-1b'],
      kubernetesVersion: '1.33.2',
      network: { vpcCidr: '10.0.0.0/16' },
      controlPlane: { instanceType: 'm5.large', ...(opts.nlb ? { loadBalancer: 'network' } : {}) },
      nodeGroups: [{ name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3 }],
      ...(opts.irsa ? { iam: { serviceAccountIssuerDiscovery: { enabled: true } } } : {}),
    },
  } satisfies ClusterSpecInput);

const vpcTags = (g: ReturnType<typeof deriveGraph>) => g.nodes.find((n) => n.kind === 'vpc')!.tags;

describe('model/features.ts', () => {
  it('names a resource’s feature by its kind, and the discovery documents by their key', () => {
    const of = (kind: Kind, key: string) => featureOf({ kind, key });
    expect(of('load-balancer', 'elb/internal')).toBe('elb');
    expect(of('network-load-balancer', 'nlb/internal')).toBe('nlb');
    expect(of('target-group', 'tg/internal')).toBe('nlb');
    expect(of('discovery-bucket', 'bucket/discovery')).toBe('irsa');
    expect(of('oidc-provider', 'oidc-provider')).toBe('irsa');
    expect(of('bucket-object', 'object/discovery/openid/v1/jwks')).toBe('irsa');
    expect(of('bucket-object', 'object/bootstrap/master/addons/x.yaml')).toBeUndefined();
    expect(of('vpc', 'vpc')).toBeUndefined();
    expect(
      featuresOf([
        { kind: 'oidc-provider', key: 'oidc-provider' },
        { kind: 'target-group', key: 'tg/x' },
        { kind: 'vpc', key: 'vpc' },
      ]),
    ).toEqual(['irsa', 'nlb']);
  });

  it('writes the tag sorted, `none` for nothing, and reads back only what it knows', () => {
    expect(featuresTagValue(['nlb', 'irsa', 'nlb'])).toBe('irsa nlb');
    expect(featuresTagValue([])).toBe('none');
    expect(recordedFeatures({ [FEATURES_TAG]: 'irsa nlb' })).toEqual(new Set(['irsa', 'nlb']));
    expect(recordedFeatures({ [FEATURES_TAG]: 'none' })).toEqual(new Set());
    // no tag (an older kubeaz's VPC), an empty or unknown word: nothing to go by — read everything
    expect(recordedFeatures({})).toBeUndefined();
    expect(recordedFeatures({ [FEATURES_TAG]: '' })).toBeUndefined();
    expect(recordedFeatures({ [FEATURES_TAG]: 'elb alb' })).toBeUndefined();
  });

  it('what observe found: its resources’ features and what the VPC already records (once recorded, kept)', () => {
    const vpc = (v?: string): { kind: Kind; key: string; tags: Tags } => ({
      kind: 'vpc',
      key: 'vpc',
      tags: v === undefined ? {} : { [FEATURES_TAG]: v },
    });
    expect(featuresSeen([vpc('elb'), { kind: 'oidc-provider', key: 'oidc-provider', tags: {} }])).toEqual(['elb', 'irsa']);
    // IRSA turned off and its last resource deleted: the record keeps it, so the next no-op changes nothing
    expect(featuresSeen([vpc('elb irsa')])).toEqual(['elb', 'irsa']);
    expect(featuresSeen([vpc('none')])).toEqual([]);
    expect(featuresSeen([vpc()])).toEqual([]);
  });

  it('the spec’s features are its graph’s', () => {
    for (const o of [{}, { nlb: true }, { irsa: true }, { nlb: true, irsa: true }]) {
      const s = spec(o);
      expect(featuresOfSpec(s.spec), JSON.stringify(o)).toEqual(featuresOf(deriveGraph(s, facts).nodes));
    }
  });

  it('the VPC records the graph’s features and those observe still found; IRSA’s first resource waits for it', () => {
    expect(vpcTags(deriveGraph(spec(), facts))[FEATURES_TAG]).toBe('elb');
    expect(vpcTags(deriveGraph(spec({ nlb: true, irsa: true }), facts))[FEATURES_TAG]).toBe('irsa nlb');
    // turned off, with its resources still standing: still recorded, so they are still read (and deleted)
    expect(vpcTags(deriveGraph(spec({ nlb: true }), { ...facts, seenFeatures: ['irsa', 'elb'] }))[FEATURES_TAG]).toBe('elb irsa nlb');
    const g = deriveGraph(spec({ irsa: true }), facts);
    expect(g.nodes.find((n) => n.kind === 'discovery-bucket')!.deps).toContain('vpc');
    // the VPC's diff sees the record like any tag of its own (made with it, updated when it changes)
    const vpcNode = g.nodes.find((n) => n.kind === 'vpc')!;
    const actual = {
      key: 'vpc',
      kind: 'vpc' as const,
      id: 'vpc-1',
      attrs: {},
      tags: { ...vpcNode.tags, [FEATURES_TAG]: 'elb' },
      observed: { cidr: '10.0.0.0/16', tenancy: 'default', dnsSupport: true, dnsHostnames: true },
    };
    expect(HANDLERS.vpc.diff({ key: 'vpc', kind: 'vpc', props: vpcNode.props, tags: vpcNode.tags } as never, actual)).toEqual([
      { field: 'tags', from: { [FEATURES_TAG]: 'elb' }, to: { [FEATURES_TAG]: 'elb irsa' }, inPlace: true },
    ]);
  });
});

describe('resources/cluster-record.ts', () => {
  const ec2 = sdkMock(EC2Client);
  const s3 = sdkMock(S3Client);
  afterEach(() => {
    ec2.reset();
    s3.reset();
  });
  const ctx = (features?: string[]) => {
    const c = createRunContext({
      clusterId: 'demo-dev',
      region: 'eu-west-1',
      accountId: '123456789012',
      generation: 'g',
      aws: new AwsClients({ region: 'eu-west-1' }),
    });
    if (features) c.features = new Set(features as never);
    return c;
  };
  const vpc = (tags: Record<string, string>) => ({
    Vpcs: [
      {
        VpcId: 'vpc-1',
        Tags: Object.entries({ [OWNER_TAG]: 'demo-dev', [KEY_TAG]: 'vpc', ...tags }).map(([Key, Value]) => ({ Key, Value })),
      },
    ],
  });

  it('spares a feature the VPC leaves out; one DescribeVpcs per pass, whatever asks', async () => {
    ec2.on(DescribeVpcsCommand).resolves(vpc({ [FEATURES_TAG]: 'elb' }));
    ec2.on(DescribeVpcAttributeCommand).resolves({ EnableDnsSupport: { Value: true }, EnableDnsHostnames: { Value: true } });
    const c = ctx();
    expect(await mayHave(c, 'nlb')).toBe(false);
    expect(await mayHave(c, 'irsa')).toBe(false);
    expect(await mayHave(c, 'elb')).toBe(true);
    expect((await HANDLERS.vpc.observe(c)).map((a) => a.id)).toEqual(['vpc-1']);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(1);
  });

  it('reads a feature the spec asks for without a call, and everything when there is nothing to go by', async () => {
    expect(await mayHave(ctx(['irsa']), 'irsa')).toBe(true);
    expect(ec2.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    expect(await mayHave(ctx(), 'nlb')).toBe(true); // no VPC here: made, gone, or elsewhere
    ec2.on(DescribeVpcsCommand).resolves(vpc({}));
    expect(await mayHave(ctx(), 'nlb')).toBe(true); // an older kubeaz's VPC: no record yet
    ec2.on(DescribeVpcsCommand).resolves(vpc({ [FEATURES_TAG]: 'irsa nlb' }));
    expect(await mayHave(ctx(), 'nlb')).toBe(true);
  });

  it('the cluster lives where its VPC is; the bucket’s location is asked only without one', async () => {
    s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'us-west-2' });
    ec2.on(DescribeVpcsCommand).resolves(vpc({ [FEATURES_TAG]: 'elb' }));
    expect(await clusterHome(ctx())).toBe('eu-west-1');
    expect(s3.commandCalls(GetBucketLocationCommand)).toHaveLength(0);
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    expect(await clusterHome(ctx())).toBe('us-west-2');
    expect(s3.commandCalls(GetBucketLocationCommand)).toHaveLength(1);
  });
});
