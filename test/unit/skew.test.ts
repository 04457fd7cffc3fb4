import { describe, expect, it } from 'vitest';
import { checkVersionSkew, isMinorUpgrade } from '../../src/checks/version-skew.js';

describe('version skew (plan/create)', () => {
  it.each([
    ['1.35.0', '1.35.4', undefined],
    ['1.35.4', '1.35.0', undefined],
    ['1.35.0', '1.36.0', undefined],
    ['1.35.0', '1.37.0', /skips 1 minor/],
    ['1.33.2', '1.36.0', /skips 2 minor/],
    ['1.35.0', '1.34.9', /lowers the minor/],
    ['1.35.0', '2.0.0', /major/],
  ])('%s → %s', (from, to, why) => {
    const r = checkVersionSkew(from, to);
    if (!why) expect(r).toBeUndefined();
    else expect(r?.reason).toMatch(why);
  });
  it('a minor upgrade is one minor up, nothing else', () => {
    expect(isMinorUpgrade('1.35.2', '1.36.0')).toBe(true);
    expect(isMinorUpgrade('1.35.2', '1.35.9')).toBe(false);
    expect(isMinorUpgrade('1.35.2', '1.34.0')).toBe(false);
  });
});
