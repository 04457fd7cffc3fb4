/**
 * Highly available control plane, the pure side (issue 13): spec.controlPlane.count (1|3|5), the
 * master groups and their zones, the zone-majority warning, reserved group names, derived names
 * shortened to AWS's limits, and the desired graph of a 3-master cluster (one group and one launch
 * template per master, each pinned to its zone, registered with both API load balancers).
 */
import { agentArgsOfUserData } from '../../src/devtools/boot-sim/userdata-args.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import { masterGroups, naming, shortName } from '../../src/model/names.js';
import type { AnyNode, DesiredNode, Ref } from '../../src/model/types.js';
import { parseSpec, SpecError } from '../../src/spec/load.js';
import { parseAgentConfig } from '../../src/records/agent-config.js';
import { parseMasterSettings } from '../../src/records/master-settings.js';
import type { ClusterSpec } from '../../src/spec/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');
const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const tdir = join(ROOT, 'templates');
const templates = Object.fromEntries(walk(tdir).map((p) => [relative(tdir, p).split('\\').join('/'), readFileSync(p, 'utf8')]));
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');

function variant(...edits: [string, string][]): { spec: ClusterSpec; warnings: string[] } {
  let text = example;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`test bug: ${from}`);
    text = text.replace(from, to);
  }
  return parseSpec(text, 'v.yaml', NOW);
}
const withCount = (n: number, ...more: [string, string][]) =>
  variant(['    volumeSize: 50\n', `    volumeSize: 50\n    count: ${n}\n`], ...more);
const issuesOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};
const refKey = (v: unknown): string => (v as Ref).$ref;
const node = <K extends AnyNode['kind']>(nodes: AnyNode[], key: string): DesiredNode<K> => {
  const n = nodes.find((x) => x.key === key);
  if (!n) throw new Error(`no node ${key}`);
  return n as unknown as DesiredNode<K>;
};

describe('spec.controlPlane.count', () => {
  it('defaults to 1 and takes 3 and 5', () => {
    expect(variant().spec.spec.controlPlane.count).toBe(1);
    expect(withCount(3).spec.spec.controlPlane.count).toBe(3);
    expect(withCount(5).spec.spec.controlPlane.count).toBe(5);
  });

  it.each([2, 4, 0, 7])('refuses %i, saying why an odd count', (n) => {
    const issues = issuesOf(() => withCount(n));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^spec\.controlPlane\.count: .*1, 3 or 5.*majority/);
  });

  it("reserves 'master' and 'master-*' as node group names", () => {
    expect(issuesOf(() => variant(['- name: workers', '- name: master-2']))).toEqual([
      expect.stringMatching(/^spec\.nodeGroups\[0\]\.name: 'master-2': .*reserved/),
    ]);
    expect(issuesOf(() => variant(['- name: workers', '- name: master']))).toEqual([expect.stringMatching(/reserved/)]);
    // a name that only starts with the letters is free
    expect(issuesOf(() => variant(['- name: workers', '- name: mastery']))).toEqual([]);
  });

  it('warns when fewer zones than masters put a majority in one zone, and only then', () => {
    const two = (n: number) => withCount(n, ['zones: [us-east-1a, us-east-1b, us-east-1c]', 'zones: [us-east-1a, us-east-1b]']);
    expect(two(3).warnings).toEqual([
      expect.stringMatching(/us-east-1a holds 2 of the 3 masters, a majority .*losing that zone loses quorum/),
    ]);
    expect(two(5).warnings).toEqual([expect.stringMatching(/us-east-1a holds 3 of the 5 masters/)]);
    expect(withCount(3).warnings).toEqual([]); // 3 zones: one each
    expect(withCount(5).warnings).toEqual([]); // 3 zones: 2, 2, 1 — no zone holds a majority
    expect(two(1).warnings).toEqual([]);
  });
});

describe('masterGroups', () => {
  it('one master: the group master across every zone (zone undefined)', () => {
    expect(masterGroups(variant().spec)).toEqual([{ name: 'master', zone: undefined }]);
  });

  it('three on three zones: one per zone; five on three: round-robin', () => {
    expect(masterGroups(withCount(3).spec)).toEqual([
      { name: 'master', zone: 'us-east-1a' },
      { name: 'master-2', zone: 'us-east-1b' },
      { name: 'master-3', zone: 'us-east-1c' },
    ]);
    expect(masterGroups(withCount(5).spec).map((m) => m.zone)).toEqual([
      'us-east-1a',
      'us-east-1b',
      'us-east-1c',
      'us-east-1a',
      'us-east-1b',
    ]);
  });

  it('the existing master keeps the zone it runs in; the others take the rest in order', () => {
    expect(masterGroups(withCount(3).spec, 'us-east-1b')).toEqual([
      { name: 'master', zone: 'us-east-1b' },
      { name: 'master-2', zone: 'us-east-1a' },
      { name: 'master-3', zone: 'us-east-1c' },
    ]);
    // a zone the spec does not list is ignored
    expect(masterGroups(withCount(3).spec, 'us-east-1f')[0]!.zone).toBe('us-east-1a');
  });
});

