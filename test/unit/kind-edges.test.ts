/**
 * Issue 22: the engine's two tables of kinds (engine/kinds.ts: KIND_DEPENDENCIES, DELETE_AFTER)
 * went; each handler declares its own edges. No change of behaviour: the orders derived from the
 * declared edges are the tables' orders, kind for kind. The tables below are a FROZEN copy of
 * engine/kinds.ts as it was (commit fb6f382), the reference — never edit them to make a test pass.
 */
import { describe, expect, it } from 'vitest';
import { deleteAfter, deletionOrder, kindDependsOn, kindsOf } from '../../src/engine/edges.js';
import { deletionGraph } from '../../src/engine/destroy.js';
import { schedule } from '../../src/engine/graph.js';
import type { Kind } from '../../src/model/types.js';
import { DESTROY_SWEEP, HANDLERS } from '../../src/resources/index.js';
import type { Actual } from '../../src/resources/types.js';

// ── the frozen reference ──────────────────────────────────────────────────────────────────────────

const OLD_KIND_DEPENDENCIES: Readonly<Partial<Record<Kind, readonly Kind[]>>> = Object.freeze({
  vpc: [],
  subnet: ['vpc'],
  'internet-gateway': ['vpc'],
  'elastic-ip': [],
  'nat-gateway': ['subnet', 'elastic-ip', 'internet-gateway'],
  'route-table': ['vpc', 'subnet', 'internet-gateway', 'nat-gateway'],
  'network-acl': ['vpc', 'subnet'],
  'vpc-endpoint': ['vpc', 'route-table'],
  'security-group': ['vpc'],
  'security-group-rules': ['security-group'],
  bucket: [],
  'discovery-bucket': [],
  pki: ['bucket'],
  'bucket-object': ['bucket', 'discovery-bucket', 'pki'],
  'oidc-provider': ['bucket-object'],
  'hosted-zone': ['vpc'],
  'iam-role': ['hosted-zone', 'bucket', 'oidc-provider'],
  'instance-profile': ['iam-role'],
  'iam-user': ['bucket'],
  'load-balancer': ['subnet', 'security-group', 'internet-gateway'],
  'target-group': ['vpc'],
  'network-load-balancer': ['subnet', 'security-group', 'internet-gateway', 'target-group'],
  'dns-record': ['hosted-zone', 'load-balancer', 'network-load-balancer', 'elastic-ip'],
  'launch-template': ['instance-profile', 'security-group'],
  'auto-scaling-group': [
    'launch-template',
    'subnet',
    'load-balancer',
    'network-load-balancer',
    'target-group',
    'route-table',
    'nat-gateway',
    'bucket-object',
    'pki',
    'dns-record',
    'elastic-ip',
    'security-group-rules',
  ],
});

const OLD_DELETE_AFTER: Readonly<Partial<Record<Kind, readonly Kind[]>>> = Object.freeze({
  vpc: ['subnet', 'internet-gateway', 'route-table', 'network-acl', 'vpc-endpoint', 'security-group', 'hosted-zone', 'target-group'],
  subnet: ['nat-gateway', 'route-table', 'network-acl', 'load-balancer', 'network-load-balancer', 'auto-scaling-group'],
  'internet-gateway': ['nat-gateway', 'route-table', 'load-balancer', 'network-load-balancer'],
  'elastic-ip': ['nat-gateway', 'dns-record', 'auto-scaling-group'],
  'nat-gateway': [],
  'route-table': ['vpc-endpoint', 'auto-scaling-group'],
  'network-acl': [],
  'vpc-endpoint': [],
  'security-group': ['security-group-rules', 'load-balancer', 'network-load-balancer', 'launch-template'],
  'security-group-rules': ['auto-scaling-group'],
  bucket: ['bucket-object', 'pki', 'iam-role', 'iam-user'],
  'bucket-object': ['auto-scaling-group', 'oidc-provider'],
  'discovery-bucket': ['bucket-object'],
  pki: ['auto-scaling-group', 'bucket-object'],
  'oidc-provider': ['iam-role'],
  'hosted-zone': ['iam-role', 'dns-record'],
  'iam-role': ['instance-profile'],
  'instance-profile': ['launch-template'],
  'iam-user': [],
  'load-balancer': ['dns-record', 'auto-scaling-group'],
  'target-group': ['network-load-balancer', 'auto-scaling-group'],
  'network-load-balancer': ['dns-record', 'auto-scaling-group'],
  'dns-record': ['auto-scaling-group'],
  'launch-template': ['auto-scaling-group'],
  'auto-scaling-group': [],
});

