/**
 * bucket, bucket-object, iam-role, instance-profile, iam-user end to end against moto_server:
 * create → observe → diff [] → drift detected and repaired → delete → nothing left.
 */
import { describe, expect, it } from 'vitest';
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  DeleteObjectCommand,
} from '@aws-sdk/client-s3';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  ListInstanceProfilesCommand,
  ListRolesCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { nodeMaker } from '../helpers/nodes.js';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { bucketName, iamPathOf } from '../../src/model/names.js';
import { BUCKET_LIFECYCLE, tlsOnlyPolicy } from '../../src/model/derive.js';
import { OWNER_TAG, type Kind, type PolicyDocument } from '../../src/model/types.js';
import { bucket as bucketTyped } from '../../src/resources/bucket.js';
import { bucketObject as bucketObjectTyped } from '../../src/resources/bucket-object.js';
import { iamRole as iamRoleTyped } from '../../src/resources/iam-role.js';
import { instanceProfile as instanceProfileTyped } from '../../src/resources/instance-profile.js';
import { iamUser as iamUserTyped } from '../../src/resources/iam-user.js';
import type { ResolvedNode, ResourceHandler, RunContext } from '../../src/resources/types.js';
import { wide } from '../helpers/wide.js';
const bucket = wide(bucketTyped);
const bucketObject = wide(bucketObjectTyped);
const iamRole = wide(iamRoleTyped);
const instanceProfile = wide(instanceProfileTyped);
const iamUser = wide(iamUserTyped);

useMoto({ processEnv: { KUBEAZ_POLL_SECONDS: '0.2', KUBEAZ_PROPAGATION_SECONDS: '2' } });

const ACCOUNT = '123456789012';
// Every observe in these tests is a pass of its own (the engine resets the memo per pass; IAM's
// one GetAccountAuthorizationDetails is memoised within a pass).
const mkCtx = (clusterId: string) => {
  const ctx = createRunContext({
    clusterId,
    region: 'us-east-1',
    accountId: ACCOUNT,
    generation: 'g1',
    aws: new AwsClients({ region: 'us-east-1' }),
    zoneDomains: ['dev.kube', 'example.com'],
  });
  ctx.memo = <T>(_key: string, fn: () => Promise<T>): Promise<T> => fn();
  return ctx;
};

const node = nodeMaker({ tags: { env: 'test' } });

/** observe + diff of every actual against its node, counting the mutating calls (must be none). */
async function observeAndDiff<K extends Kind, O>(ctx: RunContext, h: ResourceHandler<K, O>, nodes: ResolvedNode<K>[]) {
  const before = ctx.aws.counter.mutating;
  const actuals = await h.observe(ctx);
  const diffs = Object.fromEntries(
    actuals.map((a) => {
      const n = nodes.find((x) => x.key === a.key);
      return [a.key, n ? h.diff(n, a) : 'orphan'];
    }),
  );
  expect(ctx.aws.counter.mutating - before).toBe(0);
  return { actuals, diffs };
}

