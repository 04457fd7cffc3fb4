/**
 * The Plan computation (engine/compare.ts) with fake handlers: given what exists and the desired
 * graph, which change each node gets — the one decision `plan`, `create` and `status` share.
 */
import { describe, expect, it } from 'vitest';
import { compareNode, computePlanFrom, hasChanges, PENDING, refusalReason } from '../../src/engine/compare.js';
import { HANDLERS, type Handlers } from '../../src/resources/index.js';
import type { Actual, Change, ResourceHandler } from '../../src/resources/types.js';
import type { AnyNode, DesiredGraph, Kind } from '../../src/model/types.js';

/** A fake kind with its declared edges: its props are compared field by field; fields named in `immutable` cannot change in place. */
function fake(kind: Kind, extra: Partial<ResourceHandler> = {}, immutable: string[] = []): ResourceHandler {
  return {
    kind,
    edges: HANDLERS[kind].edges,
    observe: async () => [],
    create: async () => {
      throw new Error('not in a plan');
    },
    delete: async () => {},
    diff: (node, actual) => {
      const out: Change[] = [];
      for (const [field, to] of Object.entries(node.props as Record<string, unknown>)) {
        const from = actual.attrs[`want.${field}`];
        if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ field, from, to, inPlace: !immutable.includes(field) });
      }
      return out;
    },
    ...extra,
  } as ResourceHandler;
}

const handlers = {
  vpc: fake('vpc', {}, ['cidr']),
  subnet: fake('subnet'),
  'launch-template': fake('launch-template', {
    planUpdate: (_n, a) => ({ note: 'new version 2', after: { ...a, attrs: { ...a.attrs, version: '2' } } }),
  }),
  'auto-scaling-group': fake('auto-scaling-group', {
    planUpdate: (_n, _a, c) => ({ note: `going to ${String(c[0]!.to)}` }),
    deleteNote: 'goes with its instances',
  }),
} as unknown as Handlers;

const node = (key: string, kind: Kind, props: Record<string, unknown>, deps: string[] = []): AnyNode =>
  ({ key, kind, props, deps, tags: {} }) as unknown as AnyNode;
/** What exists, built so its desired props are `attrs` (the fake diff reads want.<field>). */
const actual = (key: string, kind: Kind, id: string, props: Record<string, unknown>, attrs: Record<string, string> = {}): Actual =>
  ({
    key,
    kind,
    id,
    tags: {},
    attrs: { ...attrs, ...Object.fromEntries(Object.entries(props).map(([k, v]) => [`want.${k}`, v])) },
  }) as unknown as Actual;

const graph = (...nodes: AnyNode[]): DesiredGraph => ({ clusterId: 'demo-dev', nodes }) as unknown as DesiredGraph;
const plan = (observed: Actual[], g: DesiredGraph, keep?: (a: Actual) => boolean) =>
  computePlanFrom(new Map(observed.map((a) => [a.key, a])), g, handlers, {
    region: 'us-east-1',
    zones: ['us-east-1a'],
    ...(keep ? { keep } : {}),
  });

const vpcNode = node('vpc', 'vpc', { cidr: '10.0.0.0/16' });
const subnetNode = node('subnet/public/us-east-1a', 'subnet', { vpcId: { $ref: 'vpc' } }, ['vpc']);