const OLD_KINDS = Object.keys(OLD_DELETE_AFTER) as Kind[];

/**
 * Create-side edges added since the frozen tables, each named with its reason; destroy's relation
 * stays the tables' (the kind waited for declares the newcomer `notBlockedBy`):
 *  - discovery-bucket waits for vpc (issue 22, a no-op's reads): the VPC records IRSA in its
 *    `kubeaz:features` tag before IRSA's first resource is made (model/features.ts).
 */
const ADDED_SINCE: Readonly<Partial<Record<Kind, readonly Kind[]>>> = Object.freeze({ 'discovery-bucket': ['vpc'] });

/**
 * Kinds added since the frozen tables, with their edges (issue 20, the drain set-up), and what
 * destroy's relation gains by them — the tables' own rows untouched:
 *  - sqs-queue waits for nothing (its policy names its own ARN);
 *  - event-rule waits for sqs-queue (its target): the queue goes after its rules;
 *  - lifecycle-hook waits for auto-scaling-group (it is its group's) and event-rule (its lifecycle
 *    actions reach the queue through the lifecycle rule): every hook goes before any group is
 *    emptied, so teardown never waits a heartbeat.
 */
const NEW_KIND_DEPENDENCIES: Readonly<Partial<Record<Kind, readonly Kind[]>>> = Object.freeze({
  'sqs-queue': [],
  'event-rule': ['sqs-queue'],
  'lifecycle-hook': ['auto-scaling-group', 'event-rule'],
});
const NEW_DELETE_AFTER: Readonly<Partial<Record<Kind, readonly Kind[]>>> = Object.freeze({
  'auto-scaling-group': ['lifecycle-hook'],
  'sqs-queue': ['event-rule'],
  'event-rule': ['lifecycle-hook'],
  'lifecycle-hook': [],
});
const NEW_KINDS = Object.keys(NEW_KIND_DEPENDENCIES) as Kind[];
const ALL_KINDS: readonly Kind[] = [...Object.keys(OLD_DELETE_AFTER), ...NEW_KINDS] as Kind[];
const KIND_DEPENDENCIES_NOW = (k: Kind): readonly Kind[] => [
  ...((OLD_KIND_DEPENDENCIES as Partial<Record<Kind, readonly Kind[]>>)[k] ?? []),
  ...(ADDED_SINCE[k] ?? []),
  ...(NEW_KIND_DEPENDENCIES[k] ?? []),
];
const DELETE_AFTER_NOW = (k: Kind): readonly Kind[] => [
  ...((OLD_DELETE_AFTER as Partial<Record<Kind, readonly Kind[]>>)[k] ?? []),
  ...(NEW_DELETE_AFTER[k] ?? []),
];

/** The old compare.ts deletionOrder(), verbatim over the frozen table. */
function oldDeletionOrder(): Kind[] {
  const out: Kind[] = [];
  const seen = new Set<Kind>();
  const visit = (k: Kind) => {
    if (seen.has(k)) return;
    seen.add(k);
    for (const other of DELETE_AFTER_NOW(k)) visit(other);
    out.push(k);
  };
  for (const k of ALL_KINDS) visit(k);
  return out;
}

/** The old kinds.ts kindDependsOn(), verbatim over the frozen table (with the edges added since). */
function oldKindDependsOn(kind: Kind, dep: Kind, seen = new Set<Kind>()): boolean {
  for (const d of KIND_DEPENDENCIES_NOW(kind)) {
    if (d === dep) return true;
    if (!seen.has(d)) {
      seen.add(d);
      if (oldKindDependsOn(d, dep, seen)) return true;
    }
  }
  return false;
}

const gone = (k: string) => `gone:${k}`;

/** The old destroy.ts deletionGraph(), verbatim over the frozen table. */
function oldDeletionGraph(actuals: readonly Actual[], opts: { sweep: boolean }): Array<{ key: string; deps: string[] }> {
  const byKey = new Map(actuals.map((a, i) => [`${a.kind}#${i}:${a.key}`, a]));
  const nodes: Array<{ key: string; deps: string[] }> = [];
  for (const [key, a] of byKey) {
    const deps = DELETE_AFTER_NOW(a.kind).map(gone);
    if (opts.sweep && DESTROY_SWEEP.before.includes(a.kind)) deps.push(DESTROY_SWEEP.name);
    nodes.push({ key, deps });
  }
  for (const k of ALL_KINDS) nodes.push({ key: gone(k), deps: [...byKey].filter(([, a]) => a.kind === k).map(([key]) => key) });
  if (opts.sweep) nodes.push({ key: DESTROY_SWEEP.name, deps: DESTROY_SWEEP.after.map(gone) });
  return nodes;
}

