/**
 * The control-plane records under s3://<bucket>/etcd/control-plane/, read and written by the master
 * agent with the SDK. The format is the one the bash scripts wrote (templates/bootstrap/
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
import { getText, isPreconditionFailed, putText } from '../bucket.js';
import type { AgentAws } from '../context.js';

export const CP_PREFIX = 'etcd/control-plane/';
export const INIT_KEY = `${CP_PREFIX}init.json`;
export const RESTORE_KEY = `${CP_PREFIX}restore.json`;
export const memberKey = (group: string): string => `${CP_PREFIX}members/${group}.json`;
export const claimKey = (creator: string): string => `${CP_PREFIX}restore-claims/${creator}.json`;

export interface InitRecord {
  group: string;
  instanceId: string;
  name?: string;
  peerURL?: string;
  time?: string;
  /** "true" when a joiner recorded a first master that predates the records */
  adopted?: string;
}
export interface MemberRecord {
  group: string;
  /** hex, as etcdctl printed it (never a JS number: ids go past 2^53) */
  memberId: string;
  name?: string;
  peerURL?: string;
  clientURL?: string;
  instanceId: string;
  time?: string;
}
export interface RestoreRecord {
  snapshot: string;
  snapshotTime?: string;
  restoredAt?: string;
  by?: string;
  group?: string;
  lost?: string;
}
export interface ClaimRecord {
  by: string;
  group?: string;
  time?: string;
}

export interface ControlPlaneRecords {
  init?: InitRecord;
  restore?: RestoreRecord;
  /** by group */
  members: Record<string, MemberRecord>;
  /** by creator (the key's name) */
  claims: Record<string, ClaimRecord>;
}

/** A record's text as flat strings; anything that is not a JSON object is no record. */
export function parseFlat(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    return out;
  } catch {
    return undefined;
  }
}

/** The records as the scripts write them: one string field per line. */
export function renderFlat(r: object): string {
  const entries = Object.entries(r).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(String(v))}`).join(',\n')}\n}\n`;
}

const asInit = (f: Record<string, string> | undefined): InitRecord | undefined => (f?.instanceId ? (f as unknown as InitRecord) : undefined);
const asMember = (f: Record<string, string> | undefined): MemberRecord | undefined => (f?.group && f.memberId && f.instanceId ? (f as unknown as MemberRecord) : undefined);
const asRestore = (f: Record<string, string> | undefined): RestoreRecord | undefined => (f?.snapshot ? (f as unknown as RestoreRecord) : undefined);
const asClaim = (f: Record<string, string> | undefined): ClaimRecord | undefined => (f && typeof f.by === 'string' ? (f as unknown as ClaimRecord) : undefined);

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

/** Every record as it is now. */
export async function readRecords(aws: AgentAws, bucket: string): Promise<ControlPlaneRecords> {
  const keys = await listKeys(aws, bucket, CP_PREFIX);
  const read = async (k: string) => parseFlat(await getText(aws, bucket, k));
  const out: ControlPlaneRecords = { members: {}, claims: {} };
  await Promise.all(
    keys.map(async (k) => {
      const rest = k.slice(CP_PREFIX.length);
      if (rest === 'init.json') {
        const r = asInit(await read(k));
        if (r) out.init = r;
      } else if (rest === 'restore.json') {
        const r = asRestore(await read(k));
        if (r) out.restore = r;
      } else if (/^members\/[^/]+\.json$/.test(rest)) {
        const r = asMember(await read(k));
        if (r) out.members[rest.slice('members/'.length, -'.json'.length)] = r;
      } else if (/^restore-claims\/[^/]+\.json$/.test(rest)) {
        const r = asClaim(await read(k));
        if (r) out.claims[rest.slice('restore-claims/'.length, -'.json'.length)] = r;
      }
    }),
  );
  return out;
}

/** Conditional write (`IfNoneMatch: '*'`): 'won' when this write created the key, 'lost' when it existed (412). */
export async function claim(aws: AgentAws, bucket: string, key: string, record: object): Promise<'won' | 'lost'> {
  try {
    await putText(aws, bucket, key, renderFlat(record), { ifNoneMatch: true, contentType: 'application/json' });
    return 'won';
  } catch (e) {
    if (isPreconditionFailed(e)) return 'lost';
    throw e;
  }
}

export async function write(aws: AgentAws, bucket: string, key: string, record: object): Promise<void> {
  await putText(aws, bucket, key, renderFlat(record), { contentType: 'application/json' });
}

export const isoSeconds = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`;
