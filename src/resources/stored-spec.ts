/**
 * The spec the cluster was last created from, kept in its bucket at `spec/cluster.yaml`
 * (model/stored-spec.ts). A record of the run, like the state document, not a resource of the
 * graph: `create` writes it once everything else is applied (operations/apply.ts), `plan` does not
 * list it, `destroy` keeps it beside kept backups (bucket.ts RETAINED_PREFIXES) or deletes it with
 * the bucket, and `get-spec` reads it back. A shared module of the kinds that live in the bucket,
 * not a kind.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { BUCKET_SSE } from '../aws/s3.js';
import { SPEC_CONTENT_TYPE, SPEC_OBJECT } from '../model/stored-spec.js';
import { bucketObjects } from './own-buckets.js';
import type { RunContext } from './types.js';

export interface RecordedSpec {
  bucket: string;
  key: string;
  /** the object's ETag (the MD5 of its body: one part, SSE-S3); null when there is no such object */
  etag: string | null;
}

/** What the bucket holds at spec/cluster.yaml, from the observe pass's one listing of the bucket (no call of its own); undefined: the bucket is not this cluster's (yet). */
export async function recordedSpec(ctx: RunContext): Promise<RecordedSpec | undefined> {
  const listed = await bucketObjects(ctx);
  if (!listed) return undefined;
  const o = listed.objects.find((x) => x.Key === SPEC_OBJECT);
  return { bucket: listed.bucket, key: SPEC_OBJECT, etag: o?.ETag ? o.ETag.replace(/"/g, '') : null };
}

/** The recorded object already holds this text (ETag = MD5 of the body). PURE. */
export const holdsSpec = (recorded: Pick<RecordedSpec, 'etag'> | undefined, text: string): boolean =>
  recorded?.etag === createHash('md5').update(text, 'utf8').digest('hex');

/** Writes the spec to the cluster's bucket (encrypted at rest like every kubeaz object). */
export async function writeSpec(ctx: RunContext, bucket: string, text: string): Promise<void> {
  await (
    await ctx.aws.s3()
  ).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: SPEC_OBJECT,
      Body: text,
      ContentType: SPEC_CONTENT_TYPE,
      ServerSideEncryption: BUCKET_SSE,
      ExpectedBucketOwner: ctx.accountId,
    }),
  );
}
