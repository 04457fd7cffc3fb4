/**
 * Reading the boot reports (`boot/<instance-id>.json`, written by the node agent) from the cluster
 * bucket, for `status` and `logs`: one ListObjectsV2 of boot/ to learn which instances have a
 * report, then one GetObject per instance asked about — never one per object in the prefix
 * (reports of terminated instances stay until destroy, so the prefix only grows).
 */
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { errorCode, isNotFound } from '../aws/errors.js';
import { BOOT_PREFIX, bootReportKey, parseBootReport, type BootReport } from './boot.js';

/** What the bucket holds for one instance: its report, one that cannot be read (and why), or none. */
export type StoredBoot = { report: BootReport } | { invalid: string } | { none: true };

/** Reports fetched at once (GetObject calls in flight). */
const PARALLEL = 8;

/**
 * The instance ids that have a report under boot/, with the object's last write. An empty map when
 * the bucket does not exist.
 */
/** The IAM actions reading boot reports calls (the operator policy is built from them). */
export const BOOT_STORE_CALLS: readonly string[] = ['s3:ListBucket', 's3:GetObject'];

export async function listBootReports(
  s3: S3Client,
  Bucket: string,
  owner?: string,
): Promise<Map<string, { key: string; lastModified?: Date }>> {
  const out = new Map<string, { key: string; lastModified?: Date }>();
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket, Prefix: BOOT_PREFIX, ...(owner ? { ExpectedBucketOwner: owner } : {}) },
    )) {
      for (const o of page.Contents ?? []) {
        const m = o.Key ? /^boot\/([^/]+)\.json$/.exec(o.Key) : null;
        if (m) out.set(m[1]!, { key: o.Key!, ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
      }
    }
  } catch (e) {
    if (isNotFound(e)) return out;
    throw e;
  }
  return out;
}

/** One instance's report, read and checked against the shared schema. */
export async function readBootReport(s3: S3Client, Bucket: string, instanceId: string, owner?: string): Promise<StoredBoot> {
  let text: string;
  try {
    const o = await s3.send(
      new GetObjectCommand({ Bucket, Key: bootReportKey(instanceId), ...(owner ? { ExpectedBucketOwner: owner } : {}) }),
    );
    text = (await o.Body?.transformToString('utf8')) ?? '';
  } catch (e) {
    if (isNotFound(e) || errorCode(e) === 'NoSuchKey') return { none: true };
    throw e;
  }
  const r = parseBootReport(text);
  if (r instanceof Error) return { invalid: r.message };
  // a report filed under another instance's key is not that instance's report
  if (r.instanceId !== instanceId) return { invalid: `${bootReportKey(instanceId)} names another instance (${r.instanceId})` };
  return { report: r };
}

/**
 * The reports of these instances: one listing, then a GetObject for each listed one (at most
 * PARALLEL at a time). Instances without a report come back as `{ none: true }`.
 */
export async function readBootReports(
  s3: S3Client,
  Bucket: string,
  instanceIds: readonly string[],
  owner?: string,
): Promise<Map<string, StoredBoot>> {
  const out = new Map<string, StoredBoot>();
  if (!instanceIds.length) return out;
  const listed = await listBootReports(s3, Bucket, owner);
  const todo = instanceIds.filter((id) => listed.has(id));
  for (const id of instanceIds) if (!listed.has(id)) out.set(id, { none: true });
  for (let i = 0; i < todo.length; i += PARALLEL) {
    const batch = todo.slice(i, i + PARALLEL);
    const got = await Promise.all(batch.map((id) => readBootReport(s3, Bucket, id, owner)));
    batch.forEach((id, j) => out.set(id, got[j]!));
  }
  return out;
}
