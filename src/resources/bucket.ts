/**
 * The cluster's S3 bucket. S3 takes no tags at creation, so ownership is proved by the derived,
 * account-scoped name (`bucketName(clusterId, accountId)`): observe looks only at that name, and a
 * look-alike bucket is never seen. Tags are still set (right after creation, and on adoption).
 *
 * One file per kind (DESIGN.md), over 300 lines because a bucket's settings are separate calls
 * each (versioning, encryption, public access block, policy, lifecycle, tags), read, diffed and set here.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  paginateListObjectsV2,
  type BucketLocationConstraint,
  type LifecycleRule as S3LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isBucketOwnedByYou, isNotFound, KubeazError } from '../aws/errors.js';
import { normalisePolicy } from '../aws/iam.js';
import { BUCKET_SSE, emptyBucket, unlessUnset } from '../aws/s3.js';
import { ETCD_PREFIX, listSnapshots } from '../etcd/snapshots.js';
import { BOOT_PREFIX } from '../records/boot.js';
import { AGENT_PREFIX } from '../model/agent.js';
import { SPEC_PREFIX } from '../model/stored-spec.js';
import { tagDiff } from '../aws/tags.js';
import type { LifecycleRule } from '../model/types.js';
import { change, drain, toTagList, whenVisible } from './common.js';
import { ownBucket } from './own-buckets.js';
import type { ActualOf, Change, ResourceHandler } from './types.js';

const PUBLIC_ACCESS_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
} as const;
type PublicAccessBlock = Record<keyof typeof PUBLIC_ACCESS_BLOCK, boolean>;

export interface BucketObserved {
  versioning: string;
  encryption: string | undefined;
  publicAccessBlock: PublicAccessBlock;
  /** the bucket policy, parsed; undefined when none is set */
  policy: unknown;
  /** the lifecycle rules in kubeaz's terms, sorted by id; [] when none is set */
  lifecycle: LifecycleRule[];
}

/** A lifecycle rule as S3 reads it back, in kubeaz's terms (anything kubeaz does not set shows as an extra field, so it is drift). */
function lifecycleOf(r: S3LifecycleRule): LifecycleRule & { other?: unknown } {
  const out: LifecycleRule & { other?: unknown } = { id: r.ID ?? '', prefix: r.Filter?.Prefix ?? r.Prefix ?? '' };
  if (r.Status !== 'Enabled') out.other = { status: r.Status };
  if (r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined) out.noncurrentDays = r.NoncurrentVersionExpiration.NoncurrentDays;
  if (r.Expiration?.ExpiredObjectDeleteMarker) out.expiredDeleteMarkers = true;
  if (r.Expiration?.Days !== undefined || r.Expiration?.Date !== undefined)
    out.other = { ...(out.other as object), expiration: r.Expiration };
  if (r.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined)
    out.abortIncompleteMultipartDays = r.AbortIncompleteMultipartUpload.DaysAfterInitiation;
  if (r.Transitions?.length || r.NoncurrentVersionTransitions?.length) out.other = { ...(out.other as object), transitions: true };
  if (r.Filter?.Tag || r.Filter?.And || r.Filter?.ObjectSizeGreaterThan !== undefined || r.Filter?.ObjectSizeLessThan !== undefined)
    out.other = { ...(out.other as object), filter: r.Filter };
  return out;
}

function s3Rule(r: LifecycleRule): S3LifecycleRule {
  return {
    ID: r.id,
    Status: 'Enabled',
    Filter: { Prefix: r.prefix },
    ...(r.noncurrentDays !== undefined ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentDays } } : {}),
    ...(r.expiredDeleteMarkers ? { Expiration: { ExpiredObjectDeleteMarker: true } } : {}),
    ...(r.abortIncompleteMultipartDays !== undefined
      ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteMultipartDays } }
      : {}),
  };
}

const sortRules = (rules: readonly LifecycleRule[]): LifecycleRule[] => [...rules].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const canonRule = (r: LifecycleRule & { other?: unknown }) =>
  JSON.stringify([
    r.id,
    r.prefix,
    r.noncurrentDays ?? null,
    r.expiredDeleteMarkers ?? false,
    r.abortIncompleteMultipartDays ?? null,
    r.other ?? null,
  ]);
const sameLifecycle = (a: readonly LifecycleRule[], b: readonly LifecycleRule[]): boolean =>
  a.length === b.length && sortRules(a).every((r, i) => canonRule(r) === canonRule(sortRules(b)[i]!));

const arnOf = (name: string): string => `arn:aws:s3:::${name}`;

