import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecFile, parseSpec, specJsonSchema, SpecError, suggestKey, type SpecIssue } from '../../src/spec/load.js';
import { withPublicDomain } from '../helpers/example.js';

const NOW = new Date('2026-01-15T00:00:00Z');

/** A valid spec; line numbers below are found with lineOf() so edits stay readable. */
const BASE = `apiVersion: kubeaz/v1
kind: Cluster
metadata:
  name: demo
  environment: dev
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 10.0.0.0/16
  controlPlane:
    instanceType: m5.large
  nodeGroups:
    - name: workers
      instanceType: m5.large
      minSize: 1
      maxSize: 3
    - name: edge
      role: loadbalancer
      instanceType: c5.large
      minSize: 2
      maxSize: 2
`;

/** BASE with `from` (exactly once) replaced by `to`. */
function edit(from: string, to: string, text = BASE): string {
  const i = text.indexOf(from);
  if (i < 0 || text.indexOf(from, i + 1) >= 0) throw new Error(`test bug: '${from}' must occur exactly once`);
  return text.slice(0, i) + to + text.slice(i + from.length);
}

/** 1-based line of the first line containing `needle` (after `after`, when given). */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const start = after ? lines.findIndex((l) => l.includes(after)) : 0;
  const i = lines.findIndex((l, j) => j >= start && l.includes(needle));
  if (i < 0) throw new Error(`test bug: '${needle}' not in text`);
  return i + 1;
}

