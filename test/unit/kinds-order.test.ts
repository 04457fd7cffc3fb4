/**
 * The invariant engine/kinds.ts states: every edge of a desired graph runs along the kind table
 * (a node depends only on nodes of its own kind or of a kind its kind depends on), so the kind
 * table — and DELETE_AFTER, built from it — is a true picture of the graphs the model builds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALL_KINDS, KIND_DEPENDENCIES, kindDependsOn } from '../../src/engine/kinds.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(ROOT, 'templates', n), 'utf8')]));
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const NOW = new Date('2026-01-15T00:00:00Z');

const variants: Array<[string, string]> = [
  ['the example', example],
  ['NAT single', example.replace('nat: perZone', 'nat: single')],
  ['IRSA on', example.replace(/( {2}iam:\n)/, '$1    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts: [{ namespace: apps, name: uploader, policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess] }]\n')],
  ['no public domain', example.replace(/ {2}dns:\n {4}#[^\n]*\n {4}publicDomain: example.com\n/, '').replace(/ {6}publicRecord: lb\n/, '')],
];

describe('kinds order', () => {
  for (const [name, yaml] of variants) {
    it(`every edge of the desired graph (${name}) follows KIND_DEPENDENCIES`, () => {
      if (name !== 'the example') expect(yaml).not.toBe(example); // the variant really differs
      const g = deriveGraph(parseSpec(yaml, 'v.yaml', NOW).spec, facts);
      const kindOf = new Map(g.nodes.map((n) => [n.key, n.kind]));
      const wrong: string[] = [];
      for (const n of g.nodes) {
        for (const d of n.deps) {
          const dk = kindOf.get(d)!;
          if (dk !== n.kind && !kindDependsOn(n.kind, dk)) wrong.push(`${n.key} (${n.kind}) → ${d} (${dk})`);
        }
      }
      expect(wrong).toEqual([]);
      expect(new Set(g.nodes.map((n) => n.kind)).size).toBeGreaterThan(10);
    });
  }

  it('the kind table itself has no cycle and names only kinds', () => {
    for (const k of ALL_KINDS) {
      expect(kindDependsOn(k, k), k).toBe(false);
      for (const d of KIND_DEPENDENCIES[k]) expect(ALL_KINDS).toContain(d);
    }
  });
});
