/**
 * The import-layering check (`npm run layers`; also run by `npm test` through
 * test/unit/layers.test.ts). Every import in src/ is read from TypeScript's syntax tree: static
 * `import` and `export … from` (type-only ones too: they are arrows in the picture as well), a
 * type's `import('…')`, and every dynamic `import('…')` call, which is an import like any other.
 * Each is checked against the order in docs/architecture.md ("Layers"):
 *
 *   cli/ devtools/ agent/ → commands/ → operations/ → engine/ → resources/ → state/ etcd/ kube/ checks/ → aws/ → model/ pki/ → spec/ → errors.ts util/
 *
 * An import may go to its own folder, to a folder of the same rank, or downward; never upward.
 * The node agent (agent/) is an entry point like cli/, but it is bundled on its own and runs on
 * the instances: it may not import the CLI's machinery (FORBIDDEN), only what it shares (records,
 * etcd, aws, pki, model, spec, util). The named checks (checks/: cluster rules and pre-flight, which
 * the engine runs) sit beside the other clients of AWS below the kinds: they see AWS through aws/,
 * the model, the spec and util, and FORBIDDEN keeps them off the other folders of their rank.
 * Separately, no file may reach itself again through imports (a circle), whatever the folders;
 * no kind's file imports another kind's (what kinds share lives in aws/<service>.ts or in a
 * shared module of resources/ that defines no handler); no command's file imports another
 * command's; no file of commands/ imports the AWS SDK (its calls are the operations' or aws/'s);
 * and a dynamic `import()` whose specifier is not a string literal is refused, since nothing could
 * tell where it goes. The dynamic imports of the project's own modules are counted (`dynamic`),
 * one per call, and kept under DYNAMIC_CEILING outside the CLI's lazy command loading.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Folder → rank: an import must go to the same or a lower rank. */
export const RANK: Record<string, number> = {
  cli: 9,
  devtools: 9,
  // the node agent: its own entry point (bundled into dist/agent/kubeaz-agent.mjs); see FORBIDDEN
  agent: 9,
  // parse flags, call one operation, render its result
  commands: 8,
  // what a command does (apply, destroy, rollout, backup, status, endpoint lookup) and the session they share
  operations: 7,
  engine: 6,
  resources: 5,
  // clients of things that are not AWS resources: the state file, etcd snapshots, the Kubernetes API
  state: 4,
  etcd: 4,
  // record types shared by the CLI and the node agent (boot reports, etcd control-plane records)
  records: 4,
  kube: 4,
  // the named cluster rules and pre-flight checks the engine runs (checks/index.ts); no kind's handler
  checks: 4,
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
  agent: ['cli', 'devtools', 'commands', 'operations', 'engine', 'resources', 'checks'],
  checks: ['state', 'etcd', 'records', 'kube'],
};

export interface Arrow {
  from: string;
  to: string;
}

/** One dynamic `import('…')` of a project module: where it is, and what it loads. */
export interface DynamicImport extends Arrow {
  line: number;
}

/** A dynamic `import()` whose specifier is not a string literal. */
export interface OpaqueImport {
  file: string;
  line: number;
  text: string;
}