describe('shortName', () => {
  it('leaves a name that fits exactly as it is (no existing name moves)', () => {
    expect(shortName('a'.repeat(32))).toBe('a'.repeat(32));
    expect(shortName('abcdefghijkl-abcdefghij-api-int')).toBe('abcdefghijkl-abcdefghij-api-int');
  });

  it('cuts a longer name to the limit with a hash of the whole name, deterministically', () => {
    const long = 'abcdefghijkl-abcdefghijk-api-int-tg';
    const a = shortName(long);
    expect(a).toHaveLength(32);
    expect(a).toMatch(/^abcdefghijkl-abcdefghij-[0-9a-f]{8}$/);
    expect(shortName(long)).toBe(a);
    // two names sharing the kept head stay apart
    expect(shortName('abcdefghijkl-abcdefghijk-api-int-tg2')).not.toBe(a);
    // never a '-' before the suffix's own, never ending in '-'
    const cut = shortName(`${'x'.repeat(22)}-${'y'.repeat(20)}`);
    expect(cut).not.toMatch(/--|-$/);
    expect(cut.length).toBeLessThanOrEqual(32);
  });

  it('the classic API load balancers keep their names for every cluster id the schema allows', () => {
    const n = naming(
      variant(['  name: demo\n', `  name: ${'n'.repeat(12)}\n`], ['  environment: dev\n', `  environment: ${'e'.repeat(11)}\n`]).spec,
    );
    expect(n.elbPublic).toBe(`${'n'.repeat(12)}-${'e'.repeat(11)}-api`);
    expect(n.elbInternal).toBe(`${'n'.repeat(12)}-${'e'.repeat(11)}-api-int`);
  });
});

describe('the desired graph of a highly available control plane', () => {
  const g3 = deriveGraph(withCount(3).spec, facts);
  const masters = ['master', 'master-2', 'master-3'];

  it('one auto scaling group of one per master, each pinned to its own zone (private tier)', () => {
    const subnets = masters.map((m) => {
      const asg = node<'auto-scaling-group'>(g3.nodes, `asg/${m}`);
      expect([asg.props.minSize, asg.props.maxSize, asg.props.desiredCapacity]).toEqual([1, 1, 1]);
      expect(asg.props.subnetIds).toHaveLength(1);
      expect(asg.tags['kubeaz:node-group']).toBe(m);
      return refKey(asg.props.subnetIds[0]);
    });
    expect(subnets).toEqual(['subnet/private/us-east-1a', 'subnet/private/us-east-1b', 'subnet/private/us-east-1c']);
    // each waits only for its own zone's NAT gateway
    expect(node(g3.nodes, 'asg/master-2').ready).toEqual(['nat/us-east-1b']);
  });

  it('each master has its own launch template whose user data names its group, and registers with both API load balancers', () => {
    for (const m of masters) {
      const asg = node<'auto-scaling-group'>(g3.nodes, `asg/${m}`);
      expect(refKey(asg.props.launchTemplateId)).toBe(`lt/${m}`);
      expect(asg.props.loadBalancerNames.map(refKey).sort()).toEqual(['elb/internal', 'elb/public']);
      const lt = node<'launch-template'>(g3.nodes, `lt/${m}`);
      // the one user data: the agent's boot for this master's own group
      expect(lt.props.userData).toContain(`# kubeaz user data of group ${m} (master) of demo-dev`);
      expect(lt.props.userData).toMatch(new RegExp(`\\bboot --bucket 'kubeaz-demo-dev-123456789012' --group '${m}' `));
      expect(refKey(lt.props.instanceProfileArn)).toBe('profile/master');
      expect(lt.props.securityGroupIds.map(refKey)).toEqual(['sg/master']);
      expect(lt.tags['kubeaz:kubernetes-version']).toBe('1.35.4');
    }
  });

  it("agent/config.json's master settings carry controlPlaneCount 3 with 3 masters and 1 without the field; every master group is in its groups", () => {
    const config = (g: typeof g3) => {
      const c = parseAgentConfig(node<'bucket-object'>(g.nodes, 'object/agent/config.json').props.body as string);
      if (c instanceof Error) throw c;
      const ms = parseMasterSettings(c.master);
      if (ms instanceof Error) throw ms;
      return { c, ms };
    };
    const three = config(g3);
    expect(three.ms.controlPlaneCount).toBe(3);
    // each master group's launch template tells its agent it is a master
    for (const m of masters)
      expect(agentArgsOfUserData(node<'launch-template'>(g3.nodes, `lt/${m}`).props.userData as string).join(' ')).toContain(
        `--group ${m} --settings {"elasticIps":0,"labels":{"kubeaz.io/role":"master"},"role":"master"`,
      );
    const one = config(deriveGraph(variant().spec, facts));
    expect(one.ms.controlPlaneCount).toBe(1);
  });

  it('etcd (2379-2380) is open on the masters only, from the masters only', () => {
    const etcd = g3.nodes
      .filter((n) => n.kind === 'security-group-rules')
      .flatMap((n) =>
        (n as DesiredNode<'security-group-rules'>).props.ingress.map((r) => ({
          on: refKey((n as DesiredNode<'security-group-rules'>).props.groupId),
          r,
        })),
      )
      .filter(({ r }) => r.protocol === 'tcp' && (r.fromPort ?? 0) <= 2380 && (r.toPort ?? 0) >= 2379);
    expect(etcd.map(({ on, r }) => [on, r.fromPort, r.toPort, r.sourceGroup ? refKey(r.sourceGroup) : r.cidr])).toEqual([
      ['sg/master', 2379, 2380, 'sg/master'],
    ]);
  });

  it('count 1 builds exactly the graph of a spec without the field', () => {
    const explicit = deriveGraph(withCount(1).spec, facts);
    expect(explicit).toEqual(deriveGraph(variant().spec, facts));
    expect(explicit.nodes.filter((n) => n.key.startsWith('asg/master')).map((n) => n.key)).toEqual(['asg/master']);
  });

  it("nat none puts every master in its zone's public subnet", () => {
    const g = deriveGraph(withCount(3, ['nat: perZone', 'nat: none']).spec, facts);
    expect(masters.map((m) => refKey(node<'auto-scaling-group'>(g.nodes, `asg/${m}`).props.subnetIds[0]))).toEqual([
      'subnet/public/us-east-1a',
      'subnet/public/us-east-1b',
      'subnet/public/us-east-1c',
    ]);
  });
});

