import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arrowText, checkLayers, cycleText, KNOWN } from '../../src/devtools/layers.js';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

describe('import layering of src/ (DESIGN.md "Layers")', () => {
  const report = checkLayers(src);

  it('reads the imports of every file (dynamic import() is covered by the made-up tree below)', () => {
    expect(report.files).toBeGreaterThan(50);
    const arrows = report.arrows.map(arrowText);
    expect(arrows).toContain('cli/main.ts -> commands/create.ts');
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

  it('lists only known breaches that still occur (the list only shrinks)', () => {
    const up = report.upward.map(arrowText);
    const cyc = report.cycles.map(cycleText);
    expect(KNOWN.upward.filter((a) => !up.includes(a))).toEqual([]);
    expect(KNOWN.cycles.filter((c) => !cyc.includes(c))).toEqual([]);
  });
});

describe('the layering check itself', () => {
  it('flags an upward import and a circle in a made-up tree', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'layers-'));
    for (const d of ['model', 'engine', 'aws']) mkdirSync(path.join(dir, d));
    writeFileSync(path.join(dir, 'model/a.ts'), "import type { X } from '../engine/b.js';\nexport const a = 1;\n");
    writeFileSync(path.join(dir, 'engine/b.ts'), "export type X = 1;\nexport const b = () => import('../engine/c.js');\n");
    writeFileSync(path.join(dir, 'engine/c.ts'), "import { b } from './b.js';\n// import { z } from '../aws/z.js';\nexport const c = b;\n");
    writeFileSync(path.join(dir, 'aws/ok.ts'), "import { a } from '../model/a.js';\nexport const ok = a;\n");
    mkdirSync(path.join(dir, 'agent'));
    writeFileSync(path.join(dir, 'agent/main.ts'), "import { c } from '../engine/c.js';\nimport { a } from '../model/a.js';\nexport const m = [a, c];\n");
    const r = checkLayers(dir);
    expect(r.upward.map(arrowText)).toEqual(['model/a.ts -> engine/b.ts']);
    expect(r.forbidden.map(arrowText)).toEqual(['agent/main.ts -> engine/c.ts']);
    expect(r.cycles.map(cycleText)).toEqual(['engine/b.ts -> engine/c.ts -> engine/b.ts']);
  });
});
