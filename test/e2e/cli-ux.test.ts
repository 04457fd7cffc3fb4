/**
 * The conventions of the ecosystem through the real CLI, no AWS (issue 12): `validate --output json`
 * as Terraform's `validate -json`, `kubeaz schema`, shell completion, `kubeaz version`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeaz, ROOT } from '../helpers/cli.js';

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
      expect.objectContaining({
        path: 'spec.controlPlane.volumeSiz',
        line: 24,
        message: expect.stringMatching(/did you mean volumeSize\?/),
      }),
    ]);
    for (const i of j.issues) expect(Object.keys(i).sort()).toEqual(expect.arrayContaining(['line', 'message', 'path']));
  });

  it('a missing file is an issue too (path "(file)", line null)', async () => {
    const r = await kubeaz(['validate', '-f', path.join(dir, 'nope.yaml'), '--output', 'json']);
    expect(r.code).toBe(2);
    expect(r.json()).toMatchObject({
      valid: false,
      issues: [{ path: '(file)', line: null, message: expect.stringMatching(/does not exist/) }],
    });
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

describe('kubeaz completion', () => {
  /** Runs bash completion for the words typed so far (the last one is being completed), in `cwd`. */
  const complete = (script: string, words: string[], cwd: string): string[] => {
    const prog = `source ${JSON.stringify(script)}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})
COMP_CWORD=${words.length - 1}
_kubeaz_completion 2>/dev/null
printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', prog], { cwd }).toString().split('\n').filter(Boolean).sort();
  };

  it('bash: parses (bash -n, shellcheck), registers itself (complete -p), completes subcommands, flags, choices and *.yaml for -f', async () => {
    const r = await kubeaz(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    const script = path.join(dir, 'kubeaz.bash');
    await writeFile(script, r.stdout);
    execFileSync('bash', ['-n', script]);
    execFileSync('shellcheck', ['-s', 'bash', script]);
    expect(
      execFileSync('bash', ['-c', `source ${JSON.stringify(script)} && complete -p kubeaz`])
        .toString()
        .trim(),
    ).toBe('complete -F _kubeaz_completion kubeaz');
    const work = await mkdtemp(path.join(dir, 'cwd-'));
    for (const f of ['cluster.yaml', 'prod.yml', 'notes.txt']) await writeFile(path.join(work, f), '');
    expect(complete(script, ['kubeaz', 'de'], work)).toEqual(['destroy']);
    expect(complete(script, ['kubeaz', 'k'], work)).toEqual(['kubeconfig']);
    expect(complete(script, ['kubeaz', 'co'], work)).toEqual(['completion', 'cost']);
    expect(complete(script, ['kubeaz', 'create', '-f', ''], work)).toEqual(['cluster.yaml', 'prod.yml']);
    expect(complete(script, ['kubeaz', 'status', '--output', ''], work)).toEqual(['json', 'text']);
    expect(complete(script, ['kubeaz', 'kubeconfig', '-f', 'cluster.yaml', '--no-'], work)).toEqual(['--no-set-current']);
    expect(complete(script, ['kubeaz', 'destroy', '--d'], work)).toEqual(['--debug', '--delete-backups', '--dry-run']);
    expect(complete(script, ['kubeaz', 'completion', ''], work)).toEqual(['bash', 'fish', 'zsh']);
  });

  it('zsh and fish: generated from the same program (every subcommand and its flags); an unknown shell is a usage error', async () => {
    const zsh = await kubeaz(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef kubeaz\n/);
    expect(zsh.stdout).toContain("'(-f --file)'{-f,--file}'[the cluster spec]:file:_files -g '\\''*.(yaml|yml)'\\'''");
    expect(zsh.stdout).toContain("'(-o --output)'{-o,--output}'[output format]:value:(text json)'");
    const fish = await kubeaz(['completion', 'fish']);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c kubeaz -n '__fish_seen_subcommand_from destroy' -l delete-backups");
    expect(fish.stdout).toContain(
      "complete -c kubeaz -n '__fish_seen_subcommand_from create' -s f -l file -r -a '(__fish_complete_suffix .yaml; __fish_complete_suffix .yml)'",
    );
    for (const sub of [
      'validate',
      'create',
      'plan',
      'rollout',
      'backup-etcd',
      'kubeconfig',
      'destroy',
      'status',
      'logs',
      'list',
      'get-spec',
      'schema',
      'version',
      'completion',
    ]) {
      expect(zsh.stdout, sub).toMatch(new RegExp(`^ {4}'${sub}:`, 'm'));
      expect(zsh.stdout, sub).toMatch(new RegExp(`^ {8}${sub}\\)$`, 'm'));
      expect(fish.stdout, sub).toContain(`-n __fish_use_subcommand -a ${sub} `);
    }
    const bad = await kubeaz(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected one of bash, zsh, fish/);
  });
});

describe('kubeaz version', () => {
  it('text and JSON: version, git commit of the checkout, Node, pinned add-ons', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const j = await kubeaz(['version', '--output', 'json']);
    expect(j.code, j.stderr).toBe(0);
    const v = j.json<{ version: string; gitCommit: string | null; node: string; addons: Record<string, Record<string, string>> }>();
    expect(v.version).toBe(pkg.version);
    expect(v.node).toBe(process.version);
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD']).toString().trim();
    expect(v.gitCommit).toMatch(new RegExp(`^${head}(-dirty)?$`));
    const { ADDON_VERSIONS_BY_MINOR, helmFor } = await import('../../src/spec/versions.js');
    const row = ADDON_VERSIONS_BY_MINOR['1.35']!;
    expect(v.addons['1.35']!.cilium).toBe(row.cilium.chart);
    expect(v.addons['1.35']!.awsEbsCsiDriver).toBe(row.awsEbsCsiDriver.chart);
    expect(v.addons['1.35']!.awsCloudControllerManager).toBe(
      `${row.awsCloudControllerManager.chart} (image ${row.awsCloudControllerManager.image})`,
    );
    // Helm per row (inside Helm's own Kubernetes support policy)
    expect(v.addons['1.35']!.helm).toBe(helmFor('1.35'));
    const t = await kubeaz(['version']);
    expect(t.stdout.split('\n')[0]).toBe(`kubeaz ${pkg.version} (commit ${v.gitCommit})`);
    expect(t.stdout).toContain(`add-ons for 1.35: cilium ${row.cilium.chart}`);
  });
});
