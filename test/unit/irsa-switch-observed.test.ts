/**
 * The IRSA switch's facts and the plan's word on it, now that engine/irsa-switch.ts names no key:
 * the master groups' renderings read from observed Actuals (resources/master-renderings.ts) and
 * whether a plan takes the old grant away (model/irsa-switch.ts takesOldGrantAway).
 */
import { describe, expect, it } from 'vitest';
import { observedIrsaSwitch, switchOfPlan } from '../../src/engine/irsa-switch.js';
import type { Plan } from '../../src/engine/compare.js';
import { takesOldGrantAway } from '../../src/model/irsa-switch.js';
import { IRSA_TAG, type Kind } from '../../src/model/types.js';
import { masterRenderings } from '../../src/resources/index.js';
import type { Actual } from '../../src/resources/types.js';

const actual = (key: string, kind: Kind, id: string, tags: Record<string, string> = {}, observed?: unknown): Actual => ({
  key,
  kind,
  id,
  attrs: {},
  tags,
  ...(observed ? { observed } : {}),
});
const asg = (group: string, instances: Array<[state: string, lt: string, version?: string]>) =>
  actual(
    `asg/${group}`,
    'auto-scaling-group',
    `asg-${group}`,
    {},
    {
      instances: instances.map(([lifecycleState, launchTemplateId, launchTemplateVersion]) => ({
        lifecycleState,
        launchTemplateId,
        ...(launchTemplateVersion ? { launchTemplateVersion } : {}),
      })),
    },
  );
const lt = (group: string, irsa?: string) => actual(`lt/${group}`, 'launch-template', `lt-${group}`, irsa ? { [IRSA_TAG]: irsa } : {});
const observed = (...as: Actual[]) => new Map(as.map((a) => [a.key, a]));

describe('the IRSA switch, observed', () => {
  it.each([
    ['no master yet', [], []],
    [
      'one master on its template',
      [asg('master', [['InService', 'lt-master', '3']]), lt('master', 'on@3')],
      [{ group: 'master', template: { irsa: true, since: 3 }, running: [3] }],
    ],
    [
      'HA: gone instances left out; another template or no version counts as 0; node groups ignored',
      [
        asg('master-2', [
          ['InService', 'lt-master-2', '2'],
          ['Terminating', 'lt-master-2', '1'],
        ]),
        asg('master', [
          ['InService', 'lt-other', '5'],
          ['Pending', 'lt-master'],
        ]),
        asg('nodes', [['InService', 'lt-nodes', '1']]),
        lt('master', 'off@4'),
        lt('master-2'),
      ],
      [
        { group: 'master', template: { irsa: false, since: 4 }, running: [0, 0] },
        { group: 'master-2', running: [2] },
      ],
    ],
    [
      'a group whose template is gone: every instance counts as 0',
      [asg('master', [['InService', 'lt-master', '2']])],
      [{ group: 'master', running: [0] }],
    ],
  ] as const)('%s', (_name, as, expected) => {
    expect(masterRenderings(observed(...as))).toEqual(expected);
  });

  it.each([
    ['on: the master role updated', true, [{ key: 'role/master', action: 'update' }], true],
    ['on: the master role only created', true, [{ key: 'role/master', action: 'create' }], false],
    ["on: an IRSA role deleted is not on's step 2", true, [{ key: 'role/irsa-ebs', action: 'delete' }], false],
    ['off: the provider deleted', false, [{ key: 'oidc-provider', action: 'delete' }], true],
    ['off: an IRSA role deleted', false, [{ key: 'role/irsa-ebs-csi', action: 'delete' }], true],
    ["off: the master role updated is not off's step 2", false, [{ key: 'role/master', action: 'update' }], false],
    ['off: another role deleted', false, [{ key: 'role/node', action: 'delete' }], false],
  ] as const)('takesOldGrantAway, %s', (_name, irsa, changes, expected) => {
    expect(takesOldGrantAway(irsa, changes)).toBe(expected);
  });

  it('switchOfPlan: a settled switch whose plan takes the old grant away is finishing; one that does not says nothing', () => {
    const settled = observedIrsaSwitch(false, observed(asg('master', [['InService', 'lt-master', '3']]), lt('master', 'off@3')));
    expect(settled.step).toBe('settled');
    const plan = (changes: Plan['changes']): Plan => ({
      version: 1,
      cluster: 'c',
      region: 'r',
      summary: { create: 0, update: 0, delete: 0, refuse: 0, unchanged: 0 },
      changes,
    });
    expect(switchOfPlan(settled, plan([{ key: 'oidc-provider', kind: 'oidc-provider', action: 'delete', id: 'arn', fields: [] }]))).toEqual(
      { irsa: false, step: 'finish', text: expect.stringMatching(/^IRSA switch \(off\): step 2\/2/) },
    );
    expect(switchOfPlan(settled, plan([]))).toBeUndefined();
  });
});
