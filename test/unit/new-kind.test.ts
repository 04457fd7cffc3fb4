/**
 * Issue 22: a new kind touches its props type, its handler file (with its edges, and its line in
 * the registry) and its area builder — nothing in the engine. Here a kind the engine has never heard
 * of, `widget` (one per private subnet, in the nodes' security group, as an interface would be), is
 * added exactly that way — a props type, a handler declaring its edges, a builder adding its nodes —
 * and registered in a test registry beside every real kind (fakes carrying their declared edges).
 * The engine then schedules it after what it waits for, plans it, and deletes it before what it
 * blocks: all from the handler's `edges`.
 *
 * (A real kind adds its props to KindProps in model/types.ts; a test cannot, without changing the
 * Kind of the whole program, so here `widget` is cast to Kind where the types ask for one.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { computePlanFrom } from '../../src/engine/compare.js';
import { createRunContext } from '../../src/engine/context.js';
import { deleteOrphans, deletionGraph } from '../../src/engine/destroy.js';
import { deletionOrder, kindDependsOn, strayEdges } from '../../src/engine/edges.js';
import { reconcile } from '../../src/engine/reconcile.js';
import { GraphBuilder } from '../../src/model/areas/builder.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { ref, type DesiredGraph, type Kind, type Ref } from '../../src/model/types.js';
import { HANDLERS, type Handlers } from '../../src/resources/index.js';
import type { Actual, KindEdges, ResourceHandler } from '../../src/resources/types.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const NOW = new Date('2026-01-15T00:00:00Z');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(ROOT, 'templates', n), 'utf8')]));
const spec = parseSpec(readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'), 'cluster.example.yaml', NOW).spec;
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };

// ── 1. its props type ─────────────────────────────────────────────────────────────────────────────

const WIDGET = 'widget' as Kind;
interface WidgetProps {
  name: string;
  subnetId: Ref;
  groupId: Ref;
}

// ── 2. its handler, declaring its edges beside its code ───────────────────────────────────────────

/** What every handler of the test registry does: it records each create and delete with a clock. */
interface Log {
  clock: number;
  events: Array<{ op: 'create' | 'delete'; key: string; kind: Kind; start: number; end: number }>;
}

function fakeHandler(kind: Kind, edges: KindEdges, log: Log, ticks = 1): ResourceHandler {
  const step = async (op: 'create' | 'delete', key: string) => {
    const start = ++log.clock;
    for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
    log.events.push({ op, key, kind, start, end: ++log.clock });
  };
  return {
    kind,
    calls: { observe: [], create: [], delete: [] },
    edges,
    observe: async () => [],
    create: async (_ctx, node) => {
      await step('create', node.key);
      // every attribute a dependent asks of it (arn, version, dnsName, …) is known
      return {
        key: node.key,
        kind,
        id: `${kind}-${node.key}`,
        attrs: new Proxy({}, { get: (_t, p) => `${node.key}.${String(p)}` }),
        tags: node.tags,
      };
    },
    diff: () => [],
    delete: async (_ctx, a) => step('delete', a.key),
  };
}

/** The widget's edges: it is made in a subnet with a security group, so those must stand first and go last. */
const WIDGET_EDGES: KindEdges = { waitsFor: ['subnet', 'security-group'] };

// ── 3. its area builder ───────────────────────────────────────────────────────────────────────────

/** One widget per private subnet, in the nodes' security group. */
function widgets(b: GraphBuilder, graph: DesiredGraph): void {
  const group =
    graph.nodes.find((n) => n.kind === 'security-group' && n.key.endsWith('nodes')) ??
    graph.nodes.find((n) => n.kind === 'security-group')!;
  for (const subnet of graph.nodes.filter((n) => n.kind === 'subnet' && n.key.startsWith('subnet/private/'))) {
    const zone = subnet.key.split('/').pop()!;
    const props: WidgetProps = { name: `widget-${zone}`, subnetId: ref(subnet.key), groupId: ref(group.key) };
    b.add(WIDGET as never, `widget/${zone}`, `widget-${zone}`, props as never);
  }
}

// ── the cluster with widgets, and the registry that knows them ────────────────────────────────────

function clusterWithWidgets(): DesiredGraph {
  const base = deriveGraph(spec, facts);
  const b = new GraphBuilder(spec);
  b.nodes.push(...base.nodes);
  widgets(b, base);
  return b.build(base.clusterId);
}

/** Every real kind (a fake with its declared edges) and the widget, whose calls take `widgetTicks` turns. */
function registry(log: Log, widgetTicks = 1): Handlers {
  const real = Object.entries(HANDLERS).map(([k, h]) => [k, fakeHandler(k as Kind, h.edges, log)]);
  return Object.fromEntries([...real, [WIDGET, fakeHandler(WIDGET, WIDGET_EDGES, log, widgetTicks)]]) as unknown as Handlers;
}

