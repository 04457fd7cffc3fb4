/**
 * plan (and create --dry-run, which the CLI sends here): what create would create, change
 * (field: old → new), delete and refuse — from one observation, with no mutating call and no lock
 * (it writes nothing). Exit: 0 (with --detailed-exitcode: nothing to change), 4
 * (--detailed-exitcode: something would change), 1 when something is refused (create would apply
 * nothing of this plan), 2 bad spec.
 */
import { hasChanges } from '../engine/compare.js';
import { renderPlan } from '../engine/plan.js';
import { silentProgress } from '../engine/progress.js';
import { ConsoleProgress } from '../engine/progress.js';
import { planCluster } from '../operations/plan.js';
import { openSession, type GlobalOptions } from '../operations/session.js';
import { bundledEstimate } from '../model/cost.js';
import { BUNDLED_PRICES } from '../model/prices/bundled.js';
import { costLine } from './cost-view.js';
import { summarizeCalls } from './output.js';

export interface PlanOptions extends GlobalOptions {
  output?: string;
  detailedExitcode?: boolean;
  /** plan what create --update-images would do: every group on the image the public parameter names */
  updateImages?: boolean;
}

export const EXIT_CHANGES = 4;

export async function planCommand(opts: PlanOptions): Promise<number> {
  const json = opts.output === 'json';
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    const { plan } = await planCluster(s, { updateImages: Boolean(opts.updateImages) });
    const calls = s.aws.counter;
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ ...plan, calls: { total: calls.total, mutating: calls.mutating, byAction: calls.byAction() } }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(`${renderPlan(plan)}\n`);
      if (plan.summary.delete) process.stdout.write('deletions happen only with create --allow-delete\n');
      // the spec's monthly estimate from the bundled table: no AWS call
      process.stdout.write(`${costLine(bundledEstimate(s.spec), BUNDLED_PRICES.date, opts.file)}\n`);
      process.stderr.write(`(${summarizeCalls(calls)})\n`);
    }
    if (plan.summary.refuse) return 1;
    return opts.detailedExitcode && hasChanges(plan) ? EXIT_CHANGES : 0;
  } finally {
    s.dispose();
  }
}
