/**
 * AWS's limits on what kubeaz derives (issue 23 #5): a spec from which kubeaz would derive a value
 * AWS refuses is refused at load, naming the spec field, the derived value and the limit — checked
 * over the derived graph (src/model/limits.ts). The property test measures every derived value of
 * generated specs at the schema's limits with this file's OWN table of AWS limits: whatever the
 * loader accepts must fit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTemplates } from '../../src/operations/spec.js';
import { deriveGraph } from '../../src/model/derive.js';
import { limitIssues, nodeViolations, worstCaseFacts } from '../../src/model/limits.js';
import { isRef, type AnyNode } from '../../src/model/types.js';
import { parseSpec, SpecError, type SpecCheck } from '../../src/spec/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NOW = new Date('2026-01-15T00:00:00Z');
const templates = await loadTemplates(path.join(ROOT, 'templates'));
const check: SpecCheck = (spec) => limitIssues(spec, templates);
const example = readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');

const irsa = (accounts: string) => {
  const text = example.replace(
    '  iam:\n',
    `  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts:\n${accounts}`,
  );
  if (text === example) throw new Error('test bug: the example has no iam section');
  return text;
};

/** A valid DNS-1123 subdomain of exactly n characters (n ≥ 1): parts of at most 63, dot-separated. */
const subdomain = (n: number, c = 's'): string => `${`${c.repeat(62)}.`.repeat(Math.ceil(n / 63)).slice(0, n - 1)}${c}`;

