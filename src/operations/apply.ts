/**
 * create's operation: compute the plan (one observation, no mutating call), show it, ask, run the
 * pre-flight checks, then apply exactly that plan — from the same observation — and, with
 * --allow-delete, delete what the spec no longer names.
 *
 * - Anything refused (VPC CIDR, tenancy, zones): nothing at all is applied, exit 1.
 * - Deletions without --allow-delete: every other change is applied, the deletions are not, and
 *   create exits 1 naming them (adding a group and removing another is thus two steps: the new one
 *   comes up first; the old one goes when the user says so).
 * - Nothing to change: no question, no pre-flight, zero mutating calls, exit 0.
 * - A run that ends well keeps the spec in the cluster's bucket (`spec/cluster.yaml`, for `kubeaz
 *   get-spec`): a record like the state document, not a planned change; written only when the
 *   bucket holds another (so a no-op stays at zero mutating calls, but for the first run on a
 *   cluster an older kubeaz made).
 */
import { describeAwsError } from '../aws/errors.js';
import { bucketName } from '../model/names.js';
import { SPEC_OBJECT, storedSpecText } from '../model/stored-spec.js';
import { GENERATION_TAG } from '../model/types.js';
import { newGeneration } from '../engine/context.js';
import { hasChanges, type Plan } from '../engine/compare.js';
import { deleteOrphans } from '../engine/destroy.js';
import { preflight } from '../engine/preflight.js';
import { reconcile, type ActionRecord, type ReconcileResult } from '../engine/reconcile.js';
import type { DesiredGraph } from '../model/types.js';
import { HANDLERS, holdsSpec, recordedSpec, writeSpec, type RecordedSpec } from '../resources/index.js';
import type { Actual } from '../resources/types.js';
import type { StateDocument } from '../state/local.js';
import { publicZoneDns, type PublicZoneDns } from './dns.js';
import { clusterEndpoint } from './endpoint.js';
import { planAgainst } from './plan.js';
import { summarizeCalls, type Session } from './session.js';

export interface ApplyRequest {
  /** the spec file as given (the next steps name it) */
  file: string;
  allowDelete?: boolean;
  forceUnlock?: string;
  debug?: boolean;
  /** --update-images: every group moves to the image the public parameter names */
  updateImages?: boolean;
}

/** What the caller shows and asks along the way. */
export interface ApplyUi {
  /** the plan, before the question (not when nothing changes) */
  showPlan(plan: Plan): void;
  ask(plan: Plan): Promise<boolean>;
  /** an error line, a stack trace with --debug */
  stderr(text: string): void;
  /** where the run ended: once, before the lock is given back */
  finish(report: ApplyReport): void;
}

/** How a create ended: create's JSON, and its exit code. */
export interface ApplyReport {
  code: number;
  ok: boolean;
  seconds: number;
  plan: Plan | null;
  actions: ActionRecord[];
  deleted: Array<{ key: string; kind: string; id: string }>;
  notDeleted: Array<{ key: string; kind: string; id: string }>;
  waited?: ReconcileResult['waited'];
  /** the next steps (api, next) or the pre-flight failures */
  extra: Record<string, unknown>;
}

const record = (a: Actual) => ({ kind: a.kind, id: a.id, ...(Object.keys(a.attrs).length ? { attrs: { ...a.attrs } } : {}) });

/** One create run's working state. */
interface Run {
  s: Session;
  r: ApplyRequest;
  ui: ApplyUi;
  started: number;
  plan?: Plan;
  result?: ReconcileResult;
  deleted: ApplyReport['deleted'];
  pendingDeletes: Actual[];
  doc?: StateDocument;
  /** the spec the bucket held when the run looked (undefined: no bucket of the cluster's yet) */
  recorded?: RecordedSpec;
}

/**
 * The spec the cluster was created from, kept in its bucket once the run ended well (unless the
 * bucket holds this very text already); not writing it is a warning, not a failure of the create.
 */
