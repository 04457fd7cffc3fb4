import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/model/areas/builder.js';
import { GraphError } from '../../src/model/graph.js';
import { ref } from '../../src/model/types.js';
import type { ClusterSpec } from '../../src/spec/schema.js';

const spec = {
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: { region: 'us-east-1', tags: {} },
} as unknown as ClusterSpec;

describe('GraphBuilder: dependencies from $refs, checked when the graph is built', () => {
  it('derives a node’s deps from the keys its props reference, plus the ordering-only and ready extras', () => {
    const b = new GraphBuilder(spec);
    const vpc = b.add('vpc', 'vpc', 'v', { cidr: '10.0.0.0/16', tenancy: 'default' });
    b.add('internet-gateway', 'igw', 'i', { vpcId: vpc });
    b.add('subnet', 'subnet/a', 's', { vpcId: vpc, cidr: '10.0.0.0/24', zone: 'us-east-1a', tier: 'public' });
    b.add('elastic-ip', 'eip', 'e', { purpose: 'nat' });
    b.add(
      'nat-gateway',
      'nat',
      'n',
      { subnetId: ref('subnet/a'), allocationId: ref('eip', 'allocationId') },
      { after: ['igw'], ready: ['eip'] },
    );
    const g = b.build('demo-dev');
    const byKey = Object.fromEntries(g.nodes.map((n) => [n.key, n]));
    expect(byKey.igw!.deps).toEqual(['vpc']);
    expect(byKey.nat!.deps).toEqual(['subnet/a', 'eip', 'igw']);
    expect(byKey.nat!.ready).toEqual(['eip']);
    expect(byKey.vpc!.deps).toEqual([]);
  });

  it('fails on a reference to a node that is not in the graph', () => {
    const b = new GraphBuilder(spec);
    b.add('internet-gateway', 'igw', 'i', { vpcId: ref('vpc') });
    expect(() => b.build('demo-dev')).toThrow(new GraphError('igw depends on vpc, which is not in the graph'));
  });

  it('fails on an ordering-only dependency that is not in the graph', () => {
    const b = new GraphBuilder(spec);
    b.add('vpc', 'vpc', 'v', { cidr: '10.0.0.0/16', tenancy: 'default' }, { after: ['igw'] });
    expect(() => b.build('demo-dev')).toThrow(/vpc depends on igw, which is not in the graph/);
  });

  it('fails on a cycle, naming its path', () => {
    const b = new GraphBuilder(spec);
    b.add('security-group', 'sg/a', 'a', { vpcId: ref('sg/b'), groupName: 'a', description: 'a' });
    b.add('security-group', 'sg/b', 'b', { vpcId: ref('sg/a'), groupName: 'b', description: 'b' });
    expect(() => b.build('demo-dev')).toThrow(/dependency cycle: sg\/a → sg\/b → sg\/a/);
  });

  it('fails on a node added before what it depends on (the list is the order plan prints)', () => {
    const b = new GraphBuilder(spec);
    b.add('internet-gateway', 'igw', 'i', { vpcId: ref('vpc') });
    b.add('vpc', 'vpc', 'v', { cidr: '10.0.0.0/16', tenancy: 'default' });
    expect(() => b.build('demo-dev')).toThrow(/igw is added before vpc/);
  });
});
