/**
 * The one JSON shape of `--output json` (issue 21): `command`, `cluster` (null when the command is
 * about no one cluster), `ok` (true exactly when the exit code is 0), `calls: {total, mutating,
 * byAction}`, then the command's own fields; an error is `ok: false, error: {code, message}` on
 * stdout with the exit code it would have had. Used by list and get-spec. PURE but for the write.
 */
import type { CallCounter } from '../aws/clients.js';
import { describeAwsError } from '../aws/errors.js';
import { KubeazFailure } from '../errors.js';

export interface CallsJson {
  total: number;
  mutating: number;
  byAction: Record<string, number>;
}

export const callsJson = (c: CallCounter): CallsJson => ({ total: c.total, mutating: c.mutating, byAction: c.byAction() });

/** The envelope's text (one object, two-space indented, newline-terminated). */
export function envelope(
  command: string,
  cluster: string | null,
  ok: boolean,
  calls: CallCounter,
  fields: Record<string, unknown>,
): string {
  return `${JSON.stringify({ command, cluster, ok, calls: callsJson(calls), ...fields }, null, 2)}\n`;
}

/** An error as the envelope carries it, and the exit code the command ends with. */
export function errorEnvelope(command: string, cluster: string | null, calls: CallCounter, e: unknown): { text: string; exitCode: number } {
  const domain = e instanceof KubeazFailure;
  const code = (e as { code?: unknown })?.code;
  const error = {
    code: typeof code === 'string' ? code : domain ? e.name : ((e as Error)?.name ?? 'Error'),
    message: domain ? e.message : describeAwsError(e),
  };
  return { text: envelope(command, cluster, false, calls, { error }), exitCode: domain ? e.exitCode : 1 };
}
