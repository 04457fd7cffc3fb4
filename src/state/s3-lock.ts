/**
 * A lock kept as one S3 object (its key ends in `.lock`), shared by the S3 state backend and the
 * cluster lock in the cluster's bucket (every checkout of a spec sees it).
 *
 * - Taken with a conditional write (`If-None-Match: *`): of two runs at once exactly one PutObject
 *   succeeds; the other reads the lock and is told who holds it (user, host, pid, command, time,
 *   lock id).
 * - A lease: the lock says until when it holds (`expiresAt`, KUBEAZ_LOCK_LEASE_SECONDS, default
 *   120), and its holder renews it every third of the lease while it runs, each renewal a
 *   conditional write on the ETag of its own last write (`If-Match`) — so a renewal never
 *   recreates a lock that was released or taken over.
 * - Takeover, never by guessing: a lock past its lease (its holder is gone: it would have renewed),
 *   a lock held by a process of this host that no longer runs (kill -9), or the lock named by
 *   `--force-unlock <lock id>` is replaced with a conditional write on the ETag that was read
 *   (`If-Match`): of two takers only one wins, the other is told who holds it.
 * - Release deletes the object only while it is still ours (`If-Match` on our ETag).
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { errorCode } from '../aws/errors.js';
import { alive, LockHeldError, type LockInfo } from './local.js';

/** The lease (KUBEAZ_LOCK_LEASE_SECONDS, default 120 s). */
export function lockLeaseSeconds(): number {
  const s = Number(process.env.KUBEAZ_LOCK_LEASE_SECONDS);
  return Number.isFinite(s) && s >= 1 ? s : 120;
}

const userName = (): string => {
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    return 'unknown';
  }
};

const statusOf = (e: unknown): number | undefined => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

export const isPreconditionFailed = (e: unknown): boolean => {
  const code = errorCode(e);
  // 409 ConditionalRequestConflict: another conditional write to the same key is in flight
  return statusOf(e) === 412 || statusOf(e) === 409 || code === 'PreconditionFailed' || code === 'ConditionalRequestConflict';
};

export const isMissing = (e: unknown): boolean => statusOf(e) === 404 || errorCode(e) === 'NoSuchKey' || errorCode(e) === 'NotFound';

export const isNoSuchBucket = (e: unknown): boolean => errorCode(e) === 'NoSuchBucket';

interface Held {
  info: LockInfo;
  etag: string;
  /** why it may be taken over without --force-unlock, if it may */
  stale?: string;
}

export class S3Lock {
  /** the lock this run holds */
  private mine: LockInfo | undefined;
  private etag: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  /** set when a renewal found the lock no longer ours (released by hand, or taken over) */
  lost: string | undefined;
  /** set when a renewal found the lock object gone (its bucket deleted by destroy, or removed by hand) */
  private gone = false;
  /** set when this run took over a stale lock: what it replaced */
  tookOver: string | undefined;

  constructor(
    private readonly client: () => Promise<S3Client>,
    readonly bucket: string,
    readonly key: string,
    private readonly expectedOwner?: string,
  ) {}

