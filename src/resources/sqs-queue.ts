/**
 * The drain queue (model/areas/drain.ts): an SQS queue encrypted with SQS-managed keys
 * (SqsManagedSseEnabled), its policy letting only EventBridge send, for this account. Found by its
 * name as a prefix and proven by its tags (drain-queues.ts); observe then reads its attributes (one
 * GetQueueAttributes). Policy, encryption, retention and tags are fixed in place.
 *
 * CreateQueue answers the existing queue when one of that name has the same attributes (and
 * QueueAlreadyExists otherwise), so create reads the tags of what it got and refuses a queue that
 * is not this cluster's; plan refuses it first (nameHolders). A name deleted less than a minute
 * ago is refused by SQS for that minute (a destroy, then a create): create retries that.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { isQueueDeletedRecently, KubeazError } from '../aws/errors.js';
import { parsePolicy, samePolicy } from '../aws/iam.js';
import { tagDiff } from '../aws/tags.js';
import type { Tags } from '../model/types.js';
import { retryWhile } from '../util/async.js';
import { change, claims, ignoreNotFound, orUndefined } from './common.js';
import { ownQueues, queueArnOf, queueNameOf, queueTags, type OwnQueue } from './drain-queues.js';
import type { ActualOf, Change, ResolvedNode, ResourceHandler, RunContext } from './types.js';

export interface QueueObserved {
  policy: unknown;
  /** SqsManagedSseEnabled */
  sse: boolean;
  retentionSeconds: number;
}

type Node = ResolvedNode<'sqs-queue'>;

/** The attributes a queue is made and kept with (SQS takes them as strings). */
type Attributes = Partial<Record<QueueAttributeName, string>>;
const attributesOf = (node: Node): Attributes => ({
  Policy: node.props.policy,
  SqsManagedSseEnabled: 'true',
  MessageRetentionPeriod: String(node.props.messageRetentionSeconds),
});

const toActual = (q: Pick<OwnQueue, 'key' | 'name' | 'url' | 'arn' | 'tags'>, observed: QueueObserved): ActualOf<QueueObserved> => ({
  key: q.key,
  kind: 'sqs-queue',
  id: q.url,
  attrs: { arn: q.arn, name: q.name, url: q.url },
  tags: q.tags,
  observed,
});

async function attributes(ctx: RunContext, url: string): Promise<QueueObserved | undefined> {
  const sqs = await ctx.aws.sqs();
  const out = await orUndefined(sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })));
  if (!out) return undefined;
  const a = out.Attributes ?? {};
  return {
    policy: parsePolicy(a.Policy),
    sse: a.SqsManagedSseEnabled === 'true',
    retentionSeconds: Number(a.MessageRetentionPeriod ?? 0),
  };
}

export const sqsQueue: ResourceHandler<'sqs-queue', QueueObserved> = {
  calls: {
    observe: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ListQueueTags', 'sqs:ListQueues'],
    create: ['sqs:CreateQueue', 'sqs:TagQueue'],
    update: ['sqs:SetQueueAttributes'],
    delete: ['sqs:DeleteQueue'],
  },
  kind: 'sqs-queue',
  // nothing: its policy names its own ARN, which the account, region and name make
  edges: { waitsFor: [] },

  async observe(ctx) {
    const queues = await ownQueues(ctx);
    const read = await Promise.all(queues.map(async (q) => ({ q, o: await attributes(ctx, q.url) })));
    return read.filter((r) => r.o !== undefined).map((r) => toActual(r.q, r.o!));
  },

  async nameHolders(ctx, names) {
    // A queue of the name, whoever made it, with its tags: one GetQueueUrl (and its tags) per name.
    const sqs = await ctx.aws.sqs();
    const held = await Promise.all(
      names.map(async (name) => {
        const got = await orUndefined(sqs.send(new GetQueueUrlCommand({ QueueName: name })));
        const tags = got?.QueueUrl ? await queueTags(sqs, got.QueueUrl) : undefined;
        return tags ? { name, tags } : undefined;
      }),
    );
    return held.filter((h) => h !== undefined);
  },

  async create(ctx, node) {
    const sqs = await ctx.aws.sqs();
    const made = await retryWhile(
      { retryable: isQueueDeletedRecently, seconds: 75, firstDelayMs: 2000, maxDelayMs: 10_000, signal: ctx.signal },
      () => sqs.send(new CreateQueueCommand({ QueueName: node.props.name, Attributes: attributesOf(node), tags: node.tags })),
    );
    const url = made.QueueUrl!;
    // An existing queue of the same name and attributes comes back as if made: ours only by its tags.
    const tags = (await queueTags(sqs, url)) ?? node.tags;
    if (!claims(ctx, tags, `sqs queue ${node.props.name}`))
      throw new KubeazError(
        `SQS queue ${node.props.name} already exists and is not this cluster's: refusing to adopt it`,
        'RefusedAdopt',
        node.key,
        { source: 'user' },
      );
    const name = queueNameOf(url);
    return toActual(
      { key: node.key, name, url, arn: queueArnOf(ctx, name), tags },
      { policy: JSON.parse(node.props.policy), sse: true, retentionSeconds: node.props.messageRetentionSeconds },
    );
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    const policy = JSON.parse(node.props.policy) as unknown;
    if (!samePolicy(o.policy, policy)) out.push(change('policy', o.policy, policy, true));
    if (!o.sse) out.push(change('sqsManagedSse', false, true, true));
    if (o.retentionSeconds !== node.props.messageRetentionSeconds)
      out.push(change('messageRetentionSeconds', o.retentionSeconds, node.props.messageRetentionSeconds, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const sqs = await ctx.aws.sqs();
    const fields = new Set(changes.map((c) => c.field));
    const all = attributesOf(node);
    const attrs: Attributes = {};
    if (fields.has('policy')) attrs.Policy = all.Policy!;
    if (fields.has('sqsManagedSse')) attrs.SqsManagedSseEnabled = 'true';
    if (fields.has('messageRetentionSeconds')) attrs.MessageRetentionPeriod = all.MessageRetentionPeriod!;
    if (Object.keys(attrs).length) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: actual.id, Attributes: attrs }));
    const t = changes.find((c) => c.field === 'tags');
    if (t) await sqs.send(new TagQueueCommand({ QueueUrl: actual.id, Tags: t.to as Tags }));
    return {
      ...actual,
      tags: { ...actual.tags, ...((t?.to as Tags | undefined) ?? {}) },
      observed: { policy: JSON.parse(node.props.policy), sse: true, retentionSeconds: node.props.messageRetentionSeconds },
    };
  },

  async delete(ctx, actual) {
    await ignoreNotFound((await ctx.aws.sqs()).send(new DeleteQueueCommand({ QueueUrl: actual.id })));
  },
};
