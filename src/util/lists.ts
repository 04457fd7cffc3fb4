/** Small list helpers every layer uses. Imports nothing. */

/** `items` in consecutive slices of at most `n` (an API's per-call limit); none for an empty list. */
export function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
