/**
 * The records of a highly available control plane under `etcd/control-plane/` in the cluster
 * bucket, and the metadata of etcd snapshots under `etcd/`: one set of types for the node agent
 * (which writes and decides from them) and the CLI (status, backup-etcd).
 *
 * The format is the one templates/bootstrap/etcd-membership.sh writes today — a flat JSON object of
 * STRING fields, one per line, two-space indent — because during a rollout masters still running
 * the scripts read what the agent writes (their `json_field` is a line-wise sed over exactly that
 * layout) and the agent reads what they wrote. So: renderRecord keeps that layout, every value is
 * a string (`adopted: "true"`), and a field the scripts wrote as "" (restore.json's `snapshotTime`
 * or `lost` when unknown) reads as absent. Member ids are hex, as etcdctl prints them (`%x`),
 * never a JS Number (src/etcd/ids.ts).
 *
 *   init.json                      who ran `kubeadm init` (conditional write, one winner)
 *   members/<group>.json           the etcd member of the group's current instance
 *   restore.json                   the latest restore after quorum was lost for good
 *   restore-claims/<creator>.json  the race for restoring the cluster instance <creator> started
 *   addons.json                    the add-on settings (fingerprint, versions) last installed, or being installed, and by whom
 *   cluster-id.json                the etcd cluster id the masters run, written at every init and restore (backup-etcd checks it)
 *   etcd/<YYYYMMDDTHHMMSSZ>.db     a snapshot; object metadata `sha256` (x-amz-meta-sha256) of the file
 *
 * The rules that use them: docs/agent.md, "What the masters do at boot (several masters)".
 */
import { z } from 'zod';
import { isHexId, normalizeHexId } from '../etcd/ids.js';
import { snapshotTime } from '../etcd/retention.js';

export const ETCD_PREFIX = 'etcd/';
export const CONTROL_PLANE_PREFIX = `${ETCD_PREFIX}control-plane/`;

export const initRecordKey = (): string => `${CONTROL_PLANE_PREFIX}init.json`;
export const MEMBERS_PREFIX = `${CONTROL_PLANE_PREFIX}members/`;
export const memberRecordKey = (group: string): string => `${MEMBERS_PREFIX}${group}.json`;
export const restoreRecordKey = (): string => `${CONTROL_PLANE_PREFIX}restore.json`;
export const RESTORE_CLAIMS_PREFIX = `${CONTROL_PLANE_PREFIX}restore-claims/`;
export const restoreClaimKey = (creator: string): string => `${RESTORE_CLAIMS_PREFIX}${creator}.json`;
export const addonsRecordKey = (): string => `${CONTROL_PLANE_PREFIX}addons.json`;
/** The etcd cluster id the masters run (not a record the election reads: backup-etcd --etcd-endpoint checks the etcd it reaches against it). */
export const clusterIdRecordKey = (): string => `${CONTROL_PLANE_PREFIX}cluster-id.json`;
/** Which EncryptionConfiguration every Secret was last rewritten under (not a record the election reads). */
export const secretsRecordKey = (): string => `${CONTROL_PLANE_PREFIX}secrets-encryption.json`;

/** What a control-plane key is, from the key alone (a listing of etcd/control-plane/). */
export type ControlPlaneKey =
  | { kind: 'init' }
  | { kind: 'restore' }
  | { kind: 'addons' }
  | { kind: 'member'; group: string }
  | { kind: 'restore-claim'; creator: string };
export function controlPlaneKeyKind(key: string): ControlPlaneKey | undefined {
  if (key === initRecordKey()) return { kind: 'init' };
  if (key === restoreRecordKey()) return { kind: 'restore' };
  if (key === addonsRecordKey()) return { kind: 'addons' };
  let m = /^etcd\/control-plane\/members\/([^/]+)\.json$/.exec(key);
  if (m) return { kind: 'member', group: m[1]! };
  m = /^etcd\/control-plane\/restore-claims\/([^/]+)\.json$/.exec(key);
  if (m) return { kind: 'restore-claim', creator: m[1]! };
  return undefined;
}

const str = z.string();
const nonEmpty = z.string().min(1);
/** an instance id as EC2 gives it */
const instanceId = z.string().regex(/^i-[0-9a-zA-Z]+$/, 'not an EC2 instance id');
/** ISO 8601 UTC, as `date -u +%Y-%m-%dT%H:%M:%SZ` and toISOString() write it */
const time = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'not a time');
const memberId = z.string().refine(isHexId, 'not a hex etcd member id').transform(normalizeHexId);

