/**
 * destroy: delete everything tagged as this cluster's, in reverse dependency order (the operation:
 * src/operations/destroy.ts). This file reads the flags, shows the preview, asks, and reports.
 */
import { waitedLine } from '../engine/waited.js';
import { destroyCluster, type DestroyPreview } from '../operations/destroy.js';
import { openSession, type GlobalOptions } from '../operations/session.js';
import { summarizeCalls } from './output.js';
import { confirm } from './prompt.js';

export interface DestroyOptions extends GlobalOptions {
  yes?: boolean;
  forceUnlock?: string;
  output?: string;
  /** --delete-backups: the etcd snapshots (and pki/, and so the bucket) go too */
  deleteBackups?: boolean;
}

export function renderDestroyPreview(clusterId: string, region: string, account: string, p: DestroyPreview): string {
  const kinds = Object.entries(p.byKind).sort(([a], [b]) => a.localeCompare(b));
  const lines = [`destroy ${clusterId} in ${region} (account ${account}): ${p.total} resource${p.total === 1 ? '' : 's'} to delete`];
  // two columns of "count kind", fitting 100 columns
  const cells = kinds.map(([k, n]) => `${String(n).padStart(4)} ${k}`);
  const width = Math.max(0, ...cells.map((c) => c.length)) + 2;
  for (let i = 0; i < cells.length; i += 3)
    lines.push(
      cells
        .slice(i, i + 3)
        .map((c) => c.padEnd(width))
        .join('')
        .trimEnd(),
    );
  lines.push(`  VPC: ${p.vpcId ?? 'none'}`);
  if (!p.bucket.exists) lines.push(`  bucket: ${p.bucket.name} (does not exist)`);
  else if (p.bucket.kept)
    lines.push(
      `  bucket: ${p.bucket.name} KEPT with its ${p.bucket.etcdSnapshots} etcd snapshot(s) and pki/`,
      '    (--delete-backups deletes them too)',
    );
  else lines.push(`  bucket: ${p.bucket.name} deleted${p.bucket.etcdSnapshots ? '' : ' (no etcd backups in it)'}`);
  for (const k of p.kept.filter((x) => x.kind === 'hosted-zone'))
    lines.push(`  kept: ${k.key} (${k.id}): a zone kubeaz did not create; only its records go`);
  return lines.join('\n');
}

export async function destroyCommand(opts: DestroyOptions): Promise<number> {
  const json = opts.output === 'json';
  const s = await openSession(opts);
  try {
    const region = s.spec.spec.region;
    const run = await destroyCluster(s, {
      ...(opts.deleteBackups !== undefined ? { deleteBackups: opts.deleteBackups } : {}),
      ...(opts.forceUnlock !== undefined ? { forceUnlock: opts.forceUnlock } : {}),
      ...(opts.yes !== undefined ? { yes: opts.yes } : {}),
      showPreview: (preview) => {
        if (!json) process.stderr.write(`${renderDestroyPreview(s.clusterId, region, s.ctx.accountId, preview)}\n`);
      },
      ask: (preview, foreign) =>
        confirm(
          `Destroy cluster ${s.clusterId}: delete these ${preview.total} resources tagged kubeaz:cluster=${s.clusterId} in ${region}, account ${s.ctx.accountId}${foreign.length ? `, and the ${foreign.length} thing(s) above that kubeaz did not make inside them` : ''}?`,
          opts.yes,
        ),
    });
    if ('absent' in run) {
      if (json)
        process.stdout.write(
          `${JSON.stringify({ cluster: s.clusterId, region, found: false, message: run.absent, deleted: [], failed: [], remaining: [] }, null, 2)}\n`,
        );
      else process.stderr.write(`${run.absent}\n`);
      return 0;
    }
    if ('declined' in run) return 1;
    const { result, seconds, foreign, keptBackups: backups } = run;
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ cluster: s.clusterId, seconds, calls: { total: run.calls.total, mutating: run.calls.mutating }, preview: run.preview, found: true, ...result, remaining: result.remaining.map((r) => ({ key: r.key, kind: r.kind, id: r.id })), foreign, keptBackups: backups }, null, 2)}\n`,
      );
    }
    for (const f of result.failed) s.progress.emit({ type: 'warn', message: f.error });
    // What the run waited on longest (text only; JSON has it as `waited`), ending the output below.
    const waited = () => {
      if (result.waited && !json) s.progress.emit({ type: 'info', message: waitedLine(result.waited) });
    };
    if (result.aborted) {
      s.progress.emit({ type: 'info', message: `interrupted after deleting ${result.deleted.length}; run destroy again to finish` });
      waited();
      return 130;
    }
    if (result.remaining.length || result.failed.length) {
      for (const r of result.remaining) s.progress.emit({ type: 'warn', message: `still there: ${r.key} (${r.kind} ${r.id})` });
      s.progress.emit({
        type: 'info',
        message: `incomplete: ${result.deleted.length} deleted, ${result.remaining.length} remain in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; run destroy again`,
      });
      waited();
      return 1;
    }
    if (foreign.length)
      s.progress.emit({ type: 'info', message: `deleted with their containers, not made by kubeaz: ${foreign.join('; ')}` });
    if (backups) {
      s.progress.emit({
        type: 'info',
        message:
          `kept the bucket ${backups.bucket} with its ${backups.snapshots} etcd snapshot(s) in ${backups.location} (newest ${backups.newest}), the cluster's CAs in s3://${backups.bucket}/pki/` +
          (backups.spec ? ` and the spec it was last created from in ${backups.spec} (kubeaz get-spec ${s.clusterId} prints it)` : '') +
          ' ' +
          `(${run.removedFromBucket} other object version(s) removed); kubeaz create brings the cluster back from them, kubeaz destroy --delete-backups deletes them`,
      });
      s.progress.emit({
        type: 'info',
        message: `done: ${result.deleted.length} deleted in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; only the backups in ${backups.location} remain`,
      });
      waited();
      return 0;
    }
    s.progress.emit({
      type: 'info',
      message: `done: ${result.deleted.length} deleted in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}; nothing of ${s.clusterId} remains`,
    });
    waited();
    return 0;
  } finally {
    s.dispose();
  }
}
