/**
 * The import-layering check (`npm run layers`; also run by `npm test` through
 * test/unit/layers.test.ts). Every static import, `export … from` and dynamic `import()` in src/
 * is read with TypeScript's own pre-processor and checked against the order in DESIGN.md:
 *
 *   cli/ devtools/ agent/ → commands/ → engine/ → resources/ → state/ etcd/ kube/ → aws/ → model/ pki/ → spec/ → errors.ts util/
 *
 * An import may go to its own folder, to a folder of the same rank, or downward; never upward.
 * The node agent (agent/) is an entry point like cli/, but it is bundled on its own and runs on
 * the instances: it may not import the CLI's machinery (FORBIDDEN), only what it shares (records,
 * etcd, aws, pki, model, spec, util).
 * Separately, no file may reach itself again through imports (a circle), whatever the folders.
 * Type-only imports count: they are arrows in the picture too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Folder → rank: an import must go to the same or a lower rank. */
export const RANK: Record<string, number> = {
  cli: 8,
  devtools: 8,
  // the node agent: its own entry point (bundled into dist/agent/kubeaz-agent.mjs); see FORBIDDEN
  agent: 8,
  commands: 7,
  engine: 6,
  resources: 5,
  // clients of things that are not AWS resources: the state file, etcd snapshots, the Kubernetes API
  state: 4,
  etcd: 4,
  // record types shared by the CLI and the node agent (boot reports, etcd control-plane records)
  records: 4,
  kube: 4,
  aws: 3,
  model: 2,
  pki: 2,
  spec: 1,
  // files at the top of src/: errors.ts, the base error every layer throws (it imports nothing)
  '.': 0,
  // small helpers every layer shares (chunks, an abortable sleep, retry within a budget): they import nothing
  util: 0,
};

/** Folder → folders it may never import, whatever the ranks say. */
export const FORBIDDEN: Record<string, readonly string[]> = {
  agent: ['cli', 'devtools', 'commands', 'operations', 'engine', 'resources'],
};

export interface Arrow {
  from: string;
  to: string;
}

export interface LayerReport {
  files: number;
  arrows: Arrow[];
  /** imports that run upward: `from` sits below `to` */
  upward: Arrow[];
  /** imports FORBIDDEN names (agent/ into the CLI's machinery) */
  forbidden: Arrow[];
  /** each circle once, as the files around it (the first repeated at the end) */
  cycles: string[][];
  /** files in a folder missing from RANK */
  unranked: string[];
}

function listTs(dir: string, root: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, root, out);
    else if (/\.(ts|mts|tsx)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.relative(root, p).split(path.sep).join('/'));
  }
  return out;
}

/** The src-relative file an import specifier names, or undefined for a package. */
function resolve(from: string, spec: string, known: Set<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const c of [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, `${base}/index.ts`]) if (known.has(c)) return c;
  return base;
}

const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/** Circles in the file graph (Tarjan's strongly connected components, then one path through each). */
function findCycles(files: string[], arrows: Arrow[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const a of arrows) next.get(a.from)?.push(a.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  let i = 0;
  const visit = (v: string): void => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) sccs.push(scc);
    }
  };
  for (const f of [...files].sort()) if (!index.has(f)) visit(f);
  // name each component by one concrete circle through its smallest file
  return sccs.map((scc) => {
    const inside = new Set(scc);
    const start = [...scc].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    const seen = new Set([start]);
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of next.get(v) ?? []) {
        if (!inside.has(w)) continue;
        if (w === start) {
          const pathBack = [v];
          while (pathBack[0] !== start) pathBack.unshift(prev.get(pathBack[0]!)!);
          return [...pathBack, start];
        }
        if (!seen.has(w)) {
          seen.add(w);
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...scc, scc[0]!];
  });
}

export function checkLayers(srcDir: string): LayerReport {
  const files = listTs(srcDir, srcDir).sort();
  const known = new Set(files);
  const arrows: Arrow[] = [];
  for (const from of files) {
    const info = ts.preProcessFile(readFileSync(path.join(srcDir, from), 'utf8'), true, true);
    const targets = new Set<string>();
    for (const imp of info.importedFiles) {
      const to = resolve(from, imp.fileName, known);
      if (to && to !== from) targets.add(to);
    }
    for (const to of [...targets].sort()) arrows.push({ from, to });
  }
  const upward = arrows.filter((a) => {
    const [f, t] = [RANK[folderOf(a.from)], RANK[folderOf(a.to)]];
    return f !== undefined && t !== undefined && t > f;
  });
  const forbidden = arrows.filter((a) => FORBIDDEN[folderOf(a.from)]?.includes(folderOf(a.to)));
  const unranked = files.filter((f) => RANK[folderOf(f)] === undefined);
  return { files: files.length, arrows, upward, forbidden, cycles: findCycles(files, arrows), unranked };
}

export const arrowText = (a: Arrow): string => `${a.from} -> ${a.to}`;
export const cycleText = (c: string[]): string => c.join(' -> ');

/**
 * Known breaches removed by the engine half of issue 11 (engine/destroy.ts ↔ engine/reconcile.ts,
 * and the kind modules the engine and commands import). Entries are exact; one that no longer
 * occurs fails the test so the list only ever shrinks.
 */
export const KNOWN: { upward: string[]; cycles: string[] } = {
  upward: [],
  cycles: [],
};

async function main(): Promise<void> {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
  const r = checkLayers(src);
  const out: string[] = [`${r.files} files, ${r.arrows.length} imports checked against ${Object.keys(RANK).join(' ')}`];
  const up = r.upward.map(arrowText);
  const cyc = r.cycles.map(cycleText);
  for (const u of up) out.push(`upward: ${u}${KNOWN.upward.includes(u) ? '  (known)' : ''}`);
  for (const c of cyc) out.push(`circle: ${c}${KNOWN.cycles.includes(c) ? '  (known)' : ''}`);
  for (const f of r.unranked) out.push(`unranked folder: ${f}`);
  for (const a of r.forbidden) out.push(`forbidden: ${arrowText(a)}`);
  const fresh = up.filter((u) => !KNOWN.upward.includes(u)).length + cyc.filter((c) => !KNOWN.cycles.includes(c)).length + r.unranked.length + r.forbidden.length;
  out.push(fresh ? `${fresh} new breach(es)` : 'no import runs upward and no circle (beyond the known list)');
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = fresh ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
