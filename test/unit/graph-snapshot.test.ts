/**
 * The desired graph of the example spec and its variants, frozen one line per node in plan order:
 * `kind key <- deps | ready: …`, then a digest of its props and one of its tags. A refactor of
 * src/model/ (builders per area, dependencies from $refs) must leave every key, kind and edge as
 * it was — the lines a reviewer reads — and every node's props and tags too: a changed digest names
 * the node whose props or tags changed (what they are is asserted by the model's own tests). The
 * launch templates' user data is left out of the digest: it is the rendered template, asserted
 * verbatim by test/unit/userdata.test.ts, so a template edit does not touch these files. `deps` and
 * `ready` are sets (sorted here): nodes are listed after everything they depend on, so the order of
 * the list — which plan prints — does not hang on the order inside them; that is asserted too.
 * Regenerate only for an intended change: npx vitest run test/unit/graph-snapshot.test.ts -u
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const templatesDir = join(ROOT, 'templates');
const templates = Object.fromEntries(
  walk(templatesDir).map((p) => [relative(templatesDir, p).split('\\').join('/'), readFileSync(p, 'utf8')]),
);
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'); // no publicDomain
const exampleWithDomain = withPublicDomain(example); // its commented publicDomain and publicRecord switched on

/** `base` (the example with its public domain unless told) with each edit made (`from` must occur once) */
function variantOf(base: string, ...edits: [string, string][]): ClusterSpec {
  let text = base;
  for (const [from, to] of edits) {
    const i = text.indexOf(from);
    if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`test bug: ${from}`);
    text = text.slice(0, i) + to + text.slice(i + from.length);
  }
  return parseSpec(text, 'v.yaml', NOW).spec;
}
const variant = (...edits: [string, string][]): ClusterSpec => variantOf(exampleWithDomain, ...edits);

/** JSON with every object's keys sorted: the same value gives the same text, whatever order a builder set its fields in */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
const digest = (v: unknown) => createHash('sha256').update(canonical(v)).digest('hex').slice(0, 12);
/** props as the digest covers them: a launch template's user data (the rendered template) is left out */
const digestedProps = (kind: string, props: unknown) =>
  kind === 'launch-template' && props && typeof props === 'object' ? { ...props, userData: '(the rendered template)' } : props;

/** One line per node: `kind key <- deps | ready: …  # props <digest> tags <digest>` */
function graphLines(g: ReturnType<typeof deriveGraph>): string {
  const lines = g.nodes.map((n) => {
    const deps = [...n.deps].sort();
    const ready = n.ready ? ` | ready: ${[...n.ready].sort().join(', ')}` : '';
    return `${n.kind} ${n.key}${deps.length ? ` <- ${deps.join(', ')}` : ''}${ready}  # props ${digest(digestedProps(n.kind, n.props))} tags ${digest(n.tags)}`;
  });
  return `cluster ${g.clusterId}: ${g.nodes.length} nodes, in plan order\n${lines.join('\n')}\n`;
}

// `example` is cluster.example.yaml as shipped (no public domain); `public-domain` is the example
// with its commented publicDomain and publicRecord lines switched on, and the variants below start
// from it (so they cover the public zone too), except the last.
const SPECS: Record<string, () => ClusterSpec> = {
  example: () => variantOf(example),
  'public-domain': () => variant(),
  'nat-single': () => variant(['nat: perZone', 'nat: single']),
  'nat-none': () => variant(['nat: perZone', 'nat: none']),
  'two-zones-graviton-private-api': () => {
    const s = variant(
      ['zones: [us-east-1a, us-east-1b, us-east-1c]', 'zones: [us-east-1a, us-east-1b]'],
      ['      instanceType: m5.large\n      minSize: 3', '      instanceType: m6g.large\n      minSize: 3'],
      ['apiAccess: [0.0.0.0/0]', 'apiAccess: [203.0.113.0/24, 198.51.100.7/32]'],
    );
    s.spec.network.vpcCidr = '10.0.0.0/26';
    return s;
  },
  'no-public-domain-no-users-public-groups': () => {
    const s = variantOf(
      example,
      ['    internalDomain: dev.kube', '    internalDomain: corp.kube'],
      ['  iam:\n    users: [{ name: backup-reader, bucketAccess: read }]\n', ''],
    );
    for (const ng of s.spec.nodeGroups) ng.subnets = 'public';
    return s;
  },
};

describe('derived graph snapshots (identical across model refactors)', () => {
  it.each(Object.keys(SPECS))('%s', async (name) => {
    const g = deriveGraph(SPECS[name]!(), facts);
    const before = new Set<string>();
    for (const n of g.nodes) {
      expect(
        n.deps.filter((d) => !before.has(d)),
        `${n.key} depends only on nodes listed before it`,
      ).toEqual([]);
      before.add(n.key);
    }
    expect(Object.keys(g).sort(), 'every field of the graph is in the snapshot').toEqual(['clusterId', 'nodes']);
    for (const n of g.nodes)
      expect(
        Object.keys(n).filter((k) => !['key', 'kind', 'props', 'deps', 'tags', 'ready'].includes(k)),
        `${n.key}: every field is in the snapshot`,
      ).toEqual([]);
    await expect(graphLines(g)).toMatchFileSnapshot(`./__snapshots__/graph.${name}.txt`);
  });
});
