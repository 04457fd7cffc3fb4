/**
 * S3's shapes and chores shared by the bucket kinds and what lives in the buckets (the cluster's
 * bucket, the discovery bucket, their objects, pki/): the encryption every bucket and object gets,
 * a setting read that may be unset, and emptying a versioned bucket. They take a client and
 * plain values, never the run context (the ownership proof needs it: resources/own-buckets.ts).
 */
import { DeleteObjectsCommand, ListObjectVersionsCommand, type ObjectIdentifier, type S3Client } from '@aws-sdk/client-s3';
import { isSettingNotSet } from './errors.js';

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
export async function emptyBucket(s3: S3Client, name: string, owner: string, keep: (key: string) => boolean = () => false): Promise<number> {
  // This SDK has no paginateListObjectVersions: follow the markers by hand, every page.
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  const ids: ObjectIdentifier[] = [];
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: name, ExpectedBucketOwner: owner, KeyMarker, VersionIdMarker }));
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) if (v.Key && !keep(v.Key)) ids.push({ Key: v.Key, VersionId: v.VersionId ?? 'null' });
    if (!page.IsTruncated) break;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
  for (let i = 0; i < ids.length; i += 1000) {
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: name, ExpectedBucketOwner: owner, Delete: { Objects: ids.slice(i, i + 1000), Quiet: true } }));
    const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey' && e.Code !== 'NoSuchVersion');
    if (failed.length) {
      const f = failed[0]!;
      throw Object.assign(new Error(`could not delete ${failed.length} object version(s) of ${name}, first ${f.Key}@${f.VersionId}: ${f.Code} ${f.Message ?? ''}`), {
        name: f.Code ?? 'DeleteObjectsFailed',
      });
    }
  }
  return ids.length;
}