/** init.json: the master that won the conditional write and ran `kubeadm init` (or, `adopted`, the first master of a cluster grown from one). */
export const initRecordSchema = z.object({
  group: nonEmpty,
  instanceId,
  /** its node name (etcd member name) */
  name: str.optional(),
  peerURL: str.optional(),
  /** absent: counts as long ago (the scripts' rule) */
  time: time.optional(),
  /** "true": written by a joiner for a first master that predates the records */
  adopted: z.enum(['true']).optional(),
});
export type InitRecord = z.infer<typeof initRecordSchema>;

/** members/<group>.json: the etcd member of the group's current instance, written once it has started. */
export const memberRecordSchema = z.object({
  group: nonEmpty,
  /** hex, lowercase (etcdctl's %x) */
  memberId,
  name: str.optional(),
  peerURL: str.optional(),
  /** where the member answers (the health check before any removal or restore) */
  clientURL: str.optional(),
  instanceId,
  time: time.optional(),
});
export type MemberRecord = z.infer<typeof memberRecordSchema>;

/** restore.json: the latest restore after quorum was lost for good, written by the restorer after its `kubeadm init`. */
export const restoreRecordSchema = z.object({
  /** the snapshot key restored, or "none" */
  snapshot: nonEmpty,
  /** when the snapshot was taken (from its key) */
  snapshotTime: time.optional(),
  restoredAt: time.optional(),
  /** the instance that restored: the creator of the cluster that now runs (any text is kept: status shows it) */
  by: nonEmpty.optional(),
  group: str.optional(),
  /** the creator of the cluster that was lost (whose restore claim this restorer won) */
  lost: str.optional(),
});
export type RestoreRecord = z.infer<typeof restoreRecordSchema>;

/** restore-claims/<creator>.json: who won the restore of the cluster <creator> started. */
export const restoreClaimSchema = z.object({
  by: instanceId,
  group: str.optional(),
  time: time.optional(),
});
export type RestoreClaim = z.infer<typeof restoreClaimSchema>;

/** What addons.json says the master named in `by` is doing, or did. */
export const ADDONS_STATES = ['installing', 'installed'] as const;

/**
 * addons.json: which add-on settings (the sha256 of src/agent/decide/addons.ts' canonical JSON) the
 * add-ons were last installed with, and their chart and image versions. `installing` is a claim (conditional write), `installed` is
 * written by the claimant once every add-on went in; `at` is when the state was written (a claim
 * older than the agent's staleness limit is taken over).
 */
export const addonsRecordSchema = z.object({
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256'),
  by: instanceId,
  group: nonEmpty,
  state: z.enum(ADDONS_STATES),
  at: time,
  // the versions installed with these settings (model/master-settings.ts AddonVersionSet, one
  // string each); absent in a record of an older agent. `plan` and `status` compare them with the
  // table (model/addon-versions.ts).
  cilium: nonEmpty.optional(),
  awsCcmChart: nonEmpty.optional(),
  awsCcmImage: nonEmpty.optional(),
  ebsCsiChart: nonEmpty.optional(),
  clusterAutoscalerChart: nonEmpty.optional(),
  clusterAutoscalerImage: nonEmpty.optional(),
  nthChart: nonEmpty.optional(),
});
export type AddonsRecord = z.infer<typeof addonsRecordSchema>;

/**
 * secrets-encryption.json: the fingerprint (model/encryption.ts) of the EncryptionConfiguration under
 * which the master that ran the add-on step rewrote every Secret, by whom and when.
 */
export const secretsRecordSchema = z.object({
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256'),
  by: instanceId,
  group: nonEmpty,
  at: time,
});
export type SecretsRecord = z.infer<typeof secretsRecordSchema>;

/**
 * cluster-id.json: the etcd cluster id (hex, as etcdctl prints it) of the etcd the master that ran
 * `kubeadm init` — a restore included, one master included — found answering on its own endpoint
 * afterwards; `after` says which (`restore` when a snapshot was restored, named in `snapshot`).
 * Overwritten at each: the newest init or restore is the cluster that runs.
 */
export const clusterIdRecordSchema = z.object({
  clusterId: z.string().refine(isHexId, 'not a hex etcd cluster id').transform(normalizeHexId),
  after: z.enum(['init', 'restore']),
  snapshot: str.optional(),
  by: instanceId,
  group: nonEmpty,
  at: time,
});
export type ClusterIdRecord = z.infer<typeof clusterIdRecordSchema>;

/** Drops fields the scripts wrote as "" (unknown): they read as absent. */
function dropEmpty(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
}