const bucketNode = (clusterId: string) => {
  const name = bucketName(clusterId, ACCOUNT);
  return node(
    'bucket',
    'bucket',
    { name, policy: JSON.stringify(tlsOnlyPolicy(`arn:aws:s3:::${name}`)), lifecycle: BUCKET_LIFECYCLE },
    { cluster: clusterId, name },
  );
};

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('bucket and bucket objects', { shuffle: false }, () => {
  const ctx = mkCtx('demo-dev');
  const name = bucketName('demo-dev', ACCOUNT);
  const bn = bucketNode('demo-dev');
  const objs = [
    node(
      'bucket-object',
      'object/bootstrap/common/common.sh',
      { bucket: name, objectKey: 'bootstrap/common/common.sh', body: '#!/bin/sh\necho common\n', contentType: 'text/x-shellscript' },
      { name: 'common.sh' },
    ),
    node(
      'bucket-object',
      'object/bootstrap/node/node.sh',
      { bucket: name, objectKey: 'bootstrap/node/node.sh', body: '#!/bin/sh\necho node\n', contentType: 'text/x-shellscript' },
      { name: 'node.sh' },
    ),
  ];
  const lookAlike = `kubeaz-demo-dev-${ACCOUNT}-old`;

  it('observes nothing before creation, and never a look-alike bucket', async () => {
    const s3 = await ctx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: lookAlike }));
    await s3.send(new CreateBucketCommand({ Bucket: 'demo-dev-logs' }));
    expect(await bucket.observe(ctx)).toEqual([]);
    expect(await bucketObject.observe(ctx)).toEqual([]);
  });

  it('creates the bucket with every setting, read back by observe', async () => {
    const before = ctx.aws.counter.mutatingCalls().length;
    const created = await bucket.create(ctx, bn);
    expect(created.attrs).toEqual({ name, arn: `arn:aws:s3:::${name}` });
    expect(ctx.aws.counter.mutatingCalls().slice(before)).toEqual([
      's3:CreateBucket',
      's3:PutPublicAccessBlock',
      's3:PutBucketEncryption',
      's3:PutBucketVersioning',
      's3:PutBucketPolicy',
      's3:PutBucketLifecycleConfiguration',
      's3:PutBucketTagging',
    ]);

    const { actuals, diffs } = await observeAndDiff(ctx, bucket, [bn]);
    expect(actuals).toHaveLength(1);
    const a = actuals[0]!;
    expect(a).toMatchObject({ key: 'bucket', kind: 'bucket', id: name, attrs: { name, arn: `arn:aws:s3:::${name}` } });
    expect(a.tags).toMatchObject(bn.tags);
    const o = a.observed as {
      versioning: string;
      encryption: string;
      publicAccessBlock: Record<string, boolean>;
      policy: { Statement: unknown };
    };
    expect(o.encryption).toBe('AES256');
    expect(o.versioning).toBe('Enabled');
    expect(o.publicAccessBlock).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(o.policy)).toContain('DenyInsecureTransport');
    expect(JSON.stringify(o.policy)).toContain('aws:SecureTransport');
    expect(diffs).toEqual({ bucket: [] });

    // the lifecycle rules, read back through S3 itself: noncurrent snapshot versions under etcd/
    // expire after a day (pruning only adds delete markers to a versioned bucket), and
    // incomplete multipart uploads are aborted anywhere in the bucket
    const rules = (await (await ctx.aws.s3()).send(new GetBucketLifecycleConfigurationCommand({ Bucket: name }))).Rules ?? [];
    const etcd = rules.find((r) => (r.Filter?.Prefix ?? r.Prefix) === 'etcd/')!;
    expect(etcd).toMatchObject({
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Expiration: { ExpiredObjectDeleteMarker: true },
    });
    const abort = rules.find((r) => r.AbortIncompleteMultipartUpload)!;
    expect(abort).toMatchObject({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } });
    expect(abort.Filter?.Prefix ?? abort.Prefix ?? '').toBe('');
  });

  it('a missing or hand-edited lifecycle configuration is drift, repaired in place', async () => {
    const s3 = await ctx.aws.s3();
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: name }));
    let [a] = await bucket.observe(ctx);
    let changes = bucket.diff(bn, a!);
    expect(changes.map((c) => c.field)).toEqual(['lifecycle']);
    expect(changes[0]!.inPlace).toBe(true);
    await bucket.update!(ctx, bn, a!, changes);
    expect((await observeAndDiff(ctx, bucket, [bn])).diffs).toEqual({ bucket: [] });
    // someone stretches the expiry to 30 days
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: name,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'kubeaz-etcd-noncurrent',
              Status: 'Enabled',
              Filter: { Prefix: 'etcd/' },
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            },
          ],
        },
      }),
    );
    [a] = await bucket.observe(ctx);
    changes = bucket.diff(bn, a!);
    expect(changes.map((c) => c.field)).toEqual(['lifecycle']);
    const before = ctx.aws.counter.mutatingCalls().length;
    await bucket.update!(ctx, bn, a!, changes);
    expect(ctx.aws.counter.mutatingCalls().slice(before)).toEqual(['s3:PutBucketLifecycleConfiguration']);
    expect((await observeAndDiff(ctx, bucket, [bn])).diffs).toEqual({ bucket: [] });
  });

  it('a second create of the same bucket is harmless', async () => {
    await bucket.create(ctx, bn);
    expect(await bucket.observe(ctx)).toHaveLength(1);
  });

  it('detects drifted settings and repairs exactly those', async () => {
    const s3 = await ctx.aws.s3();
    await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Suspended' } }));
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: name }));
    const [a] = await bucket.observe(ctx);
    const changes = bucket.diff(bn, a!);
    expect(changes.map((c) => c.field).sort()).toEqual(['encryption', 'versioning']);
    expect(changes.every((c) => c.inPlace)).toBe(true);
    const before = ctx.aws.counter.mutatingCalls().length;
    await bucket.update!(ctx, bn, a!, changes);
    expect(ctx.aws.counter.mutatingCalls().slice(before).sort()).toEqual(['s3:PutBucketEncryption', 's3:PutBucketVersioning']);
    const { diffs } = await observeAndDiff(ctx, bucket, [bn]);
    expect(diffs).toEqual({ bucket: [] });
  });

  it('uploads objects, diff [] when bodies match, a changed body is detected and repaired', async () => {
    for (const n of objs) await bucketObject.create(ctx, n);
    const s3 = await ctx.aws.s3();
    // Not ours to manage here: outside bootstrap/.
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'etcd/snapshot-1.db', Body: 'snap' }));

    let { actuals, diffs } = await observeAndDiff(ctx, bucketObject, objs);
    expect(actuals.map((a) => a.key).sort()).toEqual(objs.map((n) => n.key).sort());
    expect(actuals.find((a) => a.key === objs[0]!.key)).toMatchObject({ id: 'bootstrap/common/common.sh', kind: 'bucket-object' });
    expect(diffs).toEqual(Object.fromEntries(objs.map((n) => [n.key, []])));
    expect(ctx.aws.counter.byAction()['s3:ListObjectsV2']).toBeGreaterThanOrEqual(1);

    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'bootstrap/node/node.sh', Body: 'tampered', ServerSideEncryption: 'AES256' }));
    ({ actuals, diffs } = await observeAndDiff(ctx, bucketObject, objs));
    expect(diffs[objs[0]!.key]).toEqual([]);
    const ch = diffs[objs[1]!.key] as Array<{ field: string; inPlace: boolean }>;
    expect(ch.map((c) => [c.field, c.inPlace])).toEqual([['body', true]]);
    await bucketObject.update!(
      ctx,
      objs[1]!,
      actuals.find((a) => a.key === objs[1]!.key)!,
      ch as never,
    );
    ({ diffs } = await observeAndDiff(ctx, bucketObject, objs));
    expect(diffs).toEqual(Object.fromEntries(objs.map((n) => [n.key, []])));
  });

  it('a second observe+diff pass makes zero mutating calls', async () => {
    const before = ctx.aws.counter.mutating;
    expect((await observeAndDiff(ctx, bucket, [bn])).diffs).toEqual({ bucket: [] });
    expect(Object.values((await observeAndDiff(ctx, bucketObject, objs)).diffs).flat()).toEqual([]);
    expect(ctx.aws.counter.mutating).toBe(before);
  });

  it('deletes objects and a bucket full of versions and delete markers, leaving nothing', async () => {
    const s3 = await ctx.aws.s3();
    for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: name, Key: 'etcd/snapshot-2.db', Body: `v${i}` }));
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'etcd/snapshot-2.db' })); // a delete marker
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: name }));
    expect((versions.Versions?.length ?? 0) + (versions.DeleteMarkers?.length ?? 0)).toBeGreaterThan(6);

    for (const a of await bucketObject.observe(ctx)) await bucketObject.delete(ctx, a);
    expect(await bucketObject.observe(ctx)).toEqual([]);
    const [b] = await bucket.observe(ctx);
    await bucket.delete(ctx, b!);
    expect(await bucket.observe(ctx)).toEqual([]);
    expect(await bucketObject.observe(ctx)).toEqual([]);
    await expect(s3.send(new HeadBucketCommand({ Bucket: name }))).rejects.toMatchObject({ name: 'NotFound' });
    // Idempotent, and the look-alikes were never touched.
    await bucket.delete(ctx, b!);
    await bucketObject.delete(ctx, {
      key: 'object/bootstrap/node/node.sh',
      kind: 'bucket-object',
      id: 'bootstrap/node/node.sh',
      attrs: { bucket: name },
      tags: {},
    });
    await s3.send(new HeadBucketCommand({ Bucket: lookAlike }));
    await s3.send(new HeadBucketCommand({ Bucket: 'demo-dev-logs' }));
  });

  it('adopts an existing bucket of the derived name that lacks tags and settings', async () => {
    const actx = mkCtx('adopt-dev');
    const an = bucketNode('adopt-dev');
    const s3 = await actx.aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: an.props.name }));
    const [a] = await bucket.observe(actx);
    expect(a).toMatchObject({ key: 'bucket', id: an.props.name, tags: {} });
    const changes = bucket.diff(an, a!);
    expect(changes.map((c) => c.field).sort()).toEqual(['encryption', 'lifecycle', 'policy', 'publicAccessBlock', 'tags', 'versioning']);
    expect(changes.find((c) => c.field === 'tags')!.to).toEqual(an.tags);
    await bucket.update!(actx, an, a!, changes);
    const { actuals, diffs } = await observeAndDiff(actx, bucket, [an]);
    expect(actuals[0]!.tags).toMatchObject(an.tags);
    expect(diffs).toEqual({ bucket: [] });
    await bucket.delete(actx, actuals[0]!);
    expect(await bucket.observe(actx)).toEqual([]);
  });
});

