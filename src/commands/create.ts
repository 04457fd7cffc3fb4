/**
 * create: compute the plan (one observation, no mutating call), show it, ask (on a terminal; without
 * one --yes is required), run the pre-flight checks, then apply exactly that plan — from the same
 * observation — and, with --allow-delete, delete what the spec no longer names.
 *
 * - Anything refused (VPC CIDR, tenancy, zones): nothing at all is applied, exit 1.
 * - Deletions without --allow-delete: every other change is applied, the deletions are not, and
 *   create exits 1 naming them (adding a group and removing another is thus two steps: the new one
 *   comes up first; the old one goes when the user says so).
 * - Nothing to change: no question, no pre-flight, zero mutating calls, exit 0.
 */
import { GENERATION_TAG } from '../model/types.js';
import { newGeneration } from '../engine/context.js';
import { hasChanges, type Plan } from '../engine/compare.js';
import { deleteOrphans } from '../engine/destroy.js';
import { computePlan, renderPlan } from '../engine/plan.js';
import { preflight } from '../engine/preflight.js';
import { reconcile, type ActionRecord, type ReconcileResult } from '../engine/reconcile.js';
import { waitedLine } from '../engine/waited.js';
import type { StateDocument } from '../state/local.js';
import type { Actual } from '../resources/types.js';
import { confirm, openSession, type GlobalOptions } from './session.js';
import { summarizeCalls } from './output.js';
import { isAdoptedZone } from './destroy.js';

export interface CreateOptions extends GlobalOptions {
  yes?: boolean;
  dryRun?: boolean;
  output?: string;
  allowDelete?: boolean;
  forceUnlock?: string;
}

const record = (a: Actual) => ({ kind: a.kind, id: a.id, ...(Object.keys(a.attrs).length ? { attrs: { ...a.attrs } } : {}) });

