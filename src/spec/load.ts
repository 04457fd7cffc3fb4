/**
 * Reading a cluster spec: YAML text → validated ClusterSpec, every problem reported at once with
 * its path and the line it sits on. Nothing but SpecError ever leaves this module.
 *
 * Over 300 lines on purpose: YAML positions, zod issues and their wording are one pipeline
 * (issue → path → line → message), and splitting it would spread one message's making over files.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { clusterSchema, KUBERNETES_EOL, PRIVATE_RANGES, RESERVED_RANGES, overlaps, within, type ClusterSpec } from './schema.js';
import { parseCidr } from './cidr.js';
import { addonVersionWarning } from './versions.js';
import { EXIT_USAGE, KubeazFailure } from '../errors.js';

/** A cluster spec is a page of YAML; anything this large is a mistake (and parsing it costs memory and minutes). */
export const MAX_SPEC_BYTES = 256 * 1024;

export interface SpecIssue {
  /** like spec.nodeGroups[1].maxSize; '(file)' for whole-file problems */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export const FILE_PATH = '(file)';

export function formatIssue(i: SpecIssue): string {
  return `${i.path}${i.line !== undefined ? ` (line ${i.line})` : ''}: ${i.message}`;
}

/** Every problem of a spec at once: the user's, exit 2. */
export class SpecError extends KubeazFailure {
  override readonly name = 'SpecError';
  readonly issues: SpecIssue[];
  readonly file: string;
  constructor(file: string, issues: SpecIssue[]) {
    const n = issues.length;
    super(`${file}: ${n} problem${n === 1 ? '' : 's'}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, 'user', EXIT_USAGE);
    this.file = file;
    this.issues = issues;
  }
}

export interface ParsedSpec {
  spec: ClusterSpec;
  warnings: string[];
}

/**
 * A rule over the whole valid spec that lives above this layer (AWS's limits on the derived graph,
 * src/model/limits.ts): its problems are reported like the schema's, with the line of the field.
 */
export type SpecCheck = (spec: ClusterSpec) => Array<{ path: ReadonlyArray<string | number>; message: string }>;

// ── public API ────────────────────────────────────────────────────────────────────────────────

export function parseSpec(text: string, file = 'cluster.yaml', now: Date = new Date(), check?: SpecCheck): ParsedSpec {
  try {
    return parseUnsafe(text, file, now, check);
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError(file, [
      { path: FILE_PATH, message: `could not be read as a cluster spec: ${e instanceof Error ? e.message : String(e)}` },
    ]);
  }
}

export async function loadSpecFile(path: string, now: Date = new Date(), check?: SpecCheck): Promise<ParsedSpec & { file: string }> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new SpecError(path, [{ path: FILE_PATH, message: `${path} is a directory, not a cluster spec file` }]);
    if (!st.isFile()) throw new SpecError(path, [{ path: FILE_PATH, message: `${path} is not a regular file` }]);
    if (st.size > MAX_SPEC_BYTES) throw new SpecError(path, [{ path: FILE_PATH, message: tooLarge(st.size) }]);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof SpecError) throw e;
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    const why =
      code === 'ENOENT'
        ? `${path} does not exist (create one from cluster.example.yaml)`
        : code === 'EACCES' || code === 'EPERM'
          ? `${path} cannot be read: permission denied`
          : code === 'EISDIR'
            ? `${path} is a directory, not a cluster spec file`
            : code === 'ENOTDIR'
              ? `${path} does not exist (a part of the path is not a directory)`
              : `${path} cannot be read${code ? ` (${code})` : ''}`;
    throw new SpecError(path, [{ path: FILE_PATH, message: why }]);
  }
  return { ...parseSpec(text, path, now, check), file: path };
}

/** The JSON Schema of cluster.yaml (input side: defaults are optional), with descriptions: see docs.ts. */
export { specJsonSchema } from './docs.js';

/**
 * Masters are spread round-robin over the zones (src/model/names.ts masterGroups): with fewer
 * zones than masters one zone may hold a majority of etcd's members, and losing that zone loses
 * quorum (the API stops until the zone returns or the cluster restores from a snapshot).
 */
export function zoneMajorityWarning(spec: ClusterSpec): string | undefined {
  const { count } = spec.spec.controlPlane;
  const zones = spec.spec.zones;
  if (count <= 1 || zones.length >= count) return undefined;
  const per = new Map<string, number>();
  for (let i = 0; i < count; i++) per.set(zones[i % zones.length]!, (per.get(zones[i % zones.length]!) ?? 0) + 1);
  const [zone, n] = [...per].sort((a, b) => b[1] - a[1])[0]!;
  if (n <= count / 2) return undefined;
  return `spec.controlPlane.count ${count} on ${zones.length} zones: ${zone} holds ${n} of the ${count} masters, a majority of etcd's members — losing that zone loses quorum and the API stops until the zone returns (or the cluster is restored from a snapshot); list at least ${count} zones to survive a zone outage`;
}

/** Warnings that do not stop a run: a Kubernetes minor past its upstream end of life. */
export function specWarnings(spec: ClusterSpec, now: Date = new Date()): string[] {
  const warnings: string[] = [];
  const minor = spec.spec.kubernetesVersion.split('.').slice(0, 2).join('.');
  const eol = KUBERNETES_EOL[minor];
  if (eol && now.getTime() > Date.parse(`${eol}T23:59:59Z`))
    warnings.push(
      `kubernetesVersion ${spec.spec.kubernetesVersion}: Kubernetes ${minor} reached its end of life on ${eol} and gets no more security fixes; consider a newer minor`,
    );
  const net = parseCidr(spec.spec.network.vpcCidr);
  if (net && !PRIVATE_RANGES.some((r) => within(net, parseCidr(r)!)) && !RESERVED_RANGES.some(([r]) => overlaps(net, parseCidr(r)!)))
    warnings.push(
      `spec.network.vpcCidr ${spec.spec.network.vpcCidr} is a public address range: hosts on the internet with those addresses become unreachable from the cluster; prefer 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`,
    );
  const addons = addonVersionWarning(spec.spec.kubernetesVersion);
  if (addons) warnings.push(addons);
  const quorum = zoneMajorityWarning(spec);
  if (quorum) warnings.push(quorum);
  return warnings;
}

// ── parsing ───────────────────────────────────────────────────────────────────────────────────

const tooLarge = (bytes: number) =>
  `the file is ${bytes} bytes; a cluster spec may be at most ${MAX_SPEC_BYTES} bytes (${MAX_SPEC_BYTES / 1024} KiB)`;

function parseUnsafe(text: string, file: string, now: Date, check?: SpecCheck): ParsedSpec {
  if (Buffer.byteLength(text, 'utf8') > MAX_SPEC_BYTES)
    throw new SpecError(file, [{ path: FILE_PATH, message: tooLarge(Buffer.byteLength(text, 'utf8')) }]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const pos = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };

  if (doc.errors.length) {
    throw new SpecError(
      file,
      doc.errors.map((e) => ({
        path: FILE_PATH,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : pos(e.pos?.[0])),
        message: `YAML syntax error: ${yamlMessage(e.message)}`,
      })),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === undefined))) {
    throw new SpecError(file, [
      { path: FILE_PATH, message: 'the file is empty; a cluster spec starts with apiVersion: kubeaz/v1 and kind: Cluster' },
    ]);
  }
  if (!isMap(doc.contents)) {
    const what = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw new SpecError(file, [
      {
        path: FILE_PATH,
        ...pos(doc.contents.range?.[0]),
        message: `the file holds ${what}; a cluster spec is a mapping with apiVersion, kind, metadata and spec`,
      },
    ]);
  }

