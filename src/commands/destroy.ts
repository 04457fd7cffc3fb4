import { destroyAll, foreignContents } from '../engine/destroy.js';
import { everything } from '../engine/observe.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { waitedLine } from '../engine/waited.js';
import { ETCD_PREFIX, listSnapshots, newestSnapshot } from '../etcd/snapshots.js';
import { bucketName } from '../model/names.js';
import type { Actual } from '../resources/types.js';
import { confirm, openSession, type GlobalOptions } from './session.js';
import { summarizeCalls } from './output.js';

export interface DestroyOptions extends GlobalOptions {
  yes?: boolean;
  forceUnlock?: string;
  output?: string;
  /** --delete-backups: the etcd snapshots (and pki/, and so the bucket) go too */
  deleteBackups?: boolean;
}

/** A public zone kubeaz adopted (it existed before) stays; only our records in it go. */
export const isAdoptedZone = (a: Actual): boolean => a.kind === 'hosted-zone' && a.attrs.adopted === 'true';

export interface DestroyPreview {
  /** resources that will be deleted */
  total: number;
  byKind: Record<string, number>;
  vpcId: string | null;
  bucket: { name: string; exists: boolean; kept: boolean; etcdSnapshots: number };
  /** etcd backups kept (the bucket stays with etcd/ and pki/) */
  backupsKept: boolean;
  /** what stays although owned (a public zone kubeaz adopted; the bucket holding backups) */
  kept: Array<{ key: string; kind: string; id: string }>;
}

/** What destroy will delete, from an observation. PURE. */
export function destroyPreview(observed: Actual[], kept: (a: Actual) => boolean, o: { bucket: string; snapshots: number; deleteBackups: boolean }): DestroyPreview {
  const going = observed.filter((a) => !kept(a));
  const byKind: Record<string, number> = {};
  for (const a of going) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  const bucket = observed.find((a) => a.kind === 'bucket');
  return {
    total: going.length,
    byKind,
    vpcId: observed.find((a) => a.kind === 'vpc')?.id ?? null,
    bucket: { name: bucket?.id ?? o.bucket, exists: Boolean(bucket), kept: Boolean(bucket && kept(bucket)), etcdSnapshots: o.snapshots },
    backupsKept: o.snapshots > 0 && !o.deleteBackups,
    kept: observed.filter(kept).map((a) => ({ key: a.key, kind: a.kind, id: a.id })),
  };
}

export function renderDestroyPreview(clusterId: string, region: string, account: string, p: DestroyPreview): string {
  const kinds = Object.entries(p.byKind).sort(([a], [b]) => a.localeCompare(b));
  const lines = [`destroy ${clusterId} in ${region} (account ${account}): ${p.total} resource${p.total === 1 ? '' : 's'} to delete`];
  // two columns of "count kind", fitting 100 columns
  const cells = kinds.map(([k, n]) => `${String(n).padStart(4)} ${k}`);
  const width = Math.max(0, ...cells.map((c) => c.length)) + 2;
  for (let i = 0; i < cells.length; i += 3) lines.push(cells.slice(i, i + 3).map((c) => c.padEnd(width)).join('').trimEnd());
  lines.push(`  VPC: ${p.vpcId ?? 'none'}`);
  if (!p.bucket.exists) lines.push(`  bucket: ${p.bucket.name} (does not exist)`);
  else if (p.bucket.kept) lines.push(`  bucket: ${p.bucket.name} KEPT with its ${p.bucket.etcdSnapshots} etcd snapshot(s) and pki/`, '    (--delete-backups deletes them too)');
  else lines.push(`  bucket: ${p.bucket.name} deleted${p.bucket.etcdSnapshots ? '' : ' (no etcd backups in it)'}`);
  for (const k of p.kept.filter((x) => x.kind === 'hosted-zone')) lines.push(`  kept: ${k.key} (${k.id}): a zone kubeaz did not create; only its records go`);
  return lines.join('\n');
}

