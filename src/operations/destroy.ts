/**
 * destroy's operation: look (duplicates included), show what will go, ask, then delete everything
 * tagged as this cluster's in reverse dependency order — keeping a public zone kubeaz adopted and,
 * unless --delete-backups, the bucket with its etcd snapshots and pki/. Works without the state file.
 */
import type { CallCounter } from '../aws/clients.js';
import { destroyAll, foreignContents, type DestroyResult } from '../engine/destroy.js';
import { everything } from '../engine/observe.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { ETCD_PREFIX, listSnapshots, newestSnapshot, SNAPSHOT_READ_CALLS } from '../etcd/snapshots.js';
import { bucketName } from '../model/names.js';
import { DESTROY_SWEEP, HANDLERS, recordedSpec, retainBackupsOnly } from '../resources/index.js';
import type { Actual } from '../resources/types.js';
import type { Session } from './session.js';

/** A public zone kubeaz adopted (it existed before) stays; only our records in it go. */
/** The IAM actions destroy calls beyond every kind's reads and deletes: the kept snapshots, the sweep of what Kubernetes made. */
export const DESTROY_CALLS: readonly string[] = [...SNAPSHOT_READ_CALLS, ...DESTROY_SWEEP.calls];

export const isAdoptedZone = (a: Actual): boolean => a.kind === 'hosted-zone' && a.attrs.adopted === 'true';

/** One resource destroy would delete: kops' `delete cluster` list (kind, id, name). */
export interface PreviewResource {
  key: string;
  kind: string;
  id: string;
  /** its Name tag, or the name AWS knows it by; the id when it has no other */
  name: string;
}

export interface DestroyPreview {
  /** resources that will be deleted */
  total: number;
  /** each of them, by kind, then key */
  resources: PreviewResource[];
  byKind: Record<string, number>;
  vpcId: string | null;
  bucket: { name: string; exists: boolean; kept: boolean; etcdSnapshots: number };
  /** etcd backups kept (the bucket stays with etcd/, pki/ and spec/) */
  backupsKept: boolean;
  /** what stays although owned (a public zone kubeaz adopted; the bucket holding backups) */
  kept: Array<{ key: string; kind: string; id: string }>;
}

/** The name a resource goes by: its Name tag, else the name AWS records, else its id. PURE. */
export const nameOf = (a: Actual): string => a.tags.Name || a.attrs.name || a.id;

/** What destroy will delete, from an observation. PURE. */
export function destroyPreview(
  observed: Actual[],
  kept: (a: Actual) => boolean,
  o: { bucket: string; snapshots: number; deleteBackups: boolean },
): DestroyPreview {
  const going = observed.filter((a) => !kept(a));
  const byKind: Record<string, number> = {};
  for (const a of going) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  const bucket = observed.find((a) => a.kind === 'bucket');
  const resources = going
    .map((a) => ({ key: a.key, kind: a.kind, id: a.id, name: nameOf(a) }))
    .sort((x, y) => x.kind.localeCompare(y.kind) || x.key.localeCompare(y.key));
  return {
    total: going.length,
    resources,
    byKind,
    vpcId: observed.find((a) => a.kind === 'vpc')?.id ?? null,
    bucket: { name: bucket?.id ?? o.bucket, exists: Boolean(bucket), kept: Boolean(bucket && kept(bucket)), etcdSnapshots: o.snapshots },
    backupsKept: o.snapshots > 0 && !o.deleteBackups,
    kept: observed.filter(kept).map((a) => ({ key: a.key, kind: a.kind, id: a.id })),
  };
}

export interface DestroyRequest {
  /** --delete-backups: the etcd snapshots (and pki/, and so the bucket) go too */
  deleteBackups?: boolean;
  forceUnlock?: string;
  /** --yes: no question asked (and the observation shown is the one acted on) */
  yes?: boolean;
  /** --dry-run: look and show what would go, then stop: no lock, no question, no change */
  dryRun?: boolean;
  /** what will go, before the question */
  showPreview: (p: DestroyPreview) => void;
  ask: (p: DestroyPreview, foreign: string[]) => Promise<boolean>;
}

/** The etcd backups destroy kept, and where. */
export interface KeptBackups {
  bucket: string;
  location: string;
  snapshots: number;
  newest: string | null;
  /** the spec the cluster was last created from, kept beside them (get-spec prints it); null: none was kept */
  spec: string | null;
}