async function keepSpec(run: Run, bucketExists: boolean): Promise<void> {
  const { s } = run;
  const text = storedSpecText(s.spec);
  if (holdsSpec(run.recorded, text) || (!run.recorded && !bucketExists)) return;
  const bucket = run.recorded?.bucket ?? bucketName(s.clusterId, s.ctx.accountId);
  try {
    await writeSpec(s.ctx, bucket, text);
    s.progress.emit({ type: 'info', message: `kept the spec in s3://${bucket}/${SPEC_OBJECT} (kubeaz get-spec ${s.clusterId} prints it)` });
  } catch (e) {
    s.progress.emit({ type: 'warn', message: `could not keep the spec in s3://${bucket}/${SPEC_OBJECT}: ${describeAwsError(e)}` });
  }
}

function finish(run: Run, code: number, ok: boolean, actions: ActionRecord[], extra: Record<string, unknown> = {}): number {
  run.ui.finish({
    code,
    ok,
    seconds: (Date.now() - run.started) / 1000,
    plan: run.plan ?? null,
    actions,
    deleted: run.deleted,
    notDeleted: run.pendingDeletes.map((o) => ({ key: o.key, kind: o.kind, id: o.id })),
    ...(run.result?.waited ? { waited: run.result.waited } : {}),
    extra,
  });
  return code;
}

/** Where the API is and what to run next (kops and eksctl end the same way); printed, and carried in the JSON. */
async function nextSteps(
  run: Run,
): Promise<{ api: { endpoint: string; via: string } | null; next: string[]; publicZone?: Omit<PublicZoneDns, 'text'> }> {
  const s = run.s;
  const api = await clusterEndpoint(s).then(
    (e) => ({ endpoint: e.server, via: e.via }),
    () => null,
  );
  // a zone kubeaz made answers nobody until the parent domain delegates to it: said on the run that made it
  // (a no-op create makes no extra call; status checks the delegation every time)
  const madeZone = run.result?.actions.some((a) => a.key === 'zone/public' && a.action === 'create');
  const zone = madeZone && run.result ? await publicZoneDns(s, run.result.actuals, false) : undefined;
  if (zone) s.progress.emit({ type: 'info', message: zone.text });
  const next = [`kubeaz kubeconfig -f ${run.r.file}`, 'kubectl get nodes', `kubeaz status -f ${run.r.file}`];
  if (api)
    s.progress.emit({
      type: 'info',
      message: `API endpoint: ${api.endpoint}${api.via === 'internal-elb' ? ' (inside the VPC only)' : ''}`,
    });
  s.progress.emit({
    type: 'info',
    message: `next: ${next[0]} && ${next[1]}   (the nodes join within minutes of the instances starting; ${next[2]} checks them)`,
  });
  if (!zone) return { api, next };
  return { api, next, publicZone: { domain: zone.domain, zoneId: zone.zoneId, nameServers: zone.nameServers } };
}

