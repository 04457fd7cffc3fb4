/**
 * The agent's reads and writes of the cluster bucket (the SDK, never the CLI). Objects are written
 * with the bucket's SSE-S3 and, where only the first writer may win, `IfNoneMatch: '*'` (create) or
 * `IfMatch: <the ETag read>` (replace what was read, nothing newer): a lost race is S3's typed
 * PreconditionFailed (isPreconditionFailed), not a text match.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { errorCode, isNotFound } from '../aws/errors.js';
import type { AgentAws } from './context.js';

/** The SSE the cluster bucket enforces (aws/s3.ts BUCKET_SSE). */
const SSE = 'AES256';

/** The object's text, or undefined when there is none. */
export async function getText(aws: AgentAws, bucket: string, key: string): Promise<string | undefined> {
  return (await getObjectText(aws, bucket, key))?.text;
}

/** The object's text and ETag (what a later `ifMatch` write names), or undefined when there is none. */
export async function getObjectText(aws: AgentAws, bucket: string, key: string): Promise<{ text: string; etag?: string } | undefined> {
  try {
    const out = await (await aws.s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    return out.ETag ? { text, etag: out.ETag } : { text };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export interface PutOptions {
  contentType?: string;
  /** create only: fails with PreconditionFailed when the key exists */
  ifNoneMatch?: boolean;
  /** replace only this version (an ETag as read): fails with PreconditionFailed when it changed, NoSuchKey when it is gone */
  ifMatch?: string;
}

export async function putText(aws: AgentAws, bucket: string, key: string, body: string, opts: PutOptions = {}): Promise<void> {
  await putObjectText(aws, bucket, key, body, opts);
}

/** putText that returns the object's new ETag (what a later `ifMatch` write names). */
export async function putObjectText(
  aws: AgentAws,
  bucket: string,
  key: string,
  body: string,
  opts: PutOptions = {},
): Promise<string | undefined> {
  const out = await (
    await aws.s3()
  ).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: opts.contentType ?? (key.endsWith('.json') ? 'application/json' : 'text/plain'),
      ServerSideEncryption: SSE,
      ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
      ...(opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
    }),
  );
  return out?.ETag;
}

/** S3's answer to a conditional write that lost: the key exists (412), or another write of it is in flight (409). */
export function isPreconditionFailed(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'PreconditionFailed' ||
    code === 'ConditionalRequestConflict' ||
    (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412
  );
}
