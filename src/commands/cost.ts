/**
 * cost: the spec's monthly estimate by component, from the AWS Price List API when it answers,
 * otherwise from the bundled table (the output says which, and why). Makes no change and touches
 * no cluster: its only calls are Price List reads. Exit 0; 2 for a bad spec.
 */
import { estimateSpecCost } from '../operations/cost.js';
import { respond, watch } from '../operations/envelope.js';
import { renderCost } from './cost-view.js';
import { summarizeCalls } from './output.js';

export interface CostOptions {
  file: string;
  profile?: string;
  output?: string;
}

export async function costCommand(opts: CostOptions): Promise<number> {
  const r = await estimateSpecCost(opts.file, opts.profile ? { profile: opts.profile } : {});
  const calls = r.aws.counter;
  watch.opened(r.cluster, calls);
  if (opts.output === 'json') {
    const e = r.estimate;
    // the one envelope (operations/envelope.ts): command, cluster, ok, calls, then cost's own fields
    return respond(0, {
      region: e.region,
      monthly: {
        total: e.total,
        currency: e.currency,
        ...(e.range ? { range: e.range } : {}),
        components: e.components,
        unknown: e.unknown,
      },
      prices: r.prices,
      leavesOut: e.leavesOut,
    });
  }
  process.stdout.write(`${renderCost(r.estimate, r.prices, r.cluster)}\n`);
  process.stderr.write(`(${summarizeCalls(calls)})\n`);
  return 0;
}
