/**
 * The invariant engine/edges.ts states: every edge of a desired graph runs along the edges the
 * kinds declare (a node depends only on nodes of its own kind or of a kind its kind waits for), so
 * the declared edges — and destroy's relation, derived from them — are a true picture of the graphs
 * the model builds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kindDependsOn, kindsOf, strayEdges } from '../../src/engine/edges.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { HANDLERS } from '../../src/resources/index.js';
import { parseSpec } from '../../src/spec/load.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'); // no publicDomain
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(ROOT, 'templates', n), 'utf8')]));
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const NOW = new Date('2026-01-15T00:00:00Z');

const variants: Array<[string, string]> = [
  ['the example', example],
  ['NAT single', example.replace('nat: perZone', 'nat: single')],
  [
    'IRSA on',
    example.replace(
      /( {2}iam:\n)/,
      '$1    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts: [{ namespace: apps, name: uploader, policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess] }]\n',
    ),
  ],
  ['a public domain', withPublicDomain(example)],
];

describe('kinds order', () => {
  for (const [name, yaml] of variants) {
    it(`every edge of the desired graph (${name}) follows the kinds' declared edges`, () => {
      if (name !== 'the example') expect(yaml).not.toBe(example); // the variant really differs
      const g = deriveGraph(parseSpec(yaml, 'v.yaml', NOW).spec, facts);
      expect(strayEdges(HANDLERS, g)).toEqual([]);
      expect(new Set(g.nodes.map((n) => n.kind)).size).toBeGreaterThan(10);
    });
  }

  it('the declared edges have no cycle and name only kinds of the registry', () => {
    const kinds = kindsOf(HANDLERS);
    for (const k of kinds) {
      expect(kindDependsOn(HANDLERS, k, k), k).toBe(false);
      for (const d of HANDLERS[k].edges.waitsFor) expect(kinds).toContain(d);
    }
  });

  it('a kind is declared notBlockedBy only by kinds that wait for it (else the exception means nothing)', () => {
    for (const k of kindsOf(HANDLERS))
      for (const other of HANDLERS[k].edges.notBlockedBy ?? [])
        expect(HANDLERS[other].edges.waitsFor, `${other} waits for ${k}`).toContain(k);
  });
});
