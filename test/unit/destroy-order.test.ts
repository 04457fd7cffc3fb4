/**
 * Destroy's own "must be deleted before" relation (engine/edges.ts deleteAfter): the create edges
 * the kinds declare, reversed, loosened only where a kind says AWS allows more overlap
 * (notBlockedBy) — NAT gateways go while the groups' instances terminate.
 */
import { describe, expect, it } from 'vitest';
import { deleteAfter, deletionOrder, kindsOf } from '../../src/engine/edges.js';
import { HANDLERS } from '../../src/resources/index.js';

const kinds = kindsOf(HANDLERS);
const after = deleteAfter(HANDLERS);

describe('deleteAfter', () => {
  it('is the declared create edges reversed, minus exactly the kinds each declares notBlockedBy', () => {
    for (const k of kinds) {
      const reversed = kinds.filter((other) => HANDLERS[other].edges.waitsFor.includes(k));
      const kept = reversed.filter((other) => !(HANDLERS[k].edges.notBlockedBy ?? []).includes(other));
      expect([...after[k]].sort(), k).toEqual(kept.sort());
    }
  });

  it('NAT gateways wait for nothing; their addresses, subnets and the internet gateway wait for them, and for the groups', () => {
    expect(after['nat-gateway']).toEqual([]);
    expect(after['elastic-ip']).toEqual(expect.arrayContaining(['nat-gateway', 'auto-scaling-group']));
    expect(after.subnet).toEqual(expect.arrayContaining(['nat-gateway', 'auto-scaling-group']));
    expect(after['internet-gateway']).toContain('nat-gateway');
  });

  it('the plan lists deletions in the same order', () => {
    const order = deletionOrder(HANDLERS);
    for (const k of kinds)
      for (const before of after[k]) expect(order.indexOf(before), `${before} before ${k}`).toBeLessThan(order.indexOf(k));
  });
});
