/**
 * The conventions of the ecosystem through the real CLI, no AWS (issue 12): `validate --output json`
 * as Terraform's `validate -json`, `kubeaz schema`, shell completion, `kubeaz version`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, kubeaz, ROOT } from '../helpers/cli.js';

let dir: string;
const example = await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-ux-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('validate --output json', () => {
  it('an invalid spec: { valid: false, issues: [{ path, line, message }] } on stdout, exit 2', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, example.replace('nat: perZone', 'nat: sometimes').replace('    volumeSize: 50', '    volumeSiz: 50'));
    const r = await kubeaz(['validate', '-f', file, '--output', 'json']);
    expect(r.code).toBe(2);
    const j = r.json<{ valid: boolean; issues: Array<{ path: string; line: number; message: string }> }>();
    expect(j.valid).toBe(false);
    expect(j.issues).toEqual([
      expect.objectContaining({ path: 'spec.network.nat', line: 14, message: 'nat must be one of perZone, single, none' }),
      expect.objectContaining({ path: 'spec.controlPlane.volumeSiz', line: 21, message: expect.stringMatching(/did you mean volumeSize\?/) }),
    ]);
    for (const i of j.issues) expect(Object.keys(i).sort()).toEqual(expect.arrayContaining(['line', 'message', 'path']));
  });

  it('a missing file is an issue too (path "(file)", line null)', async () => {
    const r = await kubeaz(['validate', '-f', path.join(dir, 'nope.yaml'), '--output', 'json']);
    expect(r.code).toBe(2);
    expect(r.json()).toMatchObject({ valid: false, issues: [{ path: '(file)', line: null, message: expect.stringMatching(/does not exist/) }] });
  });

  it('a valid spec: { valid: true, warnings: [] }, exit 0', async () => {
    const r = await kubeaz(['validate', '-f', path.join(ROOT, 'cluster.example.yaml'), '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ valid: true, warnings: [], issues: [] });
  });
});

describe('kubeaz schema', () => {
  it('prints the committed JSON Schema', async () => {
    const r = await kubeaz(['schema']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(await readFile(path.join(ROOT, 'schema', 'cluster.schema.json'), 'utf8'));
    expect(r.json()).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
  });
});
