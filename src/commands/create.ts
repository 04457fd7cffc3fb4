import { GENERATION_TAG } from '../model/types.js';
import { newGeneration } from '../engine/context.js';
import { reconcile, type ReconcileResult } from '../engine/reconcile.js';
import type { StateDocument } from '../state/local.js';
import type { Actual } from '../resources/types.js';
import { confirm, openSession, type GlobalOptions } from './session.js';
import { summarizeCalls } from './output.js';

export interface CreateOptions extends GlobalOptions {
  yes?: boolean;
  dryRun?: boolean;
  output?: string;
}

const record = (a: Actual) => ({ kind: a.kind, id: a.id, ...(Object.keys(a.attrs).length ? { attrs: { ...a.attrs } } : {}) });

export async function createCommand(opts: CreateOptions): Promise<number> {
  const s = await openSession(opts);
  const started = Date.now();
  try {
    const graph = await s.graph();
    const region = s.spec.spec.region;
    if (!opts.dryRun) {
      await s.state.lock('create');
      const go = await confirm(`Create or update cluster ${s.clusterId} (${graph.nodes.length} resources) in ${region}, account ${s.ctx.accountId}?`, opts.yes);
      if (!go) {
        s.progress.emit({ type: 'info', message: 'nothing was changed' });
        return 1;
      }
    }
    const prior = await s.state.read();
    let doc: StateDocument | undefined;
    s.progress.emit({ type: 'info', message: `${opts.dryRun ? 'planning' : 'reconciling'} ${s.clusterId} in ${region}: ${graph.nodes.length} resources` });
    const result: ReconcileResult = await reconcile(s.ctx, graph, (await import('../resources/index.js')).HANDLERS, {
      concurrency: s.concurrency,
      dryRun: Boolean(opts.dryRun),
      afterObserve: async (actuals) => {
        const fromVpc = actuals.get('vpc')?.tags[GENERATION_TAG];
        s.ctx.generation = fromVpc ?? (prior && prior.phase !== 'destroyed' ? prior.generation : newGeneration());
        if (opts.dryRun) return;
        doc = {
          version: 1,
          clusterId: s.clusterId,
          region,
          accountId: s.ctx.accountId,
          generation: s.ctx.generation,
          phase: 'creating',
          updatedAt: new Date().toISOString(),
          resources: Object.fromEntries([...actuals].map(([k, a]) => [k, record(a)])),
        };
        await s.state.write(doc);
      },
      onRecord: async (key, a) => {
        if (!doc) return;
        doc.resources[key] = record(a);
        await s.state.write(doc);
      },
    });
    if (doc) {
      doc.phase = result.ok ? 'ready' : 'creating';
      await s.state.write(doc);
    }
    const count = (a: string) => result.actions.filter((x) => x.action === a).length;
    const seconds = (Date.now() - started) / 1000;
    const calls = s.aws.counter;
    if (opts.output === 'json') {
      process.stdout.write(
        `${JSON.stringify({ cluster: s.clusterId, ok: result.ok, dryRun: Boolean(opts.dryRun), seconds, calls: { total: calls.total, mutating: calls.mutating }, actions: result.actions, orphans: result.orphans.map((o) => ({ key: o.key, kind: o.kind, id: o.id })) }, null, 2)}\n`,
      );
    }
    for (const a of result.actions.filter((x) => x.action === 'failed' || x.action === 'refused')) s.progress.emit({ type: 'warn', message: a.error ?? `${a.key} failed` });
    for (const o of result.orphans) s.progress.emit({ type: 'warn', message: `${o.key} (${o.kind} ${o.id}) is owned by the cluster but no longer in the spec; left alone` });
    const verb = opts.dryRun ? 'would create' : 'created';
    s.progress.emit({
      type: 'info',
      message: `${result.ok ? 'done' : result.aborted ? 'interrupted' : 'incomplete'}: ${count('create')} ${verb}, ${count('update')} ${opts.dryRun ? 'would update' : 'updated'}, ${count('unchanged')} unchanged${count('failed') + count('refused') ? `, ${count('failed') + count('refused')} failed` : ''}${count('skipped') ? `, ${count('skipped')} not attempted` : ''} in ${seconds.toFixed(1)}s — ${summarizeCalls(calls)}`,
    });
    if (result.aborted) {
      s.progress.emit({ type: 'info', message: `state saved to ${s.state.file}; run the same create again to finish` });
      return 130;
    }
    if (!result.ok) {
      s.progress.emit({ type: 'info', message: 'state saved; fix the cause and run create again: it resumes where it stopped' });
      return 1;
    }
    return 0;
  } finally {
    await s.state.unlock();
    s.dispose();
  }
}