describe('IAM for an HA control plane (least privilege: what the bucket grants already)', () => {
  const bucketArn = 'arn:aws:s3:::kubeaz-demo-dev-123456789012';
  type Statement = { Effect: string; Action: string | string[]; Resource: string | string[] | Ref[] };
  const allows = (policy: { Statement: Statement[] }, action: string, arn: string) =>
    policy.Statement.some((st) => {
      if (st.Effect !== 'Allow') return false;
      const actions = ([] as string[]).concat(st.Action);
      const resources = ([] as unknown[]).concat(st.Resource).filter((r): r is string => typeof r === 'string');
      return (
        actions.includes(action) &&
        resources.some((r) => new RegExp(`^${r.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '.*' : `\\${c}`))}$`).test(arn))
      );
    });

  it('a master may read and conditionally write the control-plane records and read pki/; a node may not touch them', async () => {
    const { masterPolicy, nodePolicy } = await import('../../src/model/policies.js');
    const master = masterPolicy(bucketArn, [], 'demo-dev', 'us-east-1', '123456789012') as unknown as { Statement: Statement[] };
    const nodeP = nodePolicy(bucketArn) as unknown as { Statement: Statement[] };
    for (const key of ['etcd/control-plane/init.json', 'etcd/control-plane/members/master-2.json', 'etcd/control-plane/restore.json']) {
      expect(allows(master, 's3:GetObject', `${bucketArn}/${key}`), key).toBe(true);
      expect(allows(master, 's3:PutObject', `${bucketArn}/${key}`), key).toBe(true);
      expect(allows(nodeP, 's3:GetObject', `${bucketArn}/${key}`), key).toBe(false);
      expect(allows(nodeP, 's3:PutObject', `${bucketArn}/${key}`), key).toBe(false);
    }
    expect(allows(master, 's3:GetObject', `${bucketArn}/pki/ca.crt`)).toBe(true);
    expect(allows(master, 's3:PutObject', `${bucketArn}/pki/ca.crt`)).toBe(false);
    expect(allows(nodeP, 's3:GetObject', `${bucketArn}/pki/ca.key`)).toBe(false);
  });

  it('with the longest cluster id, five masters and 20-character groups, every derived name fits AWS', () => {
    const { spec } = withCount(
      5,
      ['  name: demo\n', `  name: ${'n'.repeat(12)}\n`],
      ['  environment: dev\n', `  environment: ${'e'.repeat(11)}\n`],
    );
    const g = deriveGraph(spec, facts);
    const limits: Partial<Record<AnyNode['kind'], number>> = {
      'load-balancer': 32,
      'auto-scaling-group': 255,
      'launch-template': 128,
      'iam-role': 64,
      'instance-profile': 128,
    };
    let n = 0;
    for (const x of g.nodes) {
      const max = limits[x.kind];
      if (!max) continue;
      expect((x.props as { name: string }).name.length, x.key).toBeLessThanOrEqual(max);
      n++;
    }
    expect(
      g.nodes
        .filter((x) => x.kind === 'auto-scaling-group' && x.key.startsWith('asg/master'))
        .map((x) => (x.props as { name: string }).name),
    ).toEqual(['master', 'master-2', 'master-3', 'master-4', 'master-5'].map((m) => `${'n'.repeat(12)}-${'e'.repeat(11)}-${m}`));
    expect(n).toBeGreaterThan(10);
  });
});
