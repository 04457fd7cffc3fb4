/**
 * S3's shapes and chores shared by the bucket kinds and what lives in the buckets (the cluster's
 * bucket, the discovery bucket, their objects, pki/): the encryption every bucket and object gets,
 * a setting read that may be unset, and emptying a versioned bucket. They take a client and
 * plain values, never the run context (the ownership proof needs it: resources/own-buckets.ts).
 * And the account's own Block Public Access (S3 Control), which overrides any bucket's: pre-flight
 * reads it (checks/public-access.ts) before IRSA's discovery bucket is made public.
 */
import {
  DeleteObjectsCommand,
  GetPublicAccessBlockCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AwsClients } from './clients.js';
import { errorCode, isSettingNotSet } from './errors.js';
import { ACCOUNT_PUBLIC_ACCESS_BLOCK } from './iam-actions.js';

/** The server-side encryption of the cluster's buckets and every object kubeaz writes in them. */
export const BUCKET_SSE = 'AES256';

/** undefined when the setting is not configured; NoSuchBucket and anything else is rethrown. */
export async function unlessUnset<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isSettingNotSet(e)) return undefined;
    throw e;
  }
}

/** Deletes every object version and delete marker (except those `keep` names), 1000 per DeleteObjects call. */
export async function emptyBucket(
  s3: S3Client,
  name: string,
  owner: string,
  keep: (key: string) => boolean = () => false,
): Promise<number> {
  // This SDK has no paginateListObjectVersions: follow the markers by hand, every page.
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  const ids: ObjectIdentifier[] = [];
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: name, ExpectedBucketOwner: owner, KeyMarker, VersionIdMarker }));
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
      if (v.Key && !keep(v.Key)) ids.push({ Key: v.Key, VersionId: v.VersionId ?? 'null' });
    if (!page.IsTruncated) break;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
  for (let i = 0; i < ids.length; i += 1000) {
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: name, ExpectedBucketOwner: owner, Delete: { Objects: ids.slice(i, i + 1000), Quiet: true } }),
    );
    const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey' && e.Code !== 'NoSuchVersion');
    if (failed.length) {
      const f = failed[0]!;
      throw Object.assign(
        new Error(
          `could not delete ${failed.length} object version(s) of ${name}, first ${f.Key}@${f.VersionId}: ${f.Code} ${f.Message ?? ''}`,
        ),
        {
          name: f.Code ?? 'DeleteObjectsFailed',
        },
      );
    }
  }
  return ids.length;
}

export interface AccountPublicAccessBlock {
  /** undefined when the account has none configured (nothing blocked at account level) */
  config: Record<'BlockPublicAcls' | 'IgnorePublicAcls' | 'BlockPublicPolicy' | 'RestrictPublicBuckets', boolean> | undefined;
}

/**
 * The account's Block Public Access (S3 Control GetPublicAccessBlock). kubeaz has no S3 Control
 * client (no new dependency this round): the S3 client sends the call, re-aimed by a middleware
 * on this one command at S3 Control's path and host (`<account>.s3-control.<region>.amazonaws.com`,
 * or the custom endpoint's path-style `/v20180820/…`), signed for `s3` as S3 Control is, and the
 * S3 answer parser reads it (S3 Control answers the same PublicAccessBlockConfiguration document).
 */
export async function accountPublicAccessBlock(ctx: {
  aws: AwsClients;
  accountId: string;
  region: string;
}): Promise<AccountPublicAccessBlock> {
  const s3 = await ctx.aws.s3();
  const cmd = new GetPublicAccessBlockCommand({ Bucket: ACCOUNT_PUBLIC_ACCESS_BLOCK });
  const custom = Boolean(process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3);
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { hostname: string; path: string; query: Record<string, unknown>; headers: Record<string, string> };
      req.path = '/v20180820/configuration/publicAccessBlock';
      req.query = {};
      req.headers['x-amz-account-id'] = ctx.accountId;
      if (!custom) {
        req.hostname = `${ctx.accountId}.s3-control.${ctx.region}.amazonaws.com`;
        req.headers.host = req.hostname;
      }
      return next(args);
    },
    { step: 'build', name: 'kubeazS3ControlPublicAccessBlock', priority: 'low' },
  );
  try {
    const out = await s3.send(cmd);
    const c = out.PublicAccessBlockConfiguration;
    return {
      config: {
        BlockPublicAcls: c?.BlockPublicAcls ?? false,
        IgnorePublicAcls: c?.IgnorePublicAcls ?? false,
        BlockPublicPolicy: c?.BlockPublicPolicy ?? false,
        RestrictPublicBuckets: c?.RestrictPublicBuckets ?? false,
      },
    };
  } catch (e) {
    if (errorCode(e) === 'NoSuchPublicAccessBlockConfiguration') return { config: undefined };
    throw e;
  }
}
