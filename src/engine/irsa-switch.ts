/**
 * The IRSA switch as a plan sees it: where turning IRSA on or off stands on the observed cluster
 * (the master groups' renderings, read by resources/master-renderings.ts), and the plan's word on
 * it. The decision is model/irsa-switch.ts's, pure; this names no key and no kind.
 */
import { irsaSwitchOf, irsaSwitchText, takesOldGrantAway, type IrsaSwitch } from '../model/irsa-switch.js';
import { masterRenderings } from '../resources/index.js';
import type { Actual } from '../resources/types.js';
import type { Plan } from './compare.js';

/** Where turning IRSA to `irsa` stands on the observed cluster. */
export const observedIrsaSwitch = (irsa: boolean, observed: ReadonlyMap<string, Actual>): IrsaSwitch =>
  irsaSwitchOf(irsa, masterRenderings(observed));

/** The plan's word on the switch (Plan.irsaSwitch), or undefined when no switch is under way or ending. */
export function switchOfPlan(sw: IrsaSwitch, plan: Plan): Plan['irsaSwitch'] {
  // Settled: this plan ends a switch when it takes the old grant away.
  const finishing = sw.step === 'settled' && takesOldGrantAway(sw.irsa, plan.changes);
  const text = irsaSwitchText(sw, finishing);
  if (!text) return undefined;
  return { irsa: sw.irsa, step: sw.step === 'settled' ? 'finish' : sw.step, text };
}
