/**
 * The boot reports as `status` and `logs` show them: text lines out of the entries
 * src/operations/boots.ts makes. PURE.
 */
import type { BootResult } from '../records/boot.js';
import { ago, type BootEntry } from '../operations/boots.js';
import { table } from './output.js';

const WIDTH = 100;
const clip = (line: string) => (line.length > WIDTH ? `${line.slice(0, WIDTH - 1)}…` : line);

/** The last `n` lines of a program's output (already redacted by the agent), indented under a failure. */
export function outputTail(output: string | undefined, n: number, indent = '      | ', clipped = true): string[] {
  if (!output) return [];
  const lines = output.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).map((l) => (clipped ? clip(`${indent}${l}`) : `${indent}${l}`));
}

/** The boot section of `status`: a table of the instances, then each failure with its output's tail. */
export function renderBoot(entries: readonly BootEntry[], now: Date, tailLines = 5): string[] {
  if (!entries.length) return [];
  const reported = entries.filter((e) => e.result !== null || e.invalid);
  const count = (r: BootResult) => entries.filter((e) => e.result === r).length;
  const stalled = entries.filter((e) => e.stalled).length;
  const parts = [
    `${count('ready')}/${entries.length} ready`,
    ...(count('running') ? [`${count('running')} running`] : []),
    ...(stalled ? [`${stalled} stalled`] : []),
    ...(count('failed') ? [`${count('failed')} failed`] : []),
  ];
  if (!reported.length)
    return [
      `boot: no reports from the ${entries.length} instance${entries.length === 1 ? '' : 's'} yet (an older kubeaz's instances write none)`,
    ];
  const out = [`boot: ${parts.join(', ')}`];
  const state = (e: BootEntry) =>
    e.invalid ? 'unreadable' : e.result === null ? 'no report' : e.stalled ? 'STALLED' : e.result === 'failed' ? 'FAILED' : e.result;
  const rows = entries.map((e) => [
    `  ${e.group}`,
    e.instanceId,
    e.phase ?? '-',
    state(e),
    e.updatedAt ? `${ago(e.updatedAt, now)} ago` : '-',
  ]);
  out.push(
    ...table([['  GROUP', 'INSTANCE', 'PHASE', 'RESULT', 'UPDATED'], ...rows])
      .split('\n')
      .map(clip),
  );
  for (const e of entries) {
    if (e.invalid) out.push(clip(`  FAIL ${e.group} ${e.instanceId}: boot report unreadable: ${e.invalid}`));
    if (e.result !== 'failed') continue;
    out.push(clip(`  FAIL ${e.group} ${e.instanceId} at ${e.error?.phase ?? e.phase ?? '?'}: ${e.error?.message ?? 'no message'}`));
    out.push(...outputTail(e.error?.output, tailLines));
  }
  if (entries.some((e) => e.result === 'failed' || e.stalled))
    out.push(`  (kubeaz logs INSTANCE-ID -f … prints a boot report and the instance's console output)`);
  return out;
}
