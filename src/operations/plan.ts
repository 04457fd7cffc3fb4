/**
 * plan's operation (and create's first step): what create would create, change, delete and
 * refuse — from one observation, with no mutating call and no lock.
 */
import { computePlan } from '../engine/plan.js';
import { HANDLERS } from '../resources/index.js';
import { isAdoptedZone } from './destroy.js';
import type { Session } from './session.js';

/** The plan against what exists (the spec's graph checked first), with the word on an IRSA switch set on it. */
export async function planCluster(s: Session): Promise<Awaited<ReturnType<typeof computePlan>>> {
  await s.graph();
  return planAgainst(s);
}

/** The plan, once the facts are gathered (s.graph() has run): create takes its lock in between. */
export async function planAgainst(s: Session): Promise<Awaited<ReturnType<typeof computePlan>>> {
  const planned = await computePlan(s.ctx, (o) => s.graphFor(o), HANDLERS, { zones: s.spec.spec.zones, keep: isAdoptedZone });
  s.noteSwitch(planned.plan, planned.observed);
  return planned;
}
