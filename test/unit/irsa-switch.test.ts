/** The IRSA switch's decision (model/irsa-switch.ts), pure: which step, and which grants the graph keeps. */
import { describe, expect, it } from 'vitest';
import { irsaGrants, irsaSwitchOf, parseRenderedWith, renderedWithValue } from '../../src/model/irsa-switch.js';

describe('the IRSA switch', () => {
  it.each([
    // [spec on?, masters, step, IRSA resources kept, master keeps the add-on statements]
    ['fresh cluster on', true, [], 'settled', true, false],
    ['fresh cluster off', false, [], 'settled', false, true],
    ['template without a record (older cluster)', true, [{ group: 'master', running: [1] }], 'settled', true, false],
    ['on, template still off: step 1', true, [{ group: 'master', template: { irsa: false, since: 1 }, running: [1] }], 'apply', true, true],
    [
      'on, template on since 2, master runs 1',
      true,
      [{ group: 'master', template: { irsa: true, since: 2 }, running: [1] }],
      'rollout',
      true,
      true,
    ],
    ['on, every master runs 2', true, [{ group: 'master', template: { irsa: true, since: 2 }, running: [2] }], 'settled', true, false],
    [
      'on, a later version (other change) still counts',
      true,
      [{ group: 'master', template: { irsa: true, since: 2 }, running: [5] }],
      'settled',
      true,
      false,
    ],
    [
      'on, HA: one master of three still behind',
      true,
      [
        { group: 'master', template: { irsa: true, since: 2 }, running: [2] },
        { group: 'master-2', template: { irsa: true, since: 2 }, running: [1] },
        { group: 'master-3', template: { irsa: true, since: 2 }, running: [2] },
      ],
      'rollout',
      true,
      true,
    ],
    [
      'on, HA: one template not yet rendered',
      true,
      [
        { group: 'master', template: { irsa: true, since: 2 }, running: [2] },
        { group: 'master-2', template: { irsa: false, since: 1 }, running: [1] },
      ],
      'apply',
      true,
      true,
    ],
    ['off, template still on: step 1', false, [{ group: 'master', template: { irsa: true, since: 2 }, running: [2] }], 'apply', true, true],
    [
      'off, template off since 3, master runs 2',
      false,
      [{ group: 'master', template: { irsa: false, since: 3 }, running: [2] }],
      'rollout',
      true,
      true,
    ],
    ['off, every master runs 3', false, [{ group: 'master', template: { irsa: false, since: 3 }, running: [3] }], 'settled', false, true],
    [
      'off, an instance of unknown version (0) counts as behind',
      false,
      [{ group: 'master', template: { irsa: false, since: 3 }, running: [3, 0] }],
      'rollout',
      true,
      true,
    ],
  ] as const)('%s', (_name, irsa, masters, step, resources, statements) => {
    const sw = irsaSwitchOf(
      irsa,
      masters.map((m) => ({ ...m, running: [...m.running] })),
    );
    expect(sw.step).toBe(step);
    expect(irsaGrants(sw)).toEqual({ irsaResources: resources, masterAddonStatements: statements });
  });

  it('the template record reads back what it wrote, and nothing else', () => {
    expect(parseRenderedWith(renderedWithValue(true, 7))).toEqual({ irsa: true, since: 7 });
    expect(parseRenderedWith(renderedWithValue(false, 1))).toEqual({ irsa: false, since: 1 });
    for (const bad of [undefined, '', 'on', 'on@', 'yes@2', 'on@2x']) expect(parseRenderedWith(bad), String(bad)).toBeUndefined();
  });
});