export interface DestroyRun {
  preview: DestroyPreview;
  foreign: string[];
  result: DestroyResult;
  seconds: number;
  calls: CallCounter;
  keptBackups: KeptBackups | null;
  /** object versions removed from the kept bucket (everything but etcd/, pki/ and spec/) */
  removedFromBucket: number;
}

export type DestroyOutcome =
  { absent: string } | { declined: true } | { dryRun: true; preview: DestroyPreview; foreign: string[] } | DestroyRun;

export async function destroyCluster(s: Session, r: DestroyRequest): Promise<DestroyOutcome> {
  const started = Date.now();
  // --dry-run only reads: like plan, it takes no lock
  const locked = !r.dryRun;
  try {
    if (locked) await s.state.lock('destroy', r.forceUnlock !== undefined ? { forceUnlock: r.forceUnlock } : {});
    // Look before asking: what is there (duplicates included), and whether it is this cluster's.
    const observed = await everything(s.ctx, HANDLERS);
    if (clusterAbsent(observed)) return { absent: notFoundMessage(s.ctx) };
    const elsewhere = heldElsewhere(s.ctx);
    if (elsewhere) s.progress.emit({ type: 'warn', message: `${elsewhere}: not ours, left alone` });
    // A bucket holding etcd snapshots stays (with etcd/, pki/ and spec/ only) unless --delete-backups.
    s.ctx.deleteBackups = Boolean(r.deleteBackups);
    const bucket = bucketName(s.clusterId, s.ctx.accountId);
    // Only the bucket observe proved ours (a bucket of this name in another region is not).
    const ownsBucket = observed.some((a) => a.kind === 'bucket');
    // counted with --delete-backups too: the preview says how many go
    const snapshots = !ownsBucket ? [] : ((await listSnapshots(await s.aws.s3(), bucket, s.ctx.accountId)) ?? []);
    const keepBackups = snapshots.length > 0 && !r.deleteBackups;
    // the spec kept beside them, from the observe pass's listing of the bucket: no call of its own
    const spec = keepBackups ? await recordedSpec(s.ctx) : undefined;
    const kept = (a: Actual): boolean => isAdoptedZone(a) || (keepBackups && (a.kind === 'bucket' || a.kind === 'pki'));
    // What will go, shown before the question (terraform destroy's plan; kops delete cluster's list).
    const preview = destroyPreview(observed, kept, { bucket, snapshots: snapshots.length, deleteBackups: Boolean(r.deleteBackups) });
    r.showPreview(preview);
    // Things kubeaz did not make that live inside what it did: they go with their container.
    const foreign = await foreignContents(
      s.ctx,
      HANDLERS,
      observed.filter((a) => !kept(a)),
    );
    for (const f of foreign) s.progress.emit({ type: 'warn', message: `not made by kubeaz, goes with its container: ${f}` });
    if (r.dryRun) return { dryRun: true, preview, foreign };
    const asked = !r.yes;
    if (!(await r.ask(preview, foreign))) {
      s.progress.emit({ type: 'info', message: 'nothing was deleted' });
      return { declined: true };
    }
    const prior = await s.state.read();
    if (prior) await s.state.write({ ...prior, phase: 'destroying' });
    s.progress.emit({ type: 'info', message: `destroying ${s.clusterId} in ${s.spec.spec.region}` });
    const result = await destroyAll(s.ctx, HANDLERS, {
      concurrency: s.concurrency,
      // after a question the answer may have taken minutes: look again
      ...(asked ? {} : { observed }),
      keep: kept,
      onDeleted: async (a) => {
        if (prior) {
          delete prior.resources[a.key];
          await s.state.write({ ...prior, phase: 'destroying' });
        }
      },
    });
    let removedFromBucket = 0;
    const finished = !result.aborted && !result.remaining.length && !result.failed.length;
    if (keepBackups && finished) removedFromBucket = await retainBackupsOnly(await s.aws.s3(), bucket, s.ctx.accountId);
    const seconds = (Date.now() - started) / 1000;
    const keptBackups = keepBackups
      ? {
          bucket,
          location: `s3://${bucket}/${ETCD_PREFIX}`,
          snapshots: snapshots.length,
          newest: newestSnapshot(snapshots)?.key ?? null,
          spec: spec?.etag ? `s3://${spec.bucket}/${spec.key}` : null,
        }
      : null;
    if (finished) await s.state.remove();
    return { preview, foreign, result, seconds, calls: s.aws.counter, keptBackups, removedFromBucket };
  } finally {
    if (locked) await s.state.unlock();
  }
}
