/** Where a create's or a destroy's minutes went: the one step it waited on longest. */
/** What a run waited on longest: the node whose work (its create and its wait to be ready, or its deletion) took longest. */
export interface Waited {
  key: string;
  seconds: number;
}

/** The longest of a run's timed steps (undefined when nothing took time). */
export function longestWait(steps: ReadonlyArray<{ key: string; seconds?: number | undefined }>): Waited | undefined {
  let best: Waited | undefined;
  for (const s of steps) if (s.seconds !== undefined && (!best || s.seconds > best.seconds)) best = { key: s.key, seconds: s.seconds };
  return best;
}

/** The one line a create or destroy ends with: where its minutes went. */
export const waitedLine = (w: Waited): string => `waited ${w.seconds < 10 ? w.seconds.toFixed(1) : Math.round(w.seconds)} s on ${w.key}`;
