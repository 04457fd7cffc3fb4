/**
 * The plan as `plan` and `create` show it: one observation (observe.ts), the comparison
 * (compare.ts), then the field-level detail the kinds can add with one read each (a launch
 * template's changed fields). No mutating call.
 */
import { handlerFor, type Handlers } from '../resources/index.js';
import type { Actual, RunContext } from '../resources/types.js';
import type { DesiredGraph } from '../model/types.js';
import { computePlanFrom, hasChanges, type Plan, type PlanAction, type PlanResult } from './compare.js';
import { observeAll } from './observe.js';
import { showValue } from '../util/show.js';
import { heldByOthers, refuseIfHeldElsewhere, refuseNameCollisions } from './ownership.js';

/**
 * One observation (one batched read per kind), then the comparison. No mutating call. `graph` may
 * depend on what is observed (the IRSA switch: which setting the running masters were launched
 * with): then it is derived once observe has answered, and returned with the plan.
 */
export async function computePlan(
  ctx: RunContext,
  graphOf: DesiredGraph | ((observed: ReadonlyMap<string, Actual>) => DesiredGraph),
  handlers: Handlers,
  opts: { zones: readonly string[]; keep?: (a: Actual) => boolean },
): Promise<PlanResult & { graph: DesiredGraph }> {
  const observed = await observeAll(ctx, handlers);
  const graph = typeof graphOf === 'function' ? graphOf(observed) : graphOf;
  refuseIfHeldElsewhere(ctx);
  await refuseNameCollisions(ctx, graph, observed, handlers);
  const held = await heldByOthers(ctx, graph, observed, handlers);
  const result = computePlanFrom(observed, graph, handlers, { region: ctx.region, ...opts, held });
  await addDetail(ctx, handlers, result);
  return { ...result, graph };
}

/** Asks each kind that can (planDetail) to name the fields behind an update; a failed read leaves the plan as it was. */
async function addDetail(ctx: RunContext, handlers: Handlers, result: PlanResult): Promise<void> {
  await Promise.all(
    result.details.map(async ({ key, node, actual, changes }) => {
      const change = result.plan.changes.find((c) => c.key === key && c.action === 'update');
      if (!change) return;
      try {
        const fields = await handlerFor(handlers, node.kind).planDetail!(ctx, node, actual, changes);
        if (fields.length) change.fields = [...fields, ...change.fields];
      } catch {
        /* the plan's own fields still say it changes */
      }
    }),
  );
}

const show = showValue;

/** The plan as text, one line per change: `+ create`, `~ update` (field: old → new), `- delete`, `! refused`. */
export function renderPlan(plan: Plan, opts: { allowDelete?: boolean } = {}): string {
  const lines: string[] = [];
  const sym: Record<PlanAction, string> = { create: '+', update: '~', delete: '-', refuse: '!' };
  for (const c of plan.changes) {
    const head = `${sym[c.action]} ${c.key}${c.id ? ` (${c.kind} ${c.id})` : ` (${c.kind})`}`;
    if (c.action === 'refuse') lines.push(`${head}: REFUSED`);
    else if (c.action === 'delete') lines.push(`${head}${opts.allowDelete === false && !c.retired ? ': needs --allow-delete' : ''}`);
    else lines.push(head);
    if (c.about) lines.push(`    ${c.about}`);
    for (const f of c.fields) {
      if (Array.isArray(f.from) && Array.isArray(f.to) && f.from.length + f.to.length > 4) {
        // long lists (rules, routes): only what goes and what comes
        const a = new Set(f.from.map(show));
        const b = new Set(f.to.map(show));
        lines.push(`    ${f.field}:`);
        for (const x of a) if (!b.has(x)) lines.push(`      - ${x}`);
        for (const x of b) if (!a.has(x)) lines.push(`      + ${x}`);
      } else lines.push(`    ${f.field}: ${show(f.from)} → ${show(f.to)}`);
    }
    if (c.reason) lines.push(`    ${c.reason}`);
    if (c.note) lines.push(`    note: ${c.note}`);
  }
  if (plan.irsaSwitch) lines.push(plan.irsaSwitch.text);
  for (const u of plan.imageUpdate ?? []) lines.push(`note: ${u.text}`);
  if (plan.addonVersions) lines.push(`note: ${plan.addonVersions.text}`);
  const s = plan.summary;
  lines.push(
    hasChanges(plan)
      ? `plan for ${plan.cluster}: ${s.create} to create, ${s.update} to change, ${s.delete} to delete, ${s.refuse} refused, ${s.unchanged} unchanged`
      : `plan for ${plan.cluster}: nothing to do (${s.unchanged} resources match the spec)`,
  );
  return lines.join('\n');
}
