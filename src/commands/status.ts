import { describeDuplicate, observeEvery, resolveNode } from '../engine/reconcile.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { silentProgress } from '../engine/progress.js';
import { bucketName } from '../model/names.js';
import type { Kind } from '../model/types.js';
import type { Actual, Change, Health, ResourceHandler } from '../resources/types.js';
import { openSession, type GlobalOptions } from './session.js';
import { table } from './output.js';
import { ConsoleProgress } from '../engine/progress.js';

export interface StatusOptions extends GlobalOptions {
  output?: string;
}

export interface ResourceStatus {
  key: string;
  kind: Kind;
  id?: string;
  status: 'present' | 'missing' | 'drifted';
  changes?: Change[];
  state?: string;
}

export interface EtcdBackupInfo {
  newestKey?: string;
  newestAt?: string;
  ageMinutes?: number;
  count: number;
  /** bytes every version under etcd/ takes (noncurrent ones included: the bucket is versioned) */
  bytes?: number;
  noncurrentBytes?: number;
}

/** The snapshots as retention.ts reads them (src/etcd/snapshots.ts): newest by the UTC time in its key. */
async function etcdBackups(s: Awaited<ReturnType<typeof openSession>>): Promise<EtcdBackupInfo | undefined> {
  const { listSnapshots, newestSnapshot, snapshotStorage } = await import('../etcd/snapshots.js');
  const s3 = await s.aws.s3();
  const bucket = bucketName(s.clusterId, s.ctx.accountId);
  const [snaps, storage] = await Promise.all([listSnapshots(s3, bucket, s.ctx.accountId), snapshotStorage(s3, bucket, s.ctx.accountId)]);
  if (!snaps) return undefined;
  const sizes = storage ? { bytes: storage.bytes, noncurrentBytes: storage.noncurrentBytes } : {};
  const newest = newestSnapshot(snaps);
  if (!newest) return { count: 0, ...sizes };
  const at = new Date(newest.time * 1000);
  return { newestKey: newest.key, newestAt: at.toISOString(), ageMinutes: Math.round((Date.now() - at.getTime()) / 60000), count: snaps.length, ...sizes };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export async function statusCommand(opts: StatusOptions): Promise<number> {
  const json = opts.output === 'json';
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    const graph = await s.graph();
    const { HANDLERS } = await import('../resources/index.js');
    // Where two resources claim one key, the one the state file knows is the one reported.
    const prior = await s.state.read().catch(() => undefined);
    if (prior) s.ctx.stateIds = Object.fromEntries(Object.entries(prior.resources).map(([k, r]) => [k, r.id]));
    const { actuals, duplicates } = await observeEvery(s.ctx, HANDLERS);
    if (clusterAbsent(actuals.values())) {
      // Nothing of it here: one line, not a table of every resource "missing".
      const message = notFoundMessage(s.ctx);
      if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region: s.spec.spec.region, accountId: s.ctx.accountId, found: false, ok: false, message }, null, 2)}\n`);
      else process.stdout.write(`${message}\n`);
      return 3;
    }
    const resources: ResourceStatus[] = graph.nodes.map((node) => {
      const actual = actuals.get(node.key);
      if (!actual) return { key: node.key, kind: node.kind, status: 'missing' };
      let changes: Change[];
      try {
        changes = (HANDLERS[node.kind] as ResourceHandler).diff(resolveNode(node, actuals), actual);
      } catch {
        changes = [{ field: 'dependencies', from: 'missing', to: 'present', inPlace: true }];
      }
      return { key: node.key, kind: node.kind, id: actual.id, status: changes.length ? 'drifted' : 'present', ...(changes.length ? { changes } : {}), ...(actual.state ? { state: actual.state } : {}) };
    });
    const byKind = new Map<Kind, Actual[]>();
    for (const a of actuals.values()) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
    const health: Health[] = (
      await Promise.all(
        [...byKind].map(async ([kind, list]) => {
          const h = HANDLERS[kind] as ResourceHandler;
          return h.health ? h.health(s.ctx, list) : [];
        }),
      )
    ).flat();
    const warnings = [...s.warnings];
    for (const d of duplicates) warnings.push(describeDuplicate(d, actuals.get(d.key)));
    const elsewhere = heldElsewhere(s.ctx);
    if (elsewhere) warnings.push(`${elsewhere}: left out of this status`);
    const backups = actuals.has('bucket') ? await etcdBackups(s) : undefined;
    const interval = s.spec.spec.etcd.backupIntervalMinutes;
    if (backups && backups.count === 0) warnings.push('no etcd backup yet (a master that has not finished booting has none)');
    else if (backups?.ageMinutes !== undefined && backups.ageMinutes > 2 * interval)
      warnings.push(`the newest etcd backup is ${backups.ageMinutes} minutes old (more than twice the ${interval}-minute interval)`);
    const desired = new Set(graph.nodes.map((n) => n.key));
    const orphans = [...actuals.values()].filter((a) => !desired.has(a.key)).map((a) => ({ key: a.key, kind: a.kind, id: a.id }));
    const ok = resources.every((r) => r.status === 'present') && health.every((h) => h.ok);
    if (json) {
      process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region: s.spec.spec.region, accountId: s.ctx.accountId, found: true, ok, resources, health, etcdBackups: backups ?? null, orphans, warnings, calls: s.aws.counter.total }, null, 2)}\n`);
    } else {
      const rows = [['RESOURCE', 'KIND', 'ID', 'STATUS'], ...resources.map((r) => [r.key, r.kind, r.id ?? '-', r.status + (r.state && r.state !== 'available' ? ` (${r.state})` : '')])];
      const out: string[] = [`cluster ${s.clusterId} in ${s.spec.spec.region} (account ${s.ctx.accountId})`, '', table(rows), ''];
      for (const r of resources.filter((x) => x.status === 'drifted'))
        for (const c of r.changes ?? []) out.push(`drift: ${r.key}: ${c.field}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
      if (health.length) {
        out.push('health:');
        for (const h of health) out.push(`  ${h.ok ? 'ok  ' : 'FAIL'} ${h.key}: ${h.summary}`);
      }
      if (backups?.newestKey) out.push(`etcd backups: ${backups.count}, newest ${backups.newestKey} (${backups.ageMinutes} min old)`);
      if (backups?.bytes !== undefined)
        out.push(`etcd backups take ${formatBytes(backups.bytes)} in the bucket (${formatBytes(backups.noncurrentBytes ?? 0)} of it pruned versions awaiting the lifecycle rule)`);
      for (const o of orphans) out.push(`orphan: ${o.key} (${o.kind} ${o.id}) is owned by the cluster but not in the spec`);
      for (const w of warnings) out.push(`warning: ${w}`);
      const present = resources.filter((r) => r.status === 'present').length;
      out.push('', `${ok ? 'healthy' : 'NOT healthy'}: ${present}/${resources.length} resources present and matching${health.some((h) => !h.ok) ? `, ${health.filter((h) => !h.ok).length} health checks failing` : ''}`);
      process.stdout.write(`${out.join('\n')}\n`);
    }
    return ok ? 0 : 3;
  } finally {
    s.dispose();
  }
}
