/**
 * IRSA's discovery bucket: a bucket of its own beside the cluster's private one, so that nothing of
 * the private bucket's settings is ever relaxed. Anyone may read exactly the two documents of the
 * service-account issuer (`.well-known/openid-configuration`, `openid/v1/jwks`), nothing else: its
 * policy names those two object ARNs only, no listing. Block Public Access on THIS bucket lets a
 * public policy be set and honoured (BlockPublicPolicy and RestrictPublicBuckets off) and keeps
 * ACLs blocked (BlockPublicAcls, IgnorePublicAcls on).
 *
 * A kind of its own rather than a variant of `bucket`: that kind's settings (versioning,
 * lifecycle, a fully blocked public access, TLS-only policy, backups kept at destroy) are the
 * private bucket's contract, and its observe is keyed to the one cluster bucket. Ownership as
 * there: the derived, account-scoped name (`discoveryBucketName`), the bucket's region, and its
 * tags (set right after creation: S3 takes none at CreateBucket).
 *
 * The account's own Block Public Access (S3 Control) overrides any bucket's: pre-flight reads it
 * (aws/s3.ts accountPublicAccessBlock) and refuses when it forbids public bucket policies.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  paginateListObjectsV2,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { isBucketOwnedByYou, isNotFound } from '../aws/errors.js';
import { normalisePolicy } from '../aws/iam.js';
import { BUCKET_SSE, emptyBucket, unlessUnset } from '../aws/s3.js';
import { tagDiff } from '../aws/tags.js';
import { DISCOVERY_KEY, JWKS_KEY } from '../pki/jwks.js';
import { change, drain, toTagList, whenVisible } from './common.js';
import { ownDiscoveryBucket } from './own-buckets.js';
import type { ActualOf, Change, ResourceHandler } from './types.js';

/** Public policies allowed and honoured; public ACLs still blocked and ignored. */
export const DISCOVERY_PUBLIC_ACCESS_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: false,
  RestrictPublicBuckets: false,
} as const;
type PublicAccessBlock = Record<keyof typeof DISCOVERY_PUBLIC_ACCESS_BLOCK, boolean>;

export interface DiscoveryBucketObserved {
  encryption: string | undefined;
  publicAccessBlock: PublicAccessBlock;
  policy: unknown;
}

const NO_BLOCK: PublicAccessBlock = {
  BlockPublicAcls: false,
  IgnorePublicAcls: false,
  BlockPublicPolicy: false,
  RestrictPublicBuckets: false,
};
const arnOf = (name: string): string => `arn:aws:s3:::${name}`;

const samePolicy = (a: unknown, b: unknown): boolean => JSON.stringify(normalisePolicy(a)) === JSON.stringify(normalisePolicy(b));

