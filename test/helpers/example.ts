/**
 * cluster.example.yaml ships without a public domain (it must work on an account that owns none),
 * and shows in commented lines how to add one. Tests that need the public zone and its records use
 * the example with those lines switched on, exactly as a user would: the comment markers go, the
 * lines stay.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXAMPLE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cluster.example.yaml');

/** the commented lines of the example that add a public domain, and what they become */
const SWITCHES: Array<[RegExp, string]> = [
  [/^( {4})# (publicDomain: example\.com)\n/m, '$1$2\n'],
  [/^( {6})# (publicRecord: lb)\b[^\n]*\n/m, '$1$2\n'],
];

/** `yaml` (the example's text) with its commented publicDomain and publicRecord lines switched on. */
export function withPublicDomain(yaml: string): string {
  return SWITCHES.reduce((text, [re, to]) => {
    if (!re.test(text)) throw new Error(`test bug: the example has no line matching ${re}`);
    return text.replace(re, to);
  }, yaml);
}

/** cluster.example.yaml with a public domain (example.com) and the edge group's record lb.example.com. */
export const examplePublicDomain = (): string => withPublicDomain(readFileSync(EXAMPLE_FILE, 'utf8'));
