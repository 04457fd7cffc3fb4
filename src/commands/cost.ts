/**
 * cost: the spec's monthly estimate by component, from the AWS Price List API when it answers,
 * otherwise from the bundled table (the output says which, and why). Makes no change and touches
 * no cluster: its only calls are Price List reads. Exit 0; 2 for a bad spec.
 */
import { estimateSpecCost } from '../operations/cost.js';
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
  if (opts.output === 'json') {
    const e = r.estimate;
    const body = {
      command: 'cost',
      cluster: r.cluster,
      ok: true,
      calls: { total: calls.total, mutating: calls.mutating, byAction: calls.byAction() },
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
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${renderCost(r.estimate, r.prices, r.cluster)}\n`);
  process.stderr.write(`(${summarizeCalls(calls)})\n`);
  return 0;
}