function issuesOf(text: string, file = 'cluster.yaml'): SpecIssue[] {
  try {
    parseSpec(text, file, NOW);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error('expected a SpecError');
}

/** Asserts an issue at exactly `path` exists (with the line when given) whose message matches. */
function expectIssue(text: string, path: string, line: number | undefined, message: RegExp): SpecIssue {
  const issues = issuesOf(text);
  const hit = issues.find((i) => i.path === path && message.test(i.message));
  expect(
    hit,
    `no issue at ${path} matching ${message}; got:\n${issues.map((i) => `${i.path} (line ${i.line}): ${i.message}`).join('\n')}`,
  ).toBeDefined();
  if (line !== undefined) expect(hit!.line).toBe(line);
  expect(hit!.message).not.toMatch(/Invalid input|expected .*, received|\bat Object\.|\n/);
  return hit!;
}

describe('parseSpec: valid files', () => {
  it('accepts BASE and the example, with no warnings', async () => {
    expect(parseSpec(BASE, 'cluster.yaml', NOW).warnings).toEqual([]);
    const example = await readFile(new URL('../../cluster.example.yaml', import.meta.url), 'utf8');
    const { spec, warnings } = parseSpec(example, 'cluster.example.yaml', NOW);
    expect(warnings).toEqual([]);
    expect(spec.metadata).toEqual({ name: 'demo', environment: 'dev' });
    expect(spec.spec.nodeGroups.map((g) => g.name)).toEqual(['workers', 'edge']);
    // no publicDomain (it works on an account that owns no domain); its commented lines add one
    expect(spec.spec.dns).toEqual({ internalDomain: 'dev.kube' });
    expect(spec.spec.nodeGroups[1]!.publicRecord).toBeUndefined();
    const on = parseSpec(withPublicDomain(example), 'cluster.example.yaml', NOW);
    expect(on.warnings).toEqual([]);
    expect(on.spec.spec.dns).toEqual({ internalDomain: 'dev.kube', publicDomain: 'example.com' });
    expect(on.spec.spec.nodeGroups[1]).toMatchObject({ name: 'edge', elasticIps: 2, publicRecord: 'lb' });
  });

  it('fills in the defaults', () => {
    const minimal = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: demo, environment: dev }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.34.1"
  network: { vpcCidr: 10.0.0.0/16 }
  controlPlane: { instanceType: m5.large }
`;
    const s = parseSpec(minimal, 'c.yaml', NOW).spec.spec;
    expect(s.network.apiAccess).toEqual(['0.0.0.0/0']);
    expect(s.network.nat).toBe('perZone');
    expect(s.network.tenancy).toBe('default');
    expect(s.nodeGroups).toEqual([]);
    expect(s.etcd).toEqual({ backupIntervalMinutes: 15, backupRetentionDays: 7 });
    expect(s.iam.users).toEqual([]);
    expect(s.tags).toEqual({});
    expect(s.dns).toEqual({});
    expect(s.controlPlane.volumeSize).toBe(50);
  });

  it('defaults subnets per role, desiredCapacity to minSize, elasticIps to 0, labels/taints empty', () => {
    const g = parseSpec(BASE, 'c.yaml', NOW).spec.spec.nodeGroups;
    expect(g[0]).toMatchObject({ role: 'node', subnets: 'private', desiredCapacity: 1, elasticIps: 0, labels: {}, taints: [] });
    expect(g[1]).toMatchObject({ role: 'loadbalancer', subnets: 'public', desiredCapacity: 2, elasticIps: 0 });
    const explicit = parseSpec(
      edit('      maxSize: 3\n', '      maxSize: 3\n      desiredCapacity: 2\n      subnets: public\n'),
      'c.yaml',
      NOW,
    ).spec.spec.nodeGroups[0]!;
    expect(explicit).toMatchObject({ desiredCapacity: 2, subnets: 'public' });
  });

  it('accepts etcd overrides and a partial etcd block', () => {
    const s = parseSpec(`${BASE}  etcd:\n    backupRetentionDays: 30\n`, 'c.yaml', NOW).spec.spec;
    expect(s.etcd).toEqual({ backupIntervalMinutes: 15, backupRetentionDays: 30 });
  });
});

describe('parseSpec: whole-file problems', () => {
  it('reports a YAML syntax error with its line', () => {
    const text = edit('  zones: [us-east-1a, us-east-1b, us-east-1c]', '  zones: [us-east-1a, us-east-1b');
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues[0]!.path).toBe('(file)');
    expect(issues[0]!.message).toMatch(/^YAML syntax error: /);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(lineOf(text, 'zones:'));
    expect(issues[0]!.line).toBeLessThanOrEqual(lineOf(text, 'kubernetesVersion') + 1);
    expect(issues[0]!.column).toBeTypeOf('number');
  });

  it('reports every YAML syntax error, not only the first', () => {
    const text = 'apiVersion: kubeaz/v1\nkind: Cluster\nkind: Cluster\nmetadata:\n\tname: x\n';
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThanOrEqual(2);
    expect(issues.every((i) => i.path === '(file)' && typeof i.line === 'number')).toBe(true);
    expect(issues.find((i) => /unique/i.test(i.message))?.line).toBe(3);
    expect(issues.find((i) => /tab/i.test(i.message))?.line).toBe(5);
  });

  it('reports a tab indentation error at its line', () => {
    const issues = issuesOf(edit('    vpcCidr: 10.0.0.0/16', '\tvpcCidr: 10.0.0.0/16'));
    expect(issues[0]).toMatchObject({ path: '(file)', line: lineOf(BASE, 'vpcCidr') });
  });

  it('reports an empty file (or one with only comments) as one clear issue', () => {
    for (const text of ['', '\n\n', '# nothing here\n', '---\n']) {
      const issues = issuesOf(text);
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ path: '(file)' });
      expect(issues[0]!.message).toMatch(/empty/);
    }
  });

  it('reports a file that is a list', () => {
    const issues = issuesOf('- apiVersion: kubeaz/v1\n- kind: Cluster\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '(file)', line: 1 });
    expect(issues[0]!.message).toMatch(/a list; a cluster spec is a mapping/);
  });

  it('reports a file that is a single value', () => {
    const issues = issuesOf('hello world\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/single value/);
  });

  it('reports a second YAML document', () => {
    const issues = issuesOf(`${BASE}---\nkind: Other\n`);
    expect(issues[0]).toMatchObject({ path: '(file)', line: lineOf(`${BASE}---\n`, '---') });
  });

  it('throws only SpecError, whatever the input', () => {
    const nasty = [
      '{',
      '[',
      ']',
      'a: *missing',
      '!!binary zzz',
      '\u0000',
      ': :',
      'apiVersion: [',
      'x: &a [*a]',
      '"unterminated',
      '? complex\n: key',
      '- - - -',
      'a: !!int foo',
    ];
    for (const text of nasty) {
      try {
        parseSpec(text, 'c.yaml', NOW);
        throw new Error(`accepted ${JSON.stringify(text)}`);
      } catch (e) {
        expect(e, JSON.stringify(text)).toBeInstanceOf(SpecError);
        expect((e as SpecError).issues.length).toBeGreaterThan(0);
      }
    }
  });

  it('formats the message with one line per issue: path (line N): message', () => {
    const text = edit('      maxSize: 3', '      maxSize: 0');
    try {
      parseSpec(text, 'my.yaml', NOW);
      expect.unreachable();
    } catch (e) {
      const err = e as SpecError;
      expect(err.name).toBe('SpecError');
      expect(err.file).toBe('my.yaml');
      const lines = err.message.split('\n');
      expect(lines[0]).toBe('my.yaml: 1 problem');
      expect(lines[1]!.trim()).toBe(
        `spec.nodeGroups[0].maxSize (line ${lineOf(text, 'maxSize: 0')}): maxSize (0) is less than minSize (1)`,
      );
      expect(err.message).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
  });
});

describe('loadSpecFile', () => {
  it('loads a file and returns its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeaz-spec-'));
    try {
      const file = join(dir, 'cluster.yaml');
      await writeFile(file, BASE);
      const r = await loadSpecFile(file, NOW);
      expect(r.file).toBe(file);
      expect(r.spec.metadata.name).toBe('demo');
      expect(r.warnings).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing file clearly, without ENOENT or a stack', async () => {
    const err = await loadSpecFile('/nonexistent/dir/cluster.yaml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    const issues = (err as SpecError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '(file)' });
    expect(issues[0]!.message).toMatch(/\/nonexistent\/dir\/cluster\.yaml does not exist/);
    expect((err as SpecError).message).not.toMatch(/ENOENT|node:internal|\bat /);
  });

  it('reports a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeaz-spec-'));
    try {
      const err = await loadSpecFile(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).issues[0]!.message).toMatch(/is a directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() === 0)('reports an unreadable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeaz-spec-'));
    try {
      const file = join(dir, 'cluster.yaml');
      await writeFile(file, BASE);
      await chmod(file, 0o000);
      const err = await loadSpecFile(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).issues[0]!.message).toMatch(/permission denied/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('carries the file name in validation errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeaz-spec-'));
    try {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, edit('kind: Cluster', 'kind: Klaster'));
      const err = await loadSpecFile(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).message.split('\n')[0]).toBe(`${file}: 1 problem`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseSpec: header', () => {
  it('rejects a wrong apiVersion', () => {
    expectIssue(edit('apiVersion: kubeaz/v1', 'apiVersion: kubeaz/v2'), 'apiVersion', 1, /^apiVersion must be 'kubeaz\/v1'$/);
  });
  it('rejects a wrong kind', () => {
    expectIssue(edit('kind: Cluster', 'kind: Clusters'), 'kind', 2, /^kind must be 'Cluster'$/);
  });
  it('reports a missing kind at the top of the file', () => {
    expectIssue(edit('kind: Cluster\n', ''), 'kind', 1, /^kind is required \(kind: Cluster\)$/);
  });
});

describe('parseSpec: unknown and misspelled fields', () => {
  it('top level: suggests the known key and reports the now-missing one', () => {
    const text = edit('metadata:', 'metdata:');
    expectIssue(text, 'metdata', lineOf(text, 'metdata:'), /^unknown field 'metdata' at the top level; did you mean metadata\?$/);
    expect(issuesOf(text).map((i) => i.path)).toEqual(['metdata']); // no 'metadata is required' twin
  });
  it('top level: lists the allowed keys when nothing is close', () => {
    const text = `${BASE}status: ready\n`;
    expectIssue(text, 'status', lineOf(text, 'status:'), /allowed: apiVersion, kind, metadata, spec$/);
  });
  it('metadata: enviroment → environment', () => {
    const text = edit('  environment: dev', '  enviroment: dev');
    expectIssue(text, 'metadata.enviroment', 5, /did you mean environment\?/);
    expect(issuesOf(text)).toHaveLength(1);
  });
  it('spec: nodegroups → nodeGroups (case only)', () => {
    const text = edit('  nodeGroups:', '  nodegroups:');
    expectIssue(text, 'spec.nodegroups', lineOf(text, 'nodegroups:'), /did you mean nodeGroups\?/);
  });
  it('spec: kubernetesversion → kubernetesVersion, and the missing version reported at spec', () => {
    const text = edit('  kubernetesVersion:', '  kubernetesversion:');
    expectIssue(text, 'spec.kubernetesversion', lineOf(text, 'kubernetesversion'), /did you mean kubernetesVersion\?/);
    expect(issuesOf(text)).toHaveLength(1);
  });
  it('network: vpcCIDR → vpcCidr; the missing vpcCidr is reported at the network line', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCIDR: 10.0.0.0/16');
    expectIssue(
      text,
      'spec.network.vpcCIDR',
      lineOf(text, 'vpcCIDR'),
      /^unknown field 'vpcCIDR' in spec\.network; did you mean vpcCidr\?$/,
    );
    expect(issuesOf(text)).toHaveLength(1);
  });
  it('network: a missing vpcCidr is reported at the network line', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    tenancy: default');
    expectIssue(text, 'spec.network.vpcCidr', lineOf(text, 'network:'), /^vpcCidr is required$/);
    expect(issuesOf(text)).toHaveLength(1);
  });
  it('a wrongly-cased key that is also present keeps both issues apart', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    VPCCIDR: 10.1.0.0/16');
    expect(issuesOf(text).map((i) => i.path)).toEqual(['spec.network.VPCCIDR']);
  });
  it('node group: minsize → minSize, instancetype → instanceType', () => {
    const text = edit('      minSize: 1', '      minsize: 1', edit('      instanceType: c5.large', '      instancetype: c5.large'));
    expectIssue(text, 'spec.nodeGroups[0].minsize', lineOf(text, 'minsize'), /did you mean minSize\?/);
    expectIssue(text, 'spec.nodeGroups[1].instancetype', lineOf(text, 'instancetype'), /did you mean instanceType\?/);
    expect(issuesOf(text).map((i) => i.path)).toEqual(['spec.nodeGroups[0].minsize', 'spec.nodeGroups[1].instancetype']);
    const missing = edit('      minSize: 1\n', '');
    expectIssue(missing, 'spec.nodeGroups[0].minSize', lineOf(missing, '- name: workers'), /^minSize is required$/);
  });
  it('node group: a near miss within two edits (maxsze) and a far one (color)', () => {
    const text = edit('      maxSize: 2', '      maxSize: 2\n      maxsze: 3\n      color: blue');
    expectIssue(text, 'spec.nodeGroups[1].maxsze', lineOf(text, 'maxsze'), /did you mean maxSize\?/);
    expectIssue(text, 'spec.nodeGroups[1].color', lineOf(text, 'color'), /allowed: name, role, instanceType, minSize/);
  });
  it('one issue per unknown key', () => {
    const text = edit('  network:\n', '  network:\n    foo: 1\n    bar: 2\n');
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['spec.network.foo', lineOf(text, 'foo:')],
      ['spec.network.bar', lineOf(text, 'bar:')],
    ]);
  });
  it('suggestKey', () => {
    expect(suggestKey('minsize', ['minSize', 'maxSize'])).toBe('minSize');
    expect(suggestKey('VPCCIDR', ['vpcCidr'])).toBe('vpcCidr');
    expect(suggestKey('zone', ['zones', 'region'])).toBe('zones');
    expect(suggestKey('xyz', ['zones', 'region'])).toBeUndefined();
    expect(suggestKey('a', ['b'])).toBeUndefined();
  });
});

describe('parseSpec: names and the cluster id', () => {
  it('rejects an uppercase name', () => {
    expectIssue(edit('  name: demo', '  name: Demo'), 'metadata.name', 4, /lowercase letters, digits and '-'/);
  });
  it('rejects an underscore in the environment', () => {
    expectIssue(edit('  environment: dev', '  environment: my_env'), 'metadata.environment', 5, /lowercase letters/);
  });
  it('rejects a name ending with - and an empty name', () => {
    expectIssue(edit('  name: demo', '  name: demo-'), 'metadata.name', 4, /not ending with '-'/);
    expectIssue(edit('  name: demo', '  name: ""'), 'metadata.name', 4, /must not be empty/);
  });
  it('rejects a cluster id longer than 24 characters', () => {
    const text = edit('  name: demo', '  name: averyverylongname', edit('  environment: dev', '  environment: production'));
    expectIssue(text, 'metadata.name', 4, /'averyverylongname-production' .* is 28 characters; at most 24/);
  });
  it('accepts exactly 24 characters', () => {
    const text = edit('  name: demo', '  name: abcdefghijklmnop', edit('  environment: dev', '  environment: qrstuvw'));
    expect(parseSpec(text, 'c.yaml', NOW).spec.metadata.name).toBe('abcdefghijklmnop');
  });
  it('rejects uppercase and too long node group names', () => {
    expectIssue(
      edit('    - name: workers', '    - name: Workers'),
      'spec.nodeGroups[0].name',
      lineOf(BASE, '- name: workers'),
      /lowercase/,
    );
    expectIssue(
      edit('    - name: workers', '    - name: workers-with-a-long-name'),
      'spec.nodeGroups[0].name',
      lineOf(BASE, '- name: workers'),
      /at most 20 characters/,
    );
  });
  it("rejects a node group named 'master'", () => {
    expectIssue(edit('    - name: workers', '    - name: master'), 'spec.nodeGroups[0].name', lineOf(BASE, '- name: workers'), /reserved/);
  });
  it('rejects duplicate node-group names at the second one', () => {
    const text = edit('    - name: edge', '    - name: workers');
    expectIssue(text, 'spec.nodeGroups[1].name', lineOf(text, '- name: workers', 'maxSize: 3'), /'workers' is used twice/);
  });
});

describe('parseSpec: zones', () => {
  const zonesBlock = (zs: string[]) =>
    edit('  zones: [us-east-1a, us-east-1b, us-east-1c]', `  zones:\n${zs.map((z) => `    - ${z}`).join('\n')}`);
  it('rejects a zone outside the region, at its own line', () => {
    const text = zonesBlock(['us-east-1a', 'us-west-2b', 'us-east-1c']);
    expectIssue(text, 'spec.zones[1]', lineOf(text, 'us-west-2b'), /zone 'us-west-2b' is not in region us-east-1/);
  });
  it('rejects a bare region as a zone', () => {
    const text = zonesBlock(['us-east-1a', 'us-east-1']);
    expectIssue(text, 'spec.zones[1]', lineOf(text, '- us-east-1', '- us-east-1a') + 1, /not in region/);
  });
  it('rejects a duplicated zone', () => {
    const text = zonesBlock(['us-east-1a', 'us-east-1b', 'us-east-1a']);
    expectIssue(text, 'spec.zones[2]', lineOf(text, '- us-east-1a', '- us-east-1b'), /'us-east-1a' is listed twice/);
  });
  it('rejects fewer than 2 zones', () => {
    expectIssue(edit('[us-east-1a, us-east-1b, us-east-1c]', '[us-east-1a]'), 'spec.zones', 8, /at least 2 zones/);
  });
  it('rejects more than 6 zones', () => {
    const zs = 'abcdefg'.split('').map((c) => `us-east-1${c}`);
    expectIssue(edit('[us-east-1a, us-east-1b, us-east-1c]', `[${zs.join(', ')}]`), 'spec.zones', 8, /at most 6 zones/);
  });
  it('rejects zones that are not a list', () => {
    expectIssue(edit('[us-east-1a, us-east-1b, us-east-1c]', 'us-east-1a'), 'spec.zones', 8, /zones must be a list/);
  });
  it('rejects a bad region', () => {
    expectIssue(edit('  region: us-east-1', '  region: US-East'), 'spec.region', 7, /region must be an AWS region such as us-east-1/);
  });
});

describe('parseSpec: network', () => {
  const vpc = (c: string) => edit('    vpcCidr: 10.0.0.0/16', `    vpcCidr: ${c}`);
  const vpcLine = lineOf(BASE, 'vpcCidr');
  it.each(['10.0.0.0/33', '10.0.0/16', '300.0.0.0/16', 'abc', '10.0.0.0', '010.0.0.0/16', '"10.0.0.0/16 "'])('rejects the CIDR %s', (c) => {
    expectIssue(vpc(c), 'spec.network.vpcCidr', vpcLine, /^vpcCidr must be an IPv4 CIDR such as 10\.0\.0\.0\/16$/);
  });
  it('rejects a non-string CIDR', () => {
    expectIssue(vpc('16'), 'spec.network.vpcCidr', vpcLine, /vpcCidr must be a string, not the number 16/);
  });
  it('rejects a VPC CIDR larger than /16', () => {
    expectIssue(vpc('10.0.0.0/8'), 'spec.network.vpcCidr', vpcLine, /between \/16 and \/28 \(got \/8\)/);
  });
  it('rejects a CIDR too small for the zones: /26 with 3 zones, and accepts /25', () => {
    expectIssue(vpc('10.0.0.0/26'), 'spec.network.vpcCidr', vpcLine, /too small for a public and a private subnet in each of 3 zones/);
    expect(parseSpec(vpc('10.0.0.0/25'), 'c.yaml', NOW).spec.spec.network.vpcCidr).toBe('10.0.0.0/25');
  });
  it('rejects /27 with 2 zones and accepts /26', () => {
    const two = (c: string) => edit('[us-east-1a, us-east-1b, us-east-1c]', '[us-east-1a, us-east-1b]', vpc(c));
    expectIssue(two('10.0.0.0/27'), 'spec.network.vpcCidr', vpcLine, /too small .* 2 zones/);
    expect(() => parseSpec(two('10.0.0.0/26'), 'c.yaml', NOW)).not.toThrow();
  });
  it('rejects host bits with the canonical form suggested', () => {
    expectIssue(vpc('10.0.0.1/16'), 'spec.network.vpcCidr', vpcLine, /10\.0\.0\.1\/16 has host bits set; did you mean 10\.0\.0\.0\/16\?/);
  });
  it('rejects a bad NAT mode', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    nat: gateway');
    expectIssue(text, 'spec.network.nat', lineOf(text, 'nat:'), /^nat must be one of perZone, single, none$/);
  });
  it('rejects a bad tenancy', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    tenancy: host');
    expectIssue(text, 'spec.network.tenancy', lineOf(text, 'tenancy:'), /tenancy must be 'default' or 'dedicated'/);
  });
  it('rejects invalid apiAccess CIDRs, each at its item', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    apiAccess:\n      - 1.2.3.4\n      - 10.1.2.3/8');
    expectIssue(text, 'spec.network.apiAccess[0]', lineOf(text, '1.2.3.4'), /must be an IPv4 CIDR/);
    // the host-bits rule runs in the refinement, which zod skips while a field is invalid
    const hostBits = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    apiAccess:\n      - 1.2.3.4/32\n      - 10.1.2.3/8');
    expectIssue(hostBits, 'spec.network.apiAccess[1]', lineOf(hostBits, '10.1.2.3/8'), /did you mean 10\.0\.0\.0\/8\?/);
  });
  it('accepts an empty apiAccess (no public API)', () => {
    const text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    apiAccess: []');
    expect(parseSpec(text, 'c.yaml', NOW).spec.spec.network.apiAccess).toEqual([]);
  });
  it('reports a missing network block at spec', () => {
    const text = edit('  network:\n    vpcCidr: 10.0.0.0/16\n', '');
    expectIssue(text, 'spec.network', lineOf(text, 'spec:'), /^network is required$/);
  });
  it('reports an empty network block', () => {
    const text = edit('  network:\n    vpcCidr: 10.0.0.0/16\n', '  network:\n');
    expectIssue(text, 'spec.network', lineOf(text, 'network:'), /network must be a mapping/);
  });
  // Missing rule in schema.ts (reported): the VPC must not overlap the pod or service CIDR.
  it('rejects a VPC CIDR overlapping the pod CIDR 100.96.0.0/11 or the service CIDR 100.64.0.0/13', () => {
    expectIssue(vpc('100.96.0.0/16'), 'spec.network.vpcCidr', vpcLine, /overlaps the pod CIDR 100\.96\.0\.0\/11/);
    expectIssue(vpc('100.64.0.0/16'), 'spec.network.vpcCidr', vpcLine, /overlaps the service CIDR 100\.64\.0\.0\/13/);
  });
  it('accepts 100.72.0.0/16, between the two', () => {
    expect(() => parseSpec(vpc('100.72.0.0/16'), 'c.yaml', NOW)).not.toThrow();
  });
});

describe('parseSpec: node groups', () => {
  const g0 = (from: string, to: string) => edit(from, to);
  it('rejects min > max at maxSize', () => {
    const text = g0('      maxSize: 3', '      maxSize: 0');
    expectIssue(text, 'spec.nodeGroups[0].maxSize', lineOf(text, 'maxSize: 0'), /maxSize \(0\) is less than minSize \(1\)/);
  });
  it('rejects desiredCapacity above max and below min', () => {
    const hi = g0('      maxSize: 3', '      maxSize: 3\n      desiredCapacity: 10');
    expectIssue(
      hi,
      'spec.nodeGroups[0].desiredCapacity',
      lineOf(hi, 'desiredCapacity'),
      /desiredCapacity \(10\) must lie between minSize \(1\) and maxSize \(3\)/,
    );
    const lo = g0('      maxSize: 3', '      maxSize: 3\n      desiredCapacity: 0');
    expectIssue(lo, 'spec.nodeGroups[0].desiredCapacity', lineOf(lo, 'desiredCapacity'), /must lie between/);
  });
  it('rejects a negative size', () => {
    const text = g0('      minSize: 1', '      minSize: -1');
    expectIssue(text, 'spec.nodeGroups[0].minSize', lineOf(text, 'minSize: -1'), /^minSize must be 0 or more$/);
  });
  it('rejects a non-numeric size', () => {
    const text = g0('      minSize: 1', '      minSize: three');
    expectIssue(text, 'spec.nodeGroups[0].minSize', lineOf(text, 'minSize: three'), /^minSize must be a number$/);
  });
  it('rejects a fractional size and a size over 1000', () => {
    const frac = g0('      minSize: 1', '      minSize: 1.5');
    expectIssue(frac, 'spec.nodeGroups[0].minSize', lineOf(frac, 'minSize: 1.5'), /whole number/);
    const big = g0('      maxSize: 3', '      maxSize: 5000');
    expectIssue(big, 'spec.nodeGroups[0].maxSize', lineOf(big, 'maxSize: 5000'), /at most 1000/);
  });
  it('rejects a bad instance type and a bad role', () => {
    const it1 = g0('      instanceType: m5.large\n      minSize: 1', '      instanceType: large\n      minSize: 1');
    expectIssue(it1, 'spec.nodeGroups[0].instanceType', lineOf(it1, 'instanceType: large'), /instanceType must be an EC2 instance type/);
    const role = g0('      role: loadbalancer', '      role: ingress');
    expectIssue(role, 'spec.nodeGroups[1].role', lineOf(role, 'role: ingress'), /role must be 'node' or 'loadbalancer'/);
  });
  it('rejects a bad taint effect at the taint', () => {
    const text = g0('      maxSize: 3', '      maxSize: 3\n      taints:\n        - key: dedicated\n          effect: NoRun');
    expectIssue(
      text,
      'spec.nodeGroups[0].taints[0].effect',
      lineOf(text, 'effect: NoRun'),
      /effect must be one of NoSchedule, PreferNoSchedule, NoExecute/,
    );
  });
  it('rejects a bad label key', () => {
    const text = g0('      maxSize: 3', '      maxSize: 3\n      labels:\n        "bad key!": x');
    expectIssue(text, 'spec.nodeGroups[0].labels.bad key!', lineOf(text, 'bad key!'), /not a valid Kubernetes label key/);
  });
  it('rejects elasticIps on a non-loadbalancer group', () => {
    const text = g0('      maxSize: 3', '      maxSize: 3\n      elasticIps: 2');
    expectIssue(text, 'spec.nodeGroups[0].elasticIps', lineOf(text, 'elasticIps'), /only on a group with role 'loadbalancer'/);
  });
  it('rejects publicRecord on a non-loadbalancer group', () => {
    const text = g0('      maxSize: 3', '      maxSize: 3\n      publicRecord: www');
    expectIssue(text, 'spec.nodeGroups[0].publicRecord', lineOf(text, 'publicRecord'), /only on a group with role 'loadbalancer'/);
  });
  it('rejects publicRecord without spec.dns.publicDomain', () => {
    const text = g0('      maxSize: 2', '      maxSize: 2\n      elasticIps: 2\n      publicRecord: lb');
    expectIssue(text, 'spec.nodeGroups[1].publicRecord', lineOf(text, 'publicRecord'), /publicRecord needs spec\.dns\.publicDomain/);
    const ok = `${text}  dns:\n    publicDomain: example.com\n`;
    expect(parseSpec(ok, 'c.yaml', NOW).spec.spec.nodeGroups[1]).toMatchObject({ publicRecord: 'lb', elasticIps: 2 });
  });
  it('rejects a pool smaller than maxSize, saying what an instance without an address does', () => {
    const text = edit('      minSize: 2\n      maxSize: 2', '      minSize: 2\n      maxSize: 3\n      elasticIps: 2');
    expectIssue(
      text,
      'spec.nodeGroups[1].elasticIps',
      lineOf(text, 'elasticIps'),
      /elasticIps \(2\) must be at least maxSize \(3\).*never joins/,
    );
  });
  it('accepts a loadbalancer group without a pool, and a pool of exactly maxSize', () => {
    expect(parseSpec(BASE, 'c.yaml', NOW).spec.spec.nodeGroups[1]).toMatchObject({ role: 'loadbalancer', elasticIps: 0, maxSize: 2 });
    const text = edit('      minSize: 2\n      maxSize: 2', '      minSize: 2\n      maxSize: 2\n      elasticIps: 2');
    expect(parseSpec(text, 'c.yaml', NOW).spec.spec.nodeGroups[1]).toMatchObject({ elasticIps: 2 });
  });
  it('rejects publicRecord without elasticIps', () => {
    const text = `${g0('      maxSize: 2', '      maxSize: 2\n      publicRecord: lb')}  dns:\n    publicDomain: example.com\n`;
    expectIssue(text, 'spec.nodeGroups[1].publicRecord', lineOf(text, 'publicRecord'), /needs elasticIps/);
  });
  it('rejects nodeGroups that are not a list', () => {
    const text = `${BASE.slice(0, BASE.indexOf('  nodeGroups:'))}  nodeGroups: workers\n`;
    expectIssue(text, 'spec.nodeGroups', lineOf(text, 'nodeGroups'), /nodeGroups must be a list, not the text "workers"/);
  });
});

describe('parseSpec: kubernetesVersion', () => {
  const kv = (v: string) => edit('  kubernetesVersion: "1.35.0"', `  kubernetesVersion: ${v}`);
  const line = lineOf(BASE, 'kubernetesVersion');
  it('rejects 1.27.0 (too old)', () => {
    expectIssue(kv('"1.27.0"'), 'spec.kubernetesVersion', line, /must be 1\.28 or newer/);
  });
  it("rejects '1.31' (no patch)", () => {
    expectIssue(kv("'1.31'"), 'spec.kubernetesVersion', line, /kubernetesVersion must be MAJOR\.MINOR\.PATCH/);
  });
  it('rejects 1.31 unquoted (a YAML number)', () => {
    expectIssue(kv('1.31'), 'spec.kubernetesVersion', line, /kubernetesVersion must be a quoted string such as "1\.31\.2"/);
  });
  it('accepts 1.31.2 unquoted (a YAML string)', () => {
    expect(parseSpec(kv('1.31.2'), 'c.yaml', new Date('2025-01-01')).spec.spec.kubernetesVersion).toBe('1.31.2');
  });
  // 1.30 has add-on versions pinned (src/spec/versions.ts): the only warning is the end of life.
  it('warns about a minor past its end of life, naming the date', () => {
    const { warnings } = parseSpec(kv('"1.30.5"'), 'c.yaml', new Date('2025-09-01'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/1\.30/);
    expect(warnings[0]).toMatch(/2025-06-28/);
  });
  it('does not warn before the end of life (nor on its last day)', () => {
    expect(parseSpec(kv('"1.30.5"'), 'c.yaml', new Date('2025-01-01')).warnings).toEqual([]);
    expect(parseSpec(kv('"1.30.5"'), 'c.yaml', new Date('2025-06-28T12:00:00Z')).warnings).toEqual([]);
  });
  it('a minor newer than both tables: no end-of-life warning, only that its add-on versions are not pinned', () => {
    const { warnings } = parseSpec(kv('"1.40.0"'), 'c.yaml', new Date('2030-01-01'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^kubernetesVersion 1\.40\.0: kubeaz pins add-on versions for Kubernetes 1\.30–1\.35 only; the master will install those of 1\.35 \(Cilium 1\.19\.6, AWS cloud-controller-manager v1\.35\.2/,
    );
  });
  it('warns (not an error) on a minor older than the add-on table, naming the row it falls back to', () => {
    const { spec, warnings } = parseSpec(kv('"1.29.4"'), 'c.yaml', new Date('2024-06-01'));
    expect(spec.spec.kubernetesVersion).toBe('1.29.4');
    expect(warnings).toEqual([
      expect.stringMatching(
        /kubeaz pins add-on versions for Kubernetes 1\.30–1\.35 only; the master will install those of 1\.30 \(Cilium 1\.18\.12/,
      ),
    ]);
  });
  it('no add-on warning for a minor of the table', () => {
    for (const v of ['1.30.0', '1.31.9', '1.32.1', '1.33.2', '1.34.3', '1.35.4'])
      expect(parseSpec(kv(`"${v}"`), 'c.yaml', new Date('2024-06-01')).warnings, v).toEqual([]);
  });
});

describe('parseSpec: many problems at once', () => {
  it('reports 5 distinct errors as 5 issues, in file order', () => {
    let text = edit('  name: demo', '  name: Demo');
    text = edit('  zones: [us-east-1a, us-east-1b, us-east-1c]', '  zones: [us-east-1a, us-east-1b, us-east-1c]\n  regoin: x', text);
    text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.0/16\n    nat: sometimes', text);
    text = edit('    instanceType: m5.large\n  nodeGroups', '    instanceType: huge\n  nodeGroups', text);
    text = edit('      minSize: 1', '      minSize: three', text);
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.path, i.line])).toEqual([
      ['metadata.name', lineOf(text, 'name: Demo')],
      ['spec.regoin', lineOf(text, 'regoin')],
      ['spec.network.nat', lineOf(text, 'nat: sometimes')],
      ['spec.controlPlane.instanceType', lineOf(text, 'instanceType: huge')],
      ['spec.nodeGroups[0].minSize', lineOf(text, 'minSize: three')],
    ]);
    expect(issues[1]!.message).toMatch(/did you mean region\?/);
  });
  it('reports several cross-field problems of a valid-typed file at once', () => {
    let text = edit('[us-east-1a, us-east-1b, us-east-1c]', '[us-east-1a, us-east-1a, eu-west-1c]');
    text = edit('    vpcCidr: 10.0.0.0/16', '    vpcCidr: 10.0.0.1/16', text);
    text = edit('      maxSize: 3', '      maxSize: 0\n      elasticIps: 1', text);
    const paths = issuesOf(text).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'spec.zones[1]',
        'spec.zones[2]',
        'spec.network.vpcCidr',
        'spec.nodeGroups[0].maxSize',
        'spec.nodeGroups[0].elasticIps',
      ]),
    );
    expect(paths).toHaveLength(5);
  });
});

describe('specJsonSchema', () => {
  it('describes the input side of the spec', () => {
    const schema = specJsonSchema() as { type?: string; properties?: Record<string, unknown>; required?: string[] };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(JSON.stringify(schema)).toContain('nodeGroups');
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});

describe('parseSpec: field errors and cross-field rules together', () => {
  it('reports cross-field problems in the same run as field errors (every problem at once)', () => {
    const text = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: demo, environment: dev }
spec:
  region: us-east-1
  zones: [us-east-1a, us-west-2b, us-east-1a]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: sometimes }
  controlPlane: { instanceTyp: m5.large }
  nodeGroups:
    - { name: a, instanceType: m5.large, minSize: 5, maxSize: 2, publicRecord: lb }
    - { name: a, instanceType: m5.large, minSize: three, maxSize: 2 }
`;
    const got = issuesOf(text).map((i) => `${i.path} (line ${i.line}): ${i.message}`);
    expect(got).toEqual([
      "spec.zones[1] (line 6): zone 'us-west-2b' is not in region us-east-1 (expected us-east-1a, us-east-1b, …)",
      "spec.zones[2] (line 6): zone 'us-east-1a' is listed twice",
      'spec.network.nat (line 8): nat must be one of perZone, single, none',
      "spec.controlPlane.instanceTyp (line 9): unknown field 'instanceTyp' in spec.controlPlane; did you mean instanceType?",
      'spec.nodeGroups[0].maxSize (line 11): maxSize (2) is less than minSize (5)',
      "spec.nodeGroups[0].publicRecord (line 11): publicRecord is allowed only on a group with role 'loadbalancer'",
      'spec.nodeGroups[0].publicRecord (line 11): publicRecord needs spec.dns.publicDomain',
      'spec.nodeGroups[1].minSize (line 12): minSize must be a number',
      "spec.nodeGroups[1].name (line 12): node group name 'a' is used twice",
    ]);
  });
});

