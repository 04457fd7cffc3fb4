/**
 * The IRSA switch's facts, read from what observe found (no call of its own): per master group
 * (asg/master, asg/master-2, …), the setting its launch template (lt/<group>) is rendered with
 * since which version (the template's `kubeaz:irsa` tag) and the version each of its live instances
 * was launched from (the auto scaling group's answer). The decision is model/irsa-switch.ts's, pure.
 * A shared module of resources/ that defines no handler: it reads two kinds' Actuals.
 */
import { isMasterGroup } from '../model/names.js';
import { parseRenderedWith, type MasterRendering } from '../model/irsa-switch.js';
import { IRSA_TAG } from '../model/types.js';
import { observedInstances } from './auto-scaling-group.js';
import type { Actual } from './types.js';

const GONE = new Set(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated', 'Detaching', 'Detached']);

export function masterRenderings(observed: ReadonlyMap<string, Actual>): MasterRendering[] {
  const out: MasterRendering[] = [];
  for (const a of observed.values()) {
    const group = a.key.startsWith('asg/') ? a.key.slice('asg/'.length) : undefined;
    if (group === undefined || !isMasterGroup(group) || a.kind !== 'auto-scaling-group') continue;
    const lt = observed.get(`lt/${group}`);
    const template = lt ? parseRenderedWith(lt.tags[IRSA_TAG]) : undefined;
    const running = observedInstances(a)
      .filter((i) => !GONE.has(i.lifecycleState))
      // an instance of another template (or one whose version is not reported) counts as the oldest
      .map((i) =>
        lt && i.launchTemplateId === lt.id && /^[0-9]+$/.test(i.launchTemplateVersion ?? '') ? Number(i.launchTemplateVersion) : 0,
      );
    out.push({ group, ...(template ? { template } : {}), running });
  }
  return out.sort((x, y) => (x.group < y.group ? -1 : 1));
}