describe('computePlanFrom', () => {
  const cases: Array<{ name: string; observed: Actual[]; g: DesiredGraph; want: Array<[string, string]>; unchanged: number }> = [
    {
      name: 'nothing exists: everything is created, a dependent resolves to PENDING',
      observed: [],
      g: graph(vpcNode, subnetNode),
      want: [
        ['create', 'vpc'],
        ['create', 'subnet/public/us-east-1a'],
      ],
      unchanged: 0,
    },
    {
      name: 'all there and matching: nothing to do',
      observed: [
        actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' }),
        actual('subnet/public/us-east-1a', 'subnet', 'subnet-1', { vpcId: 'vpc-1' }),
      ],
      g: graph(vpcNode, subnetNode),
      want: [],
      unchanged: 2,
    },
    {
      name: 'the VPC exists, the subnet does not: one create',
      observed: [actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' })],
      g: graph(vpcNode, subnetNode),
      want: [['create', 'subnet/public/us-east-1a']],
      unchanged: 1,
    },
    {
      name: 'an in-place difference is an update',
      observed: [
        actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' }),
        actual('subnet/public/us-east-1a', 'subnet', 'subnet-1', { vpcId: 'vpc-9' }),
      ],
      g: graph(vpcNode, subnetNode),
      want: [['update', 'subnet/public/us-east-1a']],
      unchanged: 1,
    },
    {
      name: 'a difference that cannot be made in place is refused',
      observed: [
        actual('vpc', 'vpc', 'vpc-1', { cidr: '10.9.0.0/16' }),
        actual('subnet/public/us-east-1a', 'subnet', 'subnet-1', { vpcId: 'vpc-1' }),
      ],
      g: graph(vpcNode, subnetNode),
      want: [['refuse', 'vpc']],
      unchanged: 1,
    },
    {
      name: 'owned but no longer named: deleted (after what it must outlast)',
      observed: [
        actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' }),
        actual('subnet/public/us-east-1a', 'subnet', 'subnet-1', { vpcId: 'vpc-1' }),
        actual('asg/old', 'auto-scaling-group', 'old', {}),
      ],
      g: graph(vpcNode, subnetNode),
      want: [['delete', 'asg/old']],
      unchanged: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { plan: p } = plan(c.observed, c.g);
      expect(p.changes.map((x) => [x.action, x.key])).toEqual(c.want);
      expect(p.summary.unchanged).toBe(c.unchanged);
      expect(hasChanges(p)).toBe(c.want.length > 0);
      expect(p.summary.create + p.summary.update + p.summary.delete + p.summary.refuse).toBe(c.want.length);
    });
  }

  it('a refusal carries the changed fields and the one reason text', () => {
    const { plan: p } = plan([actual('vpc', 'vpc', 'vpc-1', { cidr: '10.9.0.0/16' })], graph(vpcNode));
    expect(p.changes[0]).toEqual({
      key: 'vpc',
      kind: 'vpc',
      action: 'refuse',
      id: 'vpc-1',
      fields: [{ field: 'cidr', from: '10.9.0.0/16', to: '10.0.0.0/16' }],
      reason: refusalReason('vpc', 'vpc-1', [{ field: 'cidr', from: '10.9.0.0/16', to: '10.0.0.0/16', inPlace: false }]),
    });
    expect(p.changes[0]!.reason).toBe(
      'cidr of vpc vpc-1 cannot be changed in place; kubeaz will not replace it. Change the spec back, or destroy and create the cluster.',
    );
  });

  it("a kind's planUpdate note rides on its change, and a dependent sees what it will become", () => {
    const lt = node('lt/workers', 'launch-template', { data: 'new' });
    const asg = node('asg/workers', 'auto-scaling-group', { version: { $ref: 'lt/workers', attr: 'version' } }, ['lt/workers']);
    const { plan: p, details } = plan(
      [
        actual('lt/workers', 'launch-template', 'lt-1', { data: 'old' }, { version: '1' }),
        actual('asg/workers', 'auto-scaling-group', 'asg-1', { version: '1' }),
      ],
      graph(lt, asg),
    );
    expect(p.changes).toEqual([
      {
        key: 'lt/workers',
        kind: 'launch-template',
        action: 'update',
        id: 'lt-1',
        fields: [{ field: 'data', from: 'old', to: 'new' }],
        note: 'new version 2',
      },
      {
        key: 'asg/workers',
        kind: 'auto-scaling-group',
        action: 'update',
        id: 'asg-1',
        fields: [{ field: 'version', from: '1', to: '2' }],
        note: 'going to 2',
      },
    ]);
    expect(details).toEqual([]); // no kind here has planDetail
  });

  it("a deletion carries the kind's deleteNote; keep leaves a resource out", () => {
    const observed = [actual('asg/old', 'auto-scaling-group', 'old', {}), actual('subnet/private/us-east-1b', 'subnet', 'subnet-2', {})];
    const { plan: p, deletions } = plan(observed, graph());
    expect(p.changes.map((c) => [c.key, c.note])).toEqual([
      ['asg/old', 'goes with its instances'],
      ['subnet/private/us-east-1b', undefined],
    ]);
    expect(deletions.map((a) => a.key)).toEqual(['asg/old', 'subnet/private/us-east-1b']);
    expect(plan(observed, graph(), (a) => a.kind === 'subnet').plan.changes.map((c) => c.key)).toEqual(['asg/old']);
  });

  it('an existing resource whose reference lacks the attribute is an incomplete update, not a crash', () => {
    const n = node('asg/workers', 'auto-scaling-group', { version: { $ref: 'lt/workers', attr: 'version' } }, ['lt/workers']);
    const lt = node('lt/workers', 'launch-template', {});
    const { plan: p } = plan(
      [actual('lt/workers', 'launch-template', 'lt-1', {}), actual('asg/workers', 'auto-scaling-group', 'asg-1', { version: '1' })],
      graph(lt, n),
    );
    expect(p.changes).toEqual([
      {
        key: 'asg/workers',
        kind: 'auto-scaling-group',
        action: 'update',
        id: 'asg-1',
        fields: [{ field: 'dependencies', from: 'incomplete', to: 'complete' }],
      },
    ]);
  });

  it('the zones of an existing cluster cannot change', () => {
    const { plan: p } = plan(
      [
        actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' }),
        actual('subnet/public/us-east-1b', 'subnet', 'subnet-1', { vpcId: 'vpc-1' }),
      ],
      graph(vpcNode),
    );
    expect(p.changes[0]).toMatchObject({
      key: 'vpc',
      action: 'refuse',
      fields: [{ field: 'zones', from: ['us-east-1b'], to: ['us-east-1a'] }],
    });
  });
});

describe('compareNode', () => {
  const known = new Map<string, Actual>([['vpc', actual('vpc', 'vpc', 'vpc-1', { cidr: '10.0.0.0/16' })]]);
  it('says missing, unchanged, update, refuse and pending', () => {
    expect(compareNode(handlers, subnetNode, known).verdict).toBe('missing');
    expect(compareNode(handlers, vpcNode, known).verdict).toBe('unchanged');
    expect(compareNode(handlers, node('vpc', 'vpc', { cidr: '10.1.0.0/16' }), known)).toMatchObject({
      verdict: 'refuse',
      refused: [{ field: 'cidr' }],
    });
    const withSubnet = new Map(known).set(
      'subnet/public/us-east-1a',
      actual('subnet/public/us-east-1a', 'subnet', 'subnet-1', { vpcId: 'vpc-0' }),
    );
    expect(compareNode(handlers, subnetNode, withSubnet)).toMatchObject({
      verdict: 'update',
      changes: [{ field: 'vpcId', from: 'vpc-0', to: 'vpc-1', inPlace: true }],
    });
    const pending = new Map(known).set('subnet/public/us-east-1a', { ...actual('subnet/public/us-east-1a', 'subnet', PENDING, {}) });
    expect(compareNode(handlers, subnetNode, pending).verdict).toBe('pending');
  });
});
