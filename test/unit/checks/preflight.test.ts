/**
 * The pre-flight checks (src/checks/), one table each: the input a check declares (read from the
 * run's facts; none: no call) and, on fake clients answering by command name, the calls it makes
 * and the failures it reports. Then the engine's runner (engine/preflight.ts): every check through
 * the registry, failures in PREFLIGHT_ORDER, a read that fails reported as "could not check".
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../../src/aws/clients.js';
import { iamUsers, publicRecords, publicZone } from '../../../src/checks/foreign-holders.js';
import { images, keyPair } from '../../../src/checks/images.js';
import { PREFLIGHT_CHECKS, PREFLIGHT_ORDER } from '../../../src/checks/index.js';
import { instanceTypeOfferings, instanceTypeSizes, zones } from '../../../src/checks/offerings.js';
import { publicAccess } from '../../../src/checks/public-access.js';
import { iamPolicies } from '../../../src/checks/references.js';
import { elasticIps, vpcs } from '../../../src/checks/quotas.js';
import { sharedReads } from '../../../src/checks/shared.js';
import type { CheckContext, PreflightCheck, PreflightFacts } from '../../../src/checks/types.js';
import { preflight } from '../../../src/engine/preflight.js';
import type { Plan } from '../../../src/engine/compare.js';
import { markerValue } from '../../../src/model/record-marker.js';
import { ENV_TAG, NAME_TAG, REGION_TAG, ref, type AnyNode, type Kind } from '../../../src/model/types.js';
import type { RunContext } from '../../../src/resources/types.js';
import type { ClusterSpec } from '../../../src/spec/schema.js';

/** What a command answers: a value, an Error to throw, or a function of the command's input returning either. Commands not listed fail the test. */
type Answers = Record<string, unknown>;

const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name });

/** Clients whose send answers by the command's class name (an EC2Client for the paginators), recording the calls. */
function fakeCtx(answers: Answers): { ctx: CheckContext; sent: string[] } {
  const sent: string[] = [];
  const send = async (cmd: { constructor: { name: string }; input?: unknown }) => {
    const name = cmd.constructor.name.replace(/Command$/, '');
    sent.push(name);
    if (!(name in answers)) throw new Error(`unexpected call ${name}`);
    const given = answers[name];
    const a = typeof given === 'function' ? (given as (input: unknown) => unknown)(cmd.input) : given;
    if (a instanceof Error) throw a;
    return a;
  };
  const ec2 = Object.assign(Object.create(EC2Client.prototype) as EC2Client, { send });
  const other = { send };
  const aws = {
    ec2: async () => ec2,
    route53: async () => other,
    iam: async () => other,
    s3: async () => other,
    serviceQuotas: async () => other,
  } as unknown as AwsClients;
  return {
    ctx: { aws, region: 'us-east-1', accountId: '123456789012', clusterId: 'c-dev', owner: { name: 'c', environment: 'dev' } },
    sent,
  };
}

const node = (key: string, kind: Kind, props: Record<string, unknown> = {}): AnyNode =>
  ({ key, kind, props, deps: [], tags: {} }) as unknown as AnyNode;

interface SpecBits {
  zones?: string[];
  nodeGroups?: ReadonlyArray<{ name: string; instanceType: string; instanceTypes?: readonly string[] }>;
  sshKeyName?: string;
  publicDomain?: string;
}
function facts(
  nodes: AnyNode[],
  made: { creates?: string[]; updates?: string[] } = {},
  bits: SpecBits = {},
  zone: { owned?: boolean; id?: string } = {},
): PreflightFacts {
  const spec = {
    spec: {
      region: 'us-east-1',
      zones: bits.zones ?? ['us-east-1a', 'us-east-1b'],
      controlPlane: { instanceType: 't3.medium' },
      nodeGroups: (bits.nodeGroups ?? [{ name: 'nodes', instanceType: 'm5.large' }]).map((g) => ({
        ...g,
        ...(g.instanceTypes ? { instanceTypes: [...g.instanceTypes] } : {}),
      })),
      ...(bits.sshKeyName ? { sshKeyName: bits.sshKeyName } : {}),
      dns: bits.publicDomain ? { publicDomain: bits.publicDomain } : {},
    },
  } as unknown as ClusterSpec;
  const creates = new Set(made.creates ?? []);
  return {
    spec,
    graph: { clusterId: 'c-dev', nodes },
    creates,
    touched: new Set([...creates, ...(made.updates ?? [])]),
    publicZoneOwned: zone.owned ?? false,
    ...(zone.id ? { publicZoneId: zone.id } : {}),
  };
}

