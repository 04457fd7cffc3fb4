/**
 * destroy: delete everything tagged as this cluster's, in reverse dependency order (the operation:
 * src/operations/destroy.ts). This file reads the flags, shows the preview, asks, and reports.
 */
import { waitedLine } from '../engine/waited.js';
import { destroyCluster, type DestroyPreview, type DestroyRun } from '../operations/destroy.js';
import { openSession, type GlobalOptions, type Session } from '../operations/session.js';
import { respond, watch } from '../operations/envelope.js';
import { summarizeCalls, table } from './output.js';
import { confirm } from './prompt.js';

export interface DestroyOptions extends GlobalOptions {
  yes?: boolean;
  forceUnlock?: string;
  output?: string;
  /** --delete-backups: the etcd snapshots (and pki/, and so the bucket) go too */
  deleteBackups?: boolean;
  /** --dry-run: show what would be deleted, change nothing (no --yes, no lock) */
  dryRun?: boolean;
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
  const snaps = `${p.bucket.etcdSnapshots} etcd snapshot${p.bucket.etcdSnapshots === 1 ? '' : 's'}`;
  if (!p.bucket.exists) lines.push(`  bucket: ${p.bucket.name} (does not exist)`);
  else if (p.bucket.kept)
    lines.push(
      `  bucket: ${p.bucket.name} KEPT with its ${p.bucket.etcdSnapshots} etcd snapshot(s) and pki/`,
      '    (--delete-backups deletes them too)',
    );
  else
    lines.push(
      `  bucket: ${p.bucket.name} deleted${p.bucket.etcdSnapshots ? ` with its ${snaps} (--delete-backups)` : ' (no etcd backups in it)'}`,
    );
  for (const k of p.kept.filter((x) => x.kind === 'hosted-zone'))
    lines.push(`  kept: ${k.key} (${k.id}): a zone kubeaz did not create; only its records go`);
  // every resource, as kops delete cluster lists them: kind, id, name
  if (p.resources.length)
    lines.push('', table([['  KIND', 'ID', 'NAME'], ...p.resources.map((r) => [`  ${r.kind}`, r.id, r.name === r.id ? '-' : r.name])]));
  return lines.join('\n');
}

export async function destroyCommand(opts: DestroyOptions): Promise<number> {
  const json = opts.output === 'json';
  const s = await openSession(opts, undefined, watch);
  try {
    const region = s.spec.spec.region;
    const run = await destroyCluster(s, {
      ...(opts.deleteBackups !== undefined ? { deleteBackups: opts.deleteBackups } : {}),
      ...(opts.forceUnlock !== undefined ? { forceUnlock: opts.forceUnlock } : {}),
      ...(opts.yes !== undefined ? { yes: opts.yes } : {}),
      ...(opts.dryRun ? { dryRun: true } : {}),
      // the preview is destroy's result as the plan is plan's: stdout (under --output json, in the JSON)
      showPreview: (preview) => {
        if (!json) process.stdout.write(`${renderDestroyPreview(s.clusterId, region, s.ctx.accountId, preview)}\n`);
      },
      ask: (preview, foreign) =>
        confirm(
          `Destroy cluster ${s.clusterId}: delete these ${preview.total} resources tagged kubeaz:cluster=${s.clusterId} in ${region}, account ${s.ctx.accountId}${foreign.length ? `, and the ${foreign.length} thing(s) above that kubeaz did not make inside them` : ''}?`,
          opts.yes,
        ),
    });
    if ('absent' in run) {
      if (json) return respond(0, { region, found: false, message: run.absent, resources: [], deleted: [], failed: [], remaining: [] });
      process.stderr.write(`${run.absent}\n`);
      return 0;
    }
    if ('dryRun' in run) {
      const { resources, ...preview } = run.preview;
      if (json) return respond(0, { region, dryRun: true, found: true, resources, preview, foreign: run.foreign });
      s.progress.emit({ type: 'info', message: `dry run: nothing was deleted — ${summarizeCalls(s.aws.counter)}` });
      return 0;
    }
    if ('declined' in run)
      return json ? respond(1, { region, found: true, deleted: [] }, { error: { code: 'declined', message: 'nothing was deleted' } }) : 1;
    const code = concludeDestroy(s, run, json);
    if (json) {
      const { result, seconds, foreign, keptBackups } = run;
      const { resources, ...preview } = run.preview;
      respond(
        code,
        {
          region,
          seconds,
          dryRun: false,
          found: true,
          resources,
          preview,
          ...result,
          remaining: result.remaining.map((r) => ({ key: r.key, kind: r.kind, id: r.id })),
          foreign,
          keptBackups,
        },
        code ? { error: destroyError(run, code) } : {},
      );
    }
    return code;
  } finally {
    s.dispose();
  }
}

/** Why a destroy ended with a non-zero exit, for the JSON envelope's error. */
function destroyError(run: DestroyRun, code: number): { code: string; message: string } {
  const { result } = run;
  if (code === 130)
    return { code: 'interrupted', message: `interrupted after deleting ${result.deleted.length}; run destroy again to finish` };
  const why = [...result.failed.map((f) => f.error), ...result.remaining.map((r) => `still there: ${r.key} (${r.kind} ${r.id})`)];
  return {
    code: 'incomplete',
    message: `${result.deleted.length} deleted, ${result.remaining.length} remain: ${why.join('; ')}; run destroy again`,
  };
}

/** The run's last lines (progress, on stderr) and its exit code. */
function concludeDestroy(s: Session, run: DestroyRun, json: boolean): number {
  const { result, seconds, foreign, keptBackups: backups } = run;
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
}
