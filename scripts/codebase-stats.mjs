#!/usr/bin/env node
// Size of the codebase, for before/after notes (issue 22): lines per folder, the longest functions,
// and the project's own dynamic import() calls per folder. Reads the files only; no build needed.
//   node scripts/codebase-stats.mjs (from the checkout to measure) [--top N] [--json]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = process.cwd();
const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1]) || 10;
const json = args.includes('--json');

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

const folders = {};
const functions = [];
const dynamic = {};
for (const base of ['src', 'test', 'templates', 'scripts']) {
  for (const file of walk(path.join(root, base))) {
    const rel = path.relative(root, file);
    const parts = rel.split(path.sep);
    const folder = parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    folders[folder] = (folders[folder] ?? 0) + lines;
    if (!/\.(ts|mts|mjs)$/.test(file)) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const line = (pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;
    const visit = (node, owner) => {
      let name = owner;
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        if (node.name) name = node.name.getText(sf);
        else if (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
        else name = `${owner ?? '(anonymous)'} › λ`;
        const start = line(node.getStart(sf));
        const length = line(node.end) - start + 1;
        if (!rel.startsWith('test/')) functions.push({ name, file: rel, line: start, length });
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const spec = node.arguments[0];
        if (spec && ts.isStringLiteralLike(spec) && spec.text.startsWith('.') && rel.startsWith('src/')) {
          dynamic[folder] = (dynamic[folder] ?? 0) + 1;
        }
      }
      ts.forEachChild(node, (c) => visit(c, name));
    };
    visit(sf, undefined);
  }
}
functions.sort((a, b) => b.length - a.length);
const result = {
  linesPerFolder: Object.fromEntries(Object.entries(folders).sort(([a], [b]) => a.localeCompare(b))),
  longestFunctions: functions.slice(0, top),
  functionsOver100Lines: functions.filter((f) => f.length > 100).length,
  projectDynamicImportsPerFolder: dynamic,
};
if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log('lines per folder:');
  for (const [f, n] of Object.entries(result.linesPerFolder)) console.log(`  ${f.padEnd(24)} ${String(n).padStart(6)}`);
  console.log(`\nlongest functions (src/, scripts/; ${result.functionsOver100Lines} over 100 lines):`);
  for (const f of result.longestFunctions) console.log(`  ${String(f.length).padStart(4)}  ${f.name}  ${f.file}:${f.line}`);
  console.log('\nproject dynamic import() per folder (src/):');
  for (const [f, n] of Object.entries(dynamic)) console.log(`  ${f.padEnd(24)} ${String(n).padStart(4)}`);
}