async function readBucket(s3: S3Client, name: string, owner: string): Promise<{ observed: BucketObserved }> {
  const b = { Bucket: name, ExpectedBucketOwner: owner };
  const [versioning, encryption, pab, policy, lifecycle] = await Promise.all([
    s3.send(new GetBucketVersioningCommand(b)),
    unlessUnset(s3.send(new GetBucketEncryptionCommand(b))),
    unlessUnset(s3.send(new GetPublicAccessBlockCommand(b))),
    unlessUnset(s3.send(new GetBucketPolicyCommand(b))),
    unlessUnset(s3.send(new GetBucketLifecycleConfigurationCommand(b))),
  ]);
  const cfg = pab?.PublicAccessBlockConfiguration;
  return {
    observed: {
      versioning: versioning.Status ?? 'Disabled',
      encryption: encryption?.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      publicAccessBlock: {
        BlockPublicAcls: cfg?.BlockPublicAcls ?? false,
        IgnorePublicAcls: cfg?.IgnorePublicAcls ?? false,
        BlockPublicPolicy: cfg?.BlockPublicPolicy ?? false,
        RestrictPublicBuckets: cfg?.RestrictPublicBuckets ?? false,
      },
      policy: policy?.Policy ? JSON.parse(policy.Policy) : undefined,
      lifecycle: sortRules((lifecycle?.Rules ?? []).map(lifecycleOf)),
    },
  };
}

const samePolicy = (a: unknown, b: unknown): boolean => JSON.stringify(normalisePolicy(a)) === JSON.stringify(normalisePolicy(b));

