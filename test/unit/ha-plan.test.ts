/**
 * Changing spec.controlPlane.count on a running cluster (issue 13): 1 → 3 is a plan like any other
 * (the master group's subnets change in place, the new groups are created); fewer masters
 * (3 → 1, 5 → 3) is refused with the reason, so `plan` exits 1 and `create` applies nothing.
 */
import { describe, expect, it } from 'vitest';
import { computePlanFrom } from '../../src/engine/compare.js';
import { HANDLERS, type Handlers } from '../../src/resources/index.js';
import type { Actual, Change, ResourceHandler } from '../../src/resources/types.js';
import type { AnyNode, DesiredGraph, Kind } from '../../src/model/types.js';

const asgHandler = {
  kind: 'auto-scaling-group',
  edges: HANDLERS['auto-scaling-group'].edges,
  observe: async () => [],
  create: async () => {
    throw new Error('not in a plan');
  },
  delete: async () => {},
  diff: (node: { props: { subnets: string[] } }, actual: Actual): Change[] =>
    JSON.stringify(actual.attrs.subnets) === JSON.stringify(node.props.subnets.join(','))
      ? []
      : [{ field: 'subnetIds', from: actual.attrs.subnets, to: node.props.subnets.join(','), inPlace: true }],
} as unknown as ResourceHandler;
const handlers = { 'auto-scaling-group': asgHandler } as unknown as Handlers;

const asgNode = (g: string, subnets: string[]): AnyNode =>
  ({ key: `asg/${g}`, kind: 'auto-scaling-group', props: { subnets }, deps: [], tags: {} }) as unknown as AnyNode;
const asgActual = (g: string, subnets: string[]): Actual =>
  ({ key: `asg/${g}`, kind: 'auto-scaling-group' as Kind, id: `demo-dev-${g}`, tags: {}, attrs: { subnets: subnets.join(',') } }) as Actual;
const graph = (...nodes: AnyNode[]): DesiredGraph => ({ clusterId: 'demo-dev', nodes }) as unknown as DesiredGraph;
const plan = (observed: Actual[], g: DesiredGraph) =>
  computePlanFrom(new Map(observed.map((a) => [a.key, a])), g, handlers, { region: 'us-east-1', zones: ['us-east-1a'] }).plan;

const one = [asgActual('master', ['a', 'b', 'c'])];
const three = [asgActual('master', ['a']), asgActual('master-2', ['b']), asgActual('master-3', ['c'])];

describe('controlPlane.count on a running cluster', () => {
  it('1 → 3: the master group is pinned in place, the two new groups are created, nothing refused', () => {
    const p = plan(one, graph(asgNode('master', ['a']), asgNode('master-2', ['b']), asgNode('master-3', ['c'])));
    expect(p.summary.refuse).toBe(0);
    expect(p.changes.map((c) => [c.action, c.key])).toEqual([
      ['update', 'asg/master'],
      ['create', 'asg/master-2'],
      ['create', 'asg/master-3'],
    ]);
  });

  it('3 → 1 is refused with the reason (and the groups are not planned away silently)', () => {
    const p = plan(three, graph(asgNode('master', ['a', 'b', 'c'])));
    const refused = p.changes.filter((c) => c.action === 'refuse');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      key: 'asg/master',
      id: 'demo-dev-master',
      fields: [{ field: 'controlPlane.count', from: 3, to: 1 }],
    });
    expect(refused[0]!.reason).toMatch(/^controlPlane\.count 3 → 1 removes masters.*etcd member.*quorum.*Put count back to 3/);
  });

  it('5 → 3 is refused too; 3 → 3 and 3 → 5 are not', () => {
    const five = [...three, asgActual('master-4', ['a']), asgActual('master-5', ['b'])];
    const want3 = graph(asgNode('master', ['a']), asgNode('master-2', ['b']), asgNode('master-3', ['c']));
    expect(plan(five, want3).changes.find((c) => c.action === 'refuse')?.fields).toEqual([{ field: 'controlPlane.count', from: 5, to: 3 }]);
    expect(plan(three, want3).summary.refuse).toBe(0);
    expect(
      plan(
        three,
        graph(
          asgNode('master', ['a']),
          asgNode('master-2', ['b']),
          asgNode('master-3', ['c']),
          asgNode('master-4', ['a']),
          asgNode('master-5', ['b']),
        ),
      ).summary.refuse,
    ).toBe(0);
  });

  it('a node group named like a master is not counted (only asg/master and asg/master-<n>)', () => {
    const p = plan([...one, asgActual('masterful', ['a'])], graph(asgNode('master', ['a', 'b', 'c'])));
    expect(p.summary.refuse).toBe(0);
  });
});
