/**
 * The account's kubeaz clusters without a spec: what `kubeaz list` and `kubeaz get-spec` read. A
 * shared module of reads, not a kind. Every read asks by kubeaz's ownership tag (`kubeaz:cluster`,
 * any value) or by the bucket's derived name; what the answers are worth is judged by the
 * operations (operations/list.ts, operations/get-spec.ts) from the tags, never from the filter
 * alone.
 *
 * Two reads per region find every cluster: its VPC (DescribeVpcs) and its auto scaling groups
 * (DescribeAutoScalingGroups, which carry the group's sizes, creation time, and — on a master's —
 * the Kubernetes version). The Resource Groups Tagging API would need the same second read for
 * the sizes, and moto 5.2 does not list auto scaling groups through it.
 */
import { paginateDescribeAutoScalingGroups } from '@aws-sdk/client-auto-scaling';
import { paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import { GetBucketLocationCommand, GetBucketTaggingCommand, GetObjectCommand } from '@aws-sdk/client-s3';

/** The IAM actions list (every region asked) and get-spec call: the tagged VPCs and groups, the bucket found and read. */
export const INVENTORY_CALLS: readonly string[] = ['ec2:DescribeRegions', 'ec2:DescribeVpcs', 'autoscaling:DescribeAutoScalingGroups'];
export const STORED_SPEC_READ_CALLS: readonly string[] = ['s3:GetBucketLocation', 's3:GetBucketTagging', 's3:GetObject'];
import type { AwsClients } from '../aws/clients.js';
import { isNotFound } from '../aws/errors.js';
import { unlessUnset } from '../aws/s3.js';
import { OWNER_TAG, type Tags } from '../model/types.js';
import { drain, fromTagList, orUndefined } from './common.js';

export interface TaggedVpc {
  id: string;
  tags: Tags;
}

export interface TaggedGroup {
  name: string;
  tags: Tags;
  min: number;
  desired: number;
  max: number;
  /** ISO time the group was made; null when the answer has none */
  created: string | null;
}

/** The region's VPCs that carry the ownership tag (any cluster's). */
export async function taggedVpcs(aws: AwsClients): Promise<TaggedVpc[]> {
  const ec2 = await aws.ec2();
  const vpcs = await drain(paginateDescribeVpcs({ client: ec2 }, { Filters: [{ Name: 'tag-key', Values: [OWNER_TAG] }] }), (p) => p.Vpcs);
  return vpcs.filter((v) => v.VpcId).map((v) => ({ id: v.VpcId!, tags: fromTagList(v.Tags) }));
}

/** The region's auto scaling groups that carry the ownership tag (any cluster's), with their sizes. */
export async function taggedScalingGroups(aws: AwsClients): Promise<TaggedGroup[]> {
  const asg = await aws.autoscaling();
  const groups = await drain(
    paginateDescribeAutoScalingGroups({ client: asg }, { Filters: [{ Name: 'tag-key', Values: [OWNER_TAG] }] }),
    (p) => p.AutoScalingGroups,
  );
  return groups
    .filter((g) => g.AutoScalingGroupName)
    .map((g) => ({
      name: g.AutoScalingGroupName!,
      tags: fromTagList(g.Tags),
      min: g.MinSize ?? 0,
      desired: g.DesiredCapacity ?? 0,
      max: g.MaxSize ?? 0,
      created: g.CreatedTime ? new Date(g.CreatedTime).toISOString() : null,
    }));
}

/** The bucket's region (us-east-1 answers an empty constraint, EU is eu-west-1's old name); undefined: no such bucket of this account. */
export async function bucketRegion(aws: AwsClients, bucket: string, accountId: string): Promise<string | undefined> {
  const out = await orUndefined((await aws.s3()).send(new GetBucketLocationCommand({ Bucket: bucket, ExpectedBucketOwner: accountId })));
  if (!out) return undefined;
  const c = out.LocationConstraint as string | undefined;
  return !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c;
}

/** The bucket's tags ({} when it has none); undefined: the bucket is gone. */
export async function bucketTags(aws: AwsClients, bucket: string, accountId: string): Promise<Tags | undefined> {
  try {
    const out = await unlessUnset((await aws.s3()).send(new GetBucketTaggingCommand({ Bucket: bucket, ExpectedBucketOwner: accountId })));
    return fromTagList(out?.TagSet);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** An object's text and when it was written; undefined: no such object (or bucket). */
export async function objectText(
  aws: AwsClients,
  bucket: string,
  key: string,
  accountId: string,
): Promise<{ text: string; lastModified: string | null } | undefined> {
  const out = await orUndefined((await aws.s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key, ExpectedBucketOwner: accountId })));
  if (!out?.Body) return undefined;
  return { text: await out.Body.transformToString('utf8'), lastModified: out.LastModified ? out.LastModified.toISOString() : null };
}
