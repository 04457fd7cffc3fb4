/** Small helpers shared by the resource kinds. */
import { createHash } from 'node:crypto';
import { isDependencyViolation, isNotFound } from '../aws/errors.js';
import { ENV_TAG, KEY_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type Tags } from '../model/types.js';
import { fromTagList, toTagList, type KV } from '../aws/tags.js';
import { retryWhile } from '../util/async.js';
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
export async function applyEc2TagChanges<A extends Actual>(ctx: RunContext, actual: A, changes: Change[]): Promise<A> {
  const t = changes.find((c) => c.field === 'tags');
  if (t) {
    await ec2Tag(ctx, [actual.id], t.to as Tags);
    return { ...actual, tags: { ...actual.tags, ...(t.to as Tags) } };
  }
  return actual;
}

/**
 * The ownership proof, checked on what came back whatever the server was asked to filter: the
 * cluster tag names this id (required unless `requireOwnerTag` is false, for kinds whose proof is a
 * path or a name and whose tags may come later), and the name, environment and region tags, where
 * present, say this spec and this region. Something that carries our id but proves to be another
 * cluster's is left alone and noted in ctx.sightings, so that plan/create can refuse and
 * status/destroy can say where the cluster is.
 */
export function claims(ctx: RunContext, tags: Tags, what: string, requireOwnerTag = true): boolean {
  const owner = tags[OWNER_TAG];
  if (requireOwnerTag ? owner !== ctx.clusterId : owner !== undefined && owner !== ctx.clusterId) return false;
  const o = ctx.owner;
  const otherCluster = o && ((tags[NAME_TAG] ?? o.name) !== o.name || (tags[ENV_TAG] ?? o.environment) !== o.environment);
  const otherRegion = tags[REGION_TAG] !== undefined && tags[REGION_TAG] !== ctx.region;
  if (!otherCluster && !otherRegion) return true;
  ctx.sightings.push({
    what,
    ...(otherRegion ? { region: tags[REGION_TAG]! } : {}),
    ...(otherCluster ? { cluster: `${tags[NAME_TAG] ?? '?'}/${tags[ENV_TAG] ?? '?'}` } : {}),
  });
  return false;
}

/**
 * The observed resources this cluster owns, with their key tags. The ownership proof (claims) is
 * checked here even though every observe also filters on the cluster tag server-side: not every
 * API honours tag filters (moto's DescribeNatGateways ignores them), and owning nothing by
 * mistake is the rule.
 */
export function keyed<T>(
  items: readonly T[],
  tagsOf: (t: T) => readonly KV[] | undefined,
  ctx: RunContext,
): Array<{ item: T; key: string; tags: Tags }> {
  const out: Array<{ item: T; key: string; tags: Tags }> = [];
  for (const item of items) {
    const tags = fromTagList(tagsOf(item));
    const key = tags[KEY_TAG];
    if (key && claims(ctx, tags, key)) out.push({ item, key, tags });
  }
  return out;
}

/** A stable digest of a value (for comparing bodies, making names). */
export function digest(v: unknown, len = 16): string {
  return createHash('sha256')
    .update(typeof v === 'string' ? v : JSON.stringify(v))
    .digest('hex')
    .slice(0, len);
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
 * NotFound (its eventual consistency: IAM, S3, EC2), for at most timing.propagationSeconds.
 */
export function whenVisible<T>(ctx: RunContext, fn: () => Promise<T>): Promise<T> {
  return retryWhile(
    {
      retryable: isNotFound,
      seconds: ctx.timing.propagationSeconds,
      firstDelayMs: Math.max(50, Math.min(ctx.timing.pollSeconds, 1) * 1000),
      maxDelayMs: 8000,
      signal: ctx.signal,
    },
    fn,
  );
}

/**
 * Runs a delete (or detach) that AWS refuses with DependencyViolation while something it waits on
 * is still leaving (an ELB's interfaces, a group's instances), for at most timing.dependencySeconds.
 */
export function whileDependent<T>(ctx: RunContext, fn: () => Promise<T>): Promise<T> {
  const pauseMs = ctx.timing.pollSeconds * 2000;
  return retryWhile(
    {
      retryable: isDependencyViolation,
      seconds: ctx.timing.dependencySeconds,
      firstDelayMs: Math.min(pauseMs, 400),
      maxDelayMs: Math.min(pauseMs, 12_800),
      signal: ctx.signal,
    },
    fn,
  );
}