export async function applyCluster(s: Session, r: ApplyRequest, ui: ApplyUi): Promise<number> {
  const run: Run = { s, r, ui, started: Date.now(), deleted: [], pendingDeletes: [] };
  try {
    await s.graph(); // the facts (and the spec's graph checked) before the lock
    await s.state.lock('create', r.forceUnlock !== undefined ? { forceUnlock: r.forceUnlock } : {});
    const stateWarning = (s.state as { warning?: string }).warning;
    if (stateWarning) s.progress.emit({ type: 'warn', message: stateWarning });
    const prior = await s.state.read();
    if (prior) s.ctx.stateIds = Object.fromEntries(Object.entries(prior.resources).map(([k, a]) => [k, a.id]));
    const planned = await planAgainst(s, { updateImages: Boolean(r.updateImages) });
    const plan = (run.plan = planned.plan);
    run.recorded = await recordedSpec(s.ctx); // from the pass's listing of the bucket: no call
    const { observed, graph, deletions } = planned;
    const fromVpc = observed.get('vpc')?.tags[GENERATION_TAG];
    s.ctx.generation = fromVpc ?? (prior && prior.phase !== 'destroyed' ? prior.generation : newGeneration());
    const doc: StateDocument = (run.doc = {
      version: 1,
      clusterId: s.clusterId,
      region: s.spec.spec.region,
      accountId: s.ctx.accountId,
      generation: s.ctx.generation,
      phase: 'creating',
      updatedAt: new Date().toISOString(),
      resources: Object.fromEntries([...observed].map(([k, a]) => [k, record(a)])),
    });
    const unchanged = (): ActionRecord[] =>
      graph.nodes.map((n) => ({ key: n.key, kind: n.kind, action: 'unchanged' as const, id: observed.get(n.key)!.id }));

    if (!hasChanges(plan)) {
      doc.phase = 'ready';
      await s.state.write(doc);
      await keepSpec(run, false);
      if (plan.irsaSwitch) s.progress.emit({ type: 'info', message: plan.irsaSwitch.text });
      for (const u of plan.imageUpdate ?? []) s.progress.emit({ type: 'info', message: u.text });
      s.progress.emit({
        type: 'info',
        message: `done: nothing to do, ${plan.summary.unchanged} resources match the spec — ${summarizeCalls(s.aws.counter)}`,
      });
      return finish(run, 0, true, unchanged(), await nextSteps(run));
    }

    ui.showPlan(plan);
    if (plan.summary.refuse) {
      for (const c of plan.changes.filter((x) => x.action === 'refuse'))
        s.progress.emit({ type: 'warn', message: `${c.key}: ${c.reason}` });
      s.progress.emit({
        type: 'info',
        message: `refused: ${plan.summary.refuse} change${plan.summary.refuse === 1 ? '' : 's'} cannot be made in place; nothing was changed`,
      });
      return finish(run, 1, false, []);
    }
    if (!(await ui.ask(plan))) {
      s.progress.emit({ type: 'info', message: 'nothing was changed' });
      return finish(run, 1, false, []);
    }

    const failures = await preflight(s.ctx, s.spec, graph, plan, {
      publicZoneOwned: observed.has('zone/public') && observed.get('zone/public')!.attrs.adopted !== 'true',
      ...(observed.get('zone/public') ? { publicZoneId: observed.get('zone/public')!.id } : {}),
    });
    if (failures.length) {
      const msg = `pre-flight found ${failures.length} problem${failures.length === 1 ? '' : 's'}; nothing was changed:\n${failures.map((f) => `  - ${f.check}: ${f.message}`).join('\n')}`;
      ui.stderr(`error: ${msg}\n`);
      return finish(run, 1, false, [], { preflight: failures });
    }
    return await applyPlan(run, plan, graph, observed, deletions, unchanged);
  } finally {
    await s.state.unlock();
  }
}

/** The changes, then the deletions (kubeaz's retired files always; the rest with --allow-delete), then the ending. */
async function applyPlan(
  run: Run,
  plan: Plan,
  graph: DesiredGraph,
  observed: Map<string, Actual>,
  deletions: Actual[],
  unchanged: () => ActionRecord[],
): Promise<number> {
  const { s, r } = run;
  const doc = run.doc!;
  const willChange = plan.summary.create + plan.summary.update > 0;
  if (willChange) {
    await s.state.write(doc);
    s.progress.emit({
      type: 'info',
      message: `applying to ${s.clusterId} in ${s.spec.spec.region}: ${plan.summary.create} to create, ${plan.summary.update} to change`,
    });
  }
  const result = (run.result = willChange
    ? await reconcile(s.ctx, graph, HANDLERS, {
        concurrency: s.concurrency,
        observed,
        onRecord: async (key, a) => {
          doc.resources[key] = record(a);
          await s.state.write(doc);
        },
      })
    : { actions: unchanged(), actuals: observed, orphans: deletions, ok: true, aborted: false });

  const deleteSome = async (which: Actual[]): Promise<boolean> => {
    const d = await deleteOrphans(s.ctx, HANDLERS, which, {
      concurrency: s.concurrency,
      onDeleted: async (a) => {
        delete doc.resources[a.key];
        await s.state.write(doc);
      },
    });
    run.deleted = d.deleted;
    for (const f of d.failed) s.progress.emit({ type: 'warn', message: f.error });
    return d.failed.length > 0;
  };
  let deleteFailed = false;
  // kubeaz's own files that nothing uses any longer go without asking, once the rest is applied
  const retiredKeys = new Set(plan.changes.filter((c) => c.action === 'delete' && c.retired).map((c) => c.key));
  if (retiredKeys.size && result.ok && !r.allowDelete) {
    const retired = deletions.filter((a) => retiredKeys.has(a.key));
    s.progress.emit({
      type: 'info',
      message: `removing ${retired.length} file${retired.length === 1 ? '' : 's'} of kubeaz's own that no launch template version uses any longer`,
    });
    deleteFailed = await deleteSome(retired);
    deletions = deletions.filter((a) => !retiredKeys.has(a.key) || !run.deleted.some((x) => x.key === a.key));
  }
  if (deletions.length && result.ok) {
    if (r.allowDelete) {
      s.progress.emit({
        type: 'info',
        message: `deleting ${deletions.length} resource${deletions.length === 1 ? '' : 's'} the spec no longer names`,
      });
      deleteFailed = await deleteSome(deletions);
      run.pendingDeletes = deletions.filter((a) => !run.deleted.some((x) => x.key === a.key));
    } else {
      run.pendingDeletes = deletions;
    }
  } else if (deletions.length) run.pendingDeletes = deletions;

  const ok = result.ok && !deleteFailed && run.pendingDeletes.length === 0;
  doc.phase = ok ? 'ready' : 'creating';
  await s.state.write(doc);
  return conclude(run, result, deleteFailed);
}

