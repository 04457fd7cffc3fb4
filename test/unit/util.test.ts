/** The helpers every layer shares (src/util): chunks, the abortable sleep, retry within a budget. */
import { describe, expect, it } from 'vitest';
import { retryWhile, sleep } from '../../src/util/async.js';
import { chunks } from '../../src/util/lists.js';

class Code extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
const is = (code: string) => (e: unknown) => e instanceof Code && e.code === code;

/** fn failing with the given codes in turn, then answering 'done'; counts its calls. */
function failing(...codes: string[]) {
  const f = Object.assign(
    async () => {
      f.calls++;
      const c = codes.shift();
      if (c) throw new Code(c);
      return 'done';
    },
    { calls: 0 },
  );
  return f;
}

describe('chunks', () => {
  it.each([
    [[], 3, []],
    [[1, 2, 3], 3, [[1, 2, 3]]],
    [[1, 2, 3, 4, 5], 2, [[1, 2], [3, 4], [5]]],
    [[1, 2], 5, [[1, 2]]],
  ])('%j in slices of %i → %j', (items, n, want) => {
    expect(chunks(items, n)).toEqual(want);
  });
});

describe('sleep', () => {
  it('waits the time it is given', async () => {
    const t0 = Date.now();
    await sleep(60);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('wakes at once when the signal aborts, and at once when it had aborted already', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 20);
    await sleep(10_000, ac.signal);
    await sleep(10_000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('retryWhile', () => {
  const quick = { seconds: 5, firstDelayMs: 1, maxDelayMs: 4 };

  it('retries the errors it is told to until the call succeeds', async () => {
    const fn = failing('NotFound', 'NotFound');
    await expect(retryWhile({ ...quick, retryable: is('NotFound') }, fn)).resolves.toBe('done');
    expect(fn.calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    const fn = failing('NotFound', 'AccessDenied');
    await expect(retryWhile({ ...quick, retryable: is('NotFound') }, fn)).rejects.toThrow('AccessDenied');
    expect(fn.calls).toBe(2);
  });

  it('gives up once the budget is spent, with giveUp’s error when there is one', async () => {
    const fn = failing(...Array<string>(1000).fill('DependencyViolation'));
    const t0 = Date.now();
    await expect(retryWhile({ retryable: is('DependencyViolation'), seconds: 0.2, firstDelayMs: 20, maxDelayMs: 40 }, fn)).rejects.toThrow(
      'DependencyViolation',
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(fn.calls).toBeGreaterThan(1);
    await expect(
      retryWhile(
        { retryable: is('DependencyViolation'), seconds: 0, firstDelayMs: 20, maxDelayMs: 40, giveUp: () => new Error('still in use') },
        fn,
      ),
    ).rejects.toThrow('still in use');
  });

  it('the pauses double up to the ceiling', async () => {
    const fn = failing('X', 'X', 'X', 'X');
    const t0 = Date.now();
    await retryWhile({ retryable: is('X'), seconds: 5, firstDelayMs: 40, maxDelayMs: 80 }, fn);
    // 40 + 80 + 80 + 80 (capped), not 40 + 80 + 160 + 320
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(270);
    expect(took).toBeLessThan(600);
  });

  it('stops retrying once the signal aborts', async () => {
    const ac = new AbortController();
    const fn = failing(...Array<string>(1000).fill('NotFound'));
    setTimeout(() => ac.abort(), 30);
    await expect(
      retryWhile({ retryable: is('NotFound'), seconds: 60, firstDelayMs: 10_000, maxDelayMs: 10_000, signal: ac.signal }, fn),
    ).rejects.toThrow('NotFound');
    expect(fn.calls).toBe(2);
  });

  it('a retryable check may stop with an error of its own', async () => {
    const fn = failing('NotFound', 'NotFound');
    const stop = (e: unknown) => {
      if (fn.calls === 2) throw new Error('the thing failed for good');
      return is('NotFound')(e);
    };
    await expect(retryWhile({ ...quick, retryable: stop }, fn)).rejects.toThrow('the thing failed for good');
  });
});
