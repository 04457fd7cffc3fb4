/**
 * The EventBridge rules (default bus) that send the drain queue what ends an instance
 * (model/areas/drain.ts), each with the queue as its one target (`drain-queue`).
 *
 * Found in two calls whatever their number: ListRules by the cluster's rule prefix (name, ARN,
 * pattern, state, description), and ListRuleNamesByTarget on the cluster's queue's ARN (its name
 * makes it) — a rule of the cluster's prefix whose target is the queue the cluster owns (proven by
 * the queue's tags: drain-queues.ts) is the cluster's. EventBridge has no batch tag read: reading each rule's tags
 * would cost a call per rule on every run. They are read only where that proof is missing — a
 * rule of the prefix not targeting the queue (found again by its tags, its target then fixed) —
 * and before a rule is deleted: delete removes only a rule that carries the cluster's tags. Tags
 * are written at creation (PutRule) and with every update of a rule whose tags were read.
 */
import {
  DeleteRuleCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  type EventBridgeClient,
  type Rule,
} from '@aws-sdk/client-eventbridge';
import { KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { drainQueueName, drainRulePrefix } from '../model/names.js';
import { KEY_TAG, type Tags } from '../model/types.js';
import { change, claims, fromTagList, ignoreNotFound, orUndefined, toTagList } from './common.js';
import { ownQueues, queueArnOf } from './drain-queues.js';
import type { ActualOf, Change, ResourceHandler, RunContext } from './types.js';

/** The id of the queue among a rule's targets. */
export const QUEUE_TARGET_ID = 'drain-queue';

export interface RuleObserved {
  /** the event pattern, parsed */
  pattern: unknown;
  state: string;
  description: string;
  /** the rule's targets include the cluster's queue */
  targetsQueue: boolean;
  /** whether `tags` were read (else the proof was the target, and tags are not compared) */
  tagsRead: boolean;
}

/** A JSON value with its object keys sorted (arrays keep their order): two patterns compare as data. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}
const parsePattern = (s: string | undefined): unknown => (s ? canonical(JSON.parse(s)) : undefined);

async function listRules(events: EventBridgeClient, prefix: string): Promise<Rule[]> {
  const out: Rule[] = [];
  let token: string | undefined;
  do {
    const page = await events.send(new ListRulesCommand({ NamePrefix: prefix, ...(token ? { NextToken: token } : {}) }));
    out.push(...(page.Rules ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

async function rulesTargeting(events: EventBridgeClient, arn: string): Promise<Set<string>> {
  const out = new Set<string>();
  let token: string | undefined;
  do {
    const page = await events.send(new ListRuleNamesByTargetCommand({ TargetArn: arn, ...(token ? { NextToken: token } : {}) }));
    for (const n of page.RuleNames ?? []) out.add(n);
    token = page.NextToken;
  } while (token);
  return out;
}

async function ruleTags(events: EventBridgeClient, arn: string): Promise<Tags | undefined> {
  const out = await orUndefined(events.send(new ListTagsForResourceCommand({ ResourceARN: arn })));
  return out ? fromTagList(out.Tags) : undefined;
}

function toActual(r: Rule, key: string, tags: Tags, targetsQueue: boolean, tagsRead: boolean): ActualOf<RuleObserved> {
  return {
    key,
    kind: 'event-rule',
    id: r.Name!,
    attrs: { arn: r.Arn!, name: r.Name! },
    tags,
    observed: { pattern: parsePattern(r.EventPattern), state: r.State ?? '', description: r.Description ?? '', targetsQueue, tagsRead },
  };
}

/** A rule proven by its tags: the cluster's key, or undefined when it is not the cluster's. */
async function provenByTags(
  ctx: RunContext,
  events: EventBridgeClient,
  r: Rule,
  targetsQueue: boolean,
): Promise<ActualOf<RuleObserved> | undefined> {
  const tags = await ruleTags(events, r.Arn!);
  const key = tags?.[KEY_TAG];
  return tags && key && claims(ctx, tags, key) ? toActual(r, key, tags, targetsQueue, true) : undefined;
}

export const eventRule: ResourceHandler<'event-rule', RuleObserved> = {
  calls: {
    observe: [
      'events:ListRuleNamesByTarget',
      'events:ListRules',
      'events:ListTagsForResource',
      'events:ListTargetsByRule',
      'sqs:ListQueueTags',
      'sqs:ListQueues',
    ],
    create: ['events:PutRule', 'events:PutTargets', 'events:TagResource'],
    delete: ['events:DeleteRule', 'events:RemoveTargets'],
  },
  kind: 'event-rule',
  // its target is the queue (its ARN); destroy removes the rules before the queue
  edges: { waitsFor: ['sqs-queue'] },

  async observe(ctx) {
    const events = await ctx.aws.eventbridge();
    const prefix = drainRulePrefix(ctx.clusterId);
    const rules = (await listRules(events, prefix)).filter((r) => r.Name && r.Arn);
    if (!rules.length) return [];
    // The queue's ARN follows from its name: the targets are read on it whether the queue stands or not.
    const arn = queueArnOf(ctx, drainQueueName(ctx.clusterId));
    const [targeting, queues] = await Promise.all([rulesTargeting(events, arn), ownQueues(ctx)]);
    const queueOurs = queues.some((q) => q.arn === arn);
    const found = await Promise.all(
      rules.map((r) =>
        queueOurs && targeting.has(r.Name!)
          ? toActual(r, `rule/drain/${r.Name!.slice(prefix.length)}`, {}, true, false)
          : provenByTags(ctx, events, r, targeting.has(r.Name!)),
      ),
    );
    return found.filter((a) => a !== undefined);
  },

  async nameHolders(ctx, names) {
    // PutRule overwrites a rule of the same name: one that is not the cluster's is refused first.
    const events = await ctx.aws.eventbridge();
    const want = new Set(names);
    const rules = (await listRules(events, drainRulePrefix(ctx.clusterId))).filter((r) => want.has(r.Name ?? '') && r.Arn);
    const held = await Promise.all(rules.map(async (r) => ({ name: r.Name!, tags: (await ruleTags(events, r.Arn!)) ?? {} })));
    return held;
  },

  async create(ctx, node) {
    const events = await ctx.aws.eventbridge();
    const p = node.props;
    const out = await events.send(
      new PutRuleCommand({
        Name: p.name,
        EventPattern: p.eventPattern,
        State: 'ENABLED',
        Description: p.description,
        Tags: toTagList(node.tags),
      }),
    );
    await putTarget(ctx, p.name, p.queueArn);
    return toActual(
      { Name: p.name, Arn: out.RuleArn!, EventPattern: p.eventPattern, State: 'ENABLED', Description: p.description },
      node.key,
      node.tags,
      true,
      true,
    );
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    const pattern = parsePattern(p.eventPattern);
    if (JSON.stringify(o.pattern) !== JSON.stringify(pattern)) out.push(change('eventPattern', o.pattern, pattern, true));
    if (o.state !== 'ENABLED') out.push(change('state', o.state, 'ENABLED', true));
    if (o.description !== p.description) out.push(change('description', o.description, p.description, true));
    if (!o.targetsQueue) out.push(change('target', null, p.queueArn, true));
    if (o.tagsRead) out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const events = await ctx.aws.eventbridge();
    const p = node.props;
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('eventPattern') || fields.has('state') || fields.has('description'))
      await events.send(new PutRuleCommand({ Name: p.name, EventPattern: p.eventPattern, State: 'ENABLED', Description: p.description }));
    if (fields.has('target')) await putTarget(ctx, p.name, p.queueArn);
    const t = changes.find((c) => c.field === 'tags');
    if (t) await events.send(new TagResourceCommand({ ResourceARN: actual.attrs.arn, Tags: toTagList(t.to as Tags) }));
    return {
      ...actual,
      tags: { ...actual.tags, ...((t?.to as Tags | undefined) ?? {}) },
      observed: {
        ...actual.observed,
        pattern: parsePattern(p.eventPattern),
        state: 'ENABLED',
        description: p.description,
        targetsQueue: true,
      },
    };
  },

  async delete(ctx, actual) {
    const events = await ctx.aws.eventbridge();
    const name = actual.id;
    // Only what carries the cluster's tags goes (observe may have proven it by its target alone).
    const tags = actual.observed.tagsRead ? actual.tags : await ruleTags(events, actual.attrs.arn ?? '');
    if (!tags) return;
    if (!claims(ctx, tags, `eventbridge rule ${name}`))
      throw new KubeazError(
        `EventBridge rule ${name} does not carry this cluster's tags: kubeaz will not delete it`,
        'NotOurs',
        actual.key,
        { source: 'user' },
      );
    const targets = await orUndefined(events.send(new ListTargetsByRuleCommand({ Rule: name })));
    const ids = (targets?.Targets ?? []).map((t) => t.Id!).filter(Boolean);
    if (ids.length) await ignoreNotFound(events.send(new RemoveTargetsCommand({ Rule: name, Ids: ids })));
    await ignoreNotFound(events.send(new DeleteRuleCommand({ Name: name })));
  },
};

/** The queue as the rule's one target of ours; PutTargets reports refusals per entry, not as an error. */
async function putTarget(ctx: RunContext, rule: string, queueArn: string): Promise<void> {
  const events = await ctx.aws.eventbridge();
  const out = await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: QUEUE_TARGET_ID, Arn: queueArn }] }));
  if (out.FailedEntryCount) {
    const f = out.FailedEntries?.[0];
    throw new KubeazError(
      `EventBridge refused the drain queue as the target of rule ${rule}: ${f?.ErrorCode ?? '?'} ${f?.ErrorMessage ?? ''}`.trim(),
      'TargetRefused',
      rule,
    );
  }
}