/** The run's last lines: what failed, what to roll out, the totals, and what to do next. */
async function conclude(run: Run, result: ReconcileResult, deleteFailed: boolean): Promise<number> {
  const { s, r } = run;
  const count = (a: string) => result.actions.filter((x) => x.action === a).length;
  for (const a of result.actions.filter((x) => x.action === 'failed' || x.action === 'refused')) {
    s.progress.emit({ type: 'warn', message: a.error ?? `${a.key} failed` });
    const cause = (a as { cause?: Error }).cause;
    if (r.debug && cause?.stack) run.ui.stderr(`${cause.stack}\n`);
  }
  for (const a of result.actions.filter((x) => x.action === 'update' && x.changes?.some((c) => c.field === 'launchTemplateVersion'))) {
    const c = a.changes!.find((x) => x.field === 'launchTemplateVersion')!;
    s.progress.emit({
      type: 'info',
      message: `${a.key} now launches launch template version ${String(c.to)}; its running instances still run version ${String(c.from)}: \`kubeaz rollout -f ${r.file}\` replaces them`,
    });
  }
  // a run that applied everything keeps the spec it applied (before the totals, which count the write)
  if (result.ok && !deleteFailed && !run.pendingDeletes.length) await keepSpec(run, true);
  const seconds = (Date.now() - run.started) / 1000;
  s.progress.emit({
    type: 'info',
    message: `${result.ok ? 'done' : result.aborted ? 'interrupted' : 'incomplete'}: ${count('create')} created, ${count('update')} updated, ${run.deleted.length} deleted, ${count('unchanged')} unchanged${count('failed') + count('refused') ? `, ${count('failed') + count('refused')} failed` : ''}${count('skipped') ? `, ${count('skipped')} not attempted` : ''} in ${seconds.toFixed(1)}s — ${summarizeCalls(s.aws.counter)}`,
  });
  if (result.aborted) {
    s.progress.emit({ type: 'info', message: `state saved to ${s.state.where}; run the same create again to finish` });
    return finish(run, 130, false, result.actions);
  }
  if (!result.ok || deleteFailed) {
    s.progress.emit({ type: 'info', message: 'state saved; fix the cause and run create again: it resumes where it stopped' });
    return finish(run, 1, false, result.actions);
  }
  const pending = run.pendingDeletes;
  if (pending.length) {
    run.ui.stderr(
      `error: ${pending.length} resource${pending.length === 1 ? ' is' : 's are'} owned by the cluster but no longer in the spec and ${pending.length === 1 ? 'was' : 'were'} NOT deleted: ${pending.map((o) => `${o.key} (${o.id})`).join(', ')}. ` +
        `Everything else was applied. Run create again with --allow-delete to delete ${pending.length === 1 ? 'it' : 'them'} (an auto scaling group goes with its instances).\n`,
    );
    return finish(run, 1, false, result.actions);
  }
  return finish(run, 0, true, result.actions, await nextSteps(run));
}