export async function createCommand(opts: CreateOptions): Promise<number> {
  if (opts.dryRun) {
    const { planCommand } = await import('./plan.js');
    return planCommand({ ...opts, output: opts.output ?? 'text' });
  }
  const s = await openSession(opts);
  const started = Date.now();
  const json = opts.output === 'json';
  const calls = s.aws.counter;
  const region = s.spec.spec.region;
  let plan: Plan | undefined;
  let result: ReconcileResult | undefined;
  let deleted: Array<{ key: string; kind: string; id: string }> = [];
  let pendingDeletes: Actual[] = [];
  const finish = (code: number, ok: boolean, actions: ActionRecord[], extra: Record<string, unknown> = {}): number => {
    if (json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            cluster: s.clusterId,
            ok,
            dryRun: false,
            seconds: (Date.now() - started) / 1000,
            calls: { total: calls.total, mutating: calls.mutating, byAction: calls.byAction() },
            plan: plan ?? null,
            actions,
            deleted,
            notDeleted: pendingDeletes.map((o) => ({ key: o.key, kind: o.kind, id: o.id })),
            ...(result?.waited ? { waited: result.waited } : {}),
            ...extra,
          },
          null,
          2,
        )}\n`,
      );
    }
    return code;
  };
  /** Where the API is and what to run next (kops and eksctl end the same way); printed, and carried in the JSON. */
  const nextSteps = async (): Promise<{ api: { endpoint: string; via: string } | null; next: string[] }> => {
    const { clusterEndpoint } = await import('./kubeconfig.js');
    const api = await clusterEndpoint(s).then(
      (e) => ({ endpoint: e.server, via: e.via }),
      () => null,
    );
    const next = [`kubeaz kubeconfig -f ${opts.file}`, 'kubectl get nodes', `kubeaz status -f ${opts.file}`];
    if (api) s.progress.emit({ type: 'info', message: `API endpoint: ${api.endpoint}${api.via === 'internal-elb' ? ' (inside the VPC only)' : ''}` });
    s.progress.emit({ type: 'info', message: `next: ${next[0]} && ${next[1]}   (the nodes join within minutes of the instances starting; ${next[2]} checks them)` });
    return { api, next };
  };
  try {
    await s.graph(); // the facts (and the spec's graph checked) before the lock
    await s.state.lock('create', opts.forceUnlock !== undefined ? { forceUnlock: opts.forceUnlock } : {});
    const stateWarning = (s.state as { warning?: string }).warning;
    if (stateWarning) s.progress.emit({ type: 'warn', message: stateWarning });
    const prior = await s.state.read();
    if (prior) s.ctx.stateIds = Object.fromEntries(Object.entries(prior.resources).map(([k, r]) => [k, r.id]));
    const { HANDLERS } = await import('../resources/index.js');
    const planned = await computePlan(s.ctx, (o) => s.graphFor(o), HANDLERS, { zones: s.spec.spec.zones, keep: isAdoptedZone });
    plan = planned.plan;
    const { observed, graph } = planned;
    let { deletions } = planned;
    s.noteSwitch(plan, observed);
    const fromVpc = observed.get('vpc')?.tags[GENERATION_TAG];
    s.ctx.generation = fromVpc ?? (prior && prior.phase !== 'destroyed' ? prior.generation : newGeneration());
    const doc: StateDocument = {
      version: 1,
      clusterId: s.clusterId,
      region,
      accountId: s.ctx.accountId,
      generation: s.ctx.generation,
      phase: 'creating',
      updatedAt: new Date().toISOString(),
      resources: Object.fromEntries([...observed].map(([k, a]) => [k, record(a)])),
    };

    if (!hasChanges(plan)) {
      doc.phase = 'ready';
      await s.state.write(doc);
      if (plan.irsaSwitch) s.progress.emit({ type: 'info', message: plan.irsaSwitch.text });
      s.progress.emit({ type: 'info', message: `done: nothing to do, ${plan.summary.unchanged} resources match the spec — ${summarizeCalls(calls)}` });
      return finish(0, true, graph.nodes.map((n) => ({ key: n.key, kind: n.kind, action: 'unchanged' as const, id: observed.get(n.key)!.id })), await nextSteps());
    }

    process.stderr.write(`${renderPlan(plan, { allowDelete: Boolean(opts.allowDelete) })}\n`);
    if (plan.summary.refuse) {
      for (const c of plan.changes.filter((x) => x.action === 'refuse')) s.progress.emit({ type: 'warn', message: `${c.key}: ${c.reason}` });
      s.progress.emit({ type: 'info', message: `refused: ${plan.summary.refuse} change${plan.summary.refuse === 1 ? '' : 's'} cannot be made in place; nothing was changed` });
      return finish(1, false, []);
    }
    const go = await confirm(
      `Apply this plan to cluster ${s.clusterId} in ${region}, account ${s.ctx.accountId} (${plan.summary.create} to create, ${plan.summary.update} to change, ${opts.allowDelete ? plan.summary.delete : plan.changes.filter((c) => c.action === 'delete' && c.retired).length} to delete)?`,
      opts.yes,
    );
    if (!go) {
      s.progress.emit({ type: 'info', message: 'nothing was changed' });
      return finish(1, false, []);
    }

    const failures = await preflight(s.ctx, s.spec, graph, plan, {
      publicZoneOwned: observed.has('zone/public') && observed.get('zone/public')!.attrs.adopted !== 'true',
      ...(observed.get('zone/public') ? { publicZoneId: observed.get('zone/public')!.id } : {}),
    });
    if (failures.length) {
      const msg = `pre-flight found ${failures.length} problem${failures.length === 1 ? '' : 's'}; nothing was changed:\n${failures.map((f) => `  - ${f.check}: ${f.message}`).join('\n')}`;
      process.stderr.write(`error: ${msg}\n`);
      return finish(1, false, [], { preflight: failures });
    }

    const willChange = plan.summary.create + plan.summary.update > 0;
    if (willChange) {
      await s.state.write(doc);
      s.progress.emit({ type: 'info', message: `applying to ${s.clusterId} in ${region}: ${plan.summary.create} to create, ${plan.summary.update} to change` });
    }
    result = willChange
      ? await reconcile(s.ctx, graph, HANDLERS, {
          concurrency: s.concurrency,
          observed,
          onRecord: async (key, a) => {
            doc.resources[key] = record(a);
            await s.state.write(doc);
          },
        })
      : { actions: graph.nodes.map((n) => ({ key: n.key, kind: n.kind, action: 'unchanged' as const, id: observed.get(n.key)!.id })), actuals: observed, orphans: deletions, ok: true, aborted: false };

    let deleteFailed = false;
    // kubeaz's own files that nothing uses any longer go without asking, once the rest is applied
    const retiredKeys = new Set(plan.changes.filter((c) => c.action === 'delete' && c.retired).map((c) => c.key));
    if (retiredKeys.size && result.ok && !opts.allowDelete) {
      const retired = deletions.filter((a) => retiredKeys.has(a.key));
      s.progress.emit({ type: 'info', message: `removing ${retired.length} file${retired.length === 1 ? '' : 's'} of kubeaz's own that no launch template version uses any longer` });
      const d = await deleteOrphans(s.ctx, HANDLERS, retired, {
        concurrency: s.concurrency,
        onDeleted: async (a) => {
          delete doc.resources[a.key];
          await s.state.write(doc);
        },
      });
      deleted = d.deleted;
      for (const f of d.failed) s.progress.emit({ type: 'warn', message: f.error });
      deleteFailed = d.failed.length > 0;
      deletions = deletions.filter((a) => !retiredKeys.has(a.key) || !d.deleted.some((x) => x.key === a.key));
    }
    if (deletions.length && result.ok) {
      if (opts.allowDelete) {
        s.progress.emit({ type: 'info', message: `deleting ${deletions.length} resource${deletions.length === 1 ? '' : 's'} the spec no longer names` });
        const d = await deleteOrphans(s.ctx, HANDLERS, deletions, {
          concurrency: s.concurrency,
          onDeleted: async (a) => {
            delete doc.resources[a.key];
            await s.state.write(doc);
          },
        });
        deleted = d.deleted;
        for (const f of d.failed) s.progress.emit({ type: 'warn', message: f.error });
        deleteFailed = d.failed.length > 0;
        pendingDeletes = deletions.filter((a) => !d.deleted.some((x) => x.key === a.key));
      } else {
        pendingDeletes = deletions;
      }
    } else if (deletions.length) pendingDeletes = deletions;

    const ok = result.ok && !deleteFailed && pendingDeletes.length === 0;
    doc.phase = ok ? 'ready' : 'creating';
    await s.state.write(doc);

    const count = (a: string) => result!.actions.filter((x) => x.action === a).length;
    for (const a of result.actions.filter((x) => x.action === 'failed' || x.action === 'refused')) {
      s.progress.emit({ type: 'warn', message: a.error ?? `${a.key} failed` });
      const cause = (a as { cause?: Error }).cause;
      if (opts.debug && cause?.stack) process.stderr.write(`${cause.stack}\n`);
    }
    for (const a of result.actions.filter((x) => x.action === 'update' && x.changes?.some((c) => c.field === 'launchTemplateVersion'))) {
      const c = a.changes!.find((x) => x.field === 'launchTemplateVersion')!;
      s.progress.emit({
        type: 'info',
        message: `${a.key} now launches launch template version ${String(c.to)}; its running instances still run version ${String(c.from)}: \`kubeaz rollout -f ${opts.file}\` replaces them`,
      });
    }
    const seconds = (Date.now() - started) / 1000;
    s.progress.emit({
      type: 'info',
      message: `${result.ok ? 'done' : result.aborted ? 'interrupted' : 'incomplete'}: ${count('create')} created, ${count('update')} updated, ${deleted.length} deleted, ${count('unchanged')} unchanged${count('failed') + count('refused') ? `, ${count('failed') + count('refused')} failed` : ''}${count('skipped') ? `, ${count('skipped')} not attempted` : ''} in ${seconds.toFixed(1)}s — ${summarizeCalls(calls)}`,
    });
    // The last line: what the run waited on longest (text only; JSON has it as `waited`).
    const longest = result.waited;
    const waited = (): void => {
      if (longest && !json) s.progress.emit({ type: 'info', message: waitedLine(longest) });
    };
    if (result.aborted) {
      s.progress.emit({ type: 'info', message: `state saved to ${s.state.where}; run the same create again to finish` });
      waited();
      return finish(130, false, result.actions);
    }
    if (!result.ok || deleteFailed) {
      s.progress.emit({ type: 'info', message: 'state saved; fix the cause and run create again: it resumes where it stopped' });
      waited();
      return finish(1, false, result.actions);
    }
    if (pendingDeletes.length) {
      process.stderr.write(
        `error: ${pendingDeletes.length} resource${pendingDeletes.length === 1 ? ' is' : 's are'} owned by the cluster but no longer in the spec and ${pendingDeletes.length === 1 ? 'was' : 'were'} NOT deleted: ${pendingDeletes.map((o) => `${o.key} (${o.id})`).join(', ')}. ` +
          `Everything else was applied. Run create again with --allow-delete to delete ${pendingDeletes.length === 1 ? 'it' : 'them'} (an auto scaling group goes with its instances).\n`,
      );
      waited();
      return finish(1, false, result.actions);
    }
    const steps = await nextSteps();
    waited();
    return finish(0, true, result.actions, steps);
  } finally {
    await s.state.unlock();
    s.dispose();
  }
}
