/**
 * The cluster's two buckets when they are this cluster's, read once per observe pass (ctx.memo):
 * the bucket kinds observe through them, and so do what lives in the buckets (bucket-object,
 * pki/). A shared read, not a kind: the ownership proof needs the run (claims, sightings), so it
 * lives here rather than in aws/s3.ts.
 */
import { GetBucketLocationCommand, GetBucketTaggingCommand, paginateListObjectsV2, type _Object } from '@aws-sdk/client-s3';
import { isNotFound } from '../aws/errors.js';
import { unlessUnset } from '../aws/s3.js';
import { bucketName, discoveryBucketName } from '../model/names.js';
import type { Tags } from '../model/types.js';
import { claims, drain, fromTagList, orUndefined } from './common.js';
import { clusterHome, livesHere, mayHave } from './cluster-record.js';
import type { RunContext } from './types.js';

/**
 * The cluster's bucket when it is this cluster's: of this name (account-scoped), in this region
 * (S3 names are global: the same spec in another region must not reach it), and not tagged for
 * another name/environment. Memoised for the observe pass: the bucket, its objects and pki/ ask.
 */
export function ownBucket(ctx: RunContext): Promise<{ name: string; tags: Tags } | undefined> {
  return ctx.memo('s3:ownBucket', async () => {
    const name = bucketName(ctx.clusterId, ctx.accountId);
    const home = await clusterHome(ctx);
    if (home === undefined) return undefined;
    if (home !== ctx.region) {
      ctx.sightings.push({ what: 'bucket', region: home });
      return undefined;
    }
    const s3 = await ctx.aws.s3();
    let tagging;
    try {
      tagging = await unlessUnset(s3.send(new GetBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.accountId })));
    } catch (e) {
      if (isNotFound(e)) return undefined; // deleted meanwhile
      throw e;
    }
    const tags = fromTagList(tagging?.TagSet);
    // Tags come after creation: a bucket without them yet is ours by its name; one tagged for another
    // name/environment (ids that coincide) is not.
    return claims(ctx, tags, 'bucket', false) ? { name, tags } : undefined;
  });
}

/**
 * The discovery bucket when it is this cluster's (name, region, tags); memoised per observe pass
 * (bucket-object asks too). Not read at all on a cluster that never had IRSA (cluster-record.ts
 * mayHave). Its region is asked only when the cluster's VPC is not here: a cluster living here made
 * its discovery bucket here (a same-named cluster elsewhere finds this one's bucket and is refused
 * before it makes anything), and a bucket tagged for another region is still refused by its tags.
 */
export function ownDiscoveryBucket(ctx: RunContext): Promise<{ name: string; tags: Tags } | undefined> {
  return ctx.memo('s3:ownDiscoveryBucket', async () => {
    if (!(await mayHave(ctx, 'irsa'))) return undefined;
    const s3 = await ctx.aws.s3();
    const name = discoveryBucketName(ctx.clusterId, ctx.accountId);
    if (!(await livesHere(ctx))) {
      const loc = await orUndefined(s3.send(new GetBucketLocationCommand({ Bucket: name, ExpectedBucketOwner: ctx.accountId })));
      if (!loc) return undefined;
      const c = loc.LocationConstraint as string | undefined;
      const region = !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c;
      if (region !== ctx.region) {
        ctx.sightings.push({ what: 'discovery bucket', region });
        return undefined;
      }
    }
    let tagging;
    try {
      tagging = await unlessUnset(s3.send(new GetBucketTaggingCommand({ Bucket: name, ExpectedBucketOwner: ctx.accountId })));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const tags = fromTagList(tagging?.TagSet);
    return claims(ctx, tags, 'discovery bucket', false) ? { name, tags } : undefined;
  });
}

/**
 * Every object of the cluster's bucket (key, ETag), listed once per observe pass for the kinds
 * that live in it: pki/ (pki), bootstrap/ and agent/ (bucket-object). One ListObjectsV2 of the
 * whole bucket rather than one per prefix: the prefixes kubeaz reads are not adjacent (boot/ lies
 * between agent/ and bootstrap/, etcd/ and join/ before pki/), and a bucket of up to 1,000
 * objects — boot reports, etcd snapshots and records included — is one page. undefined when the
 * bucket is not this cluster's (ownBucket) or went meanwhile.
 */
export function bucketObjects(ctx: RunContext): Promise<{ bucket: string; objects: _Object[] } | undefined> {
  return ctx.memo('s3:bucketObjects', async () => {
    const own = await ownBucket(ctx);
    if (!own) return undefined;
    const s3 = await ctx.aws.s3();
    try {
      const objects = await drain(
        paginateListObjectsV2({ client: s3 }, { Bucket: own.name, ExpectedBucketOwner: ctx.accountId }),
        (p) => p.Contents,
      );
      return { bucket: own.name, objects };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  });
}