  const warnings = doc.warnings.map((w) => {
    const p = w.linePos?.[0];
    return `${file}${p ? ` (line ${p.line})` : ''}: ${yamlMessage(w.message)}`;
  });

  const input: unknown = doc.toJS({ maxAliasCount: 1000 });
  const result = clusterSchema.safeParse(input);
  if (!result.success) {
    const issues = dedupe(result.error.issues.flatMap((i) => toSpecIssues(i, doc, input, pos)));
    // A misspelled key already says 'did you mean X?': its 'X is required' twin adds nothing.
    const suggested = new Set(issues.map((i) => i.suggests).filter((p): p is string => p !== undefined));
    const kept = issues.filter((i) => !(suggested.has(i.path) && / is required\b/.test(i.message)));
    throw new SpecError(
      file,
      kept.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)).map(({ suggests: _, ...i }) => i),
    );
  }
  const problems = check?.(result.data) ?? [];
  if (problems.length)
    throw new SpecError(
      file,
      problems
        .map((p) => ({ path: formatPath(p.path), ...locate(doc, p.path, pos), message: p.message }))
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    );
  return { spec: result.data, warnings: [...warnings, ...specWarnings(result.data, now)] };
}

function yamlMessage(m: string): string {
  return (m.split('\n')[0] ?? m).replace(/\s*at line \d+, column \d+:?\s*$/, '').trim();
}

