/**
 * The spec's JSON Schema and reference (issue 12): generated from the zod schema, committed, kept in
 * sync. The independent evaluator (Python's jsonschema) runs in test/integration/schema-docs.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIELD_DOCS, fieldsOf, specJsonSchema } from '../../src/spec/docs.js';
import { generatedDocs } from '../../src/devtools/docs.js';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const example = readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');

describe('kubeaz schema / schema/cluster.schema.json', () => {
  const schema = specJsonSchema();

  it('documents every field, and documents no field that does not exist', () => {
    const paths = fieldsOf(schema).map((f) => f.path);
    expect(paths.filter((p) => !FIELD_DOCS[p])).toEqual([]);
    expect(Object.keys(FIELD_DOCS).filter((p) => !paths.includes(p))).toEqual([]);
    for (const f of fieldsOf(schema)) expect(f.node.description, f.path).toBeTruthy();
    const nat = fieldsOf(schema).find((f) => f.path === 'spec.network.nat')!.node;
    expect(nat).toMatchObject({ default: 'perZone', enum: ['perZone', 'single', 'none'] });
  });

  it('cluster.example.yaml points editors at the committed schema', () => {
    const first = example.split('\n')[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    expect(m).not.toBeNull();
    expect(existsSync(path.join(ROOT, m![1]!))).toBe(true);
  });

  it('schema/cluster.schema.json and docs/spec.md are what npm run docs generates (regenerate with npm run docs)', async () => {
    for (const [rel, text] of Object.entries(await generatedDocs(ROOT))) expect(readFileSync(path.join(ROOT, rel), 'utf8'), rel).toBe(text);
  });

  it('docs/spec.md lists every field with its type, default and allowed values, and the example', () => {
    const md = readFileSync(path.join(ROOT, 'docs', 'spec.md'), 'utf8');
    for (const f of fieldsOf(schema)) expect(md, f.path).toContain(`| \`${f.path}\` |`);
    expect(md).toContain('| `spec.network.nat` | string | `"perZone"` | `perZone`, `single`, `none` |');
    expect(md).toContain('| `spec.nodeGroups[].desiredCapacity` | integer | minSize |');
    expect(md).toContain(example.trimEnd());
  });
});
