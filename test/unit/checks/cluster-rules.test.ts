/**
 * The cluster rules (src/checks/cluster.ts, version-skew.ts), one table each: the input a rule
 * reads from what exists and what the spec wants, and the refusal it gives (or none). The engine
 * runs them through CLUSTER_RULES in this order and knows none of them.
 */
import { describe, expect, it } from 'vitest';
import { clusterZones, controlPlaneShrink } from '../../../src/checks/cluster.js';
import { CLUSTER_RULES } from '../../../src/checks/index.js';
import type { Observed, RuleFacts } from '../../../src/checks/types.js';
import { versionSkew } from '../../../src/checks/version-skew.js';
import { K8S_VERSION_TAG, type AnyNode, type Kind } from '../../../src/model/types.js';

const seen = (key: string, kind: Kind, id: string, tags: Record<string, string> = {}): Observed => ({ key, kind, id, tags });
const want = (key: string, kind: Kind, tags: Record<string, string> = {}): AnyNode =>
  ({ key, kind, props: {}, deps: [], tags }) as unknown as AnyNode;
const facts = (observed: Observed[], nodes: AnyNode[] = [], zones: string[] = ['eu-west-1a', 'eu-west-1b']): RuleFacts => ({
  observed: new Map(observed.map((o) => [o.key, o])),
  graph: { clusterId: 'c-dev', nodes },
  zones,
});
const judge = <I>(rule: { input(f: RuleFacts): I | undefined; check(i: I): unknown }, f: RuleFacts) => {
  const input = rule.input(f);
  return input === undefined ? undefined : rule.check(input);
};

describe('the cluster rules', () => {
  it("run in the plan's order: zones, version skew, control-plane shrink, encryption switch", () => {
    expect(CLUSTER_RULES.map((r) => r.name)).toEqual(['cluster-zones', 'version-skew', 'control-plane-shrink', 'encryption-switch']);
  });

  const vpc = seen('vpc', 'vpc', 'vpc-1');
  const subnets = (...zones: string[]) =>
    zones.flatMap((z) => [seen(`subnet/public/${z}`, 'subnet', `s-pub-${z}`), seen(`subnet/private/${z}`, 'subnet', `s-priv-${z}`)]);
  it.each([
    ['a new cluster (no VPC): nothing to judge', [], ['eu-west-1a'], undefined],
    ['a VPC without subnets yet: no zones to keep', [vpc], ['eu-west-1c'], null],
    ['the same zones, in another order', [vpc, ...subnets('eu-west-1b', 'eu-west-1a')], ['eu-west-1a', 'eu-west-1b'], null],
    [
      'a zone added',
      [vpc, ...subnets('eu-west-1a')],
      ['eu-west-1b', 'eu-west-1a'],
      { from: ['eu-west-1a'], to: ['eu-west-1a', 'eu-west-1b'] },
    ],
    [
      'a zone swapped',
      [vpc, ...subnets('eu-west-1a', 'eu-west-1b')],
      ['eu-west-1a', 'eu-west-1c'],
      { from: ['eu-west-1a', 'eu-west-1b'], to: ['eu-west-1a', 'eu-west-1c'] },
    ],
  ] as const)('cluster-zones: %s', (_name, observed, zones, expected) => {
    const f = facts([...observed], [], [...zones]);
    if (expected === undefined) return expect(clusterZones.input(f)).toBeUndefined();
    const refusal = judge(clusterZones, f);
    if (expected === null) return expect(refusal).toBeUndefined();
    expect(refusal).toEqual({
      key: 'vpc',
      kind: 'vpc',
      id: 'vpc-1',
      fields: [{ field: 'zones', ...expected }],
      reason: expect.stringMatching(/^the zones of an existing cluster cannot change/),
    });
  });

  const lt = (v?: string) => seen('lt/master', 'launch-template', 'lt-1', v ? { [K8S_VERSION_TAG]: v } : {});
  const ltWant = (v?: string) => want('lt/master', 'launch-template', v ? { [K8S_VERSION_TAG]: v } : {});
  it.each([
    ['a new cluster: nothing running', [], '1.31.2', 'no input'],
    ['a template without the tag (older cluster)', [lt()], '1.31.2', 'no input'],
    ['the same version', [lt('1.31.2')], '1.31.2', 'no input'],
    ['a patch up', [lt('1.31.2')], '1.31.5', null],
    ['one minor up', [lt('1.31.2')], '1.32.0', null],
    ['two minors up', [lt('1.31.2')], '1.33.0', /skips 1 minor version/],
    ['a minor down', [lt('1.31.2')], '1.30.4', /lowers the minor version/],
    ['another major', [lt('1.31.2')], '2.0.0', /changes the major version/],
  ] as const)('version-skew: %s', (_name, observed, wanted, expected) => {
    const f = facts([...observed], [ltWant(wanted)]);
    if (expected === 'no input') return expect(versionSkew.input(f)).toBeUndefined();
    const refusal = judge(versionSkew, f);
    if (expected === null) return expect(refusal).toBeUndefined();
    expect(refusal).toEqual({
      key: 'lt/master',
      kind: 'launch-template',
      id: 'lt-1',
      fields: [{ field: 'kubernetesVersion', from: '1.31.2', to: wanted }],
      reason: expect.stringMatching(expected),
    });
  });

  const asg = (g: string) => seen(`asg/${g}`, 'auto-scaling-group', `asg-${g}`);
  const asgWant = (g: string) => want(`asg/${g}`, 'auto-scaling-group');
  it.each([
    ['a new cluster', [], ['master'], null],
    ['1 → 1', ['master'], ['master'], null],
    ['1 → 3 (members join)', ['master'], ['master', 'master-2', 'master-3'], null],
    ['3 → 1', ['master', 'master-2', 'master-3'], ['master'], { from: 3, to: 1 }],
    ['5 → 3', ['master', 'master-2', 'master-3', 'master-4', 'master-5'], ['master', 'master-2', 'master-3'], { from: 5, to: 3 }],
    ['node groups do not count, whatever their names', ['master', 'nodes', 'masters', 'master-x'], ['master'], null],
  ] as const)('control-plane-shrink: %s', (_name, running, wanted, expected) => {
    const refusal = judge(controlPlaneShrink, facts(running.map(asg), wanted.map(asgWant)));
    if (expected === null) return expect(refusal).toBeUndefined();
    expect(refusal).toEqual({
      key: 'asg/master',
      kind: 'auto-scaling-group',
      id: 'asg-master',
      fields: [{ field: 'controlPlane.count', ...expected }],
      reason: expect.stringMatching(
        new RegExp(`^controlPlane.count ${expected.from} → ${expected.to} removes masters.*Put count back to ${expected.from};`),
      ),
    });
  });
});
