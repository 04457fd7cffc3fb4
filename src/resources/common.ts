/** Small helpers shared by the resource kinds. */
import { createHash } from 'node:crypto';
import { isNotFound } from '../aws/errors.js';
import { KEY_TAG, OWNER_TAG, type Tags } from '../model/types.js';
import { fromTagList, toTagList, type KV } from '../aws/tags.js';
import type { Actual, Change, RunContext } from './types.js';

export { toTagList, fromTagList };

/** Drains an SDK paginator into one array (never only the first page). */
export async function drain<P, T>(pages: AsyncIterable<P>, pick: (p: P) => readonly T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(pick(page) ?? []));
  return out;
}

/** Resolves to undefined for NotFound, rethrows anything else. */
export async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Swallows NotFound: deleting what is already gone is done. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** EC2: tag an existing resource (tag drift, or ownership tags of something made before tagging). */
export async function ec2Tag(ctx: RunContext, ids: string[], tags: Tags): Promise<void> {
  if (!Object.keys(tags).length) return;
  const { CreateTagsCommand } = await import('@aws-sdk/client-ec2');
  await (await ctx.aws.ec2()).send(new CreateTagsCommand({ Resources: ids, Tags: toTagList(tags) }));
}

/** The tag-changes part of an update, shared by every EC2 kind. */
export async function applyEc2TagChanges(ctx: RunContext, actual: Actual, changes: Change[]): Promise<Actual> {
  const t = changes.find((c) => c.field === 'tags');
  if (t) {
    await ec2Tag(ctx, [actual.id], t.to as Tags);
    return { ...actual, tags: { ...actual.tags, ...(t.to as Tags) } };
  }
  return actual;
}

/**
 * The observed resources this cluster owns, with their key tags. The ownership tag is checked
 * here even though every observe also filters on it server-side: not every API honours tag
 * filters (moto's DescribeNatGateways ignores them), and owning nothing by mistake is the rule.
 */
export function keyed<T>(items: readonly T[], tagsOf: (t: T) => readonly KV[] | undefined, clusterId: string): Array<{ item: T; key: string; tags: Tags }> {
  const out: Array<{ item: T; key: string; tags: Tags }> = [];
  for (const item of items) {
    const tags = fromTagList(tagsOf(item));
    const key = tags[KEY_TAG];
    if (key && tags[OWNER_TAG] === clusterId) out.push({ item, key, tags });
  }
  return out;
}

/** A stable digest of a value (for comparing bodies, making names). */
export function digest(v: unknown, len = 16): string {
  return createHash('sha256').update(typeof v === 'string' ? v : JSON.stringify(v)).digest('hex').slice(0, len);
}

/** Compares two values as sets (order-insensitive) of JSON-serialisable items. */
export function sameSet(a: readonly unknown[], b: readonly unknown[]): boolean {
  const sa = a.map((x) => JSON.stringify(x)).sort();
  const sb = b.map((x) => JSON.stringify(x)).sort();
  return sa.length === sb.length && sa.every((x, i) => x === sb[i]);
}

export function change(field: string, from: unknown, to: unknown, inPlace: boolean): Change {
  return { field, from, to, inPlace };
}

/**
 * Runs a call on a resource that was created a moment ago, retrying while AWS still answers
 * NotFound (its eventual consistency), for at most timing.propagationSeconds.
 */
export async function whenVisible<T>(ctx: RunContext, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ctx.timing.propagationSeconds * 1000;
  let delayMs = Math.max(50, Math.min(ctx.timing.pollSeconds, 1) * 1000);
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isNotFound(e) || ctx.signal.aborted || Date.now() + delayMs > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, delayMs));
    delayMs = Math.min(delayMs * 2, 8000);
  }
}

