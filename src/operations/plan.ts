/**
 * plan's operation (and create's first step): what create would create, change, delete and
 * refuse — from one observation, with no mutating call and no lock.
 */
import { computePlan } from '../engine/plan.js';
import { DRAIN_QUEUE_KEY, drainSwitchNote } from '../model/derive.js';
import { HANDLERS } from '../resources/index.js';
import { addonVersionsNote } from './addon-versions.js';
import { isAdoptedZone } from './destroy.js';
import type { ImageOptions, Session } from './session.js';

/**
 * The plan against what exists (the spec's graph checked first), with the word on an IRSA switch,
 * on a newer image and (plan only, not create: one S3 read) on the add-on versions the cluster runs.
 */
export async function planCluster(s: Session, opts: ImageOptions = {}): Promise<Awaited<ReturnType<typeof computePlan>>> {
  await s.graph();
  const planned = await planAgainst(s, opts);
  const addons = await addonVersionsNote(s, planned.observed);
  if (addons && 'invalid' in addons) s.progress.emit({ type: 'warn', message: addons.invalid });
  else if (addons) planned.plan.addonVersions = addons;
  return planned;
}

/** The plan, once the facts are gathered (s.graph() has run): create takes its lock in between. */
export async function planAgainst(s: Session, opts: ImageOptions = {}): Promise<Awaited<ReturnType<typeof computePlan>>> {
  const planned = await computePlan(s.ctx, (o) => s.graphFor(o, opts), HANDLERS, { zones: s.spec.spec.zones, keep: isAdoptedZone });
  s.noteSwitch(planned.plan, planned.observed);
  // the drain set-up on a running cluster: its node termination handler switches with a master rollout
  const drainNote = drainSwitchNote(planned.plan.changes, planned.observed.keys());
  const queue = planned.plan.changes.find((c) => c.key === DRAIN_QUEUE_KEY);
  if (drainNote && queue) queue.note = drainNote;
  // information only: groups keep their image until --update-images
  const updates = s.imageUpdate(planned.observed, opts);
  if (updates.length) planned.plan.imageUpdate = updates;
  return planned;
}
