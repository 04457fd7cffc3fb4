/**
 * Waiting, once for every layer: an abortable sleep, and "retry while the error is X, within a
 * budget". Imports nothing (src/util sits below every other folder); the callers say which errors
 * are worth another try and how long (resources/common.ts: whenVisible, whileDependent).
 */

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface Patience {
  /** true: the error is worth another try. It may throw an error of its own instead, to stop with a better one. */
  retryable(err: unknown): boolean;
  /** the budget: a retryable error that comes after it is spent is final */
  seconds: number;
  /** the first pause between attempts; doubled after each, up to maxDelayMs */
  firstDelayMs: number;
  maxDelayMs: number;
  /** stops the retries (the last error is thrown) */
  signal?: AbortSignal;
  /** the error to throw when the budget is spent on a retryable error (default: that error) */
  giveUp?(err: unknown): unknown;
}

/** Runs `fn` until it succeeds, retrying the errors `p.retryable` accepts while the budget lasts. */
export async function retryWhile<T>(p: Patience, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + p.seconds * 1000;
  let delayMs = p.firstDelayMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!p.retryable(e)) throw e;
      if (p.signal?.aborted || Date.now() >= deadline) throw p.giveUp ? p.giveUp(e) : e;
    }
    await sleep(delayMs, p.signal);
    delayMs = Math.min(delayMs * 2, p.maxDelayMs);
  }
}
