/**
 * The state document in S3, for teams: `s3://bucket/prefix` holds `<prefix>/<cluster id>.json` and,
 * while a run is going, `<prefix>/<cluster id>.lock`. The lock is taken with a conditional write
 * (`If-None-Match: *`): of two runs at once exactly one PutObject succeeds, the other gets 412 and is
 * told who holds the lock (user, host, pid, command, time) and the lock's id. A lock is never taken
 * over by guessing: only `--force-unlock <lock id>` naming exactly that lock removes it. The bucket's
 * versioning is the history of the state (a warning says so when versioning is off).
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { errorCode } from '../aws/errors.js';
import { LockHeldError, type LockInfo, type StateBackend, type StateDocument } from './local.js';

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** The IAM actions the S3 state and its lock call, on the state's bucket (the operator policy is built from them). */
export const STATE_CALLS: readonly string[] = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:GetBucketVersioning'];

/** `s3://bucket/prefix/` → { bucket, prefix } (prefix without leading or trailing slashes). */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url.trim());
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

const userName = (): string => {
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    return 'unknown';
  }
};

const isPreconditionFailed = (e: unknown): boolean => {
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const code = errorCode(e);
  // 409 ConditionalRequestConflict: another conditional write to the same key is in flight
  return status === 412 || status === 409 || code === 'PreconditionFailed' || code === 'ConditionalRequestConflict';
};

const isMissing = (e: unknown): boolean => {
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status === 404 || errorCode(e) === 'NoSuchKey' || errorCode(e) === 'NotFound';
};

const UNKNOWN_HOLDER: LockInfo = { pid: 0, host: 'unknown', command: 'unknown', startedAt: 'unknown' };

/** A lock object as read: who holds it, the token `--force-unlock` takes, and why it is foreign (if so). */
export interface HeldLock {
  info: LockInfo;
  /** a kubeaz lock's lockId; for a foreign or unreadable object `etag-…` (or `sha256-…`) of its content */
  token: string;
  /** why kubeaz cannot read it as its own lock; undefined for a kubeaz lock */
  foreign?: string;
  etag?: string;
}

const kindOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

/**
 * Reads a lock object. Anything but a JSON object with a non-empty string `lockId` is foreign:
 * named with the reason, and removable with a token derived from that very object (its ETag, or a
 * hash of its content), which --force-unlock accepts and which changes when the object does.
 */
export function readLockObject(text: string, etag: string | undefined): HeldLock {
  const tag = etag?.replace(/"/g, '');
  const token =
    tag && /^[A-Za-z0-9-]+$/.test(tag) ? `etag-${tag}` : `sha256-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  const foreign = (why: string): HeldLock => ({ info: UNKNOWN_HOLDER, token, foreign: why, ...(etag ? { etag } : {}) });
  if (text.trim() === '') return foreign('it is empty');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return foreign('it is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return foreign(`it is ${kindOf(v)}, not a lock object`);
  const o = v as Record<string, unknown>;
  if (!('lockId' in o)) return foreign('it has no lockId');
  if (typeof o.lockId !== 'string') return foreign(`its lockId is ${kindOf(o.lockId)}, not a string`);
  if (!/^\S+$/.test(o.lockId)) return foreign('its lockId is empty or holds spaces');
  const str = (x: unknown): string => (typeof x === 'string' || typeof x === 'number' ? String(x) : 'unknown');
  return {
    info: {
      ...(typeof o.holder === 'string' ? { holder: o.holder } : {}),
      host: str(o.host),
      pid: typeof o.pid === 'number' ? o.pid : 0,
      command: str(o.command),
      startedAt: str(o.startedAt),
      lockId: o.lockId,
    },
    token: o.lockId,
    ...(etag ? { etag } : {}),
  };
}

export class S3State implements StateBackend {
  readonly key: string;
  readonly lockKey: string;
  /** the lock this run holds */
  private mine: LockInfo | undefined;
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
      await (
        await this.client()
      ).send(
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

  /** The lock object as found: its holder, the token --force-unlock must name, and why it is foreign (if it is). */
  private async holder(): Promise<HeldLock | undefined> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    let text: string;
    let etag: string | undefined;
    try {
      const out = await (await this.client()).send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.lockKey }));
      text = (await out.Body?.transformToString()) ?? '';
      etag = out.ETag;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    return readLockObject(text, etag);
  }

  async lock(command: string, opts: { forceUnlock?: string } = {}): Promise<void> {
    const { PutObjectCommand, DeleteObjectCommand, GetBucketVersioningCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.client();
    const me: LockInfo = {
      holder: userName(),
      host: hostname(),
      pid: process.pid,
      command,
      startedAt: new Date().toISOString(),
      lockId: randomUUID(),
    };
    const where = `s3://${this.location.bucket}/${this.lockKey}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: this.lockKey,
            Body: JSON.stringify(me),
            ContentType: 'application/json',
            IfNoneMatch: '*',
          }),
        );
        this.mine = me;
        break;
      } catch (e) {
        if (!isPreconditionFailed(e)) throw e;
      }
      const held = await this.holder();
      if (!held) continue; // released between our write and our read: try again
      if (opts.forceUnlock !== undefined && opts.forceUnlock === held.token) {
        try {
          // exactly the object we read: a lock written meanwhile is someone else's, not the one named
          await s3.send(
            new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.lockKey, ...(held.etag ? { IfMatch: held.etag } : {}) }),
          );
        } catch (e) {
          if (!isPreconditionFailed(e) && !isMissing(e)) throw e;
        }
        opts = {}; // once: the next holder, if someone is quicker, is a new lock
        continue;
      }
      const notThis = opts.forceUnlock !== undefined ? ` (--force-unlock ${opts.forceUnlock} does not name this lock)` : '';
      if (held.foreign !== undefined)
        throw new LockHeldError(
          where,
          held.info,
          `the lock ${where} is not a lock kubeaz can read (${held.foreign}): an interrupted run or another program may have written it. ` +
            `If no kubeaz run is going on this cluster, take the lock over with --force-unlock ${held.token}.` +
            notThis,
        );
      const h = held.info;
      throw new LockHeldError(
        where,
        h,
        `another kubeaz run holds the lock on this cluster: ${h.holder ?? 'someone'} on ${h.host}, pid ${h.pid} (${h.command}, since ${h.startedAt}); lock id ${held.token}. ` +
          `Wait for it to finish. Only if that run is gone for good, take the lock over with --force-unlock ${held.token}.` +
          notThis,
      );
    }
    if (!this.mine)
      throw new LockHeldError(
        where,
        UNKNOWN_HOLDER,
        `could not take the lock ${where}: it was taken and released again three times while kubeaz tried; run again`,
      );
    try {
      const v = await s3.send(new GetBucketVersioningCommand({ Bucket: this.location.bucket }));
      if (v.Status !== 'Enabled')
        this.warning = `versioning is off on s3://${this.location.bucket}: the state has no history (turn versioning on to keep every version)`;
    } catch {
      /* reading versioning may not be allowed; the lock is what matters */
    }
  }

  /** Releases only our own lock (a lock taken over by --force-unlock is someone else's now). */
  async unlock(): Promise<void> {
    if (!this.mine) return;
    await this.writing;
    const held = await this.holder();
    if (held?.foreign === undefined && held?.token === this.mine.lockId) {
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      await (await this.client()).send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.lockKey }));
    }
    this.mine = undefined;
  }
}
