/**
 * What the cluster records in AWS about itself, read once per observe pass (ctx.memo): its VPC
 * (the VPC kind's own DescribeVpcs) — that it lives in this region, and from the `kubeaz:features`
 * tag which optional features (model/features.ts) it may hold resources of —, and else where its
 * bucket is. Shared reads, not a kind: the VPC kind observes through them, the kinds of an optional
 * feature ask whether to read at all, and the global kinds where the cluster's home is.
 */
import { paginateDescribeVpcs, type Vpc } from '@aws-sdk/client-ec2';
import { GetBucketLocationCommand } from '@aws-sdk/client-s3';
import { ownerFilter } from '../aws/tags.js';
import { recordedFeatures, type Feature } from '../model/features.js';
import { bucketName } from '../model/names.js';
import { REGION_TAG, type Tags } from '../model/types.js';
import { claims, drain, keyed, orUndefined } from './common.js';
import type { RunContext } from './types.js';

/** The VPCs in this region that carry this cluster's ownership proof (one, unless a create was repeated by hand). */
export function ownVpcs(ctx: RunContext): Promise<Array<{ item: Vpc; key: string; tags: Tags }>> {
  return ctx.memo('ec2:ownVpcs', async () => {
    const ec2 = await ctx.aws.ec2();
    const vpcs = await drain(paginateDescribeVpcs({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }), (p) => p.Vpcs);
    return keyed(vpcs, (v) => v.Tags, ctx);
  });
}

/**
 * Whether observe must read the resources of an optional feature: the spec asks for it
 * (ctx.features), or the cluster's VPC names it, or there is nothing to go by — no VPC of this
 * cluster here (a cluster being made, gone, or living in another region), or one without the tag
 * (made by an older kubeaz; its next create records it). Only a VPC whose tag leaves the feature
 * out spares the reads: the tag is set before a feature's first resource is made and, once set,
 * keeps it.
 */
export async function mayHave(ctx: RunContext, feature: Feature): Promise<boolean> {
  if (ctx.features?.has(feature)) return true;
  const vpcs = await ownVpcs(ctx);
  if (!vpcs.length) return true;
  return vpcs.some((v) => {
    const recorded = recordedFeatures(v.tags);
    return recorded === undefined || recorded.has(feature);
  });
}

/** The cluster has its VPC in this region: it lives here (a VPC is regional, found here by its ownership tags). */
export async function livesHere(ctx: RunContext): Promise<boolean> {
  return (await ownVpcs(ctx)).length > 0;
}

/**
 * The region the cluster lives in, as far as the account knows: this one when its VPC is here
 * (found by its ownership tags in the read the VPC kind makes anyway: no extra call); else where
 * its bucket is (GetBucketLocation is authoritative, and every cluster has had its bucket since its
 * first create). undefined when there is neither. Memoised per observe pass; for the bucket kind it
 * is the first half of the existence check (GetBucketTagging answers NoSuchBucket for the rest).
 */
export function clusterHome(ctx: RunContext): Promise<string | undefined> {
  return ctx.memo('s3:GetBucketLocation', async () => {
    if (await livesHere(ctx)) return ctx.region;
    const s3 = await ctx.aws.s3();
    const out = await orUndefined(
      s3.send(new GetBucketLocationCommand({ Bucket: bucketName(ctx.clusterId, ctx.accountId), ExpectedBucketOwner: ctx.accountId })),
    );
    if (!out) return undefined;
    const c = out.LocationConstraint as string | undefined;
    // us-east-1 answers an empty constraint; EU is the old name of eu-west-1.
    return !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c;
  });
}

/**
 * claims() for a global or account-wide resource (IAM, Route 53): one made before the region tag
 * existed belongs to the cluster's home region (clusterHome); when that is another region, it is
 * that region's cluster's.
 */
export async function claimsGlobal(ctx: RunContext, tags: Tags, what: string, requireOwnerTag = true): Promise<boolean> {
  if (!claims(ctx, tags, what, requireOwnerTag)) return false;
  if (tags[REGION_TAG] !== undefined) return true;
  const home = await clusterHome(ctx);
  if (home === undefined || home === ctx.region) return true;
  ctx.sightings.push({ what, region: home });
  return false;
}
