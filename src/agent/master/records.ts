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
 *
 * A conditional write that loses is S3's typed PreconditionFailed (412), never a text match.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CONTROL_PLANE_PREFIX,
  initRecordKey,
  memberRecordKey,
  parseControlPlaneRecords,
  recordTime,
  renderRecord,
  restoreClaimKey,
  restoreRecordKey,
  type ControlPlaneRecords,
  type InitRecord,
  type MemberRecord,
  type RestoreClaim,
  type RestoreRecord,
} from '../../records/etcd.js';
import { getText, isPreconditionFailed, putText } from '../bucket.js';
import type { AgentAws } from '../context.js';

export type { ControlPlaneRecords } from '../../records/etcd.js';
export const CP_PREFIX = CONTROL_PLANE_PREFIX;
export const INIT_KEY = initRecordKey();
export const RESTORE_KEY = restoreRecordKey();
export const memberKey = memberRecordKey;
export const claimKey = restoreClaimKey;

type AnyRecord = InitRecord | MemberRecord | RestoreRecord | RestoreClaim;

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
