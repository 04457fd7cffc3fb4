/**
 * The IRSA switch's facts, read from what observe found (no call of its own): per master group, the
 * setting its launch template is rendered with since which version (the template's `kubeaz:irsa`
 * tag) and the version each of its live instances was launched from (the auto scaling group's
 * answer). The decision is model/irsa-switch.ts's, pure.
 */
import { irsaSwitchOf, irsaSwitchText, parseRenderedWith, type IrsaSwitch, type MasterRendering } from '../model/irsa-switch.js';
import type { Plan } from './compare.js';
import { IRSA_TAG } from '../model/types.js';
import { observedInstances } from '../resources/auto-scaling-group.js';
import type { Actual } from '../resources/types.js';

/** asg/master, asg/master-2, …: one group per master. */
const MASTER_ASG = /^asg\/(master(-[0-9]+)?)$/;
const GONE = new Set(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated', 'Detaching', 'Detached']);

export function masterRenderings(observed: ReadonlyMap<string, Actual>): MasterRendering[] {
  const out: MasterRendering[] = [];
  for (const a of observed.values()) {
    const m = MASTER_ASG.exec(a.key);
    if (!m || a.kind !== 'auto-scaling-group') continue;
    const group = m[1]!;
    const lt = observed.get(`lt/${group}`);
    const template = lt ? parseRenderedWith(lt.tags[IRSA_TAG]) : undefined;
    const running = observedInstances(a)
      .filter((i) => !GONE.has(i.lifecycleState))
      // an instance of another template (or one whose version is not reported) counts as the oldest
      .map((i) => (lt && i.launchTemplateId === lt.id && /^[0-9]+$/.test(i.launchTemplateVersion ?? '') ? Number(i.launchTemplateVersion) : 0));
    out.push({ group, ...(template ? { template } : {}), running });
  }
  return out.sort((x, y) => (x.group < y.group ? -1 : 1));
}

/** Where turning IRSA to `irsa` stands on the observed cluster. */
export const observedIrsaSwitch = (irsa: boolean, observed: ReadonlyMap<string, Actual>): IrsaSwitch => irsaSwitchOf(irsa, masterRenderings(observed));

/** The plan's word on the switch (Plan.irsaSwitch), or undefined when no switch is under way or ending. */
export function switchOfPlan(sw: IrsaSwitch, plan: Plan): Plan['irsaSwitch'] {
  // Settled: this plan ends a switch when it takes the old grant away.
  const finishing =
    sw.step === 'settled' &&
    (sw.irsa
      ? plan.changes.some((c) => c.key === 'role/master' && c.action === 'update')
      : plan.changes.some((c) => c.action === 'delete' && (c.key === 'oidc-provider' || c.key.startsWith('role/irsa-'))));
  const text = irsaSwitchText(sw, finishing);
  if (!text) return undefined;
  return { irsa: sw.irsa, step: sw.step === 'settled' ? 'finish' : sw.step, text };
}