function dedupe<T extends SpecIssue>(issues: T[]): T[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.line}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

type PathSeg = string | number;

export function formatPath(path: ReadonlyArray<PathSeg>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out || FILE_PATH;
}

/** The last segment(s) that name the field, for messages: minSize, zones[1]. */
function fieldName(path: readonly PathSeg[]): string {
  let i = path.length - 1;
  while (i >= 0 && typeof path[i] === 'number') i--;
  if (i < 0) return 'the document';
  return formatPath(path.slice(i));
}

function valueAt(input: unknown, path: readonly PathSeg[]): { found: boolean; value?: unknown } {
  let cur: unknown = input;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false };
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return { found: true, value: cur };
}

/**
 * The position of the YAML node at `path`: for a mapping entry the line of its key, for a list
 * item the item; when the path does not exist, the nearest existing parent's position.
 */
function locate(
  doc: Document,
  path: ReadonlyArray<PathSeg>,
  pos: (o: number | undefined) => { line?: number; column?: number },
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let best = pos((doc.contents as YamlNode | null)?.range?.[0]);
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) === String(seg) : String(p.key) === String(seg)),
      );
      if (!pair) return best;
      const keyNode = pair.key as YamlNode | null;
      const at = pos(keyNode?.range?.[0] ?? (pair.value as YamlNode | null)?.range?.[0]);
      if (at.line !== undefined) best = at;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return best;
      const at = pos(item.range?.[0]);
      if (at.line !== undefined) best = at;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