const ctx = () =>
  createRunContext({
    clusterId: 'demo-dev',
    region: 'us-east-1',
    accountId: '1',
    generation: 'g',
    aws: new AwsClients({ region: 'us-east-1' }),
    timing: { pollSeconds: 0.01, maxWaitSeconds: 5, propagationSeconds: 5, dependencySeconds: 1 },
  });

const asActual = (n: { key: string; kind: Kind }): Actual => ({ key: n.key, kind: n.kind, id: `${n.kind}-${n.key}`, attrs: {}, tags: {} });

/** The kinds a widget waits for when made, and so blocks from deletion. */
const BLOCKED: readonly Kind[] = ['subnet', 'security-group'];

describe('a kind added in three places: props type, handler with its edges, area builder', () => {
  const graph = clusterWithWidgets();
  const widgetNodes = graph.nodes.filter((n) => n.kind === WIDGET);

  it('the graph built with it follows the declared edges, its own included', () => {
    expect(widgetNodes.length).toBeGreaterThan(1);
    expect(strayEdges(registry({ clock: 0, events: [] }), graph)).toEqual([]);
    expect(kindDependsOn(registry({ clock: 0, events: [] }), WIDGET, 'vpc')).toBe(true);
    expect(HANDLERS).not.toHaveProperty('widget'); // the real registry is untouched
  });

  // create walks the graph's node edges (a widget's props reference its subnet and group); the
  // declared edges are what those node edges must agree with (the test above)
  it('scheduled: each widget is created only once everything it waits for exists', async () => {
    const log: Log = { clock: 0, events: [] };
    const r = await reconcile(ctx(), graph, registry(log), { concurrency: 4, observed: new Map() });
    expect(r.ok).toBe(true);
    const made = new Map(log.events.filter((e) => e.op === 'create').map((e) => [e.key, e]));
    expect(made.size).toBe(graph.nodes.length);
    for (const w of widgetNodes) {
      expect(w.deps.length).toBeGreaterThan(0);
      for (const d of w.deps) expect(made.get(d)!.end, `${d} made before ${w.key} starts`).toBeLessThan(made.get(w.key)!.start);
    }
  });

  it('planned: created after what it waits for, and an orphaned one deleted before what it blocks', () => {
    const created = computePlanFrom(new Map(), graph, registry({ clock: 0, events: [] }), { region: 'us-east-1', zones: spec.spec.zones })
      .plan.changes;
    const at = (key: string) => created.findIndex((c) => c.key === key);
    for (const w of widgetNodes) {
      expect(created[at(w.key)]).toMatchObject({ action: 'create', kind: WIDGET });
      for (const d of w.deps) expect(at(d), `${d} planned before ${w.key}`).toBeLessThan(at(w.key));
    }
    // the spec no longer names them: the widgets come first among the deletions, before their subnets and group
    const gone = graph.nodes
      .filter((n) => n.kind === WIDGET || BLOCKED.includes(n.kind))
      .map(asActual)
      .reverse();
    const p = computePlanFrom(
      new Map(gone.map((a) => [a.key, a])),
      { clusterId: graph.clusterId, nodes: [] },
      registry({ clock: 0, events: [] }),
      { region: 'us-east-1', zones: spec.spec.zones },
    );
    const kinds = p.plan.changes.map((c) => c.kind);
    expect(p.plan.changes.every((c) => c.action === 'delete')).toBe(true);
    expect(kinds.lastIndexOf(WIDGET)).toBeLessThan(Math.min(...BLOCKED.map((k) => kinds.indexOf(k))));
    const order = deletionOrder(registry({ clock: 0, events: [] }));
    for (const k of BLOCKED) expect(order.indexOf(WIDGET)).toBeLessThan(order.indexOf(k));
  });

  it('destroyed: every widget is gone before its subnets and group start deleting; it waits for nothing', async () => {
    // the widgets, what they block and the VPC, the widgets slow to go and room for every deletion at once
    const log: Log = { clock: 0, events: [] };
    const some = graph.nodes.filter((n) => n.kind === WIDGET || BLOCKED.includes(n.kind) || n.kind === 'vpc').map(asActual);
    const r = await deleteOrphans(ctx(), registry(log, 5), some, { concurrency: some.length });
    expect(r.failed).toEqual([]);
    expect(r.deleted.length).toBe(some.length);
    const widgetEnds = log.events.filter((e) => e.kind === WIDGET).map((e) => e.end);
    for (const e of log.events.filter((x) => BLOCKED.includes(x.kind)))
      expect(Math.max(...widgetEnds), `widgets gone before ${e.key}`).toBeLessThan(e.start);
    // nothing waits for a widget when made, so nothing has to be gone before one is deleted
    const everything = graph.nodes.map(asActual);
    const { nodes, byKey } = deletionGraph(registry(log), everything, { sweep: false });
    expect(nodes.filter((n) => byKey.get(n.key)?.kind === WIDGET).map((n) => n.deps)).toEqual(widgetNodes.map(() => []));
  });
});
