/**
 * Waits notice within one interval: a fixed-interval poll loop, coalesced per purpose. A fake clock
 * and a stub describe whose answer flips at a set moment stand in for AWS.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoalescingWaiter, type PollOutcome } from '../../src/aws/wait.js';
import type { Timing } from '../../src/resources/types.js';

const timing: Timing = { pollSeconds: 5, maxWaitSeconds: 600, propagationSeconds: 60, dependencySeconds: 60 };

/** A describe whose answer for each id turns `ready` (or `failed`) at a set time; it records when it was called and with what. */
function stub(flips: Record<string, { at: number; to?: 'ready' | 'failed' }>) {
  const calls: Array<{ t: number; ids: string[] }> = [];
  const t0 = Date.now();
  const check = async (ids: string[]) => {
    const t = Date.now() - t0;
    calls.push({ t, ids: [...ids] });
    return new Map<string, PollOutcome>(
      ids.map((id) => [id, t >= flips[id]!.at ? { state: flips[id]!.to ?? 'ready', reason: 'boom' } : { state: 'pending' }]),
    );
  };
  return { check, calls, t0 };
}

describe('CoalescingWaiter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('notices a resource ready no later than one interval after it is (no backoff overshoot)', async () => {
    // given: a NAT gateway that becomes available 31 s after the wait starts
    const s = stub({ 'nat-1': { at: 31_000 } });
    const w = new CoalescingWaiter({ what: 'NAT gateways to become available', check: s.check, timing: () => timing });
    let doneAt: number | undefined;
    // when
    void w.wait('nat-1').then(() => (doneAt = Date.now() - s.t0));
    await vi.advanceTimersByTimeAsync(120_000);
    // then: noticed at the first poll after 31 s, within one 5 s interval
    expect(doneAt).toBeDefined();
    expect(doneAt!).toBeGreaterThanOrEqual(31_000);
    expect(doneAt!).toBeLessThanOrEqual(31_000 + 5_000);
    // and the polls were evenly spaced: one interval apart, never further
    const gaps = s.calls.slice(1).map((c, i) => c.t - s.calls[i]!.t);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5_000);
    expect(s.calls.length).toBeLessThanOrEqual(Math.ceil(36_000 / 5_000) + 1);
  });

  it('polls every id of a purpose in one call, and an id that joins later is looked at soon', async () => {
    const s = stub({ a: { at: 20_000 }, b: { at: 20_000 }, c: { at: 0 } });
    const w = new CoalescingWaiter({ what: 'things', check: s.check, timing: () => timing });
    const done: Record<string, number> = {};
    for (const id of ['a', 'b']) void w.wait(id).then(() => (done[id] = Date.now() - s.t0));
    await vi.advanceTimersByTimeAsync(7_000);
    // c joins between two polls, already ready: not made to wait for the loop's next interval
    void w.wait('c').then(() => (done.c = Date.now() - s.t0));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(done.c! - 7_000).toBeLessThanOrEqual(1_000);
    expect(done.a).toBe(done.b);
    // every call carried every id waited on at that moment: one describe, not one per resource
    expect(s.calls.every((c) => c.ids.includes('a') || done.a! <= c.t)).toBe(true);
    expect(s.calls.some((c) => c.ids.length === 3)).toBe(true);
  });

  it('a resource that ends failed rejects its waiters at once, naming it; the others keep waiting', async () => {
    const s = stub({ bad: { at: 10_000, to: 'failed' }, good: { at: 25_000 } });
    const w = new CoalescingWaiter({ what: 'NAT gateways to become available', check: s.check, timing: () => timing });
    const bad = w.wait('bad').then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    let goodAt: number | undefined;
    void w.wait('good').then(() => (goodAt = Date.now() - s.t0));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await bad).toMatch(/NAT gateways to become available \(bad\): boom/);
    expect(goodAt!).toBeLessThanOrEqual(30_000);
  });

  it('gives up after maxWaitSeconds with WaitTimeout', async () => {
    const s = stub({ slow: { at: 10_000_000 } });
    const w = new CoalescingWaiter({ what: 'things', check: s.check, timing: () => ({ ...timing, maxWaitSeconds: 30 }) });
    const r = w.wait('slow').then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await r).toBe('WaitTimeout');
  });
});