export const bucket: ResourceHandler<'bucket', BucketObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      's3:GetBucketLocation',
      's3:GetBucketPolicy',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketTagging',
      's3:GetBucketVersioning',
      's3:GetEncryptionConfiguration',
      's3:GetLifecycleConfiguration',
      's3:ListBucket',
      's3:ListBucketVersions',
    ],
    create: [
      's3:CreateBucket',
      's3:PutBucketPolicy',
      's3:PutBucketPublicAccessBlock',
      's3:PutBucketTagging',
      's3:PutBucketVersioning',
      's3:PutEncryptionConfiguration',
      's3:PutLifecycleConfiguration',
    ],
    delete: ['s3:DeleteBucket', 's3:DeleteObject', 's3:DeleteObjectVersion'],
  },
  kind: 'bucket',
  edges: { waitsFor: [] },

  async observe(ctx) {
    const s3 = await ctx.aws.s3();
    const own = await ownBucket(ctx);
    if (!own) return [];
    const { name, tags } = own;
    let read;
    try {
      read = await readBucket(s3, name, ctx.accountId);
    } catch (e) {
      if (isNotFound(e)) return []; // deleted between the two reads
      throw e;
    }
    return [{ key: 'bucket', kind: 'bucket' as const, id: name, attrs: { name, arn: arnOf(name) }, tags, observed: read.observed }];
  },

  async create(ctx, node) {
    const s3 = await ctx.aws.s3();
    const name = node.props.name;
    try {
      await s3.send(
        new CreateBucketCommand({
          Bucket: name,
          ...(ctx.region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: ctx.region as BucketLocationConstraint } }),
        }),
      );
    } catch (e) {
      // Ours already (a retried create, or a race with another run): configure it all the same.
      if (!isBucketOwnedByYou(e)) throw e;
    }
    const observed: BucketObserved = {
      versioning: 'Suspended',
      encryption: undefined,
      publicAccessBlock: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
      policy: undefined,
      lifecycle: [],
    };
    const actual: ActualOf<BucketObserved> = {
      key: node.key,
      kind: 'bucket',
      id: name,
      attrs: { name, arn: arnOf(name) },
      tags: {},
      observed,
    };
    // A just-made bucket may answer NoSuchBucket for a moment on AWS: retry within the propagation time.
    return whenVisible(ctx, () => bucket.update!(ctx, node, actual, bucket.diff(node, actual)));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (
      o.publicAccessBlock &&
      Object.entries(PUBLIC_ACCESS_BLOCK).some(([k, v]) => o.publicAccessBlock[k as keyof PublicAccessBlock] !== v)
    )
      out.push(change('publicAccessBlock', o.publicAccessBlock, { ...PUBLIC_ACCESS_BLOCK }, true));
    if (o.encryption !== BUCKET_SSE) out.push(change('encryption', o.encryption, BUCKET_SSE, true));
    if (o.versioning !== 'Enabled') out.push(change('versioning', o.versioning, 'Enabled', true));
    const desiredPolicy = JSON.parse(node.props.policy) as unknown;
    if (!samePolicy(o.policy, desiredPolicy)) out.push(change('policy', o.policy, desiredPolicy, true));
    if (!sameLifecycle(o.lifecycle ?? [], node.props.lifecycle))
      out.push(change('lifecycle', o.lifecycle ?? [], sortRules(node.props.lifecycle), true));
    if (actual.id !== node.props.name) out.push(change('name', actual.id, node.props.name, false));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const s3 = await ctx.aws.s3();
    const b = { Bucket: actual.id, ExpectedBucketOwner: ctx.accountId };
    const o = { ...actual.observed };
    let tags = actual.tags;
    const has = (f: string) => changes.some((c) => c.field === f);
    // Public access first: nothing is ever public, not even for a moment.
    if (has('publicAccessBlock')) {
      await s3.send(new PutPublicAccessBlockCommand({ ...b, PublicAccessBlockConfiguration: { ...PUBLIC_ACCESS_BLOCK } }));
      o.publicAccessBlock = { ...PUBLIC_ACCESS_BLOCK };
    }
    if (has('encryption')) {
      await s3.send(
        new PutBucketEncryptionCommand({
          ...b,
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: BUCKET_SSE } }] },
        }),
      );
      o.encryption = BUCKET_SSE;
    }
    if (has('versioning')) {
      await s3.send(new PutBucketVersioningCommand({ ...b, VersioningConfiguration: { Status: 'Enabled' } }));
      o.versioning = 'Enabled';
    }
    if (has('policy')) {
      await s3.send(new PutBucketPolicyCommand({ ...b, Policy: node.props.policy }));
      o.policy = JSON.parse(node.props.policy);
    }
    if (has('lifecycle')) {
      // The configuration is replaced whole: these are all the bucket's rules.
      await s3.send(
        new PutBucketLifecycleConfigurationCommand({ ...b, LifecycleConfiguration: { Rules: node.props.lifecycle.map(s3Rule) } }),
      );
      o.lifecycle = sortRules(node.props.lifecycle);
    }
    if (has('tags')) {
      // PutBucketTagging replaces the whole set: keep tags someone else added.
      tags = { ...actual.tags, ...node.tags };
      await s3.send(new PutBucketTaggingCommand({ ...b, Tagging: { TagSet: toTagList(tags) } }));
    }
    return { ...actual, tags, observed: o };
  },

  async foreignContents(ctx, actual) {
    const s3 = await ctx.aws.s3();
    const keys = await drain(
      paginateListObjectsV2({ client: s3 }, { Bucket: actual.id, ExpectedBucketOwner: ctx.accountId }),
      (p) => p.Contents,
    ).catch((e: unknown) => {
      if (isNotFound(e)) return [];
      throw e;
    });
    const foreign = keys.filter((o) => !KUBEAZ_PREFIXES.some((p) => o.Key!.startsWith(p)));
    return foreign.map((o) => `object s3://${actual.id}/${o.Key} (${o.Size ?? 0} bytes) in the cluster's bucket`);
  },

  async delete(ctx, actual) {
    const s3 = await ctx.aws.s3();
    try {
      // etcd snapshots are the cluster's state: only `destroy --delete-backups` removes them (the
      // destroy command keeps a bucket holding some; this guards against one appearing since).
      if (!ctx.deleteBackups) {
        const snaps = (await listSnapshots(s3, actual.id, ctx.accountId)) ?? [];
        if (snaps.length)
          throw new KubeazError(
            `s3://${actual.id}/${ETCD_PREFIX} holds ${snaps.length} etcd snapshot(s): not deleting them; run destroy again to keep them, or destroy --delete-backups to delete them`,
            'BackupsPresent',
            'bucket',
          );
      }
      await emptyBucket(s3, actual.id, ctx.accountId);
      await s3.send(new DeleteBucketCommand({ Bucket: actual.id, ExpectedBucketOwner: ctx.accountId }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e; // BucketNotEmpty (a writer raced us) is a dependency error: the engine retries
    }
  },
};

/**
 * Where kubeaz (and the cluster's own agents) writes in the bucket; anything else is someone else's.
 * boot/ holds every instance's boot report (terminated instances' too, until destroy).
 */
export const KUBEAZ_PREFIXES = ['bootstrap/', 'pki/', ETCD_PREFIX, 'kubeaz/', AGENT_PREFIX, BOOT_PREFIX, SPEC_PREFIX] as const;

/**
 * What a bucket kept for its backups holds: the etcd snapshots, the PKI they are only valid with,
 * and the spec the cluster was last created from (`kubeaz get-spec` reads it back).
 */
export const RETAINED_PREFIXES = [ETCD_PREFIX, 'pki/', SPEC_PREFIX] as const;

/**
 * destroy of a cluster whose bucket holds etcd snapshots: everything but etcd/, pki/ and spec/ goes
 * (every version and delete marker); the bucket, its settings and tags stay, so `create` adopts it.
 */
export async function retainBackupsOnly(s3: S3Client, name: string, owner: string): Promise<number> {
  return emptyBucket(s3, name, owner, (key) => RETAINED_PREFIXES.some((p) => key.startsWith(p)));
}