export const discoveryBucket: ResourceHandler<'discovery-bucket', DiscoveryBucketObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      's3:GetBucketLocation',
      's3:GetBucketPolicy',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketTagging',
      's3:GetEncryptionConfiguration',
      's3:ListBucket',
      's3:ListBucketVersions',
    ],
    create: [
      's3:CreateBucket',
      's3:PutBucketPolicy',
      's3:PutBucketPublicAccessBlock',
      's3:PutBucketTagging',
      's3:PutEncryptionConfiguration',
    ],
    delete: ['s3:DeleteBucket', 's3:DeleteObject', 's3:DeleteObjectVersion'],
  },
  kind: 'discovery-bucket',
  // vpc: IRSA's first resource is made once the VPC records the feature (model/features.ts), so a
  // cluster whose record says no IRSA has none of it
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    const own = await ownDiscoveryBucket(ctx);
    if (!own) return [];
    const s3 = await ctx.aws.s3();
    const b = { Bucket: own.name, ExpectedBucketOwner: ctx.accountId };
    try {
      const [encryption, pab, policy] = await Promise.all([
        unlessUnset(s3.send(new GetBucketEncryptionCommand(b))),
        unlessUnset(s3.send(new GetPublicAccessBlockCommand(b))),
        unlessUnset(s3.send(new GetBucketPolicyCommand(b))),
      ]);
      const cfg = pab?.PublicAccessBlockConfiguration;
      const observed: DiscoveryBucketObserved = {
        encryption: encryption?.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
        publicAccessBlock: {
          BlockPublicAcls: cfg?.BlockPublicAcls ?? false,
          IgnorePublicAcls: cfg?.IgnorePublicAcls ?? false,
          BlockPublicPolicy: cfg?.BlockPublicPolicy ?? false,
          RestrictPublicBuckets: cfg?.RestrictPublicBuckets ?? false,
        },
        policy: policy?.Policy ? JSON.parse(policy.Policy) : undefined,
      };
      return [
        {
          key: 'bucket/discovery',
          kind: 'discovery-bucket' as const,
          id: own.name,
          attrs: { name: own.name, arn: arnOf(own.name) },
          tags: own.tags,
          observed,
        },
      ];
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
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
      if (!isBucketOwnedByYou(e)) throw e;
    }
    // A new bucket blocks everything public (AWS's default since 2023): shown as such, so the first update relaxes it.
    const observed: DiscoveryBucketObserved = {
      encryption: undefined,
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      policy: undefined,
    };
    const actual: ActualOf<DiscoveryBucketObserved> = {
      key: node.key,
      kind: 'discovery-bucket',
      id: name,
      attrs: { name, arn: arnOf(name) },
      tags: {},
      observed,
    };
    return whenVisible(ctx, () => discoveryBucket.update!(ctx, node, actual, discoveryBucket.diff(node, actual)));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (
      Object.entries(DISCOVERY_PUBLIC_ACCESS_BLOCK).some(([k, v]) => (o.publicAccessBlock ?? NO_BLOCK)[k as keyof PublicAccessBlock] !== v)
    )
      out.push(change('publicAccessBlock', o.publicAccessBlock, { ...DISCOVERY_PUBLIC_ACCESS_BLOCK }, true));
    if (o.encryption !== BUCKET_SSE) out.push(change('encryption', o.encryption, BUCKET_SSE, true));
    const desiredPolicy = JSON.parse(node.props.policy) as unknown;
    if (!samePolicy(o.policy, desiredPolicy)) out.push(change('policy', o.policy, desiredPolicy, true));
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
    // Tags first: they are the ownership proof that makes a half-configured bucket ours on the next run.
    if (has('tags')) {
      tags = { ...actual.tags, ...node.tags };
      await s3.send(new PutBucketTaggingCommand({ ...b, Tagging: { TagSet: toTagList(tags) } }));
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
    // Block Public Access before the policy: a public policy is refused while BlockPublicPolicy is on.
    if (has('publicAccessBlock')) {
      await s3.send(new PutPublicAccessBlockCommand({ ...b, PublicAccessBlockConfiguration: { ...DISCOVERY_PUBLIC_ACCESS_BLOCK } }));
      o.publicAccessBlock = { ...DISCOVERY_PUBLIC_ACCESS_BLOCK };
    }
    if (has('policy')) {
      await s3.send(new PutBucketPolicyCommand({ ...b, Policy: node.props.policy }));
      o.policy = JSON.parse(node.props.policy);
    }
    return { ...actual, tags, observed: o };
  },

  // kubeaz writes only the issuer's two documents here; anything else someone put in goes with the
  // bucket, and the bucket is unversioned: such an object is gone for good, so destroy names it first.
  async foreignContents(ctx, actual) {
    const s3 = await ctx.aws.s3();
    const objects = await drain(
      paginateListObjectsV2({ client: s3 }, { Bucket: actual.id, ExpectedBucketOwner: ctx.accountId }),
      (p) => p.Contents,
    ).catch((e: unknown) => {
      if (isNotFound(e)) return [];
      throw e;
    });
    return objects
      .filter((o) => o.Key !== DISCOVERY_KEY && o.Key !== JWKS_KEY)
      .map(
        (o) => `object s3://${actual.id}/${o.Key} (${o.Size ?? 0} bytes) in the cluster's discovery bucket (unversioned: no copy stays)`,
      );
  },

  async delete(ctx, actual) {
    const s3 = await ctx.aws.s3();
    try {
      // The issuer's documents (kubeaz's, and public anyway) and whatever destroy named as not kubeaz's: all of it goes.
      await emptyBucket(s3, actual.id, ctx.accountId);
      await s3.send(new DeleteBucketCommand({ Bucket: actual.id, ExpectedBucketOwner: ctx.accountId }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  },
};
