/** The RunContext's two lifetimes: `memo` lives for one observe pass, `perRun` for the whole run. */
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';

const newCtx = () =>
  createRunContext({
    clusterId: 'c-d',
    region: 'us-east-1',
    accountId: '1',
    generation: 'g',
    aws: new AwsClients({ region: 'us-east-1' }),
  });

describe('RunContext lifetimes', () => {
  it('perRun makes a value once per key and hands the same one out for the rest of the run, across observe passes', () => {
    // given
    const ctx = newCtx();
    let made = 0;
    const make = () => ({ n: ++made });
    // when
    const first = ctx.perRun('waiter', make);
    const again = ctx.perRun('waiter', make);
    ctx.resetMemo();
    const afterNewPass = ctx.perRun('waiter', make);
    const other = ctx.perRun('other', make);
    // then
    expect(again).toBe(first);
    expect(afterNewPass).toBe(first);
    expect(other).not.toBe(first);
    expect(made).toBe(2);
  });

  it('perRun state is not shared between two runs', () => {
    const a = newCtx().perRun('waiter', () => ({}));
    const b = newCtx().perRun('waiter', () => ({}));
    expect(a).not.toBe(b);
  });

  it('memo lives for one observe pass: resetMemo forgets the reads and the sightings', async () => {
    // given
    const ctx = newCtx();
    let reads = 0;
    const read = () => Promise.resolve(++reads);
    ctx.sightings.push({ what: 'vpc/main', cluster: 'other/dev' });
    // when
    const one = await ctx.memo('describe', read);
    const two = await ctx.memo('describe', read);
    ctx.resetMemo();
    const three = await ctx.memo('describe', read);
    // then
    expect([one, two, three]).toEqual([1, 1, 2]);
    expect(ctx.sightings).toEqual([]);
  });
});