export async function destroyCommand(opts: DestroyOptions): Promise<number> {
  const json = opts.output === 'json';
  const s = await openSession(opts);
  const started = Date.now();
  try {
    await s.state.lock('destroy', opts.forceUnlock !== undefined ? { forceUnlock: opts.forceUnlock } : {});
    const region = s.spec.spec.region;
    const { HANDLERS } = await import('../resources/index.js');
    // Look before asking: what is there (duplicates included), and whether it is this cluster's.
    const observed = await everything(s.ctx, HANDLERS);
    if (clusterAbsent(observed)) {
      const message = notFoundMessage(s.ctx);
      if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region, found: false, message, deleted: [], failed: [], remaining: [] }, null, 2)}\n`);
      else process.stderr.write(`${message}\n`);
      return 0;
    }
    const elsewhere = heldElsewhere(s.ctx);
    if (elsewhere) s.progress.emit({ type: 'warn', message: `${elsewhere}: not ours, left alone` });
    // A bucket holding etcd snapshots stays (with etcd/ and pki/ only) unless --delete-backups.
    s.ctx.deleteBackups = Boolean(opts.deleteBackups);
    const bucket = bucketName(s.clusterId, s.ctx.accountId);
    // Only the bucket observe proved ours (a bucket of this name in another region is not).
    const ownsBucket = observed.some((a) => a.kind === 'bucket');
    const snapshots = opts.deleteBackups || !ownsBucket ? [] : ((await listSnapshots(await s.aws.s3(), bucket, s.ctx.accountId)) ?? []);
    const keepBackups = snapshots.length > 0;
    const kept = (a: Actual): boolean => isAdoptedZone(a) || (keepBackups && (a.kind === 'bucket' || a.kind === 'pki'));
    // What will go, shown before the question (terraform destroy's plan; kops delete cluster's list).
    const preview = destroyPreview(observed, kept, { bucket, snapshots: snapshots.length, deleteBackups: Boolean(opts.deleteBackups) });
    if (!json) process.stderr.write(`${renderDestroyPreview(s.clusterId, region, s.ctx.accountId, preview)}\n`);
    // Things kubeaz did not make that live inside what it did: they go with their container.
    const foreign = await foreignContents(s.ctx, HANDLERS, observed.filter((a) => !kept(a)));
    for (const f of foreign) s.progress.emit({ type: 'warn', message: `not made by kubeaz, goes with its container: ${f}` });
    const asked = !opts.yes;
    const go = await confirm(
      `Destroy cluster ${s.clusterId}: delete these ${preview.total} resources tagged kubeaz:cluster=${s.clusterId} in ${region}, account ${s.ctx.accountId}${foreign.length ? `, and the ${foreign.length} thing(s) above that kubeaz did not make inside them` : ''}?`,
      opts.yes,
    );
    if (!go) {
      s.progress.emit({ type: 'info', message: 'nothing was deleted' });
      return 1;
    }
    const prior = await s.state.read();
    if (prior) await s.state.write({ ...prior, phase: 'destroying' });
    s.progress.emit({ type: 'info', message: `destroying ${s.clusterId} in ${region}` });
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
    if (keepBackups && finished) {
      const { retainBackupsOnly } = await import('../resources/index.js');
      removedFromBucket = await retainBackupsOnly(await s.aws.s3(), bucket, s.ctx.accountId);
    }
    const seconds = (Date.now() - started) / 1000;
    const backups = keepBackups ? { bucket, location: `s3://${bucket}/${ETCD_PREFIX}`, snapshots: snapshots.length, newest: newestSnapshot(snapshots)?.key ?? null } : null;
    if (opts.output === 'json') {
      process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, seconds, calls: { total: s.aws.counter.total, mutating: s.aws.counter.mutating }, preview, found: true, ...result, remaining: result.remaining.map((r) => ({ key: r.key, kind: r.kind, id: r.id })), foreign, keptBackups: backups }, null, 2)}\n`);
    }
    for (const f of result.failed) s.progress.emit({ type: 'warn', message: f.error });
    // What the run waited on longest (text only; JSON has it as `waited`), ending the output below.
    const waited = () => {
      if (result.waited && opts.output !== 'json') s.progress.emit({ type: 'info', message: waitedLine(result.waited) });
    };
    if (result.aborted) {
      s.progress.emit({ type: 'info', message: `interrupted after deleting ${result.deleted.length}; run destroy again to finish` });
      waited();
      return 130;
    }
    if (result.remaining.length || result.failed.length) {
      for (const r of result.remaining) s.progress.emit({ type: 'warn', message: `still there: ${r.key} (${r.kind} ${r.id})` });
      s.progress.emit({ type: 'info', message: `incomplete: ${result.deleted.length} deleted, ${result.remaining.length} remain in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; run destroy again` });
      waited();
      return 1;
    }
    await s.state.remove();
    if (foreign.length) s.progress.emit({ type: 'info', message: `deleted with their containers, not made by kubeaz: ${foreign.join('; ')}` });
    if (backups) {
      s.progress.emit({
        type: 'info',
        message:
          `kept the bucket ${bucket} with its ${backups.snapshots} etcd snapshot(s) in ${backups.location} (newest ${backups.newest}) and the cluster's CAs in s3://${bucket}/pki/ ` +
          `(${removedFromBucket} other object version(s) removed); kubeaz create brings the cluster back from them, kubeaz destroy --delete-backups deletes them`,
      });
      s.progress.emit({ type: 'info', message: `done: ${result.deleted.length} deleted in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; only the backups in ${backups.location} remain` });
      waited();
      return 0;
    }
    s.progress.emit({ type: 'info', message: `done: ${result.deleted.length} deleted in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; nothing of ${s.clusterId} remains` });
    waited();
    return 0;
  } finally {
    await s.state.unlock();
    s.dispose();
  }
}
