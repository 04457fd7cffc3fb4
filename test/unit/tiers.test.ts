/**
 * The unit tier stays pure (issue 22): no file under test/unit imports node:child_process or execa,
 * or a test helper that does (followed through every helper it imports, transitively), and none
 * reaches what starts moto (src/devtools/moto.ts) or runs real programs (the agent's RealPrograms).
 * Process-backed tests live in test/integration (bash, etcd, openssl, shellcheck, kubectl, node)
 * and test/e2e (moto, bin/kubeaz); a process boundary in a unit test is replaced by injection (the
 * agent's Programs, a FakeEtcd, an SDK client stub), not vi.mock.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** modules that start or drive another process */
const PROCESS_MODULES = new Set(['node:child_process', 'child_process', 'execa']);
/** project modules whose use in a test starts a process: moto_server, real programs */
const PROCESS_SOURCES = [path.join(SRC, 'devtools', 'moto.ts')];
/** names whose use starts a real program (the agent's boundary); a test injects a fake instead */
const PROCESS_NAMES = /\bRealPrograms\b/;

/** every module specifier a file names: static imports and re-exports, side-effect imports, import() and require() */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** a relative specifier as the file it names (.js → .ts as TypeScript's NodeNext resolution does) */
function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/**
 * Why `file` is not a unit test: each reason names the chain of imports that reaches a process.
 * Test helpers and fixtures (any relative import outside src/) are followed; src/ modules are
 * checked against PROCESS_SOURCES, not followed (src/ has its own layer check).
 */
export function processReasons(file: string, seen = new Set<string>(), chain: string[] = []): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const here = [...chain, path.relative(ROOT, file)];
  const text = readFileSync(file, 'utf8');
  const reasons: string[] = [];
  if (PROCESS_NAMES.test(text)) reasons.push(`${here.join(' → ')} uses RealPrograms`);
  for (const spec of specifiers(text)) {
    if (PROCESS_MODULES.has(spec)) {
      reasons.push(`${here.join(' → ')} imports ${spec}`);
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = resolve(file, spec);
    if (!target) continue;
    if (PROCESS_SOURCES.includes(target)) reasons.push(`${here.join(' → ')} imports ${path.relative(ROOT, target)}`);
    else if (!target.startsWith(SRC + path.sep)) reasons.push(...processReasons(target, seen, here));
  }
  return reasons;
}

const walk = (d: string): string[] =>
  readdirSync(d).flatMap((f) => {
    const p = path.join(d, f);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|mjs|js)$/.test(f) ? [p] : [];
  });

describe('the unit tier starts no process', () => {
  const files = walk(path.join(ROOT, 'test', 'unit'));

  it('finds the unit files (the walk itself is not empty)', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain(path.join(ROOT, 'test', 'unit', 'tiers.test.ts'));
  });

  it('no file under test/unit imports node:child_process, execa, moto or a helper that does', () => {
    const found = files.filter((f) => f !== path.join(ROOT, 'test', 'unit', 'tiers.test.ts')).flatMap((f) => processReasons(f));
    expect(found).toEqual([]);
  });

  it('no unit file mocks an SDK client with mockClient itself: sdkMock (test/helpers/sdk-mock.ts) restores it when the file ends, so the tier can run without isolation', () => {
    const direct = files.filter(
      (f) => f !== path.join(ROOT, 'test', 'unit', 'tiers.test.ts') && /\bmockClient\(/.test(readFileSync(f, 'utf8')),
    );
    expect(direct.map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  describe('the check finds what it must (its own mutations)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubeaz-tiers-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string) => {
      const p = path.join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const pure = file('pure.ts', "import { x } from 'node:fs';\nexport const y = 1;\n");
    const spawns = file('spawns.ts', "import { spawn } from 'node:child_process';\nexport const run = spawn;\n");
    file('via.ts', "export { run } from './spawns.js';\n");
    let n = 0;

    it.each([
      ['a static import', "import { execFileSync } from 'node:child_process';\n", /imports node:child_process/],
      ['the bare name', "import cp from 'child_process';\n", /imports child_process/],
      ['execa', "import { execa } from 'execa';\n", /imports execa/],
      ['a dynamic import', "const cp = await import('node:child_process');\n", /imports node:child_process/],
      ['a helper that does', "import { run } from './spawns.js';\n", /a\d\.test\.ts → .*spawns\.ts imports node:child_process/],
      ['a helper of a helper', "import { run } from './via.js';\n", /via\.ts → .*spawns\.ts imports node:child_process/],
      [
        'moto',
        `import { startMoto } from '${path.relative(dir, path.join(SRC, 'devtools', 'moto.js'))}';\n`,
        /imports src\/devtools\/moto\.ts/,
      ],
      ['real programs', 'const p = new RealPrograms();\n', /uses RealPrograms/],
    ])('%s', (_what, text, reason) => {
      const f = file(`a${++n}.test.ts`, text);
      expect(processReasons(f).join('\n')).toMatch(reason);
    });

    it('a pure helper passes', () => {
      expect(processReasons(file('b.test.ts', "import { y } from './pure.js';\n"))).toEqual([]);
      expect(processReasons(pure)).toEqual([]);
      expect(processReasons(spawns)).toHaveLength(1);
    });
  });
});
