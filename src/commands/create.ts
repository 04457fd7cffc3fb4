/**
 * create: compute the plan, show it, ask (on a terminal; without one --yes is required), run the
 * pre-flight checks, then apply exactly that plan and, with --allow-delete, delete what the spec no
 * longer names — the operation is src/operations/apply.ts. `create --dry-run` is plan (the CLI
 * sends it there). This file reads the flags, shows the plan, asks, and prints the JSON.
 */
import { renderPlan } from '../engine/plan.js';
import { waitedLine } from '../engine/waited.js';
import { applyCluster, type ApplyReport } from '../operations/apply.js';
import { openSession, type GlobalOptions } from '../operations/session.js';
import { bundledEstimate } from '../model/cost.js';
import { BUNDLED_PRICES } from '../model/prices/bundled.js';
import { costLine } from './cost-view.js';
import { respond, watch } from '../operations/envelope.js';
import { confirm } from './prompt.js';

export interface CreateOptions extends GlobalOptions {
  yes?: boolean;
  output?: string;
  allowDelete?: boolean;
  forceUnlock?: string;
  updateImages?: boolean;
}

export async function createCommand(opts: CreateOptions): Promise<number> {
  const s = await openSession(opts, undefined, watch);
  const json = opts.output === 'json';
  const region = s.spec.spec.region;
  try {
    return await applyCluster(
      s,
      {
        file: opts.file,
        ...(opts.allowDelete !== undefined ? { allowDelete: opts.allowDelete } : {}),
        ...(opts.forceUnlock !== undefined ? { forceUnlock: opts.forceUnlock } : {}),
        ...(opts.debug !== undefined ? { debug: opts.debug } : {}),
        ...(opts.updateImages ? { updateImages: true } : {}),
      },
      {
        // the plan is create's result as it is plan's (stdout); progress goes to stderr
        // (under --output json stdout is the JSON alone: the plan goes to stderr with the progress)
        showPlan: (plan) =>
          (json ? process.stderr : process.stdout).write(`${renderPlan(plan, { allowDelete: Boolean(opts.allowDelete) })}\n`),
        ask: (plan) => {
          // what the spec costs a month, before the question (bundled prices: no AWS call)
          process.stderr.write(`${costLine(bundledEstimate(s.spec), BUNDLED_PRICES.date, opts.file)}\n`);
          return confirm(
            `Apply this plan to cluster ${s.clusterId} in ${region}, account ${s.ctx.accountId} (${plan.summary.create} to create, ${plan.summary.update} to change, ${opts.allowDelete ? plan.summary.delete : plan.changes.filter((c) => c.action === 'delete' && c.retired).length} to delete)?`,
            opts.yes,
          );
        },
        stderr: (text) => process.stderr.write(text),
        finish: (r) => {
          // The last line: what the run waited on longest (text only; JSON has it as `waited`).
          if (r.waited && !json) s.progress.emit({ type: 'info', message: waitedLine(r.waited) });
          if (!json) return;
          const body = {
            dryRun: false,
            seconds: r.seconds,
            plan: r.plan,
            actions: r.actions,
            deleted: r.deleted,
            notDeleted: r.notDeleted,
            ...(r.waited ? { waited: r.waited } : {}),
            ...r.extra,
          };
          respond(r.code, body, r.code ? { error: createError(r) } : {});
        },
      },
    );
  } finally {
    s.dispose();
  }
}

/** Why a create ended with a non-zero exit, for the JSON envelope's error. */
export function createError(r: ApplyReport): { code: string; message: string } {
  const preflight = r.extra.preflight as Array<{ check: string; message: string }> | undefined;
  if (r.code === 130) return { code: 'interrupted', message: 'interrupted; the state is saved: run the same create again to finish' };
  if (preflight?.length)
    return {
      code: 'preflight',
      message: `pre-flight found ${preflight.length} problem(s); nothing was changed: ${preflight.map((f) => `${f.check}: ${f.message}`).join('; ')}`,
    };
  const failed = r.actions.filter((a) => a.action === 'failed' || a.action === 'refused');
  if (failed.length) return { code: 'incomplete', message: failed.map((a) => a.error ?? `${a.key} failed`).join('; ') };
  if (r.notDeleted.length)
    return {
      code: 'not-deleted',
      message: `${r.notDeleted.length} resource(s) no longer in the spec were NOT deleted (${r.notDeleted.map((o) => o.key).join(', ')}): run create again with --allow-delete`,
    };
  if (r.plan?.summary.refuse)
    return { code: 'refused', message: `${r.plan.summary.refuse} change(s) cannot be made in place; nothing was changed` };
  if (!r.actions.length) return { code: 'declined', message: 'nothing was changed' };
  return { code: 'incomplete', message: 'create did not finish; run it again: it resumes where it stopped' };
}
