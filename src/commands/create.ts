/**
 * create: compute the plan, show it, ask (on a terminal; without one --yes is required), run the
 * pre-flight checks, then apply exactly that plan and, with --allow-delete, delete what the spec no
 * longer names — the operation is src/operations/apply.ts. `create --dry-run` is plan (the CLI
 * sends it there). This file reads the flags, shows the plan, asks, and prints the JSON.
 */
import { renderPlan } from '../engine/plan.js';
import { waitedLine } from '../engine/waited.js';
import { applyCluster } from '../operations/apply.js';
import { openSession, type GlobalOptions } from '../operations/session.js';
import { bundledEstimate } from '../model/cost.js';
import { BUNDLED_PRICES } from '../model/prices/bundled.js';
import { costLine } from './cost-view.js';
import { confirm } from './prompt.js';

export interface CreateOptions extends GlobalOptions {
  yes?: boolean;
  output?: string;
  allowDelete?: boolean;
  forceUnlock?: string;
  updateImages?: boolean;
}

export async function createCommand(opts: CreateOptions): Promise<number> {
  const s = await openSession(opts);
  const json = opts.output === 'json';
  const calls = s.aws.counter;
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
        showPlan: (plan) => process.stderr.write(`${renderPlan(plan, { allowDelete: Boolean(opts.allowDelete) })}\n`),
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
            cluster: s.clusterId,
            ok: r.ok,
            dryRun: false,
            seconds: r.seconds,
            calls: { total: calls.total, mutating: calls.mutating, byAction: calls.byAction() },
            plan: r.plan,
            actions: r.actions,
            deleted: r.deleted,
            notDeleted: r.notDeleted,
            ...(r.waited ? { waited: r.waited } : {}),
            ...r.extra,
          };
          process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        },
      },
    );
  } finally {
    s.dispose();
  }
}
