/**
 * issue 9 (6): a create whose follow-up answered NotFound (a dependency made a moment ago not yet
 * visible) must not be re-run whole: the resource was made, and a second create makes a duplicate
 * (two route tables claiming one key). The engine looks for it first and retries only the follow-ups.
 */
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { reconcile } from '../../src/engine/reconcile.js';
import type { Handlers } from '../../src/resources/index.js';
import type { Actual, ResourceHandler } from '../../src/resources/types.js';
import type { DesiredGraph } from '../../src/model/types.js';

const notFound = () => Object.assign(new Error('The subnet ID does not exist'), { name: 'InvalidSubnetID.NotFound' });

describe('createOnce after a NotFound', () => {
  it('a made resource whose association failed is found and finished, not created again', async () => {
    // given: a VPC made in this run, and a route table whose create makes the table, then fails to
    // associate it (NotFound) the first time
    const made: Actual[] = [];
    let creates = 0;
    let associated = 0;
    const vpc: Partial<ResourceHandler> = {
      kind: 'vpc',
      observe: async () => made.filter((a) => a.kind === 'vpc'),
      create: async (_ctx, node) => {
        const a: Actual = { key: node.key, kind: 'vpc', id: 'vpc-1', attrs: {}, tags: node.tags };
        made.push(a);
        return a;
      },
      diff: () => [],
      delete: async () => {},
    };
    const routeTable: Partial<ResourceHandler> = {
      kind: 'route-table',
      observe: async () => made.filter((a) => a.kind === 'route-table'),
      create: async (_ctx, node) => {
        creates++;
        made.push({
          key: node.key,
          kind: 'route-table',
          id: `rtb-${creates}`,
          attrs: {},
          tags: node.tags,
          observed: { associated: false },
        });
        if (creates === 1) throw notFound();
        associated++;
        return made[made.length - 1]!;
      },
      diff: (_node, a) =>
        (a.observed as { associated: boolean }).associated ? [] : [{ field: 'subnetIds', from: [], to: ['subnet-1'], inPlace: true }],
      update: async (_ctx, _node, a) => {
        associated++;
        return { ...a, observed: { associated: true } };
      },
      delete: async () => {},
    };
    const handlers = { vpc, 'route-table': routeTable } as unknown as Handlers;
    const graph = {
      clusterId: 'c-d',
      nodes: [
        { key: 'vpc', kind: 'vpc', props: {}, deps: [], tags: {} },
        { key: 'rt/public', kind: 'route-table', props: {}, deps: ['vpc'], tags: {} },
      ],
    } as unknown as DesiredGraph;
    const ctx = createRunContext({
      clusterId: 'c-d',
      region: 'us-east-1',
      accountId: '1',
      generation: 'g',
      aws: new AwsClients({ region: 'us-east-1' }),
      timing: { pollSeconds: 0.01, maxWaitSeconds: 5, propagationSeconds: 5, dependencySeconds: 1 },
    });
    // when
    const r = await reconcile(ctx, graph, handlers, { concurrency: 2, observed: new Map() });
    // then: one table, associated once, the run ok
    expect(r.ok).toBe(true);
    expect(creates).toBe(1);
    expect(made.filter((a) => a.kind === 'route-table').map((a) => a.id)).toEqual(['rtb-1']);
    expect(associated).toBe(1);
  });
});