/** The check's input, and (when it has one) the failures it reports and the calls it makes. */
async function run<I>(
  check: PreflightCheck<I>,
  f: PreflightFacts,
  answers: Answers,
): Promise<{ input: I | undefined; failures: string[]; calls: string[] }> {
  const input = check.input(f);
  const { ctx, sent } = fakeCtx(answers);
  const failures: string[] = [];
  if (input !== undefined) await check.run(ctx, input, sharedReads(ctx, 'us-east-1'), (m) => failures.push(m));
  return { input, failures, calls: sent };
}

const quota = (v: number) => ({ Quota: { Value: v } });
const noQuota = awsError('AccessDeniedException');

describe('pre-flight checks', () => {
  it('are registered in the order they start, and report in PREFLIGHT_ORDER', () => {
    expect(PREFLIGHT_CHECKS.map((c) => c.name)).toEqual([
      'elastic-ips',
      'vpcs',
      'zones',
      'instance-type',
      'instance-type',
      'ami',
      'key-pair',
      'public-zone',
      'dns-record',
      'iam-user',
      'iam-policy',
      'public-access',
      'kms-key',
    ]);
    expect(new Set(PREFLIGHT_CHECKS.map((c) => c.name))).toEqual(new Set(PREFLIGHT_ORDER));
  });

  const eips = (n: number, made = n) =>
    [...Array.from({ length: n }, (_, i) => node(`eip/${i}`, 'elastic-ip'))].slice(0, n).map((x, i) => ({ x, made: i < made }));
  it.each([
    ['nothing to make: no input, no call', 2, 0, {}, null, []],
    [
      'room left (3 held + 2 ≤ 5)',
      2,
      2,
      { GetServiceQuota: quota(5), DescribeAddresses: { Addresses: [{}, {}, {}] } },
      null,
      ['GetServiceQuota', 'DescribeAddresses'],
    ],
    [
      'over the Service Quotas value (4 + 2 > 5)',
      2,
      2,
      { GetServiceQuota: quota(5), DescribeAddresses: { Addresses: [{}, {}, {}, {}] } },
      'this create needs 2 more elastic IPs (NAT gateways and loadbalancer groups) but the account holds 4 of its 5 in us-east-1 (Service Quotas L-0263D0A3): 6 > 5. Ask for a higher quota, release unused addresses, or use nat: single.',
      ['GetServiceQuota', 'DescribeAddresses'],
    ],
    [
      'Service Quotas unreadable: the EC2 account attribute',
      1,
      1,
      {
        GetServiceQuota: noQuota,
        DescribeAddresses: { Addresses: [{}, {}] },
        DescribeAccountAttributes: {
          AccountAttributes: [{ AttributeName: 'vpc-max-elastic-ips', AttributeValues: [{ AttributeValue: '2' }] }],
        },
      },
      'this create needs 1 more elastic IP (NAT gateways and loadbalancer groups) but the account holds 2 of its 2 in us-east-1 (EC2 account attribute vpc-max-elastic-ips): 3 > 2. Ask for a higher quota, release unused addresses, or use nat: single.',
      ['GetServiceQuota', 'DescribeAddresses', 'DescribeAccountAttributes'],
    ],
    [
      "neither says: AWS's default 5",
      1,
      1,
      { GetServiceQuota: noQuota, DescribeAddresses: { Addresses: [{}, {}, {}, {}, {}] }, DescribeAccountAttributes: {} },
      /holds 5 of its 5 in us-east-1 \(the AWS default\): 6 > 5/,
      ['GetServiceQuota', 'DescribeAddresses', 'DescribeAccountAttributes'],
    ],
  ] as const)('elastic-ips: %s', async (_name, total, made, answers, expected, calls) => {
    const nodes = eips(total, made);
    const r = await run(
      elasticIps,
      facts(
        nodes.map((n) => n.x),
        { creates: nodes.filter((n) => n.made).map((n) => n.x.key) },
      ),
      answers,
    );
    if (!made) expect(r.input).toBeUndefined();
    expect(r.failures).toEqual(expected === null ? [] : [expected instanceof RegExp ? expect.stringMatching(expected) : expected]);
    expect([...r.calls].sort()).toEqual([...calls].sort());
  });

  it.each([
    ['the VPC exists: no input', [], {}, null],
    ['room for one more', ['vpc'], { GetServiceQuota: quota(5), DescribeVpcs: { Vpcs: [{}, {}, {}, {}] } }, null],
    [
      'full (Service Quotas)',
      ['vpc'],
      { GetServiceQuota: quota(4), DescribeVpcs: { Vpcs: [{}, {}, {}, {}] } },
      "the account has 4 VPCs in us-east-1 and its quota is 4: no room for the cluster's VPC",
    ],
    [
      'full (the default 5)',
      ['vpc'],
      { GetServiceQuota: noQuota, DescribeVpcs: { Vpcs: [{}, {}, {}, {}, {}] } },
      "the account has 5 VPCs in us-east-1 and its quota is 5 (AWS default): no room for the cluster's VPC",
    ],
  ] as const)('vpcs: %s', async (_name, creates, answers, expected) => {
    const r = await run(vpcs, facts([node('vpc', 'vpc')], { creates: [...creates] }), answers);
    if (!creates.length) expect(r.input).toBeUndefined();
    expect(r.failures).toEqual(expected === null ? [] : [expected]);
  });

  const regionZones = {
    AvailabilityZones: [
      { ZoneName: 'us-east-1a', RegionName: 'us-east-1' },
      { ZoneName: 'us-east-1b', RegionName: 'us-east-1' },
      { ZoneName: 'us-east-1-wl1-bos-wlz-1', RegionName: 'us-east-1' },
      { ZoneName: 'us-west-2a', RegionName: 'us-west-2' },
    ],
  };
  it.each([
    ['every zone exists', ['us-east-1a', 'us-east-1b'], null],
    [
      'one does not (a Wavelength zone is not listed as one of its zones)',
      ['us-east-1a', 'us-east-1z'],
      'us-east-1z does not exist in us-east-1 (its zones: us-east-1a, us-east-1b)',
    ],
    [
      "another region's zone is not this region's",
      ['us-west-2a', 'us-east-1q'],
      'us-west-2a, us-east-1q do not exist in us-east-1 (its zones: us-east-1a, us-east-1b)',
    ],
  ] as const)('zones: %s', async (_name, wanted, expected) => {
    const r = await run(zones, facts([], {}, { zones: [...wanted] }), { DescribeAvailabilityZones: regionZones });
    expect(r.failures).toEqual(expected === null ? [] : [expected]);
    expect(r.calls).toEqual(['DescribeAvailabilityZones']);
  });

  const offers = (...pairs: string[]) => ({
    InstanceTypeOfferings: pairs.map((p) => ({ InstanceType: p.split('@')[0], Location: p.split('@')[1] })),
  });
  it.each([
    [
      'every type in every zone',
      ['us-east-1a', 'us-east-1b'],
      {
        DescribeAvailabilityZones: regionZones,
        DescribeInstanceTypeOfferings: offers('t3.medium@us-east-1a', 't3.medium@us-east-1b', 'm5.large@us-east-1a', 'm5.large@us-east-1b'),
      },
      [],
    ],
    [
      "a type missing in a zone; a zone that does not exist is the zones check's",
      ['us-east-1a', 'us-east-1b', 'us-east-1z'],
      {
        DescribeAvailabilityZones: regionZones,
        DescribeInstanceTypeOfferings: offers('t3.medium@us-east-1a', 't3.medium@us-east-1b', 'm5.large@us-east-1a'),
      },
      ['m5.large is not offered in us-east-1b (its groups span every zone): choose another type or other zones'],
    ],
    [
      'the zones unreadable: every zone of the spec is asked about',
      ['us-east-1a', 'us-east-1z'],
      {
        DescribeAvailabilityZones: awsError('UnauthorizedOperation'),
        DescribeInstanceTypeOfferings: offers('t3.medium@us-east-1a', 'm5.large@us-east-1a'),
      },
      [
        'm5.large is not offered in us-east-1z (its groups span every zone): choose another type or other zones',
        't3.medium is not offered in us-east-1z (its groups span every zone): choose another type or other zones',
      ],
    ],
    ['no zone of the spec exists: nothing to ask', ['us-east-1y', 'us-east-1z'], { DescribeAvailabilityZones: regionZones }, []],
  ] as const)('instance-type offerings: %s', async (_name, wanted, answers, expected) => {
    const r = await run(instanceTypeOfferings, facts([], {}, { zones: [...wanted] }), answers);
    expect(r.failures).toEqual(expected);
    expect(r.calls.includes('DescribeInstanceTypeOfferings')).toBe(
      wanted.some((z) => z !== 'us-east-1y' && z !== 'us-east-1z') || answers.DescribeAvailabilityZones instanceof Error,
    );
  });

  const sizes = {
    InstanceTypes: [
      { InstanceType: 'm5.large', VCpuInfo: { DefaultVCpus: 2 }, MemoryInfo: { SizeInMiB: 8192 } },
      { InstanceType: 'm4.large', VCpuInfo: { DefaultVCpus: 2 }, MemoryInfo: { SizeInMiB: 8192 } },
      { InstanceType: 'm5.xlarge', VCpuInfo: { DefaultVCpus: 4 }, MemoryInfo: { SizeInMiB: 16384 } },
    ],
  };
  it.each([
    ['no group lists several types: no input', [{ name: 'nodes', instanceType: 'm5.large' }], undefined],
    ['alike', [{ name: 'spot', instanceType: 'm5.large', instanceTypes: ['m5.large', 'm4.large'] }], []],
    ["an unknown type is the offerings check's", [{ name: 'spot', instanceType: 'm5.large', instanceTypes: ['m5.large', 'x9.huge'] }], []],
    [
      'one larger than the first',
      [
        { name: 'ok', instanceType: 'm5.large', instanceTypes: ['m5.large', 'm4.large'] },
        { name: 'spotty', instanceType: 'm5.large', instanceTypes: ['m5.large', 'm5.xlarge', 'm4.large'] },
      ],
      [
        'node group spotty: its instance types differ in size (m5.large 2 vCPU / 8192 MiB, m5.xlarge 4 vCPU / 16384 MiB); cluster-autoscaler sizes the group by its first type (m5.large), so list types with the same vCPUs and memory',
      ],
    ],
  ] as const)('instance-type sizes: %s', async (_name, groups, expected) => {
    const r = await run(instanceTypeSizes, facts([], {}, { nodeGroups: groups }), { DescribeInstanceTypes: sizes });
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
    expect(r.calls).toEqual(['DescribeInstanceTypes']);
  });

  const lts = [
    node('lt/master', 'launch-template', { imageId: 'ami-1' }),
    node('lt/nodes', 'launch-template', { imageId: 'ami-1' }),
    node('lt/gpu', 'launch-template', { imageId: 'ami-2' }),
  ];
  it.each([
    ['no template made or changed: no input', [], [], undefined],
    ['made and found', ['lt/master', 'lt/nodes'], [{ ImageId: 'ami-1', Name: 'al2023-ami-2023.7.20250331.0-kernel-6.1-x86_64' }], []],
    [
      'one changed and missing',
      ['lt/master', 'lt/gpu'],
      [{ ImageId: 'ami-1', Name: 'my-own' }],
      ['the image ami-2 does not exist in us-east-1 or is not visible to this account'],
    ],
    [
      'an AL2023 release without Node.js 22',
      ['lt/nodes'],
      [{ ImageId: 'ami-1', Name: 'al2023-ami-2023.6.20250203.1-kernel-6.1-x86_64' }],
      [
        expect.stringMatching(
          /^the image ami-1 \(al2023-ami-2023\.6\.20250203\.1-kernel-6\.1-x86_64\) is AL2023 2023\.6\.20250203, older than 2023\.7\.20250331/,
        ),
      ],
    ],
  ] as const)('ami: %s', async (_name, touched, found, expected) => {
    const r = await run(images, facts(lts, { updates: [...touched] }), { DescribeImages: { Images: found } });
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
  });

  it.each([
    ['none named: no input', undefined, [], undefined],
    ['it exists', 'ops', [{ KeyName: 'ops' }], []],
    ['it does not', 'ops', [], ['the key pair ops does not exist in us-east-1']],
  ] as const)('key-pair: %s', async (_name, name, found, expected) => {
    const r = await run(keyPair, facts([], {}, name ? { sshKeyName: name } : {}), { DescribeKeyPairs: { KeyPairs: found } });
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
  });

  const zone = (id: string, comment = '', name = 'example.com.', priv = false) => ({
    Id: `/hostedzone/${id}`,
    Name: name,
    Config: { Comment: comment, PrivateZone: priv },
  });
  it.each([
    ['no public domain: no input', undefined, false, [], undefined],
    ["the zone is the cluster's own: no input", 'example.com', true, [], undefined],
    ['none yet, or only a private one of that name', 'Example.com.', false, [zone('Z9', '', 'example.com.', true)], []],
    ["one, nobody's", 'example.com', false, [zone('Z1', 'made by hand'), zone('Z2', '', 'sub.example.com.')], []],
    ['one kubeaz made for this cluster', 'example.com', false, [zone('Z1', 'kubeaz:c-dev zone/public')], []],
    [
      'two of that name',
      'example.com',
      false,
      [zone('Z1'), zone('Z2')],
      ['2 public hosted zones are named example.com (Z1, Z2): kubeaz cannot tell which to use; delete the extra ones'],
    ],
    [
      "another cluster's",
      'example.com',
      false,
      [zone('Z1', 'kubeaz:other-prod zone/public')],
      [
        'the public zone example.com (Z1) belongs to cluster other-prod (kubeaz made it for that cluster; its comment says so): kubeaz will not use it for c-dev; use another publicDomain',
      ],
    ],
  ] as const)('public-zone: %s', async (_name, domain, owned, found, expected) => {
    const r = await run(publicZone, facts([], {}, domain ? { publicDomain: domain } : {}, { owned }), {
      ListHostedZonesByName: { HostedZones: found },
    });
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
    expect(r.calls).toEqual(['ListHostedZonesByName']);
  });

  const records = [
    node('record/api', 'dns-record', { zoneId: ref('zone/public'), name: 'api.example.com' }),
    node('record/lb/web', 'dns-record', { zoneId: ref('zone/public'), name: 'web.example.com' }),
    node('record/master-internal', 'dns-record', { zoneId: ref('zone/private'), name: 'master.dev.kube' }),
  ];
  const txt = (name: string, value: string) => ({ Name: `${name}.`, Type: 'TXT', ResourceRecords: [{ Value: value }] });
  const a = (name: string) => ({ Name: `${name}.`, Type: 'A', ResourceRecords: [{ Value: '1.2.3.4' }] });
  const ours = markerValue('c-dev', 'record/api', { name: 'c', environment: 'dev', region: 'us-east-1' });
  const theirs = markerValue('c-prod', 'record/api', { name: 'c', environment: 'prod', region: 'eu-west-1' });
  it.each([
    ['no public record to make: no input', [], {}, {}, undefined, []],
    ['no public zone known: no input', ['record/api'], {}, {}, undefined, []],
    ['a private record is not looked up', ['record/master-internal'], { id: 'Z1' }, {}, undefined, []],
    [
      'free, or ours',
      ['record/api', 'record/lb/web'],
      { id: 'Z1' },
      { ListResourceRecordSets: { ResourceRecordSets: [txt('api.example.com', ours), a('api.example.com')] } },
      [],
      ['ListResourceRecordSets'],
    ],
    [
      "another cluster's marker, and a record without one",
      ['record/api', 'record/lb/web'],
      { id: 'Z1' },
      { ListResourceRecordSets: { ResourceRecordSets: [txt('api.example.com', theirs), a('api.example.com'), a('web.example.com')] } },
      [
        'the record api.example.com (record/api) in the public zone Z1 belongs to cluster c/prod (in eu-west-1) (its TXT marker): kubeaz will not overwrite it; choose another publicRecord',
        'the record web.example.com (record/lb/web) in the public zone Z1 belongs to someone other than kubeaz (a record without a kubeaz marker): kubeaz will not overwrite it; choose another publicRecord',
      ],
      ['ListResourceRecordSets'],
    ],
    [
      'the zone found by name (the one public-zone finds usable)',
      ['record/api'],
      { domain: 'example.com' },
      {
        ListHostedZonesByName: { HostedZones: [zone('Z7', 'made by hand')] },
        ListResourceRecordSets: { ResourceRecordSets: [a('api.example.com')] },
      },
      [
        'the record api.example.com (record/api) in the public zone Z7 belongs to someone other than kubeaz (a record without a kubeaz marker): kubeaz will not overwrite it; choose another publicRecord',
      ],
      ['ListHostedZonesByName', 'ListResourceRecordSets'],
    ],
    [
      'the zone by name is ambiguous: public-zone says so, no records read',
      ['record/api'],
      { domain: 'example.com' },
      { ListHostedZonesByName: { HostedZones: [zone('Z1'), zone('Z2')] } },
      [],
      ['ListHostedZonesByName'],
    ],
    [
      "the zone by name is another cluster's: no records read",
      ['record/api'],
      { domain: 'example.com' },
      { ListHostedZonesByName: { HostedZones: [zone('Z1', 'kubeaz:x-y zone/public')] } },
      [],
      ['ListHostedZonesByName'],
    ],
    [
      'the zone lookup fails: public-zone reports it, not this',
      ['record/api'],
      { domain: 'example.com' },
      { ListHostedZonesByName: awsError('Throttling') },
      [],
      ['ListHostedZonesByName'],
    ],
  ] as const)('dns-record: %s', async (_name, creates, where, answers, expected, calls) => {
    const bits = 'domain' in where ? { publicDomain: where.domain } : {};
    const r = await run(
      publicRecords,
      facts(records, { creates: [...creates] }, bits, 'id' in where ? { owned: true, id: where.id } : {}),
      answers,
    );
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
    expect(r.calls).toEqual(calls);
  });

  const users = [node('user/ci', 'iam-user', { name: 'ci' }), node('user/backup', 'iam-user', { name: 'backup' })];
  it.each([
    ['none to make: no input', [], {}, undefined],
    ['names free', ['user/ci', 'user/backup'], { GetUser: awsError('NoSuchEntity') }, []],
    [
      'held by another cluster (tags)',
      ['user/ci'],
      {
        GetUser: {
          User: {
            Path: '/kubeaz/c-prod/',
            Tags: [
              { Key: NAME_TAG, Value: 'c' },
              { Key: ENV_TAG, Value: 'prod' },
              { Key: REGION_TAG, Value: 'eu-west-1' },
            ],
          },
        },
      },
      [
        'the IAM user ci already exists (path /kubeaz/c-prod/) and belongs to cluster c/prod (in eu-west-1): IAM user names are account-wide; choose another name in spec.iam.users',
      ],
    ],
    [
      'held by an older cluster (its path)',
      ['user/backup'],
      { GetUser: { User: { Path: '/kubeaz/old-dev/' } } },
      [
        'the IAM user backup already exists (path /kubeaz/old-dev/) and belongs to cluster old-dev: IAM user names are account-wide; choose another name in spec.iam.users',
      ],
    ],
    [
      'held by someone else',
      ['user/ci'],
      { GetUser: { User: {} } },
      [
        'the IAM user ci already exists (path /) and belongs to someone other than kubeaz: IAM user names are account-wide; choose another name in spec.iam.users',
      ],
    ],
  ] as const)('iam-user: %s', async (_name, creates, answers, expected) => {
    const r = await run(iamUsers, facts(users, { creates: [...creates] }), answers);
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
    expect(r.calls).toEqual(creates.map(() => 'GetUser'));
  });

  const OWN = 'arn:aws:iam::123456789012:policy/uploader-s3';
  const MANAGED = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
  const saRole = (key: string, sa: string, arns: string[]): AnyNode =>
    ({ ...node(key, 'iam-role', { name: key, managedPolicyArns: arns }), tags: { 'kubeaz:service-account': sa } }) as AnyNode;
  const roles = [
    saRole('role/sa-a', 'apps/uploader', [OWN, MANAGED]),
    saRole('role/sa-b', 'apps/reader', [MANAGED]),
    node('role/master', 'iam-role', { name: 'master' }),
  ];
  const noSuchEntity = awsError('NoSuchEntity', 'Policy does not exist');
  /** GetPolicy answering each ARN: a policy, or NoSuchEntity for those listed missing. */
  const getPolicy =
    (missing: string[], unattachable: string[] = []) =>
    (input: unknown) => {
      const arn = (input as { PolicyArn: string }).PolicyArn;
      if (missing.includes(arn)) return noSuchEntity;
      return { Policy: { Arn: arn, IsAttachable: !unattachable.includes(arn) } };
    };
  it.each([
    ['no service-account role made or changed: no input, no call', [], {}, undefined, 0],
    ['only roles without managed policies touched: no input', ['role/master'], {}, undefined, 0],
    ['every policy exists: nothing reported, one GetPolicy per ARN', ['role/sa-a', 'role/sa-b'], { GetPolicy: getPolicy([]) }, [], 2],
    [
      "the account's own policy missing",
      ['role/sa-a'],
      { GetPolicy: getPolicy([OWN]) },
      [
        `the IAM policy ${OWN} (spec.iam.serviceAccounts: apps/uploader) does not exist in account 123456789012: create it first (aws iam create-policy) or correct the ARN`,
      ],
      2,
    ],
    [
      'an AWS managed policy missing, named by two service accounts: one report naming both',
      ['role/sa-a', 'role/sa-b'],
      { GetPolicy: getPolicy([MANAGED]) },
      [
        `the IAM policy ${MANAGED} (spec.iam.serviceAccounts: apps/uploader, apps/reader) does not exist: AWS has no managed policy of that name (see the AWS Managed Policy Reference Guide); correct the ARN`,
      ],
      2,
    ],
    [
      'a policy that cannot be attached',
      ['role/sa-b'],
      { GetPolicy: getPolicy([], [MANAGED]) },
      [
        `the IAM policy ${MANAGED} (spec.iam.serviceAccounts: apps/reader) cannot be attached to a role (IsAttachable is false): name another policy`,
      ],
      1,
    ],
  ] as const)('iam-policy: %s', async (_name, touched, answers, expected, calls) => {
    const r = await run(iamPolicies, facts(roles, { updates: [...touched] }), answers);
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures.sort()).toEqual([...expected].sort());
    expect(r.calls).toEqual(Array.from({ length: calls }, () => 'GetPolicy'));
  });

  it("iam-policy: another account's policy is refused without a call (IAM attaches only the account's own and AWS's)", async () => {
    const foreign = 'arn:aws:iam::210987654321:policy/shared';
    const r = await run(iamPolicies, facts([saRole('role/sa-c', 'apps/x', [foreign])], { creates: ['role/sa-c'] }), {});
    expect(r.failures).toEqual([
      `the IAM policy ${foreign} (spec.iam.serviceAccounts: apps/x) belongs to account 210987654321, not this one (123456789012): IAM attaches only this account's policies and AWS's own; create the policy in 123456789012`,
    ]);
    expect(r.calls).toEqual([]);
  });

  it('iam-policy: a GetPolicy refused (AccessDenied) is thrown: the runner reports it as "could not check"', async () => {
    const denied = awsError('AccessDenied', 'not authorized to perform iam:GetPolicy');
    await expect(run(iamPolicies, facts(roles, { creates: ['role/sa-b'] }), { GetPolicy: denied })).rejects.toThrow(/iam:GetPolicy/);
  });

  const discovery = node('bucket/discovery', 'discovery-bucket', { name: 'kubeaz-c-dev-oidc' });
  const block = (policy: boolean, restrict: boolean) => ({
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: policy,
      RestrictPublicBuckets: restrict,
    },
  });
  it.each([
    ['no discovery bucket made or changed: no input', [], {}, undefined],
    [
      'none configured for the account',
      ['bucket/discovery'],
      { GetPublicAccessBlock: awsError('NoSuchPublicAccessBlockConfiguration') },
      [],
    ],
    ['only the ACL blocks', ['bucket/discovery'], { GetPublicAccessBlock: block(false, false) }, []],
    [
      'public policies blocked',
      ['bucket/discovery'],
      { GetPublicAccessBlock: block(true, false) },
      [
        expect.stringMatching(
          /^the account's S3 Block Public Access has BlockPublicPolicy on: the service-account issuer's discovery bucket kubeaz-c-dev-oidc cannot be made publicly readable .* --account-id 123456789012 /,
        ),
      ],
    ],
    [
      'both',
      ['bucket/discovery'],
      { GetPublicAccessBlock: block(true, true) },
      [
        expect.stringMatching(
          /has BlockPublicPolicy and RestrictPublicBuckets on: .* Turn BlockPublicPolicy and RestrictPublicBuckets off at account level/,
        ),
      ],
    ],
  ] as const)('public-access: %s', async (_name, touched, answers, expected) => {
    const r = await run(publicAccess, facts([discovery], { updates: [...touched] }), answers);
    if (expected === undefined) return expect([r.input, r.calls]).toEqual([undefined, []]);
    expect(r.failures).toEqual(expected);
  });
});

