/**
 * The spec create keeps in the cluster's bucket (model/stored-spec.ts): parsed again it is the very
 * same cluster, for every shape a spec takes (every node group form the schema completes); it is a
 * record of the run, not a node of the graph, written again only when it differs; and the schema
 * has no field that could carry a secret.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { SPEC_OBJECT, storedSpecText } from '../../src/model/stored-spec.js';
import { holdsSpec } from '../../src/resources/stored-spec.js';
import { parseSpec, specJsonSchema } from '../../src/spec/load.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const templatesDir = join(ROOT, 'templates');
const templates = Object.fromEntries(
  walk(templatesDir).map((p) => [relative(templatesDir, p).split('\\').join('/'), readFileSync(p, 'utf8')]),
);
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };

/** the example with its public domain on (a group below names a publicRecord) and its node groups (and anything after them) replaced */
const withGroups = (groups: string, rest = '') =>
  withPublicDomain(example).replace(/ {2}nodeGroups:\n[\s\S]*$/, `  nodeGroups:\n${groups}${rest}`);

const SPECS: Record<string, string> = {
  example,
  'three masters': readFileSync(join(ROOT, 'test/fixtures/cluster.three-masters.yaml'), 'utf8'),
  'every node group form': withGroups(
    [
      '    - { name: spot, instanceTypes: [m6i.large, m6a.large], spot: { onDemandBase: 1, onDemandPercentage: 20 }, minSize: 0, maxSize: 5 }',
      '    - { name: sized, instanceType: m5.large, minSize: 1, desiredCapacity: 2, maxSize: 3, subnets: public, volumeSize: 80 }',
      '    - { name: tainted, instanceType: m5.large, minSize: 1, maxSize: 1, taints: [{ key: dedicated, value: gpu, effect: NoSchedule }], labels: { a: b } }',
      '    - { name: edge, role: loadbalancer, instanceType: c5.large, minSize: 2, maxSize: 2, elasticIps: 2, publicRecord: lb }',
      '    - { name: lb2, role: loadbalancer, instanceType: c5.large, minSize: 1, maxSize: 1 }',
      '',
    ].join('\n'),
    '  tags: { team: platform, cost-centre: "0042" }\n  state: s3://team-state/kubeaz\n',
  ),
  'no node groups, kms, IRSA': withGroups(
    '    []\n',
    [
      '  encryption: { provider: kms, keyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }',
      '  iam:',
      '    serviceAccountIssuerDiscovery: { enabled: true }',
      '    serviceAccounts: [{ namespace: apps, name: uploader, policyArns: ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"] }]',
      '',
    ].join('\n'),
  ),
};

describe('the stored spec', () => {
  it.each(Object.keys(SPECS))('%s: parsed again, it is the same cluster', (name) => {
    const spec = parseSpec(SPECS[name]!, `${name}.yaml`, NOW).spec;
    const text = storedSpecText(spec);
    expect(parseSpec(text, 'stored.yaml', NOW).spec).toEqual(spec);
    // written once, the document is a fixed point: storing the re-parsed spec changes nothing in AWS
    expect(storedSpecText(parseSpec(text, 'stored.yaml', NOW).spec)).toBe(text);
  });

  it('says what it is in a comment, and writes the defaults out', () => {
    const spec = parseSpec(example, 'cluster.yaml', NOW).spec;
    const text = storedSpecText(spec);
    expect(text.split('\n').slice(0, 2)).toEqual([
      "# The spec cluster demo-dev was last created from, with kubeaz's defaults written out",
      "# (kept by kubeaz create in the cluster's bucket; kubeaz get-spec demo-dev prints it).",
    ]);
    const doc = parse(text) as { spec: { controlPlane: { count: number }; nodeGroups: Array<Record<string, unknown>> } };
    expect(doc.spec.controlPlane.count).toBe(1);
    // the schema's completions input refuses are not written: elasticIps 0 on a node group
    expect(doc.spec.nodeGroups.find((g) => g.name === 'workers')).not.toHaveProperty('elasticIps');
    expect(doc.spec.nodeGroups.find((g) => g.name === 'edge')).toMatchObject({ elasticIps: 2 });
  });

  it('is not a node of the graph (a record of the run, like the state): no plan lists it', () => {
    const g = deriveGraph(parseSpec(example, 'cluster.yaml', NOW).spec, facts);
    expect(g.nodes.filter((n) => JSON.stringify(n.props).includes(SPEC_OBJECT))).toEqual([]);
  });

  it('is written again only when the bucket holds another text (its ETag is the MD5 of the body)', () => {
    const text = storedSpecText(parseSpec(example, 'cluster.yaml', NOW).spec);
    const md5 = createHash('md5').update(text, 'utf8').digest('hex');
    expect(holdsSpec({ etag: md5 }, text)).toBe(true);
    expect(holdsSpec({ etag: md5 }, `${text}# another\n`)).toBe(false);
    expect(holdsSpec({ etag: null }, text)).toBe(false);
    expect(holdsSpec(undefined, text)).toBe(false);
  });

  it('carries no secret: no field of the spec is named like one (keys are named, never carried)', () => {
    const names: string[] = [];
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k === 'properties' && x && typeof x === 'object') for (const p of Object.keys(x)) names.push(`${at}.${p}`);
          walk(x, `${at}.${k}`);
        }
    };
    walk(specJsonSchema(), '');
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((n) => /secret|password|passphrase|token|private|credential/i.test(n))).toEqual([]);
  });
});
