/**
 * The cluster lock every checkout sees. The state backend's own lock (the file beside the spec, or
 * the S3 state's object) is per state; two checkouts of one spec have two. So once the cluster's
 * bucket exists and is proven this cluster's, every mutating run also takes `kubeaz/<id>.lock` in
 * that bucket (an S3Lock: conditional write, lease renewed while the run goes, safe takeover of a
 * holder that is gone). Before the first create there is no bucket and only the state lock holds.
 */
import type { Progress } from '../engine/progress.js';
import { S3Lock } from './s3-lock.js';
import type { StateBackend, StateDocument } from './local.js';

export const clusterLockKey = (clusterId: string): string => `kubeaz/${clusterId}.lock`;

export class ClusterLockedState implements StateBackend {
  constructor(
    private readonly inner: StateBackend,
    readonly clusterLock: S3Lock,
    /** whether the bucket exists and is this cluster's (the lock is never put in another's bucket) */
    private readonly bucketIsOurs: () => Promise<boolean>,
    private readonly progress: Progress,
  ) {}

  get where(): string {
    return this.inner.where;
  }
  read(): Promise<StateDocument | undefined> {
    return this.inner.read();
  }
  write(doc: StateDocument): Promise<void> {
    return this.inner.write(doc);
  }
  remove(): Promise<void> {
    return this.inner.remove();
  }

  async lock(command: string, opts: { forceUnlock?: string } = {}): Promise<void> {
    await this.inner.lock(command, opts);
    try {
      if (!(await this.bucketIsOurs())) return;
      await this.clusterLock.acquire(command, { ...opts, missingBucketOk: true });
      if (this.clusterLock.tookOver) this.progress.emit({ type: 'warn', message: this.clusterLock.tookOver });
    } catch (e) {
      await this.inner.unlock();
      throw e;
    }
  }

  async unlock(): Promise<void> {
    try {
      await this.clusterLock.release();
      if (this.clusterLock.lost) this.progress.emit({ type: 'warn', message: this.clusterLock.lost });
    } finally {
      await this.inner.unlock();
    }
  }
}
