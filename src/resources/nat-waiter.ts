/**
 * The NAT gateways' waiter, one per run and purpose (ctx.perRun): the nat-gateway kind waits on it
 * (available after create, deleted before its address and subnet go), and route-table asks its last
 * look why a NAT gateway a route names will never become available. Shared run state, not a kind.
 */
import { paginateDescribeNatGateways, type NatGateway } from '@aws-sdk/client-ec2';
import { isNotFound } from '../aws/errors.js';
import { CoalescingWaiter, type PollOutcome } from '../aws/wait.js';
import { drain } from './common.js';
import type { RunContext } from './types.js';

/**
 * One batched read of the given NAT gateways. AWS fails the whole call when one id is unknown
 * (not visible yet, or gone for long): then, and only then, each id is read alone.
 */
async function describeNats(ctx: RunContext, ids: string[]): Promise<NatGateway[]> {
  const read = async (some: string[]) =>
    drain(paginateDescribeNatGateways({ client: await ctx.aws.ec2() }, { NatGatewayIds: some }), (p) => p.NatGateways);
  try {
    return await read(ids);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    if (ids.length === 1) return [];
    const each = await Promise.all(ids.map((id) => read([id]).catch((e2: unknown) => (isNotFound(e2) ? [] : Promise.reject(e2)))));
    return each.flat();
  }
}

// One waiter per run and purpose: every NAT gateway waited on at about the same time shares one
// DescribeNatGateways per poll.
export function natWaiter(ctx: RunContext, purpose: 'available' | 'deleted'): CoalescingWaiter {
  return ctx.perRun(`nat-gateway:${purpose}`, () => {
    const what = purpose === 'available' ? 'NAT gateways to become available' : 'NAT gateways to be deleted';
    return new CoalescingWaiter({
      what,
      timing: () => ctx.timing,
      signal: ctx.signal,
      onProgress: (ready, total, seconds) => ctx.progress.emit({ type: 'wait', what, ready, total, seconds }),
      check: async (ids) => {
        const found = await describeNats(ctx, ids);
        const out = new Map<string, PollOutcome>();
        for (const n of found) out.set(n.NatGatewayId!, purpose === 'available' ? availableOutcome(n) : deletedOutcome(n));
        // Not listed: not visible yet (just created) or long gone.
        if (purpose === 'deleted') for (const id of ids) if (!out.has(id)) out.set(id, { state: 'ready' });
        return out;
      },
    });
  });
}

/**
 * Why a NAT gateway this run waits for can never become available (it ended failed, or is being
 * deleted), from the waiter's last look; undefined while it is fine or pending, or not looked at.
 */
export function natGatewayFailure(ctx: RunContext, id: string): string | undefined {
  const o = natWaiter(ctx, 'available').lastSeen.get(id);
  return o?.state === 'failed' ? (o.reason ?? 'failed') : undefined;
}

function availableOutcome(n: NatGateway): PollOutcome {
  switch (n.State) {
    case 'available':
      return { state: 'ready' };
    case 'failed':
      return { state: 'failed', reason: `${n.FailureCode ?? 'failed'}: ${n.FailureMessage ?? 'the NAT gateway failed'}` };
    case 'deleted':
    case 'deleting':
      return { state: 'failed', reason: `the NAT gateway is ${n.State}` };
    default:
      return { state: 'pending' };
  }
}

/** A failed gateway holds nothing (AWS removes it): as good as deleted. */
const deletedOutcome = (n: NatGateway): PollOutcome => ({ state: n.State === 'deleted' || n.State === 'failed' ? 'ready' : 'pending' });