// a story on one cluster: its steps build on each other, so they keep their order under --sequence.shuffle
describe('IAM roles, instance profiles and users', { shuffle: false }, () => {
  const cid = 'demo-dev';
  const ctx = mkCtx(cid);
  const path = iamPathOf(cid);
  const bucketArn = `arn:aws:s3:::${bucketName(cid, ACCOUNT)}`;
  const masterPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:DescribeRegions'], Resource: '*' },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/*`] },
    ],
  };
  const nodePolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${bucketArn}/bootstrap/*`] }],
  };
  const roles = [
    node(
      'iam-role',
      'role/master',
      { name: `${cid}-master`, path, assumeService: 'ec2.amazonaws.com', policies: { 'kubeaz-master': masterPolicy } },
      { cluster: cid, name: `${cid}-master` },
    ),
    node(
      'iam-role',
      'role/node',
      { name: `${cid}-node`, path, assumeService: 'ec2.amazonaws.com', policies: { 'kubeaz-node': nodePolicy } },
      { cluster: cid, name: `${cid}-node` },
    ),
  ];
  const profiles = [
    node(
      'instance-profile',
      'profile/master',
      { name: `${cid}-master`, path, roleName: `${cid}-master` },
      { cluster: cid, name: `${cid}-master` },
    ),
    node('instance-profile', 'profile/node', { name: `${cid}-node`, path, roleName: `${cid}-node` }, { cluster: cid, name: `${cid}-node` }),
  ];
  const userPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Backups', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`${bucketArn}/etcd/*`] },
      {
        Sid: 'ListBackups',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucketArn],
        Condition: { StringLike: { 's3:prefix': ['etcd/*'] } },
      },
    ],
  };
  const users = [
    node(
      'iam-user',
      'user/backup',
      { name: 'backup', path, policies: { 'kubeaz-bucket-write': userPolicy } },
      { cluster: cid, name: 'backup' },
    ),
  ];

  it('a look-alike role outside our path is never observed', async () => {
    const iam = await ctx.aws.iam();
    await iam.send(
      new CreateRoleCommand({
        RoleName: `${cid}-something`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
        Tags: [{ Key: OWNER_TAG, Value: cid }],
      }),
    );
    // and one under a look-alike path (another cluster whose id starts with ours)
    await iam.send(
      new CreateRoleCommand({
        RoleName: `${cid}-2-master`,
        Path: `/kubeaz/${cid}-2/`,
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
      }),
    );
    expect(await iamRole.observe(ctx)).toEqual([]);
    expect(await instanceProfile.observe(ctx)).toEqual([]);
    expect(await iamUser.observe(ctx)).toEqual([]);
  });

  it('creates roles, profiles and users that observe reads back with diff []', async () => {
    for (const r of roles) {
      const a = await iamRole.create(ctx, r);
      expect(a.attrs).toEqual({ name: r.props.name, arn: `arn:aws:iam::${ACCOUNT}:role${path}${r.props.name}` });
    }
    for (const p of profiles) {
      const a = await instanceProfile.create(ctx, p);
      expect(a.attrs.arn).toBe(`arn:aws:iam::${ACCOUNT}:instance-profile${path}${p.props.name}`);
    }
    for (const u of users) await iamUser.create(ctx, u);
    expect(ctx.aws.counter.byAction()['iam:CreateAccessKey']).toBeUndefined();

    const r = await observeAndDiff(ctx, iamRole, roles);
    expect(r.actuals.map((a) => a.key).sort()).toEqual(['role/master', 'role/node']);
    const master = r.actuals.find((a) => a.key === 'role/master')!;
    expect(master).toMatchObject({ id: `${cid}-master`, attrs: { name: `${cid}-master` } });
    expect(master.tags).toMatchObject(roles[0]!.tags);
    expect((master.observed as { policies: Record<string, unknown> }).policies['kubeaz-master']).toBeDefined();
    expect(JSON.stringify((master.observed as { assumeRolePolicy: unknown }).assumeRolePolicy)).toContain('ec2.amazonaws.com');
    expect(r.diffs).toEqual({ 'role/master': [], 'role/node': [] });

    const p = await observeAndDiff(ctx, instanceProfile, profiles);
    expect(p.actuals.map((a) => [a.key, (a.observed as { roles: string[] }).roles])).toEqual(
      expect.arrayContaining([
        ['profile/master', [`${cid}-master`]],
        ['profile/node', [`${cid}-node`]],
      ]),
    );
    expect(p.actuals.find((a) => a.key === 'profile/master')!.tags).toMatchObject(profiles[0]!.tags);
    expect(p.diffs).toEqual({ 'profile/master': [], 'profile/node': [] });
    expect(ctx.aws.counter.byAction()['iam:ListInstanceProfileTags']).toBeUndefined();

    const u = await observeAndDiff(ctx, iamUser, users);
    expect(u.actuals).toHaveLength(1);
    expect(u.actuals[0]).toMatchObject({
      key: 'user/backup',
      id: 'backup',
      attrs: { name: 'backup', arn: `arn:aws:iam::${ACCOUNT}:user${path}backup` },
    });
    expect(u.actuals[0]!.tags).toMatchObject(users[0]!.tags);
    expect(u.diffs).toEqual({ 'user/backup': [] });
  });

  it('a second create is harmless and a second observe+diff pass makes zero mutating calls', async () => {
    await iamRole.create(ctx, roles[0]!);
    await instanceProfile.create(ctx, profiles[0]!);
    await iamUser.create(ctx, users[0]!);
    const before = ctx.aws.counter.mutating;
    expect(Object.values((await observeAndDiff(ctx, iamRole, roles)).diffs).flat()).toEqual([]);
    expect(Object.values((await observeAndDiff(ctx, instanceProfile, profiles)).diffs).flat()).toEqual([]);
    expect(Object.values((await observeAndDiff(ctx, iamUser, users)).diffs).flat()).toEqual([]);
    expect(ctx.aws.counter.mutating).toBe(before);
  });

  it('detects and repairs a hand-edited inline policy, an extra policy, the assume policy and missing profile roles', async () => {
    const iam = await ctx.aws.iam();
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: `${cid}-master`,
        PolicyName: 'kubeaz-master',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({ RoleName: `${cid}-node`, PolicyName: 'hand-made', PolicyDocument: JSON.stringify(nodePolicy) }),
    );
    await iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: `${cid}-node`,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
    await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: `${cid}-node`, RoleName: `${cid}-node` }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'backup',
        PolicyName: 'kubeaz-bucket-write',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }),
      }),
    );

    const r = await observeAndDiff(ctx, iamRole, roles);
    expect((r.diffs['role/master'] as Array<{ field: string }>).map((c) => c.field)).toEqual(['policy:kubeaz-master']);
    expect((r.diffs['role/node'] as Array<{ field: string }>).map((c) => c.field).sort()).toEqual(['assumeRolePolicy', 'policy:hand-made']);
    for (const a of r.actuals)
      await iamRole.update!(
        ctx,
        roles.find((n) => n.key === a.key)!,
        a,
        r.diffs[a.key] as never,
      );

    const p = await observeAndDiff(ctx, instanceProfile, profiles);
    expect(p.diffs['profile/node']).toEqual([{ field: 'roles', from: [], to: [`${cid}-node`], inPlace: true }]);
    const pa = p.actuals.find((a) => a.key === 'profile/node')!;
    await instanceProfile.update!(ctx, profiles[1]!, pa, p.diffs['profile/node'] as never);

    const u = await observeAndDiff(ctx, iamUser, users);
    expect((u.diffs['user/backup'] as Array<{ field: string }>).map((c) => c.field)).toEqual(['policy:kubeaz-bucket-write']);
    await iamUser.update!(ctx, users[0]!, u.actuals[0]!, u.diffs['user/backup'] as never);

    expect(Object.values((await observeAndDiff(ctx, iamRole, roles)).diffs).flat()).toEqual([]);
    expect(Object.values((await observeAndDiff(ctx, instanceProfile, profiles)).diffs).flat()).toEqual([]);
    expect(Object.values((await observeAndDiff(ctx, iamUser, users)).diffs).flat()).toEqual([]);
  });

  it('delete leaves nothing under the path (managed policies, access keys, login profile included) and is idempotent', async () => {
    const iam = await ctx.aws.iam();
    const managed = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'extra',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }],
        }),
      }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: `${cid}-master`, PolicyArn: managed.Policy!.Arn! }));
    await iam.send(new AttachUserPolicyCommand({ UserName: 'backup', PolicyArn: managed.Policy!.Arn! }));
    await iam.send(new CreateAccessKeyCommand({ UserName: 'backup' }));
    await iam.send(new CreateLoginProfileCommand({ UserName: 'backup', Password: 'Very-s3cret-passw0rd!' }));

    // Roles first (deleting a role takes it out of its profile), then profiles, then users.
    const roleActuals = await iamRole.observe(ctx);
    for (const a of roleActuals) await iamRole.delete(ctx, a);
    const profileActuals = await instanceProfile.observe(ctx);
    for (const a of profileActuals) await instanceProfile.delete(ctx, a);
    const userActuals = await iamUser.observe(ctx);
    for (const a of userActuals) await iamUser.delete(ctx, a);

    expect(await iamRole.observe(ctx)).toEqual([]);
    expect(await instanceProfile.observe(ctx)).toEqual([]);
    expect(await iamUser.observe(ctx)).toEqual([]);
    expect((await iam.send(new ListRolesCommand({ PathPrefix: path }))).Roles).toEqual([]);
    expect((await iam.send(new ListInstanceProfilesCommand({ PathPrefix: path }))).InstanceProfiles).toEqual([]);
    expect((await iam.send(new ListUsersCommand({ PathPrefix: path }))).Users).toEqual([]);

    for (const a of roleActuals) await iamRole.delete(ctx, a);
    for (const a of profileActuals) await instanceProfile.delete(ctx, a);
    for (const a of userActuals) await iamUser.delete(ctx, a);

    // The look-alikes survive.
    await iam.send(new GetRoleCommand({ RoleName: `${cid}-something` }));
    await iam.send(new GetRoleCommand({ RoleName: `${cid}-2-master` }));
  });
});
