/**
 * The control-plane records under s3://<bucket>/etcd/control-plane/, read and written by the master
 * agent with the SDK, in the one format of src/records/etcd.ts (the bash scripts' own, templates/bootstrap/
 * etcd-membership.sh: flat JSON objects of strings, member ids in hex), so records written by masters
 * still running the scripts during a rollout are read here, and theirs read ours.
 *
 *   init.json                      who ran `kubeadm init` (conditional write: one winner)
 *   members/<group>.json           the etcd member of the group's current instance
 *   restore.json                   the latest restore after quorum was lost for good
 *   restore-claims/<creator>.json  the race for restoring the cluster instance <creator> started
 *   addons.json                    the add-on settings last installed (or being installed), and by whom
 *   cluster-id.json                the etcd cluster id after the latest init or restore
 *
 * A conditional write that loses is S3's typed PreconditionFailed (412), never a text match.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  addonsRecordKey,
  clusterIdRecordKey,
  CONTROL_PLANE_PREFIX,
  initRecordKey,
  memberRecordKey,
  parseAddonsRecord,
  parseControlPlaneRecords,
  recordTime,
  renderRecord,
  restoreRecordKey,
  type AddonsRecord,
  type ClusterIdRecord,
  type ControlPlaneRecords,
  type InitRecord,
  type MemberRecord,
  type RestoreClaim,
  type RestoreRecord,
} from '../../records/etcd.js';
import { isNotFound } from '../../aws/errors.js';
import { getObjectText, getText, isPreconditionFailed, putObjectText, putText } from '../bucket.js';
import type { AgentAws } from '../context.js';

export type { ControlPlaneRecords } from '../../records/etcd.js';
export const CP_PREFIX = CONTROL_PLANE_PREFIX;
export const INIT_KEY = initRecordKey();
export const RESTORE_KEY = restoreRecordKey();
export const memberKey = memberRecordKey;
export const ADDONS_KEY = addonsRecordKey();
export const CLUSTER_ID_KEY = clusterIdRecordKey();

type AnyRecord = InitRecord | MemberRecord | RestoreRecord | RestoreClaim | AddonsRecord | ClusterIdRecord;

async function listKeys(aws: AgentAws, bucket: string, prefix: string): Promise<string[]> {
  const s3 = await aws.s3();
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

/** Every record as it is now (records that do not parse are logged by the caller through `invalid`). */
export async function readRecords(aws: AgentAws, bucket: string): Promise<ControlPlaneRecords> {
  const keys = await listKeys(aws, bucket, CP_PREFIX);
  const objects: Record<string, string> = {};
  await Promise.all(
    keys.map(async (k) => {
      const text = await getText(aws, bucket, k);
      if (text !== undefined) objects[k] = text;
    }),
  );
  return parseControlPlaneRecords(objects);
}

/** Conditional write (`IfNoneMatch: '*'`): 'won' when this write created the key, 'lost' when it existed (412). */
export async function claim(aws: AgentAws, bucket: string, key: string, record: AnyRecord): Promise<'won' | 'lost'> {
  try {
    await putText(aws, bucket, key, renderRecord(record), { ifNoneMatch: true, contentType: 'application/json' });
    return 'won';
  } catch (e) {
    if (isPreconditionFailed(e)) return 'lost';
    throw e;
  }
}

export async function write(aws: AgentAws, bucket: string, key: string, record: AnyRecord): Promise<void> {
  await putText(aws, bucket, key, renderRecord(record), { contentType: 'application/json' });
}

export const isoSeconds = recordTime;

/**
 * addons.json as it is now: the record (absent when there is none or it does not parse — `invalid`
 * says why) and the object's ETag, which a claim names so that it replaces exactly what was read.
 */
export interface AddonsRead {
  record?: AddonsRecord;
  /** present whenever the object exists, even when it does not parse (a claim must replace it) */
  etag?: string;
  exists: boolean;
  invalid?: string;
}

export async function readAddonsRecord(aws: AgentAws, bucket: string): Promise<AddonsRead> {
  const o = await getObjectText(aws, bucket, ADDONS_KEY);
  if (!o) return { exists: false };
  const r = parseAddonsRecord(o.text);
  return { exists: true, ...(o.etag ? { etag: o.etag } : {}), ...(r instanceof Error ? { invalid: r.message } : { record: r }) };
}

/**
 * Writes addons.json only if it is still what was read: `ifMatch` its ETag, or `create` when there
 * was none. 'won' with the new ETag (the next write of the same holder names it), or 'lost' when
 * another master wrote (412) or removed it (404) in between.
 */
export async function putAddonsRecord(
  aws: AgentAws,
  bucket: string,
  record: AddonsRecord,
  cond: { ifMatch: string } | { create: true } | { unconditional: true },
): Promise<{ result: 'won'; etag?: string } | { result: 'lost' }> {
  try {
    const etag = await putObjectText(aws, bucket, ADDONS_KEY, renderRecord(record), {
      contentType: 'application/json',
      ...('ifMatch' in cond ? { ifMatch: cond.ifMatch } : 'create' in cond ? { ifNoneMatch: true } : {}),
    });
    return etag ? { result: 'won', etag } : { result: 'won' };
  } catch (e) {
    // IfMatch on a key removed since it was read is NoSuchKey: what was read is gone all the same
    if (isPreconditionFailed(e) || ('ifMatch' in cond && isNotFound(e))) return { result: 'lost' };
    throw e;
  }
}
