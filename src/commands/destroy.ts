import { destroyAll, everything, foreignContents } from '../engine/destroy.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { waitedLine } from '../engine/reconcile.js';
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

export async function destroyCommand(opts: DestroyOptions): Promise<number> {
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
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region, found: false, message, deleted: [], failed: [], remaining: [] }, null, 2)}\n`);
      else process.stderr.write(`${message}\n`);
      return 0;
    }
    const elsewhere = heldElsewhere(s.ctx);
    if (elsewhere) s.progress.emit({ type: 'warn', message: `${elsewhere}: not ours, left alone` });
    // Things kubeaz did not make that live inside what it did: they go with their container.
    const foreign = await foreignContents(s.ctx, HANDLERS, observed.filter((a) => !isAdoptedZone(a)));
    for (const f of foreign) s.progress.emit({ type: 'warn', message: `not made by kubeaz, goes with its container: ${f}` });
    const go = await confirm(
      `Destroy cluster ${s.clusterId}: delete every resource tagged kubeaz:cluster=${s.clusterId} in ${region}, account ${s.ctx.accountId}${foreign.length ? `, and the ${foreign.length} thing(s) above that kubeaz did not make inside them` : ''}?`,
      opts.yes,
    );
    if (!go) {
      s.progress.emit({ type: 'info', message: 'nothing was deleted' });
      return 1;
    }
    // A bucket holding etcd snapshots stays (with etcd/ and pki/ only) unless --delete-backups.
    s.ctx.deleteBackups = Boolean(opts.deleteBackups);
    const bucket = bucketName(s.clusterId, s.ctx.accountId);
    // Only the bucket observe proved ours (a bucket of this name in another region is not).
    const ownsBucket = observed.some((a) => a.kind === 'bucket');
    const snapshots = opts.deleteBackups || !ownsBucket ? [] : ((await listSnapshots(await s.aws.s3(), bucket, s.ctx.accountId)) ?? []);
    const keepBackups = snapshots.length > 0;
    const kept = (a: Actual): boolean => isAdoptedZone(a) || (keepBackups && (a.kind === 'bucket' || a.kind === 'pki'));
    const prior = await s.state.read();
    if (prior) await s.state.write({ ...prior, phase: 'destroying' });
    s.progress.emit({ type: 'info', message: `destroying ${s.clusterId} in ${region}` });
    const result = await destroyAll(s.ctx, HANDLERS, {
      observed,
      concurrency: s.concurrency,
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
      const { retainBackupsOnly } = await import('../resources/bucket.js');
      removedFromBucket = await retainBackupsOnly(await s.aws.s3(), bucket, s.ctx.accountId);
    }
    const seconds = (Date.now() - started) / 1000;
    const backups = keepBackups ? { bucket, location: `s3://${bucket}/${ETCD_PREFIX}`, snapshots: snapshots.length, newest: newestSnapshot(snapshots)?.key ?? null } : null;
    if (opts.output === 'json') {
      process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, seconds, calls: { total: s.aws.counter.total, mutating: s.aws.counter.mutating }, found: true, ...result, remaining: result.remaining.map((r) => ({ key: r.key, kind: r.kind, id: r.id })), foreign, keptBackups: backups }, null, 2)}\n`);
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