  get url(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  get held(): boolean {
    return this.mine !== undefined;
  }

  private owner() {
    return this.expectedOwner ? { ExpectedBucketOwner: this.expectedOwner } : {};
  }

  private body(info: LockInfo): string {
    return JSON.stringify(info);
  }

  private async read(): Promise<Held | undefined> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    let out;
    try {
      out = await (await this.client()).send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key, ...this.owner() }));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    const etag = out.ETag ?? '';
    const text = (await out.Body?.transformToString()) ?? '';
    let info: LockInfo;
    try {
      info = JSON.parse(text) as LockInfo;
      if (typeof info !== 'object' || info === null) throw new SyntaxError('not an object');
    } catch {
      // Unreadable (a hand edit): stale once it is older than a lease, like a holder that stopped renewing.
      const age = Date.now() - (out.LastModified?.getTime() ?? Date.now());
      const info: LockInfo = { pid: 0, host: 'unknown', command: 'unknown', startedAt: out.LastModified?.toISOString() ?? 'unknown', lockId: 'unreadable' };
      return { info, etag, ...(age > lockLeaseSeconds() * 1000 ? { stale: `an unreadable lock older than the lease (${lockLeaseSeconds()} s)` } : {}) };
    }
    const now = Date.now();
    if (info.expiresAt !== undefined && Date.parse(info.expiresAt) < now) return { info, etag, stale: `its lease ran out at ${info.expiresAt} (the holder stopped renewing it)` };
    if (info.host === hostname() && typeof info.pid === 'number' && info.pid > 0 && !alive(info.pid)) return { info, etag, stale: `pid ${info.pid} no longer runs on this host` };
    return { info, etag };
  }

  /**
   * Takes the lock. Returns false (and holds nothing) when the bucket does not exist and
   * `missingBucketOk` says that is fine (the cluster lock before the cluster's first create).
   */
  async acquire(command: string, opts: { forceUnlock?: string; missingBucketOk?: boolean } = {}): Promise<boolean> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await this.client();
    const lease = lockLeaseSeconds();
    const me: LockInfo = { holder: userName(), host: hostname(), pid: process.pid, command, startedAt: new Date().toISOString(), lockId: randomUUID() };
    const put = async (condition: { IfNoneMatch: string } | { IfMatch: string }) => {
      const info = { ...me, expiresAt: new Date(Date.now() + lease * 1000).toISOString() };
      const out = await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: this.body(info), ContentType: 'application/json', ...this.owner(), ...condition }));
      this.mine = info;
      this.etag = out.ETag;
    };
    let forceUnlock = opts.forceUnlock;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await put({ IfNoneMatch: '*' });
        break;
      } catch (e) {
        if (opts.missingBucketOk && isNoSuchBucket(e)) return false;
        if (!isPreconditionFailed(e)) throw e;
      }
      const held = await this.read();
      if (!held) continue; // released between our write and our read: try again
      const forced = forceUnlock !== undefined && forceUnlock === held.info.lockId;
      if (forced || held.stale) {
        try {
          await put({ IfMatch: held.etag });
          this.tookOver = `took over the lock ${this.url} of ${held.info.holder ?? 'someone'} on ${held.info.host}, pid ${held.info.pid} (${held.info.command}, since ${held.info.startedAt}): ${forced ? `--force-unlock ${forceUnlock}` : held.stale}`;
          break;
        } catch (e) {
          // another taker was quicker, or the holder released it: look again
          if (!isPreconditionFailed(e) && !isMissing(e)) throw e;
          if (forced) forceUnlock = undefined; // once: the next holder is a new lock
          continue;
        }
      }
      const h = held.info;
      throw new LockHeldError(
        this.url,
        h,
        `another kubeaz run holds the lock on this cluster: ${h.holder ?? 'someone'} on ${h.host}, pid ${h.pid} (${h.command}, since ${h.startedAt}); lock id ${h.lockId}` +
          ` (${this.url}${h.expiresAt ? `, lease renewed until ${h.expiresAt}` : ''}). Wait for it to finish` +
          `${h.expiresAt ? ' (a holder that is gone stops renewing its lease, and the lock is taken over once it runs out)' : ''}. ` +
          `Only if that run is gone for good, take the lock over now with --force-unlock ${h.lockId}.` +
          (forceUnlock !== undefined ? ` (--force-unlock ${forceUnlock} does not name this lock)` : ''),
      );
    }
    if (!this.mine) throw new Error(`could not take the lock ${this.url}`);
    this.heartbeat(Math.max(1, lease / 3));
    return true;
  }

  private heartbeat(everySeconds: number): void {
    let inFlight = false;
    this.timer = setInterval(() => {
      if (inFlight) return; // a slow renewal is still going: the next beat follows it, never a queue of them
      inFlight = true;
      this.renewing = this.renew().finally(() => (inFlight = false));
    }, everySeconds * 1000);
    this.timer.unref();
  }

  /** One renewal: the lease moves on, only while the lock is still ours. */
  async renew(): Promise<void> {
    if (!this.mine || !this.etag) return;
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const info = { ...this.mine, expiresAt: new Date(Date.now() + lockLeaseSeconds() * 1000).toISOString() };
    try {
      const out = await (await this.client()).send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: this.body(info), ContentType: 'application/json', IfMatch: this.etag, ...this.owner() }),
      );
      if (this.mine?.lockId === info.lockId) {
        this.mine = info;
        this.etag = out.ETag;
      }
    } catch (e) {
      if (isPreconditionFailed(e)) {
        // someone else wrote it: taken over (--force-unlock, or a lease we failed to renew in time)
        this.lost ??= `the lock ${this.url} is no longer this run's: another run took it over while this one ran`;
        this.stop();
      } else if (isMissing(e) || isNoSuchBucket(e)) {
        // gone with the bucket (destroy empties and deletes it) or removed by hand: nothing left to renew
        this.gone = true;
        this.stop();
      }
      // anything else (a network blip): the next beat tries again, well within the lease
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Releases only our own lock: a delete conditional on the ETag of our last write. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing; // a renewal in flight changes the ETag the delete is conditional on
    if (!this.mine) return;
    const etag = this.etag;
    this.mine = undefined;
    this.etag = undefined;
    if (this.lost || this.gone) return;
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      await (await this.client()).send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key, ...(etag ? { IfMatch: etag } : {}), ...this.owner() }));
    } catch (e) {
      // not ours any more, or gone with its bucket (destroy): nothing to release
      if (!isPreconditionFailed(e) && !isMissing(e) && !isNoSuchBucket(e)) throw e;
    }
  }
}
