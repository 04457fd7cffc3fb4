/**
 * What plan shows a create sets (model/describe.ts, issue 21): a few words per kind from the node's
 * props — a subnet's CIDR and zone, a group's types and min/desired/max — and, on the example's
 * whole graph, a summary for every node without "undefined" or "[object Object]".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { describeNode } from '../../src/model/describe.js';
import { ref, type AnyNode } from '../../src/model/types.js';
import { parseSpec } from '../../src/spec/load.js';
import { renderPlan } from '../../src/engine/plan.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const NOW = new Date('2026-01-15T00:00:00Z');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(ROOT, 'templates', n), 'utf8')]));
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');

const node = (key: string, kind: string, props: Record<string, unknown>): AnyNode => ({ key, kind, props, deps: [], tags: {} }) as never;

const lt = node('lt/general', 'launch-template', {
  name: 'demo-dev-general',
  imageId: 'ami-1',
  instanceType: 'm6i.large',
  instanceProfileArn: ref('profile/node', 'arn'),
  securityGroupIds: [],
  associatePublicIp: false,
  volumeSize: 50,
  hopLimit: 1,
  userData: '',
  instanceTags: {},
});
const asg = (extra: Record<string, unknown> = {}) =>
  node('asg/general', 'auto-scaling-group', {
    name: 'demo-dev-general',
    launchTemplateId: ref('lt/general', 'id'),
    launchTemplateVersion: ref('lt/general', 'version'),
    subnetIds: [ref('subnet/private/a'), ref('subnet/private/b'), ref('subnet/private/c')],
    minSize: 1,
    maxSize: 5,
    desiredCapacity: 2,
    loadBalancerNames: [],
    healthCheckGracePeriod: 300,
    instanceTags: {},
    ...extra,
  });
const look = (k: string) => (k === 'lt/general' ? lt : undefined);

describe('what a create sets', () => {
  const table: Array<[string, AnyNode, string]> = [
    ['a VPC: its CIDR', node('vpc', 'vpc', { cidr: '10.0.0.0/16', tenancy: 'default' }), '10.0.0.0/16'],
    [
      'a subnet: CIDR, zone, tier',
      node('subnet/public/us-east-1a', 'subnet', { vpcId: ref('vpc'), cidr: '10.0.0.0/20', zone: 'us-east-1a', tier: 'public' }),
      '10.0.0.0/20 in us-east-1a, public',
    ],
    [
      'a NAT gateway: its subnet',
      node('nat/a', 'nat-gateway', { subnetId: ref('subnet/public/a'), allocationId: ref('eip/a', 'allocationId') }),
      'in subnet/public/a',
    ],
    [
      'a route table: each route and its target',
      node('rt/private/a', 'route-table', {
        vpcId: ref('vpc'),
        routes: [{ destination: '0.0.0.0/0', natGatewayId: ref('nat/a') }],
        subnetIds: [ref('subnet/private/a')],
      }),
      '0.0.0.0/0 → nat/a; 1 subnet',
    ],
    [
      'ingress rules: protocol, ports, source',
      node('sgr/api', 'security-group-rules', {
        groupId: ref('sg/api'),
        ingress: [
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '203.0.113.0/24', description: '' },
          { protocol: 'tcp', fromPort: 30000, toPort: 32767, sourceGroup: ref('sg/node'), description: '' },
          { protocol: '-1', fromPort: -1, toPort: -1, sourceGroup: ref('sg/master'), description: '' },
        ],
      }),
      '3 ingress rules: tcp 443 from 203.0.113.0/24, tcp 30000-32767 from sg/node, all from sg/master',
    ],
    ['a launch template: type, image, disk', lt, 'demo-dev-general: m6i.large, image ami-1, 50 GiB'],
    [
      "a plain group: its launch template's type and min/desired/max",
      asg(),
      'demo-dev-general: m6i.large, min 1 / desired 2 / max 5, 3 subnets',
    ],
    [
      'a mixed group: its types and the spot share',
      asg({
        mixedInstances: {
          instanceTypes: ['m6i.large', 'm6a.large'],
          onDemandBase: 1,
          onDemandPercentage: 25,
          onDemandAllocationStrategy: 'prioritized',
          spotAllocationStrategy: 'price-capacity-optimized',
        },
      }),
      'demo-dev-general: m6i.large, m6a.large, min 1 / desired 2 / max 5, 3 subnets, spot above 1 on-demand (75% spot)',
    ],
    [
      'an IAM role: trust and policies',
      node('role/node', 'iam-role', {
        name: 'demo-dev-node',
        path: '/kubeaz/',
        assumeService: 'ec2.amazonaws.com',
        policies: { a: {}, b: {} },
      }),
      '/kubeaz/demo-dev-node, assumed by ec2.amazonaws.com; 2 inline policies',
    ],
    [
      'a hosted zone: domain and visibility',
      node('zone/internal', 'hosted-zone', { domain: 'demo.internal', private: true, comment: '', callerReference: 'x', mode: 'own' }),
      'demo.internal, private',
    ],
  ];
  for (const [name, n, want] of table) it(name, () => expect(describeNode(n, look)).toBe(want));

  it('every node of the example graph has a summary, with nothing undefined in it', () => {
    const g = deriveGraph(parseSpec(example, 'c.yaml', NOW).spec, facts);
    const byKey = new Map(g.nodes.map((n) => [n.key, n]));
    for (const n of g.nodes) {
      const about = describeNode(n, (k) => byKey.get(k));
      expect(about, n.key).not.toBe('');
      expect(about, n.key).not.toMatch(/undefined|\[object Object\]|NaN/);
    }
  });

  it("plan's text shows it under the create's line", () => {
    const text = renderPlan({
      version: 1,
      cluster: 'demo-dev',
      region: 'us-east-1',
      summary: { create: 1, update: 0, delete: 0, refuse: 0, unchanged: 0 },
      changes: [
        { key: 'subnet/public/us-east-1a', kind: 'subnet', action: 'create', fields: [], about: '10.0.0.0/20 in us-east-1a, public' },
      ],
    });
    expect(text.split('\n').slice(0, 2)).toEqual(['+ subnet/public/us-east-1a (subnet)', '    10.0.0.0/20 in us-east-1a, public']);
  });
});
