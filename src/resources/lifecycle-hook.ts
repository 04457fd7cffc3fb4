/**
 * The termination lifecycle hook on a node group (model/areas/drain.ts): a leaving instance waits
 * in Terminating:Wait until the termination handler has drained its node and completes the action,
 * or at most the heartbeat, after which the default result (CONTINUE) terminates it anyway.
 *
 * A kind of its own rather than a property of the auto scaling group:
 * - destroy's order follows from its edges: it waits for its group when made, so every hook is
 *   deleted before any group is emptied and deleted — teardown never waits a heartbeat — without
 *   the group's delete knowing about hooks;
 * - a running cluster gets its hooks as planned creations of their own (`hook/<group>` in plan),
 *   not as an update of every group, and a hook's drift is its own line;
 * - only node groups have one: the group kind keeps its one read for every group (masters too),
 *   and this kind reads the hooks of the node groups only (DescribeLifecycleHooks takes one group).
 * It has no tags and no ARN: it is its group's, found on the groups the cluster owns (the same
 * DescribeAutoScalingGroups answer the group kind reads: own-scaling-groups.ts), by its name.
 * Delivered by the EventBridge lifecycle rule, it has no notification target and no role; one
 * found with either is put back without (PutLifecycleHook: an empty NotificationTargetARN removes it).
 */
import {
  DeleteLifecycleHookCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
  type LifecycleHook,
} from '@aws-sdk/client-auto-scaling';
import { DRAIN_HOOK, MASTER_GROUP } from '../model/names.js';
import { change, ignoreNotFound, keyed, orUndefined } from './common.js';
import { describeOwnedScalingGroups } from './own-scaling-groups.js';
import type { ActualOf, Change, ResolvedNode, ResourceHandler, RunContext } from './types.js';

export interface HookObserved {
  transition: string;
  heartbeatTimeout: number;
  defaultResult: string;
  /** where Auto Scaling itself sends the hook's notifications, and the role it assumes for that: none for ours */
  notificationTargetArn?: string;
  roleArn?: string;
}

type Node = ResolvedNode<'lifecycle-hook'>;

function toActual(key: string, group: string, h: LifecycleHook): ActualOf<HookObserved> {
  const name = h.LifecycleHookName!;
  return {
    key,
    kind: 'lifecycle-hook',
    id: `${group}/${name}`,
    attrs: { group, name },
    tags: {},
    observed: {
      transition: h.LifecycleTransition ?? '',
      heartbeatTimeout: h.HeartbeatTimeout ?? 0,
      defaultResult: h.DefaultResult ?? '',
      ...(h.NotificationTargetARN ? { notificationTargetArn: h.NotificationTargetARN } : {}),
      ...(h.RoleARN ? { roleArn: h.RoleARN } : {}),
    },
  };
}

/** The cluster's node groups: its groups keyed `asg/<group>` whose group is no master's. */
async function nodeGroups(ctx: RunContext): Promise<Array<{ group: string; name: string }>> {
  const own = keyed(await describeOwnedScalingGroups(ctx), (g) => g.Tags, ctx);
  return own
    .map(({ item, key }) => ({ group: /^asg\/(.+)$/.exec(key)?.[1], name: item.AutoScalingGroupName! }))
    .filter((g): g is { group: string; name: string } => g.group !== undefined && !MASTER_GROUP.test(g.group));
}

async function put(ctx: RunContext, node: Node, clearTarget: boolean): Promise<void> {
  const p = node.props;
  await (
    await ctx.aws.autoscaling()
  ).send(
    new PutLifecycleHookCommand({
      AutoScalingGroupName: p.groupName,
      LifecycleHookName: p.hookName,
      LifecycleTransition: p.transition,
      HeartbeatTimeout: p.heartbeatTimeout,
      DefaultResult: p.defaultResult,
      ...(clearTarget ? { NotificationTargetARN: '' } : {}),
    }),
  );
}

const observedOf = (node: Node): HookObserved => ({
  transition: node.props.transition,
  heartbeatTimeout: node.props.heartbeatTimeout,
  defaultResult: node.props.defaultResult,
});

export const lifecycleHook: ResourceHandler<'lifecycle-hook', HookObserved> = {
  calls: {
    observe: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeLifecycleHooks'],
    create: ['autoscaling:PutLifecycleHook'],
    delete: ['autoscaling:DeleteLifecycleHook'],
  },
  kind: 'lifecycle-hook',
  edges: {
    // event-rule: its lifecycle actions reach the queue through the lifecycle rule, made first
    waitsFor: ['auto-scaling-group', 'event-rule'],
  },

  async observe(ctx) {
    const asg = await ctx.aws.autoscaling();
    const found = await Promise.all(
      (await nodeGroups(ctx)).map(async ({ group, name }) => {
        const out = await orUndefined(
          asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: name, LifecycleHookNames: [DRAIN_HOOK] })),
        );
        const h = out?.LifecycleHooks?.find((x) => x.LifecycleHookName === DRAIN_HOOK);
        return h ? toActual(`hook/${group}`, name, h) : undefined;
      }),
    );
    return found.filter((a) => a !== undefined);
  },

  async create(ctx, node) {
    await put(ctx, node, false);
    return { ...toActual(node.key, node.props.groupName, { LifecycleHookName: node.props.hookName }), observed: observedOf(node) };
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    if (o.transition !== p.transition) out.push(change('transition', o.transition, p.transition, true));
    if (o.heartbeatTimeout !== p.heartbeatTimeout) out.push(change('heartbeatTimeout', o.heartbeatTimeout, p.heartbeatTimeout, true));
    if (o.defaultResult !== p.defaultResult) out.push(change('defaultResult', o.defaultResult, p.defaultResult, true));
    if (o.notificationTargetArn !== undefined) out.push(change('notificationTargetArn', o.notificationTargetArn, null, true));
    return out;
  },

  async update(ctx, node, actual, changes) {
    await put(
      ctx,
      node,
      changes.some((c) => c.field === 'notificationTargetArn'),
    );
    return { ...actual, observed: observedOf(node) };
  },

  async delete(ctx, actual) {
    const asg = await ctx.aws.autoscaling();
    await ignoreNotFound(
      asg.send(new DeleteLifecycleHookCommand({ AutoScalingGroupName: actual.attrs.group!, LifecycleHookName: actual.attrs.name! })),
    );
  },
};
