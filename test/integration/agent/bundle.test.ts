/**
 * The agent's bundle: one self-contained ES module that imports nothing but Node's built-ins,
 * defines `require` for its CommonJS parts, and answers --help (exit 0) without touching the
 * network. Built here by the same script `npm run build` runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** built here, into a directory of this test's own: dist/ is what the e2e tests running beside it read */
const OUT = mkdtempSync(path.join(tmpdir(), 'agent-bundle-'));
const BUNDLE = path.join(OUT, 'kubeaz-agent.mjs');
const build = (cwd: string, outfile: string) =>
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-agent.mjs'), '--outfile', outfile], { cwd, stdio: 'pipe' });
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Every module specifier the bundle names in an import, export-from, import() or require() with a literal. */
export function specifiers(code: string): string[] {
  const out = new Set<string>();
  // statements at the start of a line; require()/import() calls not inside a message's [brackets]
  const patterns = [
    /^\s*(?:import|export)\b[^;\n]*?\bfrom\s*["']([^"'\n]+)["']/gm,
    /^\s*import\s*["']([^"'\n]+)["']/gm,
    /(?<![[\w.])import\(\s*["']([^"'\n]+)["']\s*\)/g,
    /(?<![[\w.])(?:__)?require\(\s*["']([^"'\n]+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.add(m[1]!);
  return [...out].sort();
}

describe('the agent bundle (dist/agent/kubeaz-agent.mjs)', () => {
  let code = '';
  let firstHash = '';
  beforeAll(() => {
    build(tmpdir(), BUNDLE);
    code = readFileSync(BUNDLE, 'utf8');
    firstHash = createHash('sha256').update(code).digest('hex');
  }, 120_000);

  it('imports only Node built-ins, and defines require through createRequire', () => {
    const specs = specifiers(code);
    expect(specs.length).toBeGreaterThan(5);
    expect(specs.filter((s) => !builtins.has(s))).toEqual([]);
    expect(
      code.startsWith(
        "import { createRequire as __kubeazCreateRequire } from 'node:module';\nconst require = __kubeazCreateRequire(import.meta.url);",
      ),
    ).toBe(true);
  });

  it('the import check itself sees a package import', () => {
    const sample =
      'import { x } from "@aws-sdk/client-s3";\nconst y = __require("zod");\nawait import("node:fs");\nthrow new Error("load it by [require(\\"crt\\");]");';
    expect(specifiers(sample).filter((s) => !builtins.has(s))).toEqual(['@aws-sdk/client-s3', 'zod']);
  });

  it('is the same file when built again from another directory (its SHA-256 names it in the bucket)', () => {
    const again = path.join(OUT, 'again', 'kubeaz-agent.mjs');
    build(ROOT, again);
    expect(createHash('sha256').update(readFileSync(again)).digest('hex')).toBe(firstHash);
    // written to a temporary name and renamed: nothing else is left beside it
    expect(readdirSync(path.dirname(again))).toEqual(['kubeaz-agent.mjs']);
  }, 120_000);

  it('prints its usage for --help and exits 0 without opening a connection or resolving a name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-help-'));
    const trap = path.join(dir, 'no-network.mjs');
    // any socket or DNS use writes a marker and fails
    writeFileSync(
      trap,
      `import net from 'node:net'; import dns from 'node:dns'; import fs from 'node:fs';
const mark = (what) => { fs.writeFileSync(${JSON.stringify(path.join(dir, 'touched'))}, what); throw new Error('network used: ' + what); };
net.Socket.prototype.connect = function () { mark('connect'); };
dns.lookup = () => mark('dns.lookup'); dns.promises.lookup = async () => mark('dns.promises.lookup');
`,
    );
    const r = spawnSync(process.execPath, ['--import', trap, BUNDLE, '--help'], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: dir, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' },
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: kubeaz-agent <command> \[options\]/);
    expect(r.stdout).toContain('  boot ');
    expect(() => readFileSync(path.join(dir, 'touched'), 'utf8')).toThrow();
  });

  it('refuses an unknown command with exit 2', () => {
    const r = spawnSync(process.execPath, [BUNDLE, 'frobnicate'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command frobnicate');
  });
});
