/**
 * The etcd snapshots in s3://<bucket>/etcd/: listing (with the same key parsing as retention.ts),
 * their checksums, upload (conditional, multipart when large) and pruning by planRetention.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorCode, isNotFound, KubeazError } from '../aws/errors.js';
import { planRetention, snapshotKey, snapshotTime } from './retention.js';
import {
  addonsRecordKey,
  clusterIdRecordKey,
  ETCD_PREFIX,
  parseAddonsRecord,
  parseClusterIdRecord,
  parseRestoreRecord,
  restoreRecordKey,
  type AddonsRecord,
  type ClusterIdRecord,
  type RestoreRecord,
} from '../records/etcd.js';

export { ETCD_PREFIX, type RestoreRecord } from '../records/etcd.js';

/** Where an HA control plane's masters keep their records (init, members, restore): src/records/etcd.ts. */
export const RESTORE_RECORD_KEY = restoreRecordKey();

/**
 * The restore record, when a restore happened; undefined when there is none (or no bucket). A
 * record that is not the expected JSON is reported as such rather than dropped.
 */
/** The IAM actions the snapshot reads call (aws/iam-actions.ts names; the operator policy is built from them). */
export const SNAPSHOT_READ_CALLS: readonly string[] = ['s3:GetObject', 's3:ListBucket', 's3:ListBucketVersions'];
/** …and the writes: an upload (multipart when large, aborted on failure) and a prune. */
export const SNAPSHOT_WRITE_CALLS: readonly string[] = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'];

export async function readRestoreRecord(
  s3: S3Client,
  Bucket: string,
  owner?: string,
): Promise<RestoreRecord | { invalid: string } | undefined> {
  return readRecord(s3, Bucket, RESTORE_RECORD_KEY, parseRestoreRecord, owner);
}

/** One record's text (one GetObject), parsed; undefined when it (or the bucket) does not exist. */
async function readRecord<R>(
  s3: S3Client,
  Bucket: string,
  Key: string,
  parse: (text: string) => R | Error,
  owner?: string,
): Promise<R | { invalid: string } | undefined> {
  let text: string;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket, Key, ...(owner ? { ExpectedBucketOwner: owner } : {}) }));
    text = (await out.Body?.transformToString()) ?? '';
  } catch (e) {
    if (isNotFound(e) || errorCode(e) === 'NoSuchKey') return undefined;
    throw e;
  }
  const r = parse(text);
  return r instanceof Error ? { invalid: `${Key}: ${r.message}` } : r;
}

/**
 * addons.json (src/records/etcd.ts): which add-on settings and versions the masters installed
 * last; undefined when no master recorded an install yet (or no bucket).
 */
export async function readAddonsRecord(
  s3: S3Client,
  Bucket: string,
  owner?: string,
): Promise<AddonsRecord | { invalid: string } | undefined> {
  return readRecord(s3, Bucket, addonsRecordKey(), parseAddonsRecord, owner);
}

/** Where the masters record the etcd cluster id after every init and restore. */
export const CLUSTER_ID_RECORD_KEY = clusterIdRecordKey();

/** The etcd cluster id the masters recorded, undefined when there is none; a record that does not parse is reported as such. */
export async function readClusterIdRecord(
  s3: S3Client,
  Bucket: string,
  owner?: string,
): Promise<ClusterIdRecord | { invalid: string } | undefined> {
  let text: string;
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket, Key: CLUSTER_ID_RECORD_KEY, ...(owner ? { ExpectedBucketOwner: owner } : {}) }),
    );
    text = (await out.Body?.transformToString()) ?? '';
  } catch (e) {
    if (isNotFound(e) || errorCode(e) === 'NoSuchKey') return undefined;
    throw e;
  }
  const r = parseClusterIdRecord(text);
  return r instanceof Error ? { invalid: `${CLUSTER_ID_RECORD_KEY}: ${r.message}` } : r;
}

export interface SnapshotObject {
  key: string;
  /** the moment in the key (UTC), seconds since the epoch */
  time: number;
  size: number;
  lastModified?: Date;
}

/** Every snapshot object (keys retention.ts parses), oldest first. undefined when the bucket does not exist. */
export async function listSnapshots(s3: S3Client, Bucket: string, owner?: string): Promise<SnapshotObject[] | undefined> {
  const out: SnapshotObject[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client: s3 },
      { Bucket, Prefix: ETCD_PREFIX, ...(owner ? { ExpectedBucketOwner: owner } : {}) },
    )) {
      for (const o of page.Contents ?? []) {
        const time = o.Key ? snapshotTime(o.Key) : undefined;
        if (time === undefined) continue;
        out.push({ key: o.Key!, time, size: o.Size ?? 0, ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
      }
    }
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  return out.sort((a, b) => a.time - b.time || (a.key < b.key ? -1 : 1));
}

/**
 * What everything under etcd/ takes in the bucket, every version counted: the bucket is versioned,
 * so a pruned snapshot stays (billed) as a noncurrent version until the lifecycle rule expires it.
 * undefined when the bucket does not exist.
 */
export async function snapshotStorage(
  s3: S3Client,
  Bucket: string,
  owner?: string,
): Promise<{ bytes: number; currentBytes: number; noncurrentBytes: number; noncurrentVersions: number } | undefined> {
  let currentBytes = 0;
  let noncurrentBytes = 0;
  let noncurrentVersions = 0;
  // This SDK has no paginateListObjectVersions: follow the markers by hand, every page.
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  try {
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket,
          Prefix: ETCD_PREFIX,
          KeyMarker,
          VersionIdMarker,
          ...(owner ? { ExpectedBucketOwner: owner } : {}),
        }),
      );
      for (const v of page.Versions ?? []) {
        if (v.IsLatest) currentBytes += v.Size ?? 0;
        else {
          noncurrentBytes += v.Size ?? 0;
          noncurrentVersions++;
        }
      }
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  return { bytes: currentBytes + noncurrentBytes, currentBytes, noncurrentBytes, noncurrentVersions };
}

