/**
 * The docs a newcomer follows: README.md is one page (at most 250 lines) and every relative link in
 * it and in docs/*.md names a file of this repository (none leaves it) and, with a #fragment, a
 * heading of that file. Links to upstream docs (http/https) are not checked here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILES = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lower case, punctuation but '-' and '_' dropped, spaces to '-'. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function withoutCode(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => slug(m[1]!)));
}

function links(file: string): string[] {
  const text = withoutCode(fs.readFileSync(path.join(ROOT, file), 'utf8'));
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
}

describe('the docs a newcomer follows', () => {
  it('README.md is one page of at most 250 lines', () => {
    const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('slug follows GitHub: `create` builds → create-builds', () => {
    expect(slug('What `create` builds')).toBe('what-create-builds');
    expect(slug('Acceptance run (a real AWS account)')).toBe('acceptance-run-a-real-aws-account');
  });

  it.each(FILES)('every relative link of %s stays in the repository and resolves', (file) => {
    const problems: string[] = [];
    for (const target of links(file)) {
      const [where, fragment] = target.split('#') as [string, string | undefined];
      const resolved = where === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), where);
      if (path.relative(ROOT, resolved).startsWith('..')) problems.push(`${target}: leaves the repository`);
      else if (!fs.existsSync(resolved)) problems.push(`${target}: no such file`);
      else if (fragment && resolved.endsWith('.md') && !anchors(path.relative(ROOT, resolved)).has(fragment))
        problems.push(`${target}: no heading #${fragment}`);
    }
    expect(problems).toEqual([]);
  });
});
