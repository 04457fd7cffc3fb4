/**
 * The drain set-up in the desired graph (issue 20, model/areas/drain.ts): one queue whose policy
 * lets only EventBridge of this account send, five rules targeting it with kops' patterns (the
 * lifecycle one narrowed to this cluster's node groups), a lifecycle hook on every node group and
 * none on a master — and nothing at all for a cluster without node groups.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { graphViolations } from '../../src/model/limits.js';
import type { AnyNode, DesiredNode, Kind } from '../../src/model/types.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const NOW = new Date('2026-01-15T00:00:00Z');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(join(ROOT, 'templates', n), 'utf8')]));
const facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const graphOf = (yaml: string) => deriveGraph(parseSpec(yaml, 'c.yaml', NOW).spec, facts);
const ofKind = <K extends Kind>(nodes: AnyNode[], kind: K) => nodes.filter((n): n is AnyNode & DesiredNode<K> => n.kind === kind);

describe('the drain set-up in the desired graph', () => {
  const g = graphOf(example);
  const id = g.clusterId;

  it('one queue: its policy lets only events.amazonaws.com send, on the condition of this account; messages kept 300 s', () => {
    const [q, ...more] = ofKind(g.nodes, 'sqs-queue');
    expect(more).toEqual([]);
    expect(q!.key).toBe('queue/drain');
    expect(q!.props.name).toBe(`${id}-drain`);
    expect(q!.props.messageRetentionSeconds).toBe(300);
    expect(JSON.parse(q!.props.policy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EventBridgeSends',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: `arn:aws:sqs:us-east-1:123456789012:${id}-drain`,
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ],
    });
    expect(q!.tags).toMatchObject({ 'kubeaz:cluster': id, 'kubeaz:key': 'queue/drain' });
  });

  it("five rules, each targeting the queue, with kops' patterns; the lifecycle one names this cluster's node groups only", () => {
    const rules = ofKind(g.nodes, 'event-rule');
    expect(rules.map((r) => r.key)).toEqual([
      'rule/drain/asg-lifecycle',
      'rule/drain/spot-interruption',
      'rule/drain/rebalance-recommendation',
      'rule/drain/instance-state-change',
      'rule/drain/scheduled-change',
    ]);
    for (const r of rules) {
      expect(r.props.queueArn).toEqual({ $ref: 'queue/drain', attr: 'arn' });
      expect(r.props.name).toBe(`${id}-drain-${r.key.slice('rule/drain/'.length)}`);
      expect(r.deps).toEqual(['queue/drain']);
    }
    const pattern = (k: string) => JSON.parse(rules.find((r) => r.key === `rule/drain/${k}`)!.props.eventPattern) as unknown;
    expect(pattern('asg-lifecycle')).toEqual({
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: [`${id}-edge`, `${id}-workers`] },
    });
    expect(pattern('spot-interruption')).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] });
    expect(pattern('rebalance-recommendation')).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] });
    expect(pattern('instance-state-change')).toEqual({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] });
    expect(pattern('scheduled-change')).toEqual({
      source: ['aws.health'],
      'detail-type': ['AWS Health Event'],
      detail: { service: ['EC2'], eventTypeCategory: ['scheduledChange'] },
    });
  });

  it('a termination hook (CONTINUE after 300 s) on every node group, none on a master, each made after the lifecycle rule', () => {
    const hooks = ofKind(g.nodes, 'lifecycle-hook');
    expect(hooks.map((h) => h.key)).toEqual(['hook/workers', 'hook/edge']);
    for (const h of hooks) {
      const group = h.key.slice('hook/'.length);
      expect(h.props).toEqual({
        groupName: { $ref: `asg/${group}` },
        hookName: 'kubeaz-drain',
        transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        heartbeatTimeout: 300,
        defaultResult: 'CONTINUE',
      });
      expect([...h.deps].sort()).toEqual([`asg/${group}`, 'rule/drain/asg-lifecycle']);
    }
    const three = graphOf(example.replace(/controlPlane:\n/, 'controlPlane:\n    count: 3\n'));
    expect(ofKind(three.nodes, 'lifecycle-hook').map((h) => h.key)).toEqual(['hook/workers', 'hook/edge']);
  });

  it('a cluster without node groups has no queue, rules or hooks', () => {
    const none = graphOf(example.replace(/\n {2}nodeGroups:\n(?: {4}.*\n| {6}.*\n)+/, '\n  nodeGroups: []\n'));
    expect(none.nodes.some((n) => n.kind === 'auto-scaling-group' && n.key === 'asg/workers')).toBe(false);
    expect(none.nodes.filter((n) => ['sqs-queue', 'event-rule', 'lifecycle-hook'].includes(n.kind))).toEqual([]);
  });

  it("every name, description and pattern fits AWS's limits", () => {
    expect(graphViolations(g)).toEqual([]);
  });
});