/** The newest snapshot by the time in its key (what the master restores first). */
export const newestSnapshot = (snaps: readonly SnapshotObject[]): SnapshotObject | undefined => snaps[snaps.length - 1];

/** The sha256 recorded in a snapshot's metadata (x-amz-meta-sha256), if any. */
export async function snapshotSha256(s3: S3Client, Bucket: string, Key: string, owner?: string): Promise<string | undefined> {
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ...(owner ? { ExpectedBucketOwner: owner } : {}) }));
  return head.Metadata?.sha256;
}

/** Part size of multipart uploads (S3's minimum is 5 MiB); KUBEAZ_S3_PART_MIB overrides it. */
export function partSizeBytes(): number {
  const mib = Number(process.env.KUBEAZ_S3_PART_MIB ?? '16');
  return Math.max(5, Number.isFinite(mib) ? mib : 16) * 1024 * 1024;
}

/**
 * Uploads a verified snapshot file to `key` with `If-None-Match: *` (never overwrites) and its
 * sha256 in the metadata; multipart (lib-storage) when it is larger than one part.
 */
export async function uploadSnapshot(
  s3: S3Client,
  Bucket: string,
  key: string,
  file: string,
  sha256: string,
  owner?: string,
): Promise<{ bytes: number; multipart: boolean }> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const { size } = await stat(file);
  const partSize = partSizeBytes();
  const upload = new Upload({
    client: s3,
    partSize,
    queueSize: 4,
    params: {
      Bucket,
      Key: key,
      Body: createReadStream(file),
      ContentLength: size,
      ContentType: 'application/octet-stream',
      ServerSideEncryption: 'AES256',
      Metadata: { sha256 },
      IfNoneMatch: '*',
      ...(owner ? { ExpectedBucketOwner: owner } : {}),
    },
  });
  try {
    await upload.done();
  } catch (e) {
    if (errorCode(e) === 'PreconditionFailed')
      throw new KubeazError(
        `s3://${Bucket}/${key} already exists (a snapshot of the same second); it was not overwritten — run again`,
        'SnapshotExists',
        key,
        { cause: e },
      );
    throw e;
  }
  return { bytes: size, multipart: size > partSize };
}

/** How many later seconds a backup tries when its second's key is taken (the timer, another run). */
export const SAME_SECOND_TRIES = 5;

/**
 * Uploads the snapshot under the key of `first`'s second; when another backup already wrote that
 * key (a master's timer and a run through SSM, two masters), waits for the next second and writes
 * there: the key stays etcd/YYYYMMDDTHHMMSSZ.db, the one shape retention parses, and nothing is
 * overwritten (issue 23 #11). After SAME_SECOND_TRIES taken seconds the SnapshotExists error stands.
 */
export async function uploadSnapshotInFreeSecond(
  s3: S3Client,
  Bucket: string,
  first: Date,
  file: string,
  sha256: string,
  o: { owner?: string; now?: () => Date; sleep?: (ms: number) => Promise<void>; onTaken?: (taken: string, next: string) => void } = {},
): Promise<{ key: string; at: Date; bytes: number; multipart: boolean }> {
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let at = new Date(Math.floor(first.getTime() / 1000) * 1000);
  for (let attempt = 1; ; attempt++) {
    const key = snapshotKey(at);
    try {
      return { key, at, ...(await uploadSnapshot(s3, Bucket, key, file, sha256, o.owner)) };
    } catch (e) {
      if (!(e instanceof KubeazError) || e.code !== 'SnapshotExists' || attempt >= SAME_SECOND_TRIES) throw e;
      at = new Date(at.getTime() + 1000);
      o.onTaken?.(key, snapshotKey(at));
      // a key of a second that has come: never one dated in the future
      const wait = at.getTime() - now().getTime();
      if (wait > 0) await sleep(wait);
    }
  }
}

/**
 * Applies the retention policy now: deletes what planRetention says, never the newest.
 * Returns what was deleted and kept.
 */
export async function pruneSnapshots(
  s3: S3Client,
  Bucket: string,
  now: Date,
  retentionDays: number,
  owner?: string,
): Promise<{ deleted: string[]; kept: string[] }> {
  const snaps = (await listSnapshots(s3, Bucket, owner)) ?? [];
  const plan = planRetention(
    snaps.map((s) => s.key),
    now,
    retentionDays,
  );
  const newest = newestSnapshot(snaps)?.key;
  const doomed = plan.delete.filter((k) => k !== newest);
  for (const Key of doomed) {
    try {
      await s3.send(new DeleteObjectCommand({ Bucket, Key, ...(owner ? { ExpectedBucketOwner: owner } : {}) }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return { deleted: doomed, kept: plan.keep };
}