// ── the comparison ────────────────────────────────────────────────────────────────────────────────

const kinds = kindsOf(HANDLERS);
const sorted = (xs: readonly string[]) => [...xs].sort();

describe("the kinds' declared edges give the old tables' orders", () => {
  it('the registry holds exactly the kinds of the old tables and the kinds added since', () => {
    expect(sorted(kinds)).toEqual(sorted(ALL_KINDS));
    expect(sorted(Object.keys(OLD_KIND_DEPENDENCIES))).toEqual(sorted(OLD_KINDS));
  });

  for (const k of ALL_KINDS) {
    it(`${k}: waits for what KIND_DEPENDENCIES said, and is deleted after what DELETE_AFTER said`, () => {
      expect(sorted(HANDLERS[k].edges.waitsFor)).toEqual(sorted(KIND_DEPENDENCIES_NOW(k)));
      expect(sorted(deleteAfter(HANDLERS)[k])).toEqual(sorted(DELETE_AFTER_NOW(k)));
      for (const other of ALL_KINDS) expect(kindDependsOn(HANDLERS, k, other), `${k} depends on ${other}`).toBe(oldKindDependsOn(k, other));
    });
  }

  it("the plan's deletion order is the old one, kind for kind", () => {
    expect(deletionOrder(HANDLERS)).toEqual(oldDeletionOrder());
  });

  it("destroy's graph: every resource waits for the same markers, every marker for the same resources", () => {
    const actuals = ALL_KINDS.flatMap((k) => [actualOf(k, 'a'), actualOf(k, 'b')]);
    for (const sweep of [true, false]) {
      const asSets = (nodes: ReadonlyArray<{ key: string; deps: readonly string[] }>) =>
        Object.fromEntries(nodes.map((n) => [n.key, sorted(n.deps)]));
      expect(asSets(deletionGraph(HANDLERS, actuals, { sweep }).nodes)).toEqual(asSets(oldDeletionGraph(actuals, { sweep })));
    }
  });

  /**
   * The graphs list their `gone:<kind>` markers in the registry's order now, not the old table's;
   * where that could matter is which of several deletions made ready in the same turn starts first.
   * Run on the real scheduler, every resource of one kind, of every two kinds, and of all of them,
   * with and without the Kubernetes sweep, start in exactly the old order — but for one case no run
   * makes: an internet gateway and a hosted zone deleted with nothing else they wait on and no sweep
   * (destroy always sweeps before the internet gateway; create never removes one). Both still start
   * at once; only which of the two goes first differs.
   */
  it('the scheduler starts deletions in the old order (one known case apart, which no run makes)', async () => {
    const scenarios: Kind[][] = [
      OLD_KINDS,
      ...OLD_KINDS.map((k) => [k]),
      ...OLD_KINDS.flatMap((a, i) => OLD_KINDS.slice(i + 1).map((b) => [a, b])),
    ];
    const differ: string[] = [];
    for (const set of scenarios) {
      const actuals = set.flatMap((k) => [actualOf(k, 'a'), actualOf(k, 'b')]);
      for (const sweep of [true, false]) {
        for (const concurrency of [1, 4]) {
          const now = await starts(deletionGraph(HANDLERS, actuals, { sweep }).nodes, concurrency);
          const then = await starts(oldDeletionGraph(actuals, { sweep }), concurrency);
          if (now.join() !== then.join()) differ.push(`${set.join('+')} sweep=${sweep} concurrency=${concurrency}`);
        }
      }
    }
    expect(differ).toEqual([
      'internet-gateway+hosted-zone sweep=false concurrency=1',
      'internet-gateway+hosted-zone sweep=false concurrency=4',
    ]);
  });
});

function actualOf(kind: Kind, n: string): Actual {
  return { key: `${kind}/${n}`, kind, id: `${kind}-${n}`, attrs: {}, tags: {} };
}

/** The order the scheduler starts the nodes that do work (not the markers), as destroy runs it. */
async function starts(nodes: ReadonlyArray<{ key: string; deps: readonly string[] }>, concurrency: number): Promise<string[]> {
  const started: string[] = [];
  await schedule(
    nodes,
    async (key) => {
      if (key.startsWith('gone:')) return;
      started.push(key);
      await new Promise((r) => setImmediate(r));
    },
    { concurrency, free: (key) => key.startsWith('gone:') },
  );
  return started;
}