export interface LayerReport {
  files: number;
  /** one per importing file and imported file, whatever the form (static, type, dynamic) */
  arrows: Arrow[];
  /** imports that run upward: `from` sits below `to` */
  upward: Arrow[];
  /** imports FORBIDDEN names (agent/ into the CLI's machinery, checks/ beside aws/) */
  forbidden: Arrow[];
  /** each circle once, as the files around it (the first repeated at the end) */
  cycles: string[][];
  /** files in a folder missing from RANK */
  unranked: string[];
  /** every dynamic import() of a project module, one per call (each is in `arrows` too) */
  dynamic: DynamicImport[];
  /** dynamic import() calls of packages (node:…, the SDK): not arrows, counted for the record */
  dynamicPackages: number;
  /** dynamic import() calls the check cannot follow: their specifier is not a string literal */
  opaque: OpaqueImport[];
  /** the files of resources/ that define a kind's handler (an exported `ResourceHandler`) */
  kindFiles: string[];
  /** the files of commands/ that define a command (an exported function named `…Command`) */
  commandFiles: string[];
  /** imports from one kind's file to another's */
  kindToKind: Arrow[];
  /** imports from one command's file to another's */
  commandToCommand: Arrow[];
  /** imports of the AWS SDK (@aws-sdk/…) from a file of commands/, static or dynamic: the file, and the package */
  commandToSdk: Arrow[];
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
  for (const c of [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, `${base}/index.ts`])
    if (known.has(c)) return c;
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

/** What one file imports (specifiers with their line and form) and what it defines. */
interface FileFacts {
  imports: Array<{ spec: string; line: number; dynamic: boolean }>;
  opaque: OpaqueImport[];
  definesKind: boolean;
  definesCommand: boolean;
}

const isExported = (n: ts.Node): boolean =>
  (ts.canHaveModifiers(n) ? (ts.getModifiers(n) ?? []) : []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const namesResourceHandler = (t: ts.TypeNode | undefined): boolean =>
  !!t && ts.isTypeReferenceNode(t) && t.typeName.getText() === 'ResourceHandler';

function readFile(file: string, text: string): FileFacts {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const facts: FileFacts = { imports: [], opaque: [], definesKind: false, definesCommand: false };
  const lineOf = (n: ts.Node): number => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const add = (spec: string, at: ts.Node, dynamic: boolean): void => void facts.imports.push({ spec, line: lineOf(at), dynamic });
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      add(n.moduleSpecifier.text, n, false);
    else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression)
    )
      add(n.moduleReference.expression.text, n, false);
    // a type's import('…'): `import('../etcd/snapshots.js').RestoreRecord`
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal))
      add(n.argument.literal.text, n, false);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = n.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, n, true);
      else facts.opaque.push({ file, line: lineOf(n), text: n.getText(sf).replace(/\s+/g, ' ').slice(0, 100) });
    } else if (
      ts.isCallExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'require' &&
      n.arguments.length === 1 &&
      ts.isStringLiteralLike(n.arguments[0]!)
    )
      add(n.arguments[0].text, n, false);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const st of sf.statements) {
    if (!isExported(st)) continue;
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const init = d.initializer;
        if (
          namesResourceHandler(d.type) ||
          (init && (ts.isSatisfiesExpression(init) || ts.isAsExpression(init)) && namesResourceHandler(init.type))
        )
          facts.definesKind = true;
        if (ts.isIdentifier(d.name) && /Command$/.test(d.name.text) && init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)))
          facts.definesCommand = true;
      }
    } else if (ts.isFunctionDeclaration(st) && st.name && /Command$/.test(st.name.text)) facts.definesCommand = true;
  }
  return facts;
}

export function checkLayers(srcDir: string): LayerReport {
  const files = listTs(srcDir, srcDir).sort();
  const known = new Set(files);
  const arrows: Arrow[] = [];
  const dynamic: DynamicImport[] = [];
  const opaque: OpaqueImport[] = [];
  let dynamicPackages = 0;
  const kinds = new Set<string>();
  const commands = new Set<string>();
  const commandToSdk: Arrow[] = [];
  for (const from of files) {
    const facts = readFile(from, readFileSync(path.join(srcDir, from), 'utf8'));
    if (facts.definesKind && folderOf(from) === 'resources') kinds.add(from);
    if (facts.definesCommand && folderOf(from) === 'commands') commands.add(from);
    opaque.push(...facts.opaque);
    const targets = new Set<string>();
    for (const imp of facts.imports) {
      const to = resolve(from, imp.spec, known);
      if (imp.dynamic) {
        if (to) dynamic.push({ from, to, line: imp.line });
        else dynamicPackages++;
      }
      if (to && to !== from) targets.add(to);
      if (!to && folderOf(from) === 'commands' && imp.spec.startsWith('@aws-sdk/')) commandToSdk.push({ from, to: imp.spec });
    }
    for (const to of [...targets].sort()) arrows.push({ from, to });
  }
  const upward = arrows.filter((a) => {
    const [f, t] = [RANK[folderOf(a.from)], RANK[folderOf(a.to)]];
    return f !== undefined && t !== undefined && t > f;
  });
  const forbidden = arrows.filter((a) => FORBIDDEN[folderOf(a.from)]?.includes(folderOf(a.to)));
  const unranked = files.filter((f) => RANK[folderOf(f)] === undefined);
  return {
    files: files.length,
    arrows,
    upward,
    forbidden,
    cycles: findCycles(files, arrows),
    unranked,
    dynamic,
    dynamicPackages,
    opaque,
    kindFiles: [...kinds],
    commandFiles: [...commands],
    kindToKind: arrows.filter((a) => kinds.has(a.from) && kinds.has(a.to)),
    commandToCommand: arrows.filter((a) => commands.has(a.from) && commands.has(a.to)),
    commandToSdk,
  };
}

/** The CLI's lazy loading of its commands (cli/ → commands/): the dynamic imports the design keeps. */
export const isLazyCommandLoad = (d: Arrow): boolean => folderOf(d.from) === 'cli' && folderOf(d.to) === 'commands';

