/**
 * The service helpers issue 22 moved out of the kinds into src/aws/<service>.ts, held to what
 * they did there: IAM policy documents and keys, ELBv2 tags and ownership, Route 53 record sets,
 * emptying an S3 bucket. Clients are plain fakes handed in (no moto, no module mocks).
 */
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/aws/clients.js';
import { elbv2TagsOf, ownedElbv2 } from '../../src/aws/elbv2.js';
import { iamKey, normalisePolicy, parsePolicy, policyChanges, samePolicy } from '../../src/aws/iam.js';
import { bareZoneId, dnsName, listRecordSets, zoneArn } from '../../src/aws/route53.js';
import { BUCKET_SSE, emptyBucket, unlessUnset } from '../../src/aws/s3.js';
import { KEY_TAG } from '../../src/model/types.js';
import { change } from '../../src/resources/common.js';

/** A client whose send answers by the command's class name, recording what it was sent. */
function fake<C>(answer: (name: string, input: Record<string, unknown>) => unknown): {
  client: C;
  sent: Array<{ name: string; input: Record<string, unknown> }>;
} {
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  const client = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: cmd.constructor.name, input: cmd.input });
      return answer(cmd.constructor.name, cmd.input);
    },
  };
  return { client: client as unknown as C, sent };
}

describe('aws/iam.ts', () => {
  it('compares policies whatever the key order and one-item arrays', () => {
    const a = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' }] };
    const b = { Statement: { Resource: '*', Action: 's3:GetObject', Effect: 'Allow' }, Version: '2012-10-17' };
    expect(samePolicy(a, b)).toBe(true);
    expect(normalisePolicy(a)).toEqual(normalisePolicy(b));
    expect(samePolicy(a, { ...b, Version: '2008-10-17' })).toBe(false);
    expect(parsePolicy(encodeURIComponent(JSON.stringify(a)))).toEqual(a);
    expect(parsePolicy(undefined)).toBeUndefined();
  });

  it('names one in-place change per policy added, changed or removed, shaped as a kind Change', () => {
    const doc = (action: string) => ({
      Version: '2012-10-17' as const,
      Statement: [{ Effect: 'Allow' as const, Action: action, Resource: '*' }],
    });
    const got = policyChanges(
      { keep: doc('a:A'), edit: doc('b:B'), add: doc('c:C') },
      { keep: doc('a:A'), edit: doc('b:X'), gone: doc('d:D') },
    );
    expect(got).toEqual([
      change('policy:edit', doc('b:X'), doc('b:B'), true),
      change('policy:add', undefined, doc('c:C'), true),
      change('policy:gone', doc('d:D'), undefined, true),
    ]);
    expect(got.map((c) => Object.keys(c))).toEqual(got.map(() => ['field', 'from', 'to', 'inPlace']));
  });

  it('keys an IAM entity by its name under the cluster id, else its key tag, else its name', () => {
    expect(iamKey('role', 'c1', 'c1-master', {})).toBe('role/master');
    expect(iamKey('role', 'c1', 'other', { [KEY_TAG]: 'role/x' })).toBe('role/x');
    expect(iamKey('profile', 'c1', 'other', {})).toBe('profile/other');
  });
});

describe('aws/elbv2.ts', () => {
  it('reads tags 20 ARNs a call and keeps what the caller’s proof claims, with its key', async () => {
    const arns = Array.from({ length: 23 }, (_, i) => `arn:tg/${i}`);
    const { client, sent } = fake<ElasticLoadBalancingV2Client>((_name, input) => ({
      TagDescriptions: (input.ResourceArns as string[]).map((ResourceArn) => ({
        ResourceArn,
        Tags: ResourceArn.endsWith('/22')
          ? []
          : [
              { Key: KEY_TAG, Value: `tg/${ResourceArn.split('/')[1]}` },
              { Key: 'who', Value: ResourceArn.endsWith('/1') ? 'them' : 'us' },
            ],
      })),
    }));
    const asked: string[] = [];
    const owned = ownedElbv2(
      arns,
      (a) => a,
      await elbv2TagsOf(client, arns),
      (tags, key) => {
        asked.push(key);
        return tags.who === 'us';
      },
    );
    expect(sent.map((s) => [s.name, (s.input.ResourceArns as string[]).length])).toEqual([
      ['DescribeTagsCommand', 20],
      ['DescribeTagsCommand', 3],
    ]);
    expect(asked).toHaveLength(22); // the untagged one has no key: never asked about
    expect(owned.map((o) => o.key)).toEqual(
      arns.filter((a) => !a.endsWith('/1') && !a.endsWith('/22')).map((a) => `tg/${a.split('/')[1]}`),
    );
    expect(owned[0]).toEqual({ item: 'arn:tg/0', key: 'tg/0', tags: { [KEY_TAG]: 'tg/0', who: 'us' } });
  });

  it('makes no call for no items', async () => {
    const { client, sent } = fake<ElasticLoadBalancingV2Client>(() => ({}));
    expect(
      ownedElbv2(
        [],
        (a: string) => a,
        new Map(),
        () => true,
      ),
    ).toEqual([]);
    expect(await elbv2TagsOf(client, [])).toEqual(new Map());
    expect(sent).toEqual([]);
  });
});

