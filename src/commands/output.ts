/** What the commands share in rendering (no command of its own). */
// from aws/clients.ts, not operations/session.ts: a light command (cost) shares it without loading every handler
export { summarizeCalls } from '../aws/clients.js';

/** A plain table: columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