function parseWith<S extends z.ZodType>(schema: S, what: string, text: string): z.infer<S> | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new Error(`${what} is not JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(dropEmpty(raw));
  return r.success
    ? r.data
    : new Error(`${what} has the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

export const parseInitRecord = (text: string): InitRecord | Error => parseWith(initRecordSchema, 'init.json', text);
export const parseMemberRecord = (text: string): MemberRecord | Error => parseWith(memberRecordSchema, 'member record', text);
export const parseRestoreRecord = (text: string): RestoreRecord | Error => parseWith(restoreRecordSchema, 'restore.json', text);
export const parseRestoreClaim = (text: string): RestoreClaim | Error => parseWith(restoreClaimSchema, 'restore claim', text);
export const parseAddonsRecord = (text: string): AddonsRecord | Error => parseWith(addonsRecordSchema, 'addons.json', text);
export const parseSecretsRecord = (text: string): SecretsRecord | Error => parseWith(secretsRecordSchema, 'secrets-encryption.json', text);
export const parseClusterIdRecord = (text: string): ClusterIdRecord | Error => parseWith(clusterIdRecordSchema, 'cluster-id.json', text);

/**
 * A record as the scripts write it: `{`, then `  "key": "value"` per line, `}` and a newline —
 * fields in the order given, undefined ones left out, every value a string.
 */
export function renderRecord(
  record: InitRecord | MemberRecord | RestoreRecord | RestoreClaim | AddonsRecord | SecretsRecord | ClusterIdRecord,
): string {
  const flat = Object.fromEntries(
    Object.entries(record)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  return `${JSON.stringify(flat, null, 2)}\n`;
}

/** The moment as the records keep it: ISO 8601 UTC to the second (`2026-11-28T10:00:00Z`). */
export const recordTime = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Every record under etcd/control-plane/ at one moment (what the agent's decisions read). */
export interface ControlPlaneRecords {
  init?: InitRecord;
  restore?: RestoreRecord;
  addons?: AddonsRecord;
  /** by group */
  members: Record<string, MemberRecord>;
  /** by creator */
  restoreClaims: Record<string, RestoreClaim>;
  /** keys that did not parse, with why: reported, never silently dropped */
  invalid: Array<{ key: string; error: string }>;
}

/**
 * The records from a listing's objects (key → text). A member record filed under another group's
 * key, or a claim whose body names no instance, is invalid; unknown keys are ignored.
 */
export function parseControlPlaneRecords(objects: Record<string, string>): ControlPlaneRecords {
  const out: ControlPlaneRecords = { members: {}, restoreClaims: {}, invalid: [] };
  for (const key of Object.keys(objects).sort()) {
    const kind = controlPlaneKeyKind(key);
    if (!kind) continue;
    const text = objects[key]!;
    const bad = (error: string) => out.invalid.push({ key, error });
    if (kind.kind === 'init') {
      const r = parseInitRecord(text);
      if (r instanceof Error) bad(r.message);
      else out.init = r;
    } else if (kind.kind === 'restore') {
      const r = parseRestoreRecord(text);
      if (r instanceof Error) bad(r.message);
      else out.restore = r;
    } else if (kind.kind === 'addons') {
      const r = parseAddonsRecord(text);
      if (r instanceof Error) bad(r.message);
      else out.addons = r;
    } else if (kind.kind === 'member') {
      const r = parseMemberRecord(text);
      if (r instanceof Error) bad(r.message);
      else if (r.group !== kind.group) bad(`member record names group ${r.group}, not ${kind.group}`);
      else out.members[kind.group] = r;
    } else {
      const r = parseRestoreClaim(text);
      if (r instanceof Error) bad(r.message);
      else out.restoreClaims[kind.creator] = r;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// snapshots

/** The S3 object metadata of a snapshot (x-amz-meta-sha256): the SHA-256 of the whole file as uploaded. */
export const snapshotMetadataSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256') });

/** A snapshot as the decisions see it: its key, the moment in the key, and its recorded sha256 (absent when the metadata lacks one). */
export interface SnapshotInfo {
  key: string;
  /** seconds since the epoch, from the key */
  time: number;
  sha256?: string;
}

/** A snapshot object's key and metadata → SnapshotInfo, or an Error when the key is not a snapshot key. Bad metadata is kept as "no sha256". */
export function parseSnapshot(key: string, metadata: Record<string, string | undefined> | undefined): SnapshotInfo | Error {
  const t = snapshotTime(key);
  if (t === undefined) return new Error(`${key} is not an etcd snapshot key (etcd/YYYYMMDDTHHMMSSZ.db)`);
  const m = snapshotMetadataSchema.safeParse({ sha256: metadata?.sha256?.toLowerCase() });
  return { key, time: t, ...(m.success ? { sha256: m.data.sha256 } : {}) };
}

/** The moment in a snapshot key as restore.json's `snapshotTime` keeps it, or undefined. */
export function snapshotRecordTime(key: string): string | undefined {
  const t = snapshotTime(key);
  return t === undefined ? undefined : recordTime(new Date(t * 1000));
}
