/**
 * Waiting. A CoalescingWaiter is one poll loop per run and purpose (NAT gateways to become
 * available, groups to be gone …): every id waited on at the same time is read by the same batched
 * Describe call, so the calls do not grow with the number of resources.
 *
 * The loop polls at a fixed interval (`timing.pollSeconds`), never with exponential backoff: a
 * resource is noticed ready no later than one interval (plus one call's latency) after it is. A
 * backoff that doubles its delay up to four intervals noticed a NAT gateway that became available
 * after 30 s only after 52 s; on AWS, where NAT gateways take one to three minutes, that overshoot
 * was the largest part of a create's wait. Ids that join a running loop are looked at once soon
 * (after a short gathering pause, and never sooner than MIN_GAP_MS after the previous poll, so a
 * burst of arrivals is still one call), then at the loop's interval. The rate is therefore bounded:
 * at most one call per interval per loop, plus one per gathered arrival.
 */
import { KubeazError } from './errors.js';

/** How long a run polls and waits (RunContext.timing); shorter in tests. */
export interface Timing {
  /** seconds between polls of a wait (waiter minDelay) */
  pollSeconds: number;
  /** give up waiting after this many seconds */
  maxWaitSeconds: number;
  /** after a lost answer, how long a just-made resource may take to become visible */
  propagationSeconds: number;
  /** how long destroy retries a DependencyViolation before naming the blocker */
  dependencySeconds: number;
}

export type PollOutcome = { state: 'ready' | 'pending' | 'failed'; reason?: string };

export interface CoalescingWaiterOptions {
  /** what is being waited for, for messages: "NAT gateways to become available" */
  what: string;
  /** one batched read: the state of every id */
  check: (ids: string[]) => Promise<Map<string, PollOutcome>>;
  timing: () => Timing;
  signal?: AbortSignal;
  onProgress?: (ready: number, total: number, elapsedSeconds: number) => void;
  /** how long to gather callers before looking at new ids, ms */
  gatherMs?: number;
}

/** Two polls of one loop are never closer than this (or the interval, when it is shorter). */
export const MIN_GAP_MS = 1000;

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  deadline: number;
}

export class CoalescingWaiter {
  private readonly waiting = new Map<string, Waiter[]>();
  /** ids not yet looked at by any poll */
  private readonly fresh = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private polling = false;
  private lastPollStart = -Infinity;
  /** for progress: ids of this busy spell, and how many of them are done */
  private spellTotal = 0;
  private spellReady = 0;
  private spellStart = 0;
  /** the last outcome seen per id (a caller may ask why something is still pending) */
  readonly lastSeen = new Map<string, PollOutcome>();

  constructor(private readonly opts: CoalescingWaiterOptions) {
    opts.signal?.addEventListener(
      'abort',
      () => this.failAll(new KubeazError(`waiting for ${opts.what}: interrupted`, 'WaitFailed', [...this.waiting.keys()].join(','))),
      { once: true },
    );
  }

  wait(id: string): Promise<void> {
    if (this.opts.signal?.aborted)
      return Promise.reject(new KubeazError(`waiting for ${this.opts.what} (${id}): interrupted`, 'WaitFailed', id));
    return new Promise((resolve, reject) => {
      const t = this.opts.timing();
      if (this.waiting.size === 0 && !this.polling) {
        this.spellTotal = 0;
        this.spellReady = 0;
        this.spellStart = Date.now();
      }
      const list = this.waiting.get(id);
      const w = { resolve, reject, deadline: Date.now() + t.maxWaitSeconds * 1000 };
      if (list) list.push(w);
      else {
        this.waiting.set(id, [w]);
        this.fresh.add(id);
        this.spellTotal++;
      }
      if (!this.polling) this.scheduleNext();
    });
  }

  private intervalMs(): number {
    return Math.max(1, this.opts.timing().pollSeconds * 1000);
  }

  /** When the next poll starts: soon for ids never looked at, else one interval after the last. */
  private scheduleNext(): void {
    if (this.waiting.size === 0) return;
    const now = Date.now();
    const interval = this.intervalMs();
    const at = this.fresh.size
      ? Math.max(now + (this.opts.gatherMs ?? 100), this.lastPollStart + Math.min(interval, MIN_GAP_MS))
      : Math.max(now, this.lastPollStart + interval);
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.poll();
    }, at - now);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.waiting.size === 0) return;
    this.polling = true;
    this.lastPollStart = Date.now();
    const ids = [...this.waiting.keys()];
    this.fresh.clear();
    try {
      const outcomes = await this.opts.check(ids);
      if (this.opts.signal?.aborted) return;
      const now = Date.now();
      for (const id of ids) {
        const o = outcomes.get(id) ?? { state: 'pending' as const };
        this.lastSeen.set(id, o);
        const list = this.waiting.get(id);
        if (!list) continue;
        if (o.state === 'ready') {
          this.waiting.delete(id);
          this.spellReady++;
          list.forEach((w) => w.resolve());
        } else if (o.state === 'failed') {
          this.waiting.delete(id);
          const e = new KubeazError(`waiting for ${this.opts.what} (${id}): ${o.reason ?? 'failed'}`, 'WaitFailed', id);
          list.forEach((w) => w.reject(e));
        } else {
          const late = list.filter((w) => now >= w.deadline);
          if (late.length) {
            const e = new KubeazError(
              `waiting for ${this.opts.what} (${id}): not ready after ${this.opts.timing().maxWaitSeconds}s${o.reason ? ` (${o.reason})` : ''}`,
              'WaitTimeout',
              id,
            );
            late.forEach((w) => w.reject(e));
            const left = list.filter((w) => now < w.deadline);
            if (left.length) this.waiting.set(id, left);
            else this.waiting.delete(id);
          }
        }
      }
      this.opts.onProgress?.(this.spellReady, this.spellTotal, (now - this.spellStart) / 1000);
    } catch (e) {
      // The describe itself failed (after the SDK's own retries): every caller of this poll hears it.
      const err = new KubeazError(
        `waiting for ${this.opts.what} (${ids.join(', ')}): ${(e as Error).message}`,
        'WaitFailed',
        ids.join(','),
        { cause: e },
      );
      for (const id of ids) {
        this.waiting.get(id)?.forEach((w) => w.reject(err));
        this.waiting.delete(id);
      }
    } finally {
      this.polling = false;
      if (!this.opts.signal?.aborted) this.scheduleNext();
    }
  }

  private failAll(e: KubeazError): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const list of this.waiting.values()) list.forEach((w) => w.reject(e));
    this.waiting.clear();
    this.fresh.clear();
  }
}
