/**
 * Destroy's own "must be deleted before" relation (engine/edges.ts deleteAfter): the create edges
 * the kinds declare, reversed, loosened only where a kind says AWS allows more overlap
 * (notBlockedBy) — NAT gateways go while the groups' instances terminate.
 */
import { describe, expect, it } from 'vitest';
import { deleteAfter, deletionOrder, kindsOf } from '../../src/engine/edges.js';
import { deletionGraph } from '../../src/engine/destroy.js';
import { schedule } from '../../src/engine/graph.js';
import type { Kind } from '../../src/model/types.js';
import { HANDLERS } from '../../src/resources/index.js';
import type { Actual } from '../../src/resources/types.js';

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

describe('the drain set-up (issue 20): hooks go before their groups, rules before their queue', () => {
  it('a group is deleted after every lifecycle hook, a rule after the hooks, the queue after its rules', () => {
    expect(after['auto-scaling-group']).toContain('lifecycle-hook');
    expect(after['event-rule']).toContain('lifecycle-hook');
    expect(after['sqs-queue']).toContain('event-rule');
    expect(after['lifecycle-hook']).toEqual([]);
    const order = deletionOrder(HANDLERS);
    expect(order.indexOf('lifecycle-hook')).toBeLessThan(order.indexOf('auto-scaling-group'));
    expect(order.indexOf('event-rule')).toBeLessThan(order.indexOf('sqs-queue'));
  });

  it("on destroy's scheduler no group's deletion starts before every hook is deleted (teardown never waits a heartbeat)", async () => {
    const actual = (kind: Kind, key: string): Actual => ({ key, kind, id: key, attrs: {}, tags: {} });
    const actuals = [
      actual('auto-scaling-group', 'asg/workers'),
      actual('auto-scaling-group', 'asg/edge'),
      actual('auto-scaling-group', 'asg/master'),
      actual('lifecycle-hook', 'hook/workers'),
      actual('lifecycle-hook', 'hook/edge'),
      actual('event-rule', 'rule/drain/asg-lifecycle'),
      actual('sqs-queue', 'queue/drain'),
    ];
    const { nodes, byKey } = deletionGraph(HANDLERS, actuals, { sweep: true });
    const events: string[] = [];
    await schedule(
      nodes,
      async (key) => {
        const a = byKey.get(key);
        if (!a) return;
        events.push(`start ${a.key}`);
        await new Promise((r) => setImmediate(r));
        events.push(`done ${a.key}`);
      },
      { concurrency: 12, free: (key) => !byKey.has(key) },
    );
    const at = (e: string) => events.indexOf(e);
    for (const g of ['asg/workers', 'asg/edge', 'asg/master'])
      for (const h of ['hook/workers', 'hook/edge']) expect(at(`done ${h}`), `${h} before ${g}`).toBeLessThan(at(`start ${g}`));
    expect(at('done rule/drain/asg-lifecycle')).toBeLessThan(at('start queue/drain'));
    for (const h of ['hook/workers', 'hook/edge']) expect(at(`done ${h}`)).toBeLessThan(at('start rule/drain/asg-lifecycle'));
  });
});
