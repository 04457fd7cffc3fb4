#!/usr/bin/env node
// Bundles the node agent (src/agent/main.ts) into ONE self-contained ES module,
// dist/agent/kubeaz-agent.mjs: every dependency inlined, only Node's built-in modules left as
// imports (checked here from esbuild's metafile; test/unit/agent/bundle.test.ts checks the file).
// Targets Node 20 (CI, boot-sim) and runs on AL2023's node-22. Part of `npm run build`.
// `--outfile PATH` builds elsewhere (the bundle test). The file is written to a temporary name and
// renamed into place: a reader (a running create uploading it) never sees half a bundle.
// (Its own two lines rather than src/util/atomic-write.ts: this plain-JS script must run without
// dist/ — test/unit/agent/bundle.test.ts runs it on an unbuilt checkout — and src/ is TypeScript.)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outfile');
const outfile = at > 0 && process.argv[at + 1] ? path.resolve(process.argv[at + 1]) : path.join(root, 'dist', 'agent', 'kubeaz-agent.mjs');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const result = await build({
  entryPoints: [path.join(root, 'src', 'agent', 'main.ts')],
  outfile,
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // CommonJS dependencies (grpc-js, parts of the SDK) call require(): an ES module has none, so define it
  banner: {
    js: "import { createRequire as __kubeazCreateRequire } from 'node:module';\nconst require = __kubeazCreateRequire(import.meta.url);",
  },
  // the same file whatever the machine: no source paths or timestamps in it, so its SHA-256 is stable
  legalComments: 'none',
  sourcemap: false,
  minify: false,
  metafile: true,
  write: false,
  logLevel: 'warning',
});

const external = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const foreign = [...new Set(external.filter((p) => !builtins.has(p)))];
if (foreign.length) {
  process.stderr.write(`build-agent: the bundle imports modules that are not Node built-ins: ${foreign.join(', ')}\n`);
  process.exit(1);
}
const [file] = result.outputFiles;
if (!file || result.outputFiles.length !== 1) {
  process.stderr.write(`build-agent: expected one output file, got ${result.outputFiles.length}\n`);
  process.exit(1);
}
const body = Buffer.from(file.contents);
mkdirSync(path.dirname(outfile), { recursive: true });
const tmp = `${outfile}.tmp-${process.pid}`;
writeFileSync(tmp, body);
renameSync(tmp, outfile);
process.stdout.write(
  `build-agent: ${path.relative(root, outfile)} ${(body.length / 1024).toFixed(0)} KiB sha256 ${createHash('sha256').update(body).digest('hex')}\n`,
);