function issuesOf(text: string) {
  try {
    parseSpec(text, 'c.yaml', NOW, check);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  return [];
}

describe('AWS limits on derived values (issue 23 #5)', () => {
  it('the example spec, and it with IRSA and a service account, derive nothing over a limit', () => {
    expect(issuesOf(example)).toEqual([]);
    expect(
      issuesOf(irsa('      - { namespace: apps, name: uploader, policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess] }\n')),
    ).toEqual([]);
  });

  it("refuses a 253-character service account name: its role's kubeaz:service-account tag would be 317 characters (IAM: 256), naming field, value and limit", () => {
    const ns = 'n'.repeat(63);
    const name = subdomain(253);
    expect(name).toHaveLength(253);
    // both are valid Kubernetes: the schema alone accepts them
    const text = irsa(
      `      - namespace: ${ns}\n        name: ${name}\n        policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n`,
    );
    expect(parseSpec(text, 'c.yaml', NOW).spec.spec.iam.serviceAccounts[0]!.name).toBe(name);
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThan(0);
    const tag = issues.find((i) => /kubeaz:service-account/.test(i.message))!;
    expect(tag).toMatchObject({
      path: 'spec.iam.serviceAccounts[0].name',
      line: text.split('\n').findIndex((l) => l.includes(`name: ${name}`)) + 1,
    });
    expect(tag.message).toContain(`'${ns}/${name}'`);
    expect(tag.message).toMatch(/317 characters, and AWS allows at most 256/);
  });

  it('a spec tag at its 127-character key and 255-character value maximum derives nothing over a limit', () => {
    // a node group label key of 63 + the cluster-autoscaler prefix fits (schema); a spec tag of 127/255 fits AWS too
    expect(issuesOf(example.replace('  tags: { team: platform }', `  tags: { ${'k'.repeat(127)}: ${'v'.repeat(255)} }`))).toEqual([]);
  });
});

describe("a launch template's tags count the ones its kind writes (kubeaz:data-hash, kubeaz:image)", () => {
  const lt = (count: number, extra: Record<string, string> = {}): AnyNode =>
    ({
      key: 'lt/workers',
      kind: 'launch-template',
      deps: [],
      tags: { ...Object.fromEntries(Array.from({ length: count }, (_, i) => [`t${i}`, 'v'])), ...extra },
      props: { name: 'lt', userData: '', instanceTags: {} },
    }) as unknown as AnyNode;
  const counts = (n: AnyNode) => nodeViolations(n).filter((v) => v.unit === 'tags');
  it.each([
    ['48 of its own + the 2 its kind writes = 50: fits', lt(48), []],
    ['49 + 2 = 51: over', lt(49), [51]],
    ['47 + an image record among them + data-hash = 49: fits', lt(47, { 'kubeaz:image': 'x' }), []],
    ['50 naming both already: fits, nothing counted twice', lt(48, { 'kubeaz:image': 'x', 'kubeaz:data-hash': 'y' }), []],
  ])('%s', (_name, node, sizes) => {
    expect(counts(node).map((v) => v.size)).toEqual(sizes);
  });
  it('another kind is not given them', () => {
    expect(
      nodeViolations({
        ...lt(49),
        key: 'sg/x',
        kind: 'security-group',
        props: { groupName: 'g', description: 'd' },
      } as unknown as AnyNode).filter((v) => v.unit === 'tags'),
    ).toEqual([]);
  });
});

// ── the property: whatever load accepts, every derived value fits AWS's limits ───────────────

/** This test's own table of AWS's documented limits (independent of src/model/limits.ts). */
const NAME_MAX: Partial<Record<AnyNode['kind'], number>> = {
  'load-balancer': 32,
  'network-load-balancer': 32,
  'target-group': 32,
  'auto-scaling-group': 255,
  'launch-template': 128,
  'iam-role': 64,
  'instance-profile': 128,
  'iam-user': 64,
  bucket: 63,
  'discovery-bucket': 63,
};
const measure = (d: unknown) => JSON.stringify(d, (_k, v: unknown) => (isRef(v) ? 'x'.repeat(96) : v)).length;

function outOfLimits(n: AnyNode): string[] {
  const bad: string[] = [];
  const p = n.props as Record<string, unknown>;
  const tagSets: Array<Record<string, string>> = [n.tags];
  if (n.kind === 'launch-template') tagSets.push(n.props.instanceTags);
  if (n.kind === 'auto-scaling-group') {
    const all = { ...n.props.instanceTags, ...n.tags };
    if (Object.keys(all).length + 1 > 50) bad.push(`${n.key}: ${Object.keys(all).length + 1} tags`);
  } else if (n.kind === 'launch-template') {
    // the template also carries the two tags its kind writes with every version (data digest, image record)
    const own = ['kubeaz:data-hash', 'kubeaz:image'].filter((k) => !(k in n.tags)).length;
    if (Object.keys(n.tags).length + own > 50) bad.push(`${n.key}: ${Object.keys(n.tags).length + own} tags`);
    if (Object.keys(n.props.instanceTags).length > 50) bad.push(`${n.key}: ${Object.keys(n.props.instanceTags).length} instance tags`);
  } else for (const t of tagSets) if (Object.keys(t).length > 50) bad.push(`${n.key}: ${Object.keys(t).length} tags`);
  for (const t of tagSets)
    for (const [k, v] of Object.entries(t)) {
      if (k.length > 128) bad.push(`${n.key}: tag key ${k.length}`);
      if (v.length > 256) bad.push(`${n.key}: tag ${k} value ${v.length}`);
    }
  const max = NAME_MAX[n.kind];
  if (max !== undefined && typeof p.name === 'string' && p.name.length > max) bad.push(`${n.key}: name ${p.name.length} > ${max}`);
  if (n.kind === 'security-group' && n.props.groupName.length > 255) bad.push(`${n.key}: group name`);
  if (typeof p.path === 'string' && p.path.length > 512) bad.push(`${n.key}: path ${p.path.length}`);
  if (n.kind === 'iam-role' && n.props.trust && measure(n.props.trust) > 2048) bad.push(`${n.key}: trust policy ${measure(n.props.trust)}`);
  if (n.kind === 'iam-role' && Object.values(n.props.policies).reduce((a, d) => a + measure(d), 0) > 10_240)
    bad.push(`${n.key}: inline policies`);
  if (n.kind === 'launch-template' && Buffer.byteLength(n.props.userData) > 16_384)
    bad.push(`${n.key}: user data ${Buffer.byteLength(n.props.userData)} bytes`);
  if (n.kind === 'oidc-provider' && n.props.url.length > 255) bad.push(`${n.key}: url`);
  if (
    (n.kind === 'dns-record' || n.kind === 'hosted-zone') &&
    (n.kind === 'dns-record' ? n.props.name : n.props.domain).replace(/\.$/, '').length > 253
  )
    bad.push(`${n.key}: dns name`);
  return bad;
}

const letters = (c: string, min: number, max: number) => fc.integer({ min, max }).map((n) => c.repeat(n));
/** lengths near the schema's limits are where derived values overflow: bias towards them */
const nearMax = (c: string, max: number) => fc.oneof(letters(c, 1, 3), letters(c, Math.max(1, max - 4), max), letters(c, 1, max));
const domainOf = fc.array(nearMax('d', 63), { minLength: 1, maxLength: 4 }).map((ls) => `${ls.join('.')}.com`);

const specArb = fc.record({
  name: nearMax('n', 23),
  environment: nearMax('e', 23),
  count: fc.constantFrom(1, 3),
  loadBalancer: fc.constantFrom('classic', 'network'),
  tags: fc.dictionary(nearMax('k', 127), nearMax('v', 255), { maxKeys: 3 }),
  groups: fc.array(
    fc.record({
      name: nearMax('g', 20),
      labels: fc.dictionary(
        fc.tuple(fc.constantFrom('', 'example.com/'), nearMax('l', 63)).map(([p, k]) => p + k),
        nearMax('x', 63),
        { maxKeys: 3 },
      ),
    }),
    { maxLength: 2 },
  ),
  irsa: fc.boolean(),
  accounts: fc.array(
    fc.record({
      namespace: nearMax('a', 63),
      name: fc.oneof(fc.integer({ min: 1, max: 252 }), fc.integer({ min: 240, max: 252 })).map((n) => subdomain(n)),
    }),
    { maxLength: 2 },
  ),
  users: fc.array(nearMax('u', 40), { maxLength: 2 }),
  internalDomain: fc.option(domainOf, { nil: undefined }),
  publicDomain: fc.option(domainOf, { nil: undefined }),
});

type GeneratedSpec = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

function textOf(s: GeneratedSpec): string {
  const doc = {
    apiVersion: 'kubeaz/v1',
    kind: 'Cluster',
    metadata: { name: s.name, environment: s.environment },
    spec: {
      region: 'us-east-1',
      zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      kubernetesVersion: '1.35.0',
      network: { vpcCidr: '10.0.0.0/16' },
      dns: {
        ...(s.internalDomain ? { internalDomain: s.internalDomain } : {}),
        ...(s.publicDomain ? { publicDomain: `p${s.publicDomain}` } : {}),
      },
      controlPlane: { instanceType: 'm5.large', count: s.count, loadBalancer: s.loadBalancer },
      tags: s.tags,
      nodeGroups: s.groups.map((g, i) => ({
        name: `${g.name.slice(0, 19)}${i}`,
        instanceType: 'm5.large',
        minSize: 0,
        maxSize: 2,
        labels: g.labels,
      })),
      iam: {
        users: s.users.map((u, i) => ({ name: `${u.slice(0, 39)}${i}`, bucketAccess: 'read' })),
        serviceAccountIssuerDiscovery: { enabled: s.irsa },
        serviceAccounts: s.irsa
          ? s.accounts.map((a, i) => ({
              namespace: a.namespace,
              name: `${a.name}${i}`,
              policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
            }))
          : [],
      },
    },
  };
  return JSON.stringify(doc);
}

/**
 * The master role's inline policies share IAM's 10,240 characters (whitespace not counted; ours is
 * compact JSON). Without IRSA the cloud controller, EBS CSI, cluster autoscaler and node termination
 * handler all run on that role, so it is the largest policy kubeaz writes; a spec the loader accepts
 * must fit, whatever its number of node groups (the handler's lifecycle actions are granted by the
 * cluster's tag, not one ARN per group: one ARN per group pushed six zones and five groups over).
 */
describe("the master role's policy within IAM's limit at the schema's limits (no IRSA)", () => {
  const KEY = 'arn:aws:kms:ap-southeast-2:123456789012:key/mrk-0123456789abcdef0123456789abcdef';
  const widest = (groups: number) =>
    [
      'apiVersion: kubeaz/v1',
      'kind: Cluster',
      // a cluster id of 24 characters, the most the schema takes: it is in every ARN and condition
      `metadata: { name: ${'n'.repeat(15)}, environment: ${'e'.repeat(8)} }`,
      'spec:',
      '  region: ap-southeast-2',
      '  zones: [ap-southeast-2a, ap-southeast-2b, ap-southeast-2c, ap-southeast-2d, ap-southeast-2e, ap-southeast-2f]',
      '  kubernetesVersion: "1.35.4"',
      '  network: { vpcCidr: 10.0.0.0/16, nat: perZone, apiAccess: [0.0.0.0/0] }',
      `  dns: { publicDomain: ${'d'.repeat(60)}.example.com }`,
      '  controlPlane: { instanceType: m5.large, count: 3 }',
      `  encryption: { provider: kms, keyArn: "${KEY}" }`,
      '  nodeGroups:',
      ...Array.from(
        { length: groups },
        (_, i) => `    - { name: ${`g${i}`.padEnd(20, 'x')}, instanceType: m5.large, minSize: 1, maxSize: 2 }`,
      ),
    ].join('\n');
  const masterChars = (groups: number) => {
    const spec = parseSpec(widest(groups), 'c.yaml', NOW).spec;
    const role = deriveGraph(spec, worstCaseFacts(spec, templates)).nodes.find((n) => n.key === 'role/master')!;
    return Object.values((role.props as { policies: Record<string, unknown> }).policies)
      .map((d) => JSON.stringify(d))
      .join('').length;
  };

  it('20 node groups of 20-character names, six zones, KMS, a 24-character id: accepted, and the role fits', () => {
    expect(issuesOf(widest(20))).toEqual([]);
    expect(masterChars(20)).toBeLessThanOrEqual(10_240);
  });

  it('the policy does not grow with the node groups', () => {
    expect(masterChars(20)).toBe(masterChars(1));
  });
});

describe('property: every spec load accepts derives only values within AWS limits (issue 23 #5)', () => {
  it('holds over generated specs at the schema limits, and load refuses exactly the ones that do not fit', () => {
    let accepted = 0;
    let refusedByLimits = 0;
    let schemaRefused = 0;
    fc.assert(
      fc.property(specArb, (s) => {
        const text = textOf(s);
        let schemaOnly;
        try {
          schemaOnly = parseSpec(text, 'c.yaml', NOW).spec;
        } catch {
          schemaRefused++;
          return; // the schema refuses it: not this property's business
        }
        const over = deriveGraph(schemaOnly, worstCaseFacts(schemaOnly, templates)).nodes.flatMap(outOfLimits);
        let refused: SpecError | undefined;
        try {
          parseSpec(text, 'c.yaml', NOW, check);
        } catch (e) {
          if (!(e instanceof SpecError)) throw e;
          refused = e;
        }
        if (!refused) {
          accepted++;
          expect(over, 'load accepted a spec whose derived values exceed AWS limits').toEqual([]);
        } else {
          refusedByLimits++;
          // refused only for a real overflow, and each problem names a spec field and the limit
          expect(over.length, refused.message).toBeGreaterThan(0);
          for (const i of refused.issues) {
            expect(i.path).toMatch(/^(metadata|spec)\./);
            expect(i.message).toMatch(/AWS allows at most \d+/);
          }
        }
      }),
      { numRuns: 150, seed: 23 },
    );
    // the property is not vacuous: both sides occur
    expect(accepted, `accepted ${accepted}, refused by limits ${refusedByLimits}, by the schema ${schemaRefused}`).toBeGreaterThan(10);
    expect(refusedByLimits, `accepted ${accepted}, by the schema ${schemaRefused}`).toBeGreaterThan(0);
  });
});
