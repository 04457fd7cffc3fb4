/**
 * controlPlane.loadBalancer (issue 13, NLB): the pure graph for `network` — NLBs with their target
 * groups, every master group's TargetGroupARNs, the records on the NLBs — and names within the
 * 32-character limit; the master group attaches its new target groups before it detaches anything.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import {
  AttachLoadBalancerTargetGroupsCommand,
  AttachLoadBalancersCommand,
  AutoScalingClient,
  DetachLoadBalancerTargetGroupsCommand,
  DetachLoadBalancersCommand,
} from '@aws-sdk/client-auto-scaling';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { strayEdges } from '../../src/engine/edges.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { API_NLB_HEALTH_CHECK, deriveGraph, type Facts } from '../../src/model/derive.js';
import { naming, shortName } from '../../src/model/names.js';
import type { AnyNode, DesiredNode } from '../../src/model/types.js';
import { autoScalingGroup } from '../../src/resources/auto-scaling-group.js';
import { HANDLERS } from '../../src/resources/index.js';
import { parseSpec } from '../../src/spec/load.js';
import { MAX_CLUSTER_ID_LENGTH } from '../../src/spec/schema.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');
const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const dir = join(ROOT, 'templates');
const needed = [...TEMPLATE_NAMES];
const templates = existsSync(dir)
  ? Object.fromEntries(walk(dir).map((p) => [relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8')]))
  : Object.fromEntries(needed.map((n) => [n, `# ${n}\n`]));
const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');

const withLb = (yaml: string, lb: string) => {
  const out = yaml.replace(/( {2}controlPlane:\n(?: {4}.*\n)*)/, `$1    loadBalancer: ${lb}\n`);
  if (out === yaml) throw new Error('test bug: no controlPlane');
  return out;
};
const graphOf = (yaml: string) => deriveGraph(parseSpec(yaml, 'v.yaml', NOW).spec, facts);
const node = <K extends AnyNode['kind']>(nodes: AnyNode[], key: string, kind: K): DesiredNode<K> => {
  const n = nodes.find((x) => x.key === key);
  expect(n?.kind, key).toBe(kind);
  return n as DesiredNode<K>;
};

describe('controlPlane.loadBalancer', () => {
  it('defaults to classic: ELBs, no NLB, no target group, no targetGroupArns on any group', () => {
    const spec = parseSpec(example, 'v.yaml', NOW).spec;
    expect(spec.spec.controlPlane.loadBalancer).toBe('classic');
    const g = graphOf(example);
    expect(g.nodes.filter((n) => n.kind === 'load-balancer').map((n) => n.key)).toEqual(['elb/public', 'elb/internal']);
    expect(g.nodes.some((n) => n.kind === 'network-load-balancer' || n.kind === 'target-group')).toBe(false);
    expect(g.nodes.filter((n) => n.kind === 'auto-scaling-group').some((n) => 'targetGroupArns' in n.props)).toBe(false);
  });

  it('refuses anything but classic or network', () => {
    expect(() => parseSpec(withLb(example, 'application'), 'v.yaml', NOW)).toThrow(/loadBalancer must be 'classic' or 'network'/);
  });

  it('network: two NLBs (own security groups, cross-zone, TCP 443 → own target group), no classic ELB', () => {
    const g = graphOf(withLb(example, 'network'));
    expect(g.nodes.some((n) => n.kind === 'load-balancer')).toBe(false);
    for (const [which, scheme, tier, sg] of [
      ['public', 'internet-facing', 'public', 'sg/elb-public'],
      ['internal', 'internal', 'private', 'sg/elb-internal'],
    ] as const) {
      const lb = node(g.nodes, `nlb/${which}`, 'network-load-balancer');
      expect(lb.props.scheme).toBe(scheme);
      expect(lb.props.subnetIds.map((r) => r.$ref)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c'].map((z) => `subnet/${tier}/${z}`));
      expect(lb.props.securityGroupIds).toEqual([{ $ref: sg }]);
      expect(lb.props.crossZone).toBe(true);
      expect(lb.props.listener).toEqual({ protocol: 'TCP', port: 443, targetGroupArn: { $ref: `tg/${which}` } });
      const tg = node(g.nodes, `tg/${which}`, 'target-group');
      expect(tg.props).toMatchObject({
        protocol: 'TCP',
        port: 6443,
        targetType: 'instance',
        preserveClientIp: false,
        deregistrationDelay: 300,
        vpcId: { $ref: 'vpc' },
      });
      expect(tg.props.healthCheck).toEqual(API_NLB_HEALTH_CHECK);
      expect(tg.props.healthCheck).toMatchObject({ protocol: 'HTTPS', path: '/readyz' });
    }
  });

  it('network: every master group lists both target groups (no classic names); other groups none; the records alias the NLBs', () => {
    const g = graphOf(withLb(withPublicDomain(example), 'network')); // a public domain: the public master record too
    const groups = g.nodes.filter((n): n is DesiredNode<'auto-scaling-group'> => n.kind === 'auto-scaling-group');
    const masters = groups.filter((n) => n.tags['kubeaz:node-group'] === 'master' || n.tags['kubeaz:node-group']?.startsWith('master-'));
    expect(masters.length).toBeGreaterThanOrEqual(1);
    for (const m of masters) {
      expect(m.props.targetGroupArns).toEqual([{ $ref: 'tg/public' }, { $ref: 'tg/internal' }]);
      expect(m.props.loadBalancerNames).toEqual([]);
    }
    for (const other of groups.filter((n) => !masters.includes(n))) expect(other.props.targetGroupArns).toBeUndefined();
    expect(node(g.nodes, 'record/master-internal', 'dns-record').props.alias).toEqual({
      dnsName: { $ref: 'nlb/internal', attr: 'dnsName' },
      hostedZoneId: { $ref: 'nlb/internal', attr: 'hostedZoneId' },
    });
    expect(node(g.nodes, 'record/master-public', 'dns-record').props.alias).toEqual({
      dnsName: { $ref: 'nlb/public', attr: 'dnsName' },
      hostedZoneId: { $ref: 'nlb/public', attr: 'hostedZoneId' },
    });
  });

  it('network without apiAccess: only the internal NLB and its target group', () => {
    const g = graphOf(withLb(example, 'network').replace(/apiAccess: \[[^\]]*\]/, 'apiAccess: []'));
    expect(g.nodes.filter((n) => n.kind === 'network-load-balancer' || n.kind === 'target-group').map((n) => n.key)).toEqual([
      'tg/internal',
      'nlb/internal',
    ]);
    expect(node(g.nodes, 'asg/master', 'auto-scaling-group').props.targetGroupArns).toEqual([{ $ref: 'tg/internal' }]);
  });

  it("network: every edge of the graph follows the kinds' declared edges", () => {
    expect(strayEdges(HANDLERS, graphOf(withLb(example, 'network')))).toEqual([]);
  });
});

describe('NLB and target group names', () => {
  it('fit 32 characters and the ELBv2 pattern for the longest cluster id', () => {
    const id = `${'n'.repeat(12)}-${'e'.repeat(MAX_CLUSTER_ID_LENGTH - 13)}`;
    const yaml = withLb(example, 'network')
      .replace('  name: demo\n', `  name: ${'n'.repeat(12)}\n`)
      .replace('  environment: dev\n', `  environment: ${'e'.repeat(MAX_CLUSTER_ID_LENGTH - 13)}\n`);
    const names = naming(parseSpec(yaml, 'v.yaml', NOW).spec);
    expect(names.clusterId).toBe(id);
    const all = [names.nlbPublic, names.nlbInternal, names.tgPublic, names.tgInternal];
    for (const n of all) {
      expect(n.length, n).toBeLessThanOrEqual(32);
      expect(n).toMatch(/^(?!.*--)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/);
    }
    expect(new Set(all).size).toBe(4);
    expect(`${id}-api-int-tg`.length).toBeGreaterThan(32); // the case that needs shortening
    expect(names.tgInternal).not.toBe(`${id}-api-int-tg`);
    for (const n of graphOf(yaml).nodes.filter((x) => x.kind === 'network-load-balancer' || x.kind === 'target-group'))
      expect(all).toContain((n.props as { name: string }).name);
  });

  it('a short id keeps readable names', () => {
    const names = naming(parseSpec(example, 'v.yaml', NOW).spec);
    expect([names.nlbPublic, names.nlbInternal, names.tgPublic, names.tgInternal]).toEqual([
      'demo-dev-nlb',
      'demo-dev-nlb-int',
      'demo-dev-api-tg',
      'demo-dev-api-int-tg',
    ]);
  });

  it('shortName: unchanged when it fits; otherwise deterministic, within the limit, distinct for names sharing a head', () => {
    expect(shortName('a'.repeat(32))).toBe('a'.repeat(32));
    const long1 = `${'x'.repeat(30)}-one`;
    const long2 = `${'x'.repeat(30)}-two`;
    expect(shortName(long1)).toBe(shortName(long1));
    expect(shortName(long1)).toHaveLength(32);
    expect(shortName(long1)).not.toBe(shortName(long2));
    expect(shortName(long1, 20).length).toBeLessThanOrEqual(20);
    expect(shortName(`${'y'.repeat(22)}------------zz`)).toMatch(/^y{22}-[0-9a-f]{8}$/);
  });
});

describe('auto scaling group: target groups in place', () => {
  it('attaches the new target groups before it detaches the classic ELBs, then detaches the old target groups', async () => {
    const asg = sdkMock(AutoScalingClient);
    const order: string[] = [];
    asg.on(AttachLoadBalancerTargetGroupsCommand).callsFake(() => (order.push('attach-tg'), {}));
    asg.on(DetachLoadBalancerTargetGroupsCommand).callsFake(() => (order.push('detach-tg'), {}));
    asg.on(AttachLoadBalancersCommand).callsFake(() => (order.push('attach-elb'), {}));
    asg.on(DetachLoadBalancersCommand).callsFake(() => (order.push('detach-elb'), {}));
    const ctx = createRunContext({
      clusterId: 'c-d',
      region: 'us-east-1',
      accountId: '1',
      generation: 'g',
      aws: new AwsClients({ region: 'us-east-1' }),
    });
    const props = {
      name: 'c-d-master',
      launchTemplateId: 'lt-1',
      launchTemplateVersion: '1',
      subnetIds: ['subnet-1'],
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      loadBalancerNames: [] as string[],
      targetGroupArns: ['arn:tg/new'],
      healthCheckGracePeriod: 300,
      instanceTags: {},
    };
    const actual = {
      key: 'asg/master',
      kind: 'auto-scaling-group' as const,
      id: 'c-d-master',
      attrs: { name: 'c-d-master' },
      tags: {},
      observed: {
        min: 1,
        max: 1,
        desired: 1,
        launchTemplateId: 'lt-1',
        launchTemplateVersion: '1',
        subnetIds: ['subnet-1'],
        loadBalancerNames: ['c-d-api-int'],
        targetGroupArns: ['arn:tg/old'],
        instances: [],
        propagate: [],
      },
    };
    const n = { key: 'asg/master', kind: 'auto-scaling-group' as const, props, tags: {} };
    const changes = autoScalingGroup.diff(n, actual);
    expect(changes.map((c) => c.field).filter((f) => f !== 'tags')).toEqual(['loadBalancerNames', 'targetGroupArns']);
    const after = await autoScalingGroup.update!(
      ctx,
      n,
      actual,
      changes.filter((c) => c.field !== 'tags'),
    );
    expect(order).toEqual(['attach-tg', 'detach-tg', 'detach-elb']);
    expect(asg.commandCalls(AttachLoadBalancerTargetGroupsCommand)[0]!.args[0].input.TargetGroupARNs).toEqual(['arn:tg/new']);
    expect(asg.commandCalls(DetachLoadBalancerTargetGroupsCommand)[0]!.args[0].input.TargetGroupARNs).toEqual(['arn:tg/old']);
    expect(after.observed.targetGroupArns).toEqual(['arn:tg/new']);
    expect(autoScalingGroup.diff(n, { ...after, tags: actual.tags }).filter((c) => c.field !== 'tags')).toEqual([]);
    asg.restore();
  });
});