/** The allowed keys of the object schema at `path` inside clusterSchema (undefined when not an object). */
function knownKeysAt(path: readonly PathSeg[]): string[] | undefined {
  let schema: unknown = clusterSchema;
  const unwrap = (s: unknown): unknown => {
    for (let i = 0; i < 20; i++) {
      const def = (s as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined)?.def;
      if (!def) return s;
      if (
        def.type === 'default' ||
        def.type === 'optional' ||
        def.type === 'nullable' ||
        def.type === 'prefault' ||
        def.type === 'readonly' ||
        def.type === 'catch'
      )
        s = def.innerType;
      else if (def.type === 'pipe') s = def.in;
      else return s;
    }
    return s;
  };
  for (const seg of path) {
    schema = unwrap(schema);
    const def = (schema as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (!def) return undefined;
    if (def.type === 'object' && typeof seg === 'string' && def.shape) schema = def.shape[seg];
    else if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else return undefined;
  }
  schema = unwrap(schema);
  const def = (schema as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The known key a misspelled one most likely meant: same letters in another case, or within 2 edits. */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= 2 && bestD < unknown.length ? best : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value pairs)',
  record: 'a mapping (key: value pairs)',
};

function describeValue(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  return `${typeof v === 'number' ? 'the number' : typeof v} ${String(v)}`;
}

const isDefaultMessage = (m: string) =>
  /^(Invalid (input|option|key|element|string|value|union)|Too (small|big)|Unrecognized key|Expected )/.test(m);

type ZIssue = z.core.$ZodIssue;

type RawIssue = SpecIssue & { suggests?: string };

function toSpecIssues(
  issue: ZIssue,
  doc: Document,
  input: unknown,
  pos: (o: number | undefined) => { line?: number; column?: number },
): RawIssue[] {
  const path = issue.path.filter((p): p is PathSeg => typeof p === 'string' || typeof p === 'number');
  const field = fieldName(path);

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path) ?? [];
    const present = valueAt(input, path);
    const presentKeys = present.found && present.value && typeof present.value === 'object' ? Object.keys(present.value) : [];
    return issue.keys.map((key) => {
      const candidates = known.filter((k) => !presentKeys.includes(k));
      const hint = suggestKey(key, candidates) ?? suggestKey(key, known);
      const where = path.length ? `in ${formatPath(path)}` : 'at the top level';
      return {
        ...(hint ? { suggests: formatPath([...path, hint]) } : {}),
        path: formatPath([...path, key]),
        ...locate(doc, [...path, key], pos),
        message: hint
          ? `unknown field '${key}' ${where}; did you mean ${hint}?`
          : `unknown field '${key}' ${where}; allowed: ${known.join(', ')}`,
      };
    });
  }

  const at = valueAt(input, path);
  const loc = locate(doc, path, pos);
  const out = (message: string): SpecIssue[] => [{ path: formatPath(path), ...loc, message }];
  const custom = !isDefaultMessage(issue.message);
  // Messages such as 'must be an IPv4 CIDR …' read better with the field's name in front.
  const named = (m: string) => (/^(must|may|is|has|should) /.test(m) ? `${field} ${m}` : m);

  switch (issue.code) {
    case 'invalid_type': {
      if (!at.found || at.value === undefined) return out(`${field} is required`);
      if (custom) return out(named(issue.message));
      const want = TYPE_NAMES[issue.expected] ?? issue.expected;
      return out(`${field} must be ${want}, not ${describeValue(at.value)}`);
    }
    case 'invalid_value': {
      const vals = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      if (!at.found || at.value === undefined)
        return out(vals.length === 1 ? `${field} is required (${field}: ${vals[0]})` : `${field} is required (one of ${vals.join(', ')})`);
      if (custom) return out(named(issue.message));
      return out(
        vals.length === 1 ? `${field} must be ${vals[0]}` : `${field} must be one of ${vals.join(', ')} (got ${describeValue(at.value)})`,
      );
    }
    case 'too_small': {
      if (custom) return out(named(issue.message));
      const n = Number(issue.minimum);
      if (issue.origin === 'string') return out(n <= 1 ? `${field} must not be empty` : `${field} must be at least ${n} characters`);
      if (issue.origin === 'array' || issue.origin === 'set') return out(`${field} must have at least ${n} item${n === 1 ? '' : 's'}`);
      return out(`${field} must be ${issue.inclusive === false ? 'more than' : 'at least'} ${n}`);
    }
    case 'too_big': {
      if (custom) return out(named(issue.message));
      const n = Number(issue.maximum);
      if (issue.origin === 'string') return out(`${field} must be at most ${n} characters`);
      if (issue.origin === 'array' || issue.origin === 'set') return out(`${field} must have at most ${n} item${n === 1 ? '' : 's'}`);
      return out(`${field} must be ${issue.inclusive === false ? 'less than' : 'at most'} ${n}`);
    }
    case 'invalid_format':
      return out(
        custom ? named(issue.message) : `${field} has an invalid format${issue.format === 'regex' ? '' : ` (expected ${issue.format})`}`,
      );
    case 'not_multiple_of':
      return out(custom ? named(issue.message) : `${field} must be a multiple of ${String(issue.divisor)}`);
    case 'invalid_key': {
      const inner = issue.issues.map((i) => i.message).filter((m) => !isDefaultMessage(m));
      const key = path[path.length - 1];
      return out(`key '${String(key)}' ${inner.length ? `is invalid: ${inner.join('; ')}` : 'is not allowed here'}`);
    }
    case 'invalid_element':
      return issue.issues.flatMap((i) => toSpecIssues({ ...i, path: [...issue.path, ...i.path] } as ZIssue, doc, input, pos));
    case 'invalid_union':
      return out(custom ? named(issue.message) : `${field} does not match any allowed form`);
    case 'custom':
    default:
      return out(custom ? named(issue.message) : `${field} is not valid`);
  }
}
