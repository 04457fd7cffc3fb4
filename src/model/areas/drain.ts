/**
 * Draining: what tells the AWS Node Termination Handler, in queue-processor mode, that a node is
 * about to go — the set-up kops builds for `nodeTerminationHandler.enableSQSTerminationDraining`
 * (pkg/model/awsmodel/nodeterminationhandler.go), and AWS documents in NTH's README:
 *
 * - one SQS queue, encrypted with SQS-managed keys, whose policy lets only EventBridge send to it,
 *   and only for this account (aws:SourceAccount); messages kept 300 s, as kops;
 * - one EventBridge rule per event, each with the queue as its one target, with kops' patterns:
 *   spot interruption warnings, rebalance recommendations, instance state changes, AWS Health's
 *   scheduled changes for EC2, and the Auto Scaling `EC2 Instance-terminate Lifecycle Action` —
 *   narrowed here to this cluster's node groups (kops matches every group of the account);
 * - a termination lifecycle hook on every node group (never a master's: a master is replaced by
 *   its own rollout, and nothing drains it), CONTINUE after 300 s: a leaving instance waits until
 *   NTH has drained its node, or at most the heartbeat. It is delivered by the lifecycle rule
 *   (kops' way), so the hook needs no notification target and Auto Scaling no role.
 *
 * Only when the spec has node groups: a cluster of masters alone has nothing to drain. PURE.
 */
import { DRAIN_HOOK, drainQueueArn, drainQueueName, drainRulePrefix, MASTER_GROUP } from '../names.js';
import type { NthScope } from '../policies.js';
import { ref } from '../types.js';
import type { Area } from './builder.js';

/** Seconds: the queue keeps a message this long, and a leaving instance waits at most this long (kops: 300 both). */
export const DRAIN_SECONDS = 300;

export const QUEUE_KEY = 'queue/drain';
/** The key of the rule that delivers the hooks' lifecycle actions: the hooks are made after it. */
export const LIFECYCLE_RULE = 'asg-lifecycle';

/** The events of kops' rules (its names in comments), by the suffix of the rule's name. */
const EVENTS: ReadonlyArray<{ name: string; what: string; pattern: Record<string, unknown> }> = [
  // SpotInterruption
  {
    name: 'spot-interruption',
    what: 'EC2 spot interruption warnings',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
  },
  // RebalanceRecommendation (kops: with enableRebalanceDraining; spot groups here run CapacityRebalance)
  {
    name: 'rebalance-recommendation',
    what: 'EC2 rebalance recommendations',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] },
  },
  // InstanceStateChange
  {
    name: 'instance-state-change',
    what: 'EC2 instance state changes',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
  },
  // InstanceScheduledChange
  {
    name: 'scheduled-change',
    what: "AWS Health's scheduled changes of EC2",
    pattern: {
      source: ['aws.health'],
      'detail-type': ['AWS Health Event'],
      detail: { service: ['EC2'], eventTypeCategory: ['scheduledChange'] },
    },
  },
];

/** The queue's policy: EventBridge sends, for this account only; nobody else. */
export function drainQueuePolicy(queueArn: string, accountId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EventBridgeSends',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  });
}

/**
 * The note `plan` (and `create`, which shows its plan) puts on the queue when the drain set-up
 * comes to a cluster whose masters run already (issue 20 §1): their add-on step installed the node
 * termination handler in IMDS mode, which sees no lifecycle action, so until a master rollout
 * switches it (a new master launch template version: model/bootstrap.ts DRAIN) the hooks only
 * hold a leaving node for their heartbeat. Undefined when the queue is not being created or no
 * master group exists yet (a new cluster's masters install queue-processor mode from the start).
 */
export function drainSwitchNote(
  changes: ReadonlyArray<{ key: string; action: string }>,
  observedKeys: Iterable<string>,
): string | undefined {
  if (!changes.some((c) => c.key === QUEUE_KEY && c.action === 'create')) return undefined;
  if (![...observedKeys].some((k) => k.startsWith('asg/') && MASTER_GROUP.test(k.slice(4)))) return undefined;
  return `until a master rollout (kubeaz rollout) switches the node termination handler to queue-processor mode, the lifecycle hooks only delay each node's termination by their heartbeat (${DRAIN_SECONDS} s) and nothing drains it`;
}

/**
 * What the node termination handler works on in queue-processor mode (its permissions:
 * policies.ts nthStatements): the queue and the groups tagged with this cluster; undefined without
 * node groups (no queue: the handler stays in IMDS mode).
 */
export function nthScopeOf({ s, id, facts }: Pick<Area, 's' | 'id' | 'facts'>): NthScope | undefined {
  if (!s.nodeGroups.length) return undefined;
  return { queueArn: drainQueueArn(id, s.region, facts.accountId), clusterId: id };
}

export function drain(area: Area): void {
  const { s, id, names, facts, b } = area;
  const groups = s.nodeGroups.map((g) => g.name);
  if (!groups.length) return;
  const queueName = drainQueueName(id);
  const queueArn = drainQueueArn(id, s.region, facts.accountId);
  b.add('sqs-queue', QUEUE_KEY, queueName, {
    name: queueName,
    policy: drainQueuePolicy(queueArn, facts.accountId),
    messageRetentionSeconds: DRAIN_SECONDS,
  });
  const lifecycle = {
    name: LIFECYCLE_RULE,
    what: "this cluster's node groups' terminate lifecycle actions",
    pattern: {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: groups.map((g) => names.asg(g)).sort() },
    },
  };
  for (const e of [lifecycle, ...EVENTS]) {
    const name = `${drainRulePrefix(id)}${e.name}`;
    b.add('event-rule', `rule/drain/${e.name}`, name, {
      name,
      description: `kubeaz ${id}: ${e.what}, to the drain queue`,
      eventPattern: JSON.stringify(e.pattern),
      queueArn: ref(QUEUE_KEY, 'arn'),
    });
  }
  for (const g of groups)
    b.add(
      'lifecycle-hook',
      `hook/${g}`,
      DRAIN_HOOK,
      {
        groupName: ref(`asg/${g}`),
        hookName: DRAIN_HOOK,
        transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        heartbeatTimeout: DRAIN_SECONDS,
        defaultResult: 'CONTINUE',
      },
      // its lifecycle actions reach the queue only through that rule
      { after: [`rule/drain/${LIFECYCLE_RULE}`] },
    );
}
