/**
 * Derived names (issue 9, item 2): every name kubeaz derives fits its AWS limit for the longest
 * cluster id and node group name the schema allows; existing clusters keep today's names; a name
 * another cluster holds is refused before any mutating call, naming the holder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { bucketName, naming } from '../../src/model/names.js';
import { ENV_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type DesiredGraph, type Tags } from '../../src/model/types.js';
import { refuseNameCollisions } from '../../src/engine/ownership.js';
import { parseSpec } from '../../src/spec/load.js';
import { MAX_CLUSTER_ID_LENGTH } from '../../src/spec/schema.js';
import type { Handlers } from '../../src/resources/index.js';
import type { Actual, RunContext } from '../../src/resources/types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');
const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
function templates(): Record<string, string> {
  const dir = join(ROOT, 'templates');
  const needed = [...TEMPLATE_NAMES];
  const real = existsSync(dir)
    ? Object.fromEntries(walk(dir).map((p) => [relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8')]))
    : {};
  return needed.every((n) => n in real) ? real : Object.fromEntries(needed.map((n) => [n, `# ${n}\n`]));
}
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates: templates() };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const specOf = (name: string, environment: string, workers = 'workers', edge = 'edge') =>
  parseSpec(
    example
      .replace('  name: demo\n', `  name: ${name}\n`)
      .replace('  environment: dev\n', `  environment: ${environment}\n`)
      .replace('- name: workers', `- name: ${workers}`)
      .replace('- name: edge', `- name: ${edge}`),
    'v.yaml',
    NOW,
  ).spec;

/** AWS's documented name limits, per kind: [max length, allowed characters]. */
const LIMITS: Record<string, [number, RegExp]> = {
  'load-balancer': [32, /^[A-Za-z0-9-]+$/], // classic ELB
  'auto-scaling-group': [255, /^[\x20-\x7e]+$/],
  'launch-template': [128, /^[A-Za-z0-9().\-/_]+$/],
  'iam-role': [64, /^[\w+=,.@-]+$/],
  'instance-profile': [128, /^[\w+=,.@-]+$/],
  'iam-user': [64, /^[\w+=,.@-]+$/],
  'security-group': [255, /^[\x20-\x7e]+$/],
};

describe('derived names', () => {
  it('the longest cluster id and node group names the schema allows give names within every AWS limit', () => {
    // name + '-' + environment = MAX_CLUSTER_ID_LENGTH; group names at their 20-character maximum
    const name = 'n'.repeat(12);
    const env = 'e'.repeat(MAX_CLUSTER_ID_LENGTH - 13);
    const spec = specOf(name, env, 'w'.repeat(20), 'l'.repeat(20));
    expect(`${name}-${env}`).toHaveLength(MAX_CLUSTER_ID_LENGTH);
    const g = deriveGraph(spec, facts);
    let checked = 0;
    for (const n of g.nodes) {
      const limit = LIMITS[n.kind];
      if (!limit) continue;
      const p = n.props as { name?: string; groupName?: string };
      const value = n.kind === 'security-group' ? p.groupName! : p.name!;
      expect(value.length, `${n.kind} ${value}`).toBeLessThanOrEqual(limit[0]);
      expect(value, n.kind).toMatch(limit[1]);
      checked++;
    }
    expect(checked).toBeGreaterThan(12);
    const names = naming(spec);
    expect(names.asg('w'.repeat(20)).length).toBe(45);
    expect(names.elbInternal.length).toBeLessThanOrEqual(32);
    const b = bucketName(names.clusterId, facts.accountId);
    expect(b.length).toBeLessThanOrEqual(63);
    expect(b).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    expect(names.iamPath.length).toBeLessThanOrEqual(512);
    // a longer id is refused by the schema, so no derived name can outgrow its limit
    expect(() => specOf(name + 'x', env)).toThrow(/at most 24/);
  });

  it("existing clusters keep today's names exactly", () => {
    const names = naming(specOf('coll', 'dev'));
    expect(names.asg('web-a')).toBe('coll-dev-web-a');
    expect(names.launchTemplate('web-a')).toBe('coll-dev-web-a');
    expect(names.elbPublic).toBe('coll-dev-api');
    expect(names.elbInternal).toBe('coll-dev-api-int');
    expect(names.role('master')).toBe('coll-dev-master');
    expect(naming(specOf('coll', 'dev-web')).asg('a')).toBe('coll-dev-web-a');
  });
});

