/**
 * Waiting, with the SDK's waiter machinery (@smithy/core createWaiter: exponential backoff with
 * jitter, maxWaitTime, AbortSignal). A CoalescingWaiter gathers the ids that callers wait for at
 * about the same moment into one waiter, so one Describe call polls every NAT gateway (or every
 * group) of the run instead of one call per resource.
 */
import { createWaiter, WaiterState } from '@smithy/core/client';
import type { Timing } from '../resources/types.js';
import { KubeazError } from './errors.js';

export type PollOutcome = { state: 'ready' | 'pending' | 'failed'; reason?: string };

export interface CoalescingWaiterOptions {
  /** what is being waited for, for messages: "NAT gateways to become available" */
  what: string;
  /** one batched read: the state of every id */
  check: (ids: string[]) => Promise<Map<string, PollOutcome>>;
  timing: () => Timing;
  signal?: AbortSignal;
  onProgress?: (ready: number, total: number, elapsedSeconds: number) => void;
  /** how long to gather callers before polling, ms */
  gatherMs?: number;
}

export class CoalescingWaiter {
  private queue: Array<{ id: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: CoalescingWaiterOptions) {}

  wait(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, resolve, reject });
      if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.opts.gatherMs ?? 100);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.timer = undefined;
    const ids = [...new Set(batch.map((b) => b.id))];
    try {
      await waitForAll(ids, this.opts);
      batch.forEach((b) => b.resolve());
    } catch (e) {
      batch.forEach((b) => b.reject(e));
    }
  }
}

/** Polls `check` for all ids until every one is ready; throws naming what failed or timed out. */
export async function waitForAll(ids: string[], opts: Omit<CoalescingWaiterOptions, 'gatherMs'>): Promise<void> {
  if (ids.length === 0) return;
  const t = opts.timing();
  const started = Date.now();
  let last: Map<string, PollOutcome> = new Map();
  const result = await createWaiter(
    {
      client: {},
      maxWaitTime: t.maxWaitSeconds,
      minDelay: t.pollSeconds,
      maxDelay: Math.max(1, t.pollSeconds * 4),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    },
    ids,
    async () => {
      last = await opts.check(ids);
      const outcomes = ids.map((id) => last.get(id) ?? { state: 'pending' as const });
      const ready = outcomes.filter((o) => o.state === 'ready').length;
      opts.onProgress?.(ready, ids.length, (Date.now() - started) / 1000);
      const failed = ids.find((id) => last.get(id)?.state === 'failed');
      if (failed) return { state: WaiterState.FAILURE, reason: `${failed}: ${last.get(failed)?.reason ?? 'failed'}` };
      return { state: ready === ids.length ? WaiterState.SUCCESS : WaiterState.RETRY };
    },
  ).catch((e: unknown) => ({ state: WaiterState.FAILURE, reason: (e as Error).message }));
  if (result.state !== WaiterState.SUCCESS) {
    const pending = ids.filter((id) => last.get(id)?.state !== 'ready');
    throw new KubeazError(
      `waiting for ${opts.what} (${pending.join(', ')}): ${result.state === WaiterState.TIMEOUT ? `not ready after ${t.maxWaitSeconds}s` : String(result.reason ?? result.state)}`,
      result.state === WaiterState.TIMEOUT ? 'WaitTimeout' : 'WaitFailed',
      pending.join(','),
    );
  }
}
