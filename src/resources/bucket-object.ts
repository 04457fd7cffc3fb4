/**
 * The bootstrap files and the node agent's objects in the cluster's bucket. Ownership = living
 * under `bootstrap/` or `agent/` in the derived bucket. The pass's one listing of the bucket (own-buckets.ts bucketObjects) observes them all; the ETag of a single-part SSE-S3
 * object is the MD5 of its body, which is what diff compares.
 */
import { DeleteObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { isNotFound } from '../aws/errors.js';
import { BUCKET_SSE } from '../aws/s3.js';
import { AGENT_PREFIX } from '../model/agent.js';
import { bucketName } from '../model/names.js';
import { bucketObjects, ownDiscoveryBucket } from './own-buckets.js';
import { DISCOVERY_KEY, JWKS_KEY } from '../pki/jwks.js';
import { change, drain } from './common.js';
import type { ActualOf, ResourceHandler, RunContext } from './types.js';

/** Every object kubeaz writes lives under these prefixes; anything else in the bucket (etcd backups, boot reports) is not ours to manage here. */
export const OBJECT_PREFIX = 'bootstrap/';
export const OBJECT_PREFIXES = [OBJECT_PREFIX, AGENT_PREFIX] as const;

export interface ObjectObserved {
  etag: string;
}

const md5 = (body: string): string => createHash('md5').update(body, 'utf8').digest('hex');

/** The bootstrap files of the cluster's bucket (only the bucket this cluster owns: this region, not another name/environment's), from the pass's one listing of it. */
async function observeOwn(ctx: RunContext): Promise<ActualOf<ObjectObserved>[]> {
  const listed = await bucketObjects(ctx);
  if (!listed) return [];
  const Bucket = listed.bucket;
  const objects = listed.objects.filter((o) => OBJECT_PREFIXES.some((p) => o.Key?.startsWith(p)));
  return objects.map((o): ActualOf<ObjectObserved> => ({
    key: `object/${o.Key!}`,
    kind: 'bucket-object',
    id: o.Key!,
    attrs: { bucket: Bucket },
    tags: {},
    observed: { etag: (o.ETag ?? '').replace(/"/g, '') } satisfies ObjectObserved,
  }));
}

/** The issuer's two documents in the discovery bucket (IRSA); anything else there is not kubeaz's. */
async function observeDiscovery(ctx: RunContext): Promise<ActualOf<ObjectObserved>[]> {
  const own = await ownDiscoveryBucket(ctx);
  if (!own) return [];
  const s3 = await ctx.aws.s3();
  let objects;
  try {
    objects = await drain(
      paginateListObjectsV2({ client: s3 }, { Bucket: own.name, ExpectedBucketOwner: ctx.accountId }),
      (p) => p.Contents,
    );
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  return objects
    .filter((o) => o.Key === DISCOVERY_KEY || o.Key === JWKS_KEY)
    .map((o) => ({
      key: `object/discovery/${o.Key!}`,
      kind: 'bucket-object',
      id: o.Key!,
      attrs: { bucket: own.name },
      tags: {},
      observed: { etag: (o.ETag ?? '').replace(/"/g, '') },
    }));
}

export const bucketObject: ResourceHandler<'bucket-object', ObjectObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      's3:GetBucketLocation',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketTagging',
      's3:ListBucket',
      's3:ListBucketVersions',
    ],
    create: ['s3:PutObject'],
    delete: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  },
  kind: 'bucket-object',
  edges: {
    // pki: the issuer's JWKS is made from the pki's service-account key
    waitsFor: ['bucket', 'discovery-bucket', 'pki'],
  },

  async observe(ctx) {
    const [own, discovery] = await Promise.all([observeOwn(ctx), observeDiscovery(ctx)]);
    return [...own, ...discovery];
  },

  // What kubeaz put in the cluster bucket for the instances (a superseded agent bundle, an older
  // kubeaz's bootstrap scripts, a manifest of an add-on turned off) is read at boot by instances of
  // the versions the groups launch; once create has applied everything else, none names it. The
  // discovery documents are public and asked for: their removal is the IRSA switch's, asked for.
  retired: (actual) => !actual.key.startsWith('object/discovery/'),

  async create(ctx, node) {
    const { bucket, objectKey, body, contentType } = node.props;
    const out = await (
      await ctx.aws.s3()
    ).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: objectKey,
        Body: body,
        ContentType: contentType,
        ServerSideEncryption: BUCKET_SSE,
        ExpectedBucketOwner: ctx.accountId,
      }),
    );
    return {
      key: node.key,
      kind: 'bucket-object',
      id: objectKey,
      attrs: { bucket },
      tags: {},
      observed: { etag: (out.ETag ?? md5(body)).replace(/"/g, '') } satisfies ObjectObserved,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const want = md5(node.props.body);
    const out = [];
    if (actual.id !== node.props.objectKey) out.push(change('objectKey', actual.id, node.props.objectKey, false));
    if (o.etag !== want) out.push(change('body', o.etag, want, true));
    return out;
  },

  async update(ctx, node, actual) {
    const next = await bucketObject.create(ctx, node);
    return { ...actual, observed: next.observed };
  },

  async delete(ctx, actual) {
    // Only the current version: the bucket's delete removes every version and delete marker.
    const Bucket = actual.attrs.bucket ?? bucketName(ctx.clusterId, ctx.accountId);
    try {
      await (await ctx.aws.s3()).send(new DeleteObjectCommand({ Bucket, Key: actual.id, ExpectedBucketOwner: ctx.accountId }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