describe('labels and taints by Kubernetes rules (issue 9 #5, issue 10 #14)', () => {
  const g0 = (from: string, to: string) => edit(from, to);
  const withLabels = (yaml: string) => g0('      maxSize: 3', `      maxSize: 3\n      labels:\n${yaml}`);
  const withTaints = (yaml: string) => g0('      maxSize: 3', `      maxSize: 3\n      taints:\n${yaml}`);

  it('refuses a label value that would smuggle kubelet flags, at the label and its line', () => {
    const text = withLabels('        tier: "x --anonymous-auth=true --authorization-mode=AlwaysAllow"');
    expectIssue(text, 'spec.nodeGroups[0].labels.tier', lineOf(text, 'tier: "x'), /label tier: the value .* may hold only letters, digits/);
  });
  it('refuses a comma in a label value (it would add labels) and a value over 63 characters', () => {
    const text = withLabels(`        a: "x,node-role.kubernetes.io/master=x"\n        b: "${'v'.repeat(64)}"`);
    expectIssue(text, 'spec.nodeGroups[0].labels.a', lineOf(text, '        a: '), /may hold only letters/);
    expectIssue(text, 'spec.nodeGroups[0].labels.b', lineOf(text, '        b: '), /64 characters; at most 63/);
  });
  it('refuses label keys: a name over 63, a prefix over 253, two slashes, an upper-case prefix, a space', () => {
    const long = 'n'.repeat(64);
    const prefix = `${Array(5).fill('p'.repeat(60)).join('.')}.com`;
    const text = withLabels(
      `        ${long}: x\n        ${prefix}/n: x\n        a/b/c: x\n        Example.com/n: x\n        "with space": x`,
    );
    expectIssue(text, `spec.nodeGroups[0].labels.${long}`, lineOf(text, long), /name part .* 64 characters; at most 63/);
    expectIssue(text, `spec.nodeGroups[0].labels.${prefix}/n`, lineOf(text, prefix), /prefix .* at most 253/);
    expectIssue(text, 'spec.nodeGroups[0].labels.a/b/c', lineOf(text, 'a/b/c'), /more than one '\/'/);
    expectIssue(text, 'spec.nodeGroups[0].labels.Example.com/n', lineOf(text, 'Example.com'), /lowercase DNS subdomain/);
    expectIssue(text, 'spec.nodeGroups[0].labels.with space', lineOf(text, 'with space'), /not a valid Kubernetes label key/);
  });
  it('accepts what Kubernetes accepts: empty values, dots, underscores, a 63-character name and value', () => {
    const text = withLabels(
      `        example.com/${'n'.repeat(63)}: "${'v'.repeat(63)}"\n        a_b.c-d: ""\n        node.kubernetes.io/pool: blue\n        team.kubelet.kubernetes.io/x: y\n        topology.kubernetes.io/zone: us-east-1a\n        node-role.kubernetes.io/worker: ""`,
    );
    expect(parseSpec(text, 'cluster.yaml', NOW).spec.spec.nodeGroups[0]!.labels['a_b.c-d']).toBe('');
  });
  it('refuses kubernetes.io / k8s.io label keys the kubelet may not set, with the reason', () => {
    const text = withLabels('        kubernetes.io/role: x\n        foo.k8s.io/a: y');
    expectIssue(
      text,
      'spec.nodeGroups[0].labels.kubernetes.io/role',
      lineOf(text, 'kubernetes.io/role'),
      /kubernetes\.io namespace, which the kubelet refuses to set \(NodeRestriction\); use a key under node\.kubernetes\.io\//,
    );
    expectIssue(text, 'spec.nodeGroups[0].labels.foo.k8s.io/a', lineOf(text, 'foo.k8s.io'), /k8s\.io namespace, which the kubelet refuses/);
  });
  it('refuses taint keys and values that are not Kubernetes names, at the field and its line', () => {
    const text = withTaints(
      '        - key: "a b"\n          value: "x --y"\n          effect: NoSchedule\n        - key: ok\n          value: "' +
        'v'.repeat(64) +
        '"\n          effect: NoExecute',
    );
    expectIssue(text, 'spec.nodeGroups[0].taints[0].key', lineOf(text, 'key: "a b"'), /taint key is not a valid Kubernetes key/);
    expectIssue(text, 'spec.nodeGroups[0].taints[0].value', lineOf(text, 'value: "x --y"'), /taint value is not a valid Kubernetes value/);
    expectIssue(text, 'spec.nodeGroups[0].taints[1].value', lineOf(text, 'v'.repeat(64)), /at most 63/);
  });
});