describe('refuseNameCollisions', () => {
  const spec = specOf('coll', 'dev-web', 'a');
  const graph: DesiredGraph = deriveGraph(spec, facts);
  const ctx = {
    clusterId: 'coll-dev-web',
    owner: { name: 'coll', environment: 'dev-web' },
    region: 'us-east-1',
    sightings: [],
  } as unknown as RunContext;
  const holderTags = (name: string, env: string): Tags => ({
    [OWNER_TAG]: `${name}-${env}`,
    [NAME_TAG]: name,
    [ENV_TAG]: env,
    [REGION_TAG]: 'us-east-1',
  });
  function handlers(held: Record<string, Tags>, asked: string[][]): Handlers {
    const h = {
      nameHolders: async (_: RunContext, names: readonly string[]) => (
        asked.push([...names]),
        names.filter((n) => n in held).map((n) => ({ name: n, tags: held[n]! }))
      ),
    };
    return { 'auto-scaling-group': h, 'launch-template': h } as unknown as Handlers;
  }
  const all = new Map<string, Actual>();

  it('refuses a name another cluster holds, naming the holder', async () => {
    const asked: string[][] = [];
    await expect(
      refuseNameCollisions(
        ctx,
        graph,
        all,
        new Proxy(handlers({ 'coll-dev-web-a': holderTags('coll', 'dev') }, asked), {
          get: (t, k) => (t as Record<string, unknown>)[k as string] ?? {},
        }),
      ),
    ).rejects.toThrow(/auto-scaling-group coll-dev-web-a \(asg\/a\) already exists and belongs to cluster coll\/dev \(in us-east-1\)/);
    expect(asked.flat()).toContain('coll-dev-web-a');
  });

  it("names what to rename (issue 23 #11a): the node group for its own group and template, the cluster name or environment for the control plane's target groups, load balancers and groups", async () => {
    const nlbSpec = parseSpec(
      example
        .replace('  name: demo\n', '  name: coll\n')
        .replace('  environment: dev\n', '  environment: dev-web\n')
        .replace('- name: workers', '- name: a')
        .replace(/^(\s+)instanceType: (\S+)\n(?=[\s\S]*nodeGroups)/m, '$1instanceType: $2\n$1loadBalancer: network\n'),
      'v.yaml',
      NOW,
    ).spec;
    const g = deriveGraph(nlbSpec, facts);
    const tg = g.nodes.find((n) => n.key === 'tg/internal')!;
    expect(tg.kind).toBe('target-group');
    const tgName = (tg.props as { name: string }).name;
    const squatted = (held: Record<string, Tags>) => {
      const h = {
        nameHolders: async (_: RunContext, names: readonly string[]) =>
          names.filter((n) => n in held).map((n) => ({ name: n, tags: held[n]! })),
      };
      return new Proxy({} as Handlers, { get: () => h });
    };
    const foreign: Tags = { team: 'someone' };
    const err = (await refuseNameCollisions(ctx, g, all, squatted({ [tgName]: foreign })).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      new RegExp(`target-group ${tgName} \\(tg/internal\\) already exists and belongs to something kubeaz did not make`),
    );
    expect(err.message).toMatch(
      /choose another metadata\.name or metadata\.environment \(the control plane's load balancers and their target groups are named after the cluster id, not after a node group\)$/,
    );
    expect(err.message).not.toMatch(/node group '/);
    // the control plane's own group: the cluster name too, never "the node group"
    const master = (await refuseNameCollisions(ctx, g, all, squatted({ 'coll-dev-web-master': foreign })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(master.message).toMatch(
      /\(asg\/master\) already exists.*choose another metadata\.name or metadata\.environment \(the control plane's groups are named after the cluster id/,
    );
    expect(master.message).not.toMatch(/rename node group/);
    // a node group's own resources: that group, by name
    const group = (await refuseNameCollisions(ctx, g, all, squatted({ 'coll-dev-web-a': holderTags('coll', 'dev') })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(group.message).toMatch(
      /\(asg\/a\) already exists.*; rename node group 'a' \(or choose another metadata\.name or metadata\.environment\)$/,
    );
  });

  it('passes when the name is free or its own, and asks nothing when everything is observed already', async () => {
    const asked: string[][] = [];
    const hs = new Proxy(handlers({ 'coll-dev-web-workers': holderTags('coll', 'dev-web') }, asked), {
      get: (t, k) => (t as Record<string, unknown>)[k as string] ?? {},
    });
    await expect(refuseNameCollisions(ctx, graph, all, hs)).resolves.toBeUndefined();
    expect(asked.length).toBeGreaterThan(0);
    asked.length = 0;
    const observed = new Map(graph.nodes.map((n) => [n.key, {} as Actual]));
    await refuseNameCollisions(ctx, graph, observed, hs);
    expect(asked).toEqual([]);
  });
});
