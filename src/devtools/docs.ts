/**
 * `npm run docs`: regenerates schema/cluster.schema.json and docs/spec.md from the zod schema (a
 * unit test fails when either is stale). `--check` writes nothing and exits 1 when one differs.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSpecReference, specJsonSchema } from '../spec/docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The generated files: repository path → content. */
export async function generatedDocs(dir = root): Promise<Record<string, string>> {
  const example = await readFile(path.join(dir, 'cluster.example.yaml'), 'utf8');
  return {
    'schema/cluster.schema.json': `${JSON.stringify(specJsonSchema(), null, 2)}\n`,
    'docs/spec.md': renderSpecReference(specJsonSchema(), { file: 'cluster.example.yaml', text: example }),
  };
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of Object.entries(await generatedDocs())) {
    const file = path.join(root, rel);
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now === text) continue;
    stale++;
    if (check) process.stderr.write(`${rel} is stale: run npm run docs\n`);
    else {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
      process.stderr.write(`wrote ${rel}\n`);
    }
  }
  process.exitCode = check && stale ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