describe('limits known before the first call (issue 9 #8)', () => {
  const withTags = (yaml: string) => edit('  controlPlane:\n', `  tags:\n${yaml}\n  controlPlane:\n`);
  it('refuses a spec file over the size cap before parsing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeaz-big-'));
    try {
      const file = join(dir, 'big.yaml');
      await writeFile(file, `${BASE}# ${'x'.repeat(300 * 1024)}\n`);
      const err = await loadSpecFile(file, NOW).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).issues).toEqual([
        { path: '(file)', message: expect.stringMatching(/^the file is \d+ bytes; a cluster spec may be at most 262144 bytes/) },
      ]);
      expect(() => parseSpec(`${BASE}# ${'x'.repeat(300 * 1024)}\n`, 'c.yaml', NOW)).toThrow(/at most 262144 bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('refuses more tags than fit beside the ones kubeaz adds (50 per resource, 12 reserved)', () => {
    const many = (n: number) => withTags(Array.from({ length: n }, (_, i) => `    t${i}: v`).join('\n'));
    expect(parseSpec(many(38), 'c.yaml', NOW).spec.spec.tags.t37).toBe('v');
    expectIssue(many(39), 'spec.tags', lineOf(many(39), '  tags:'), /at most 38 tags: AWS allows 50 per resource and kubeaz adds up to 12/);
  });
  it('refuses tag keys starting with aws: in any case, and characters IAM and S3 reject', () => {
    const text = withTags('    AWS:owner: x\n    Aws:x: y\n    kubeaz:key: z\n    "a;b": ok\n    ok: "semi;colon"');
    expectIssue(text, 'spec.tags.AWS:owner', lineOf(text, 'AWS:owner'), /reserved/);
    expectIssue(text, 'spec.tags.Aws:x', lineOf(text, 'Aws:x'), /reserved/);
    expectIssue(text, 'spec.tags.kubeaz:key', lineOf(text, 'kubeaz:key'), /reserved/);
    expectIssue(text, 'spec.tags.a;b', lineOf(text, '"a;b"'), /only letters, digits, spaces and _ \. : \/ = \+ - @/);
    expectIssue(text, 'spec.tags.ok', lineOf(text, 'semi;colon'), /only letters, digits/);
    expect(parseSpec(withTags('    "team name": "café/ops+1@x=y:z"'), 'c.yaml', NOW).spec.spec.tags['team name']).toBe('café/ops+1@x=y:z');
  });
  it("refuses (issue 23 #1) spec.tags keys that hand the cluster to another cluster's autoscaler or cloud controller, in any case; node-group labels stay allowed", () => {
    const text = withTags(
      '    k8s.io/cluster-autoscaler/enabled: "true"\n    k8s.io/cluster-autoscaler/alpha-dev: owned\n    kubernetes.io/cluster/alpha-dev: owned\n    Kubernetes.IO/Cluster/beta: shared\n    K8S.io/Cluster-Autoscaler/x: y\n    eks:cluster-name: alpha\n    EKS:nodegroup-name: x',
    );
    for (const [key, at] of [
      ['k8s.io/cluster-autoscaler/enabled', 'k8s.io/cluster-autoscaler/enabled:'],
      ['k8s.io/cluster-autoscaler/alpha-dev', 'k8s.io/cluster-autoscaler/alpha-dev:'],
      ['kubernetes.io/cluster/alpha-dev', 'kubernetes.io/cluster/alpha-dev:'],
      ['Kubernetes.IO/Cluster/beta', 'Kubernetes.IO/Cluster/beta:'],
      ['K8S.io/Cluster-Autoscaler/x', 'K8S.io/Cluster-Autoscaler/x:'],
      ['eks:cluster-name', 'eks:cluster-name:'],
      ['EKS:nodegroup-name', 'EKS:nodegroup-name:'],
    ] as const)
      expectIssue(text, `spec.tags.${key}`, lineOf(text, at), /reserved: .*another|reserved: .*autoscaler .*cloud controller/);
    // look-alikes outside those prefixes are people's tags
    const ok = parseSpec(
      withTags('    k8s.io/owner: me\n    kubernetes.io/clusters: x\n    eksperiment: y\n    team/kubernetes.io/cluster/x: z'),
      'c.yaml',
      NOW,
    ).spec.spec.tags;
    expect(Object.keys(ok)).toEqual(['k8s.io/owner', 'kubernetes.io/clusters', 'eksperiment', 'team/kubernetes.io/cluster/x']);
    // a node group's labels still become cluster-autoscaler node-template tags, written by kubeaz
    const labelled = parseSpec(
      edit('      maxSize: 3\n    - name: edge', '      maxSize: 3\n      labels: { tier: web }\n    - name: edge'),
      'c.yaml',
      NOW,
    ).spec;
    expect(labelled.spec.nodeGroups[0]!.labels).toEqual({ tier: 'web' });
  });
  it('refuses a vpcCidr in reserved ranges (this-network, loopback, link-local, multicast, reserved)', () => {
    for (const [cidr, what] of [
      ['0.0.0.0/16', '0.0.0.0/8'],
      ['224.0.0.0/16', '224.0.0.0/4'],
      ['127.1.0.0/16', '127.0.0.0/8'],
      ['169.254.0.0/16', '169.254.0.0/16'],
      ['240.0.0.0/16', '240.0.0.0/4'],
    ]) {
      const text = edit('vpcCidr: 10.0.0.0/16', `vpcCidr: ${cidr}`);
      expectIssue(
        text,
        'spec.network.vpcCidr',
        lineOf(text, 'vpcCidr'),
        new RegExp(`overlaps ${what!.replace(/[./]/g, '\\$&')} .*which no VPC may use`),
      );
    }
  });
  it('warns (does not refuse) on a public vpcCidr; private ranges pass silently', () => {
    const pub = parseSpec(edit('vpcCidr: 10.0.0.0/16', 'vpcCidr: 8.8.0.0/16'), 'c.yaml', NOW);
    expect(pub.warnings.some((w) => /8\.8\.0\.0\/16 is a public address range/.test(w))).toBe(true);
    for (const c of ['10.0.0.0/16', '172.20.0.0/16', '192.168.0.0/16'])
      expect(parseSpec(edit('vpcCidr: 10.0.0.0/16', `vpcCidr: ${c}`), 'c.yaml', NOW).warnings.filter((w) => /public/.test(w))).toEqual([]);
  });
});
