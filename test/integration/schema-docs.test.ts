/**
 * The spec's JSON Schema and reference (issue 12): generated from the zod schema, committed, kept in
 * sync; checked by an independent JSON Schema evaluator (Python's jsonschema, Draft 2020-12 — the
 * moto the tests already need brings it) against cluster.example.yaml and typical mistakes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { specJsonSchema } from '../../src/spec/docs.js';
import { ROOT } from '../helpers/cli.js';

const example = readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');

/** Validates each document with jsonschema's Draft202012Validator; returns the error messages per document. */
function pyValidate(schema: object, docs: unknown[]): string[][] {
  const script = `
import json, sys
from jsonschema import Draft202012Validator
data = json.load(sys.stdin)
Draft202012Validator.check_schema(data["schema"])
v = Draft202012Validator(data["schema"])
print(json.dumps([sorted(e.message for e in v.iter_errors(d)) for d in data["docs"]]))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify({ schema, docs }) }).toString()) as string[][];
}

describe('kubeaz schema / schema/cluster.schema.json', () => {
  const schema = specJsonSchema();

  it('validates cluster.example.yaml and rejects a typo, a wrong enum value and a missing field (independent evaluator)', () => {
    const good = parse(example);
    const typo = parse(example.replace('    instanceType: m5.large\n    volumeSize: 50', '    instanceTyp: m5.large\n    volumeSize: 50'));
    const badEnum = parse(example.replace('nat: perZone', 'nat: sometimes'));
    const noRegion = parse(example.replace('  region: us-east-1\n', ''));
    const [g, t, e, r] = pyValidate(schema, [good, typo, badEnum, noRegion]);
    expect(g).toEqual([]);
    expect(t!.join('\n')).toMatch(/Additional properties are not allowed \('instanceTyp' was unexpected\)/);
    expect(t!.join('\n')).toMatch(/'instanceType' is a required property/);
    expect(e!.join('\n')).toMatch(/'sometimes' is not one of \['perZone', 'single', 'none'\]/);
    expect(r!.join('\n')).toMatch(/'region' is a required property/);
  });

  it('spec.encryption: aescbc and kms are accepted, another provider or field refused (independent evaluator)', () => {
    const withEncryption = (yaml: string) => parse(example.replace('  etcd:\n', `  encryption: ${yaml}\n  etcd:\n`));
    const [aescbc, kms, other, extra] = pyValidate(schema, [
      withEncryption('{ provider: aescbc, keys: [key2, key1] }'),
      withEncryption("{ provider: kms, keyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }"),
      withEncryption('{ provider: vault }'),
      withEncryption('{ provider: aescbc, secret: abc }'),
    ]);
    expect(aescbc).toEqual([]);
    expect(kms).toEqual([]);
    expect(other!.join('\n')).toMatch(/'vault' is not one of \['aescbc', 'kms'\]/);
    expect(extra!.join('\n')).toMatch(/Additional properties are not allowed \('secret' was unexpected\)/);
  });
});
