/**
 * Text for people never shows "undefined" or "[object Object]" (issue 21): a plan field's or a
 * drifted field's absent value reads "(none)", an object reads as JSON, and an add-on pinned by its
 * image alone (the pod identity webhook: no chart) reads by its image.
 */
import { describe, expect, it } from 'vitest';
import { showValue } from '../../src/util/show.js';
import { driftValue } from '../../src/commands/status-view.js';
import { addonVersions, pinText } from '../../src/commands/version.js';

describe('values as text', () => {
  const table: Array<[unknown, string, string]> = [
    [undefined, '(none)', '(none)'],
    [null, '(none)', '(none)'],
    ['attached', 'attached', '"attached"'],
    [3, '3', '3'],
    [false, 'false', 'false'],
    [['a', 'b'], '["a","b"]', '["a","b"]'],
    [{ a: 1, b: undefined }, '{"a":1,"b":null}', '{"a":1,"b":null}'],
  ];
  for (const [v, shown, drift] of table)
    it(`${JSON.stringify(v) ?? 'undefined'}: plan "${shown}", drift "${drift}"`, () => {
      expect(showValue(v)).toBe(shown);
      expect(driftValue(v)).toBe(drift);
    });

  it('an add-on pin: chart, chart with the image set over it, or the image alone', () => {
    expect(pinText({ chart: '1.2.3' })).toBe('1.2.3');
    expect(pinText({ chart: '0.0.11', image: 'v1.30.10' })).toBe('0.0.11 (image v1.30.10)');
    expect(pinText({ image: 'amazon/amazon-eks-pod-identity-webhook:v0.6.7' })).toBe('image amazon/amazon-eks-pod-identity-webhook:v0.6.7');
    for (const row of Object.values(addonVersions()))
      for (const v of Object.values(row)) expect(v).not.toMatch(/undefined|\[object Object\]/);
  });
});
