/**
 * Destroy's own "must be deleted before" relation: the create edges reversed, loosened only where
 * AWS allows more overlap (LOOSENED) — NAT gateways go while the groups' instances terminate.
 */
import { describe, expect, it } from 'vitest';
import { DELETE_AFTER, KIND_DEPENDENCIES, LOOSENED } from '../../src/engine/kinds.js';
import { deletionOrder } from '../../src/engine/compare.js';
import type { Kind } from '../../src/model/types.js';

const kinds = Object.keys(KIND_DEPENDENCIES) as Kind[];

describe('DELETE_AFTER', () => {
  it('is the create table reversed, minus exactly the loosened edges', () => {
    for (const k of kinds) {
      const reversed = kinds.filter((other) => KIND_DEPENDENCIES[other].includes(k));
      const kept = reversed.filter((other) => !LOOSENED.some(([a, b]) => a === k && b === other));
      expect([...DELETE_AFTER[k]].sort(), k).toEqual(kept.sort());
    }
  });

  it('NAT gateways wait for nothing; their addresses, subnets and the internet gateway wait for them, and for the groups', () => {
    expect(DELETE_AFTER['nat-gateway']).toEqual([]);
    expect(DELETE_AFTER['elastic-ip']).toEqual(expect.arrayContaining(['nat-gateway', 'auto-scaling-group']));
    expect(DELETE_AFTER.subnet).toEqual(expect.arrayContaining(['nat-gateway', 'auto-scaling-group']));
    expect(DELETE_AFTER['internet-gateway']).toContain('nat-gateway');
  });

  it('the plan lists deletions in the same order', () => {
    const order = deletionOrder();
    for (const k of kinds) for (const before of DELETE_AFTER[k]) expect(order.indexOf(before), `${before} before ${k}`).toBeLessThan(order.indexOf(k));
  });
});
