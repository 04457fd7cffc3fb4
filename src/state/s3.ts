/**
 * The state document in S3, for teams: `s3://bucket/prefix` holds `<prefix>/<cluster id>.json` and,
 * while a run is going, `<prefix>/<cluster id>.lock` — an S3Lock (s3-lock.ts): a conditional write
 * (`If-None-Match: *`), a lease its holder renews, a takeover (conditional on the ETag read) only
 * of a lock past its lease, of a dead pid on this host, or named by `--force-unlock <lock id>`.
 * The bucket's versioning is the history of the state (a warning says so when versioning is off).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { StateBackend, StateDocument } from './local.js';
import { isMissing, S3Lock } from './s3-lock.js';

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** `s3://bucket/prefix/` → { bucket, prefix } (prefix without leading or trailing slashes). */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export class S3State implements StateBackend {
  readonly key: string;
  readonly lockKey: string;
  /** the lock object */
  readonly lockObject: S3Lock;
  private writing: Promise<void> = Promise.resolve();
  /** set by lock() when the bucket keeps no versions (then there is no history) */
  warning: string | undefined;

  constructor(
    private readonly client: () => Promise<S3Client>,
    readonly location: S3Location,
    readonly clusterId: string,
  ) {
    const base = location.prefix ? `${location.prefix}/` : '';
    this.key = `${base}${clusterId}.json`;
    this.lockKey = `${base}${clusterId}.lock`;
    this.lockObject = new S3Lock(client, location.bucket, this.lockKey);
  }

  get where(): string {
    return `s3://${this.location.bucket}/${this.key}`;
  }

  async read(): Promise<StateDocument | undefined> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const out = await (await this.client()).send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.key }));
      const doc = JSON.parse((await out.Body?.transformToString()) ?? '') as StateDocument;
      return doc.version === 1 && doc.clusterId === this.clusterId ? doc : undefined;
    } catch (e) {
      if (isMissing(e) || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  /** Each write is one PutObject (atomic in S3); writes are serialised so the last one wins in order. */
  write(doc: StateDocument): Promise<void> {
    const next = this.writing.then(async () => {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await (await this.client()).send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key,
          Body: `${JSON.stringify({ ...doc, updatedAt: new Date().toISOString() }, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      );
    });
    this.writing = next.catch(() => {});
    return next;
  }

  async remove(): Promise<void> {
    await this.writing;
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await (await this.client()).send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.key }));
  }

  async lock(command: string, opts: { forceUnlock?: string } = {}): Promise<void> {
    await this.lockObject.acquire(command, opts);
    const { GetBucketVersioningCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.client();
    try {
      const v = await s3.send(new GetBucketVersioningCommand({ Bucket: this.location.bucket }));
      if (v.Status !== 'Enabled') this.warning = `versioning is off on s3://${this.location.bucket}: the state has no history (turn versioning on to keep every version)`;
    } catch {
      /* reading versioning may not be allowed; the lock is what matters */
    }
  }

  /** Releases only our own lock (a lock taken over is someone else's now). */
  async unlock(): Promise<void> {
    await this.writing;
    await this.lockObject.release();
  }
}
