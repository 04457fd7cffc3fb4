import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  arrowText,
  checkLayers,
  cycleText,
  DYNAMIC_CEILING,
  dynamicCounts,
  dynamicText,
  KNOWN,
  RANK,
  summarize,
} from '../../src/devtools/layers.js';
import { HANDLERS } from '../../src/resources/index.js';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

describe('import layering of src/ (docs/architecture.md "Layers")', () => {
  const report = checkLayers(src);

  it('reads the imports of every file, dynamic import() calls among them', () => {
    expect(report.files).toBeGreaterThan(50);
    const arrows = report.arrows.map(arrowText);
    // cli/main.ts loads its commands only through import('…'): those are arrows like any other
    expect(arrows).toContain('cli/main.ts -> commands/create.ts');
    expect(report.dynamic.map(dynamicText)).toContainEqual(expect.stringMatching(/^cli\/main\.ts:\d+ -> commands\/create\.ts$/));
    for (const d of report.dynamic) expect(arrows).toContain(arrowText(d));
    // a type's import('…') is an arrow too
    expect(arrows).toContain('operations/status.ts -> etcd/snapshots.ts');
  });

  it('puts every folder of src/ in a layer', () => {
    expect(report.unranked).toEqual([]);
  });

  it('has no import that runs upward beyond the known list', () => {
    expect(report.upward.map(arrowText).filter((a) => !KNOWN.upward.includes(a))).toEqual([]);
  });

  it('keeps the node agent off the CLI machinery (commands, engine, resources)', () => {
    expect(report.forbidden.map(arrowText)).toEqual([]);
  });

  it('has no circle beyond the known list', () => {
    expect(report.cycles.map(cycleText).filter((c) => !KNOWN.cycles.includes(c))).toEqual([]);
  });

  it('finds one kind file per registered kind, and no kind imports another kind (shared helpers live in aws/ or a shared module)', () => {
    expect(report.kindFiles).toEqual(
      Object.keys(HANDLERS)
        .map((k) => `resources/${k}.ts`)
        .sort(),
    );
    expect(report.kindToKind.map(arrowText)).toEqual([]);
  });

  it('finds the commands the CLI loads, and no command imports another command, the SDK or resources/', () => {
    const loaded = report.arrows.filter((a) => a.from === 'cli/main.ts' && a.to.startsWith('commands/')).map((a) => a.to);
    expect(report.commandFiles).toEqual(loaded);
    expect(report.commandToCommand.map(arrowText)).toEqual([]);
    expect(report.commandToSdk.map(arrowText)).toEqual([]);
    expect(report.arrows.filter((a) => a.from.startsWith('commands/') && a.to.startsWith('resources/')).map(arrowText)).toEqual([]);
  });

  it('ranks the operations layer between the commands and the engine', () => {
    expect(RANK.commands).toBeGreaterThan(RANK.operations!);
    expect(RANK.operations).toBeGreaterThan(RANK.engine!);
    expect(report.arrows.some((a) => a.from.startsWith('commands/') && a.to.startsWith('operations/'))).toBe(true);
  });

  it('can follow every dynamic import() (a string literal), and keeps those outside the lazy command loading under the ceiling', () => {
    expect(report.opaque).toEqual([]);
    const counts = dynamicCounts(report);
    expect(counts.elsewhere).toBeLessThanOrEqual(DYNAMIC_CEILING);
    expect(DYNAMIC_CEILING).toBeLessThanOrEqual(25);
    // the commands and operations import what they use; none of theirs is dynamic
    expect(report.dynamic.filter((d) => /^(commands|operations)\//.test(d.from)).map(dynamicText)).toEqual([]);
  });

  it('prints what npm run layers prints, with no new breach (its exit code is 0)', () => {
    const { lines, fresh } = summarize(report);
    expect(fresh).toBe(0);
    expect(lines.at(-1)).toMatch(/^no import runs upward/);
    expect(lines.filter((l) => l.startsWith('command imports '))).toEqual([]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^\d+ dynamic import\(\) of project modules: \d+ the CLI's lazy command loading, \d+ elsewhere/),
    );
  });

  it('lists only known breaches that still occur (the list only shrinks)', () => {
    const up = report.upward.map(arrowText);
    const cyc = report.cycles.map(cycleText);
    expect(KNOWN.upward.filter((a) => !up.includes(a))).toEqual([]);
    expect(KNOWN.cycles.filter((c) => !cyc.includes(c))).toEqual([]);
    // command-to-command imports have no list of exceptions at all
    expect(Object.keys(KNOWN).sort()).toEqual(['cycles', 'upward']);
  });
});

describe('the layering check itself', () => {
  const tree = (files: Record<string, string>): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'layers-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  };

  it('flags an upward import and a circle in a made-up tree', () => {
    const r = checkLayers(
      tree({
        'model/a.ts': "import type { X } from '../engine/b.js';\nexport const a = 1;\n",
        'engine/b.ts': "export type X = 1;\nexport const b = () => import('../engine/c.js');\n",
        'engine/c.ts': "import { b } from './b.js';\n// import { z } from '../aws/z.js';\nexport const c = b;\n",
        'aws/ok.ts': "import { a } from '../model/a.js';\nexport const ok = a;\n",
        'agent/main.ts': "import { c } from '../engine/c.js';\nimport { a } from '../model/a.js';\nexport const m = [a, c];\n",
      }),
    );
    expect(r.upward.map(arrowText)).toEqual(['model/a.ts -> engine/b.ts']);
    expect(r.forbidden.map(arrowText)).toEqual(['agent/main.ts -> engine/c.ts']);
    expect(r.cycles.map(cycleText)).toEqual(['engine/b.ts -> engine/c.ts -> engine/b.ts']);
  });

  it('counts a dynamic import() as an import: it is an arrow, ranked like a static one, and counted once per call', () => {
    const r = checkLayers(
      tree({
        'engine/e.ts': 'export const e = 1;\n',
        'model/m.ts':
          "export async function m() {\n  const { e } = await import('../engine/e.js');\n  const again = await import('../engine/e.js');\n" +
          "  const fs = await import('node:fs');\n  return [e, again, fs];\n}\n",
        'aws/t.ts': "export type T = import('../model/m.js').Never;\nexport const lazy = () => import('../model/m.js');\n",
        'cli/main.ts': "export const run = () => import('../commands/go.js');\n",
        'commands/go.ts': 'export async function goCommand() {}\n',
      }),
    );
    expect(r.upward.map(arrowText)).toEqual(['model/m.ts -> engine/e.ts']);
    expect(r.arrows.map(arrowText)).toEqual(['aws/t.ts -> model/m.ts', 'cli/main.ts -> commands/go.ts', 'model/m.ts -> engine/e.ts']);
    expect(r.dynamic.map(dynamicText)).toEqual([
      'aws/t.ts:2 -> model/m.ts',
      'cli/main.ts:1 -> commands/go.ts',
      'model/m.ts:2 -> engine/e.ts',
      'model/m.ts:3 -> engine/e.ts',
    ]);
    expect(r.dynamicPackages).toBe(1);
    expect(dynamicCounts(r)).toEqual({ total: 4, lazyCommands: 1, elsewhere: 3, byFolder: { aws: 1, model: 2 }, intoResources: 0 });
  });

  it('refuses a dynamic import() it cannot follow', () => {
    const r = checkLayers(tree({ 'engine/x.ts': "const which = 'y';\nexport const x = () => import(`./${which}.js`);\n" }));
    expect(r.opaque).toEqual([{ file: 'engine/x.ts', line: 2, text: 'import(`./${which}.js`)' }]);
  });

  it('flags one kind importing another, not a kind importing a shared module or the registry importing kinds', () => {
    const r = checkLayers(
      tree({
        'resources/types.ts': 'export interface ResourceHandler<K = string, O = unknown> { kind: K; o?: O }\n',
        'resources/shared.ts': 'export const helper = 1;\n',
        'resources/a.ts':
          "import type { ResourceHandler } from './types.js';\nimport { helper } from './shared.js';\nimport { bOnly } from './b.js';\n" +
          "export const a: ResourceHandler<'a'> = { kind: 'a', o: [helper, bOnly] };\n",
        'resources/b.ts':
          "import type { ResourceHandler } from './types.js';\nexport const bOnly = 2;\nexport const b = { kind: 'b' } satisfies ResourceHandler<'b'>;\n",
        'resources/c.ts':
          "import type { ResourceHandler } from './types.js';\nexport const c = async () => (await import('./a.js')).a as ResourceHandler;\n",
        'resources/index.ts': "import { a } from './a.js';\nimport { b } from './b.js';\nexport const HANDLERS = { a, b };\n",
      }),
    );
    expect(r.kindFiles).toEqual(['resources/a.ts', 'resources/b.ts']);
    expect(r.kindToKind.map(arrowText)).toEqual(['resources/a.ts -> resources/b.ts']);
  });

  it('counts every kind of breach in what npm run layers prints', () => {
    const r = checkLayers(
      tree({
        'resources/types.ts': 'export interface ResourceHandler<K = string> { kind: K }\n',
        'resources/a.ts':
          "import type { ResourceHandler } from './types.js';\nimport { b } from './b.js';\nexport const a: ResourceHandler<'a'> = { kind: 'a' };\nexport const n = b;\n",
        'resources/b.ts': "import type { ResourceHandler } from './types.js';\nexport const b: ResourceHandler<'b'> = { kind: 'b' };\n",
        'commands/one.ts': "export async function oneCommand() {\n  return (await import('./two.js')).twoCommand();\n}\n",
        'commands/two.ts': "export async function twoCommand() {\n  const w = './one.js';\n  return import(w);\n}\n",
      }),
    );
    const { lines, fresh } = summarize(r);
    expect(fresh).toBe(3);
    expect(lines).toEqual(
      expect.arrayContaining([
        'kind imports kind: resources/a.ts -> resources/b.ts',
        'command imports command: commands/one.ts -> commands/two.ts',
        'dynamic import of no literal: commands/two.ts:3 import(w)',
        '3 new breach(es)',
      ]),
    );
  });

  it('flags a command file importing the AWS SDK (statically or dynamically), not an operation doing so', () => {
    const r = checkLayers(
      tree({
        'commands/one.ts':
          "import { S3Client } from '@aws-sdk/client-s3';\nexport async function oneCommand() {\n  return new S3Client({});\n}\n",
        'commands/two.ts':
          "export async function twoCommand() {\n  const { STSClient } = await import('@aws-sdk/client-sts');\n  return new STSClient({});\n}\n",
        'commands/three.ts': "import { run } from '../operations/run.js';\nexport async function threeCommand() {\n  return run();\n}\n",
        'operations/run.ts': "import { EC2Client } from '@aws-sdk/client-ec2';\nexport const run = () => new EC2Client({});\n",
      }),
    );
    expect(r.commandToSdk.map(arrowText)).toEqual(['commands/one.ts -> @aws-sdk/client-s3', 'commands/two.ts -> @aws-sdk/client-sts']);
    expect(r.upward).toEqual([]);
    const { lines, fresh } = summarize(r);
    expect(fresh).toBe(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        'command imports the SDK: commands/one.ts -> @aws-sdk/client-s3',
        'command imports the SDK: commands/two.ts -> @aws-sdk/client-sts',
      ]),
    );
  });

  it('flags one command importing another (statically or dynamically), not a command importing a helper of commands/', () => {
    const r = checkLayers(
      tree({
        'commands/session.ts': 'export const openSession = () => 1;\n',
        'commands/one.ts':
          "import { openSession } from './session.js';\nexport async function oneCommand() {\n  return (await import('./two.js')).twoCommand(openSession());\n}\n",
        'commands/two.ts': 'export const twoCommand = (n: number) => n;\n',
        'commands/three.ts': "import { twoCommand } from './two.js';\nexport async function threeCommand() {\n  return twoCommand(3);\n}\n",
      }),
    );
    expect(r.commandFiles).toEqual(['commands/one.ts', 'commands/three.ts', 'commands/two.ts']);
    expect(r.commandToCommand.map(arrowText)).toEqual(['commands/one.ts -> commands/two.ts', 'commands/three.ts -> commands/two.ts']);
  });
});
