/**
 * The spec file as every command reads it: the schema, and AWS's limits on everything kubeaz
 * derives from it. No AWS call and no SDK: `validate` loads only this.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { limitIssues } from '../model/limits.js';
import { loadSpecFile } from '../spec/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const TEMPLATES_DIR = path.resolve(here, '..', '..', 'templates');

export async function loadTemplates(dir = TEMPLATES_DIR): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p).split(path.sep).join('/')] = await readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

/**
 * The spec file, valid by the schema AND by AWS's limits on everything kubeaz derives from it
 * (src/model/limits.ts): what validate and every AWS-touching command read, so no command starts
 * a create that AWS would refuse half-way through.
 */
export async function loadCheckedSpec(file: string): Promise<Awaited<ReturnType<typeof loadSpecFile>>> {
  const templates = await loadTemplates();
  return loadSpecFile(file, new Date(), (spec) => limitIssues(spec, templates));
}