describe('the pre-flight runner (engine/preflight.ts)', () => {
  const plan = (creates: string[]): Plan => ({
    version: 1,
    cluster: 'c-dev',
    region: 'us-east-1',
    summary: { create: creates.length, update: 0, delete: 0, refuse: 0, unchanged: 0 },
    changes: creates.map((key) => ({ key, kind: 'vpc', action: 'create', fields: [] })),
  });

  it('runs every check whose input is there, reports failures in PREFLIGHT_ORDER, and a read that fails as "could not check"', async () => {
    const f = facts(
      [node('vpc', 'vpc'), node('lt/master', 'launch-template', { imageId: 'ami-1' })],
      { creates: ['vpc', 'lt/master'] },
      { sshKeyName: 'ops' },
    );
    const { ctx, sent } = fakeCtx({
      // answered in reverse order of the report: the runner sorts
      DescribeKeyPairs: awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'),
      DescribeImages: { Images: [] },
      DescribeAvailabilityZones: { AvailabilityZones: [{ ZoneName: 'us-east-1a', RegionName: 'us-east-1' }] },
      DescribeInstanceTypeOfferings: {
        InstanceTypeOfferings: [
          { InstanceType: 't3.medium', Location: 'us-east-1a' },
          { InstanceType: 'm5.large', Location: 'us-east-1a' },
        ],
      },
      GetServiceQuota: noQuota,
      DescribeVpcs: { Vpcs: [{}, {}, {}, {}, {}] },
    });
    const failures = await preflight(ctx as RunContext, f.spec, f.graph, plan(['vpc', 'lt/master']), { publicZoneOwned: false });
    expect(failures.map((x) => x.check)).toEqual(['vpcs', 'zones', 'ami', 'key-pair']);
    expect(failures.map((x) => x.message)).toEqual([
      "the account has 5 VPCs in us-east-1 and its quota is 5 (AWS default): no room for the cluster's VPC",
      'us-east-1b does not exist in us-east-1 (its zones: us-east-1a)',
      'the image ami-1 does not exist in us-east-1 or is not visible to this account',
      expect.stringMatching(/^could not check: .*not authorized/),
    ]);
    // one DescribeAvailabilityZones for the zones and offerings checks; no elastic IP, user, zone or bucket to ask about
    expect(sent.filter((c) => c === 'DescribeAvailabilityZones')).toEqual(['DescribeAvailabilityZones']);
    expect([...new Set(sent)].sort()).toEqual([
      'DescribeAvailabilityZones',
      'DescribeImages',
      'DescribeInstanceTypeOfferings',
      'DescribeKeyPairs',
      'DescribeVpcs',
      'GetServiceQuota',
    ]);
  });
});
