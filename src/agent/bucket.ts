/**
 * The agent's reads and writes of the cluster bucket (the SDK, never the CLI). Objects are written
 * with the bucket's SSE-S3 and, where only the first writer may win, `IfNoneMatch: '*'`: a lost race
 * is S3's typed PreconditionFailed (isPreconditionFailed), not a text match.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { errorCode, isNotFound } from '../aws/errors.js';
import type { AgentAws } from './context.js';

/** The SSE the cluster bucket enforces (resources/bucket.ts BUCKET_SSE). */
const SSE = 'AES256';

/** The object's text, or undefined when there is none. */
export async function getText(aws: AgentAws, bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await (await aws.s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export interface PutOptions {
  contentType?: string;
  /** create only: fails with PreconditionFailed when the key exists */
  ifNoneMatch?: boolean;
}

export async function putText(aws: AgentAws, bucket: string, key: string, body: string, opts: PutOptions = {}): Promise<void> {
  await (await aws.s3()).send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: opts.contentType ?? (key.endsWith('.json') ? 'application/json' : 'text/plain'),
      ServerSideEncryption: SSE,
      ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
    }),
  );
}

/** S3's answer to a conditional write that lost: the key exists (412), or another write of it is in flight (409). */
export function isPreconditionFailed(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;
}