describe('aws/route53.ts', () => {
  it('keeps zone ids and names as kubeaz writes them', () => {
    expect(bareZoneId('/hostedzone/Z123')).toBe('Z123');
    expect(zoneArn('Z123')).toBe('arn:aws:route53:::hostedzone/Z123');
    expect(dnsName('Master.Dev.Kube.')).toBe('master.dev.kube');
  });

  it('reads every page of a zone’s record sets, following name, type and identifier', async () => {
    const pages = [
      {
        ResourceRecordSets: [{ Name: 'a.', Type: 'A' }],
        IsTruncated: true,
        NextRecordName: 'b.',
        NextRecordType: 'TXT',
        NextRecordIdentifier: 'x',
      },
      { ResourceRecordSets: [{ Name: 'b.', Type: 'TXT' }], IsTruncated: false },
    ];
    const { client, sent } = fake<Route53Client>(() => pages.shift());
    const sets = await listRecordSets({ aws: { route53: async () => client } as unknown as AwsClients }, 'Z1');
    expect(sets.map((s) => s.Name)).toEqual(['a.', 'b.']);
    expect(sent.map((s) => s.input)).toEqual([
      { HostedZoneId: 'Z1' },
      { HostedZoneId: 'Z1', StartRecordName: 'b.', StartRecordType: 'TXT', StartRecordIdentifier: 'x' },
    ]);
  });
});

describe('aws/s3.ts', () => {
  it('empties every version and delete marker but those kept, 1000 per DeleteObjects', async () => {
    const versions = Array.from({ length: 1500 }, (_, i) => ({ Key: i % 2 ? `etcd/${i}` : `boot/${i}`, VersionId: `v${i}` }));
    const listed = [
      { Versions: versions.slice(0, 1000), IsTruncated: true, NextKeyMarker: 'k', NextVersionIdMarker: 'v' },
      { Versions: versions.slice(1000), DeleteMarkers: [{ Key: 'boot/marker' }], IsTruncated: false },
    ];
    const { client, sent } = fake<S3Client>((name) => (name === 'ListObjectVersionsCommand' ? listed.shift() : { Errors: [] }));
    const n = await emptyBucket(client, 'b', '123', (key) => key.startsWith('etcd/'));
    expect(n).toBe(751);
    expect(sent.map((s) => s.name)).toEqual(['ListObjectVersionsCommand', 'ListObjectVersionsCommand', 'DeleteObjectsCommand']);
    expect(sent[1]!.input).toMatchObject({ Bucket: 'b', ExpectedBucketOwner: '123', KeyMarker: 'k', VersionIdMarker: 'v' });
    const deleted = (sent[2]!.input.Delete as { Objects: Array<{ Key: string; VersionId: string }> }).Objects;
    expect(deleted).toHaveLength(751);
    expect(deleted.at(-1)).toEqual({ Key: 'boot/marker', VersionId: 'null' });
  });

  it('throws the first failure DeleteObjects reports, by its code', async () => {
    const { client } = fake<S3Client>((name) =>
      name === 'ListObjectVersionsCommand'
        ? { Versions: [{ Key: 'k', VersionId: '1' }] }
        : { Errors: [{ Key: 'k', VersionId: '1', Code: 'AccessDenied', Message: 'no' }] },
    );
    await expect(emptyBucket(client, 'b', '123')).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('reads an unset setting as undefined and rethrows anything else', async () => {
    const unset = Object.assign(new Error('none'), { name: 'NoSuchBucketPolicy' });
    expect(await unlessUnset(Promise.reject(unset))).toBeUndefined();
    await expect(unlessUnset(Promise.reject(Object.assign(new Error('gone'), { name: 'NoSuchBucket' })))).rejects.toThrow('gone');
    expect(await unlessUnset(Promise.resolve(1))).toBe(1);
    expect(BUCKET_SSE).toBe('AES256');
  });
});
