/**
 * A value as one line of text for people (plan fields, status drift): strings as they are, absent
 * values as "(none)", everything else as JSON — never "undefined" or "[object Object]".
 */
export function showValue(v: unknown): string {
  if (v === undefined || v === null) return '(none)';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (_k, x: unknown) => (x === undefined ? null : x)) ?? String(v);
}