/** Dynamic imports counted by where they start: total, the CLI's lazy command loading, the rest by folder, and those into resources/ from engine/, commands/ or model/. */
export function dynamicCounts(r: LayerReport): {
  total: number;
  lazyCommands: number;
  elsewhere: number;
  byFolder: Record<string, number>;
  intoResources: number;
} {
  const rest = r.dynamic.filter((d) => !isLazyCommandLoad(d));
  const byFolder: Record<string, number> = {};
  for (const d of rest) byFolder[folderOf(d.from)] = (byFolder[folderOf(d.from)] ?? 0) + 1;
  const intoResources = r.dynamic.filter(
    (d) => folderOf(d.to) === 'resources' && ['engine', 'commands', 'model'].includes(folderOf(d.from)),
  ).length;
  return { total: r.dynamic.length, lazyCommands: r.dynamic.length - rest.length, elsewhere: rest.length, byFolder, intoResources };
}

export const arrowText = (a: Arrow): string => `${a.from} -> ${a.to}`;
export const cycleText = (c: string[]): string => c.join(' -> ');

export const dynamicText = (d: DynamicImport): string => `${d.from}:${d.line} -> ${d.to}`;

/**
 * Known breaches, each an exact text; one that no longer occurs fails the test, so the lists only
 * ever shrink. `upward` and `cycles` were emptied by issue 11. A command importing another
 * command, or the SDK, has no such list: issue 22's operations layer (src/operations/) emptied
 * the seven command-to-command imports there were, and any new one is a breach.
 */
export const KNOWN: { upward: string[]; cycles: string[] } = {
  upward: [],
  cycles: [],
};

/**
 * The most dynamic `import()` calls of project modules allowed outside the CLI's lazy command
 * loading: 45 when issue 22 began counting them, which asks for at most 25; 14 once the commands
 * and operations imported what they use; 10 once pre-flight's checks did too (cli/ 4: the error
 * report's modules and the completion script; devtools/ 5; agent/ 1). A ceiling that only comes
 * down: lower it as they go.
 */
export const DYNAMIC_CEILING = 10;

/** What `npm run layers` prints of a report, and how many breaches it holds beyond KNOWN (the exit code is 1 when any). */
export function summarize(r: LayerReport): { lines: string[]; fresh: number } {
  const out: string[] = [`${r.files} files, ${r.arrows.length} imports checked against ${Object.keys(RANK).join(' ')}`];
  const up = r.upward.map(arrowText);
  const cyc = r.cycles.map(cycleText);
  const cmd = r.commandToCommand.map(arrowText);
  for (const u of up) out.push(`upward: ${u}${KNOWN.upward.includes(u) ? '  (known)' : ''}`);
  for (const c of cyc) out.push(`circle: ${c}${KNOWN.cycles.includes(c) ? '  (known)' : ''}`);
  for (const f of r.unranked) out.push(`unranked folder: ${f}`);
  for (const a of r.forbidden) out.push(`forbidden: ${arrowText(a)}`);
  for (const a of r.kindToKind) out.push(`kind imports kind: ${arrowText(a)}`);
  for (const c of cmd) out.push(`command imports command: ${c}`);
  for (const a of r.commandToSdk) out.push(`command imports the SDK: ${arrowText(a)}`);
  for (const o of r.opaque) out.push(`dynamic import of no literal: ${o.file}:${o.line} ${o.text}`);
  const d = dynamicCounts(r);
  const folders = Object.entries(d.byFolder).map(([f, n]) => `${f} ${n}`);
  out.push(
    `${d.total} dynamic import() of project modules: ${d.lazyCommands} the CLI's lazy command loading, ${d.elsewhere} elsewhere` +
      `${folders.length ? ` (${folders.join(', ')})` : ''}, ${d.intoResources} into resources/ from engine/, commands/ or model/; ${r.dynamicPackages} of packages`,
  );
  const overCeiling = d.elsewhere > DYNAMIC_CEILING;
  if (overCeiling)
    out.push(`dynamic import() outside the CLI's lazy command loading: ${d.elsewhere}, over the ceiling of ${DYNAMIC_CEILING}`);
  const fresh =
    (overCeiling ? 1 : 0) +
    up.filter((u) => !KNOWN.upward.includes(u)).length +
    cyc.filter((c) => !KNOWN.cycles.includes(c)).length +
    cmd.length +
    r.commandToSdk.length +
    r.unranked.length +
    r.forbidden.length +
    r.kindToKind.length +
    r.opaque.length;
  out.push(fresh ? `${fresh} new breach(es)` : 'no import runs upward, no circle, no kind imports a kind, no command a command or the SDK');
  return { lines: out, fresh };
}

async function main(): Promise<void> {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
  const { lines, fresh } = summarize(checkLayers(src));
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = fresh ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
