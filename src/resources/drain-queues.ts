/**
 * The drain queues the cluster owns, read once per observe pass (ctx.memo): the sqs-queue kind
 * reads their attributes, the event-rule kind asks which rules target them. SQS filters by name
 * only: ListQueues by the queue's name as a prefix, then each queue's tags (ListQueueTags) prove
 * it ours (claims) — a queue of a look-alike name is never taken on its name alone. A shared read,
 * not a kind.
 */
import { ListQueueTagsCommand, paginateListQueues, type SQSClient } from '@aws-sdk/client-sqs';
import { toTagList } from '../aws/tags.js';
import { drainQueueName } from '../model/names.js';
import type { Tags } from '../model/types.js';
import { drain, keyed, orUndefined } from './common.js';
import type { RunContext } from './types.js';

export interface OwnQueue {
  key: string;
  name: string;
  url: string;
  arn: string;
  tags: Tags;
}

/** A queue's name is the last segment of its URL; its ARN is the region's, the account's and the name. */
export const queueNameOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);
export const queueArnOf = (ctx: Pick<RunContext, 'region' | 'accountId'>, name: string): string =>
  `arn:aws:sqs:${ctx.region}:${ctx.accountId}:${name}`;

/** A queue's tags, or undefined when it went meanwhile. */
export async function queueTags(sqs: SQSClient, url: string): Promise<Tags | undefined> {
  const out = await orUndefined(sqs.send(new ListQueueTagsCommand({ QueueUrl: url })));
  return out ? { ...(out.Tags ?? {}) } : undefined;
}

export function ownQueues(ctx: RunContext): Promise<OwnQueue[]> {
  return ctx.memo('sqs:ownQueues', async () => {
    const sqs = await ctx.aws.sqs();
    const urls = await drain(
      paginateListQueues({ client: sqs, pageSize: 1000 }, { QueueNamePrefix: drainQueueName(ctx.clusterId) }),
      (p) => p.QueueUrls,
    );
    const found = await Promise.all(urls.map(async (url) => ({ url, tags: await queueTags(sqs, url) })));
    const listed = found.filter((f): f is { url: string; tags: Tags } => f.tags !== undefined);
    return keyed(listed, (f) => toTagList(f.tags), ctx).map(({ item, key, tags }) => {
      const name = queueNameOf(item.url);
      return { key, name, url: item.url, arn: queueArnOf(ctx, name), tags };
    });
  });
}
