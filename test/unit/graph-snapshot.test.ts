/**
 * The desired graph of the example spec and its variants, frozen as JSON files: a refactor of
 * src/model/ (builders per area, dependencies from $refs) must leave every node — key, kind,
 * props, tags, deps, ready — exactly as it was. Long texts (user data, bootstrap files, policy
 * documents rendered as strings) are kept as a hash so the files stay readable. `deps` and `ready`
 * are sets (sorted here): nodes are listed after everything they depend on, so the order of the
 * list — which plan prints — does not hang on the order inside them; that is asserted too.
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

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');

const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const templatesDir = join(ROOT, 'templates');
const templates = Object.fromEntries(walk(templatesDir).map((p) => [relative(templatesDir, p).split('\\').join('/'), readFileSync(p, 'utf8')]));
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');

function variant(...edits: [string, string][]): ClusterSpec {
  let text = example;
  for (const [from, to] of edits) {
    const i = text.indexOf(from);
    if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`test bug: ${from}`);
    text = text.slice(0, i) + to + text.slice(i + from.length);
  }
  return parseSpec(text, 'v.yaml', NOW).spec;
}

const compact = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v), (_k, x) => (typeof x === 'string' && x.length > 200 ? `sha256:${createHash('sha256').update(x).digest('hex').slice(0, 16)} (${x.length} chars)` : x));

const SPECS: Record<string, () => ClusterSpec> = {
  example: () => variant(),
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
    const s = variant(['    publicDomain: example.com\n', '    internalDomain: corp.kube\n'], ['      publicRecord: lb\n', ''], ['  iam:\n    users: [{ name: backup-reader, bucketAccess: read }]\n', '']);
    for (const ng of s.spec.nodeGroups) ng.subnets = 'public';
    return s;
  },
};

describe('derived graph snapshots (identical across model refactors)', () => {
  it.each(Object.keys(SPECS))('%s', async (name) => {
    const g = deriveGraph(SPECS[name]!(), facts);
    const before = new Set<string>();
    for (const n of g.nodes) {
      expect(n.deps.filter((d) => !before.has(d)), `${n.key} depends only on nodes listed before it`).toEqual([]);
      before.add(n.key);
    }
    const sets = { ...g, nodes: g.nodes.map((n) => ({ ...n, deps: [...n.deps].sort(), ...(n.ready ? { ready: [...n.ready].sort() } : {}) })) };
    await expect(`${JSON.stringify(compact(sets), null, 2)}\n`).toMatchFileSnapshot(`./__snapshots__/graph.${name}.json`);
  });
});
