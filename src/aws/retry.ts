/**
 * Retry policy for every client. The SDK's standard strategy gives up after 3 attempts and keeps a
 * shared retry quota that a throttling storm drains; a provisioning run must ride out both. This is
 * the SDK's own RetryStrategyV2 contract with more attempts, full-jitter exponential backoff and no
 * quota. It retries what the SDK classifies as throttling, transient or a server error, never a
 * client error (a permission error is final) and never a LostResponseError (see clients.ts).
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

export interface RetryOptions {
  maxAttempts: number;
  /** attempts when no connection can be made at all (refused, no such host): give up within seconds */
  unreachableAttempts: number;
  /** first backoff ceiling, milliseconds; doubled per attempt */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 10, unreachableAttempts: 3, baseDelayMs: 200, maxDelayMs: 20_000 };

/**
 * No connection could be made (refused, no such host, no route). Unlike a reset or a time-out,
 * nothing was sent; a wrong endpoint or a down emulator does not come back within a backoff, so
 * a few quick attempts are all it gets.
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return UNREACHABLE_CODES.has(String(e?.code ?? e?.cause?.code ?? ''));
}

/** IAM's LimitExceeded is a quota that waiting does not lift (the SDK files it under throttling). */
function isQuotaError(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | undefined;
  // IAM answers the code LimitExceeded, which the SDK raises as LimitExceededException.
  return e?.name === 'LimitExceeded' || e?.Code === 'LimitExceeded';
}

class Token implements RetryToken {
  constructor(
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return this.delay;
  }
}

export class PatientRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  constructor(private readonly opts: RetryOptions = DEFAULT_RETRY) {}

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return new Token(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const attempt = token.getRetryCount() + 1; // attempts made so far
    if (info.errorType === 'CLIENT_ERROR' || attempt >= this.opts.maxAttempts || isQuotaError(info.error))
      throw new Error('no more retries');
    const unreachable = isUnreachable(info.error);
    if (unreachable && attempt >= this.opts.unreachableAttempts) throw new Error('no more retries');
    const ceiling = Math.min(
      unreachable ? 500 : this.opts.maxDelayMs,
      this.opts.baseDelayMs * 2 ** (attempt - 1) * (info.errorType === 'THROTTLING' ? 2 : 1),
    );
    const hinted = info.retryAfterHint ? Math.max(0, info.retryAfterHint.getTime() - Date.now()) : 0;
    const delay = Math.max(hinted, Math.floor(Math.random() * ceiling));
    return new Token(attempt, delay);
  }

  recordSuccess(_token: RetryToken): void {}
}
