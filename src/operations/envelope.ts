/**
 * The one JSON envelope of every command under `--output json` (README "JSON output"): one object
 * on stdout, whatever happened —
 *
 *   { command, cluster, ok, calls: { total, mutating, byAction }, [error: { code, message }], …the command's own fields }
 *
 * `cluster` is the `<name>-<environment>` id (null before a spec is read, or for commands without
 * one); `ok` is true exactly when the exit code is 0, and a false `ok` always comes with `error`
 * (what failed, or the verdict behind the exit code: status' 3, plan --detailed-exitcode's 4).
 * A command's own fields never replace the envelope's.
 *
 * The run record (`current`) is what a command that fails has seen so far: a session fills it as
 * it opens (`watch`, passed to openSession), so an error that ends the command still names the
 * cluster and counts the calls made before it. A new command uses `respond` for its JSON and
 * passes `watch` to openSession; cli/main.ts prints the error envelope (which is why this lives in
 * operations/, below both: the CLI imports no command file but the commands it loads).
 */
import type { CallCounter } from '../aws/clients.js';
import { KubeazFailure } from '../errors.js';

export interface CallsJson {
  total: number;
  mutating: number;
  /** `service:Action` → how many times */
  byAction: Record<string, number>;
}

export interface ErrorJson {
  code: string;
  message: string;
}

export interface Envelope {
  command: string;
  cluster: string | null;
  ok: boolean;
  calls: CallsJson;
  error?: ErrorJson;
  [field: string]: unknown;
}

type Counted = Pick<CallCounter, 'total' | 'mutating' | 'byAction'>;

/** The keys the envelope owns: a command's field of the same name is dropped. */
export const ENVELOPE_KEYS: readonly string[] = ['command', 'cluster', 'ok', 'calls', 'error'];

export function callsOf(counter?: Counted): CallsJson {
  return counter
    ? { total: counter.total, mutating: counter.mutating, byAction: counter.byAction() }
    : { total: 0, mutating: 0, byAction: {} };
}

/** What a non-zero exit means when the command names nothing better. */
const EXIT_MEANING: Record<number, ErrorJson> = {
  1: { code: 'failed', message: 'the command failed' },
  2: { code: 'usage', message: 'invalid spec or usage' },
  3: { code: 'not-ready', message: 'missing, drifted or unhealthy' },
  4: { code: 'changes', message: 'the plan has changes (--detailed-exitcode)' },
  130: { code: 'interrupted', message: 'interrupted' },
};

/** The envelope around a command's fields. PURE. */
export function envelope(
  o: { command: string; cluster: string | null; counter?: Counted; exitCode: number; error?: ErrorJson },
  fields: Record<string, unknown> = {},
): Envelope {
  const ok = o.exitCode === 0;
  const own = Object.fromEntries(Object.entries(fields).filter(([k]) => !ENVELOPE_KEYS.includes(k)));
  const error = ok ? undefined : (o.error ?? EXIT_MEANING[o.exitCode] ?? { code: 'failed', message: `exit ${o.exitCode}` });
  return { command: o.command, cluster: o.cluster, ok, calls: callsOf(o.counter), ...(error ? { error } : {}), ...own };
}

/**
 * The error code of a thrown error: kubeaz's own classes by name (SpecError → invalid-spec,
 * UsageError → usage, LockHeldError → lock-held, …; a KubeazError by the code it carries), an AWS
 * service error by its code (AccessDenied), anything else `internal`. PURE.
 */
export function errorCodeOf(e: unknown): string {
  if (typeof e !== 'object' || e === null) return 'internal';
  const x = e as { name?: string; code?: unknown; Code?: unknown; $metadata?: unknown };
  if (x.name === 'SpecError') return 'invalid-spec';
  if (x.name === 'UsageError') return 'usage';
  if (x.name === 'GraphError') return 'internal';
  if (x.name === 'KubeazError' && typeof x.code === 'string' && x.code) return x.code;
  if (x.$metadata !== undefined) return typeof x.Code === 'string' && x.Code ? x.Code : (x.name ?? 'internal');
  if (!(e instanceof KubeazFailure)) return 'internal';
  const name = x.name && x.name !== 'Error' ? x.name.replace(/Error$/, '') : '';
  return name ? name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase() : 'failed';
}

/** What the command has seen so far (see the module comment). */
export const current: { command: string; cluster: string | null; counter?: Counted; printed: boolean } = {
  command: 'kubeaz',
  cluster: null,
  printed: false,
};

/** openSession's hook: the cluster and the call counter, as soon as the session has them. */
export const watch = {
  opened(clusterId: string, counter?: Counted): void {
    current.cluster = clusterId;
    if (counter) current.counter = counter;
  },
  /** a command about no one cluster (list): its calls, the cluster staying null */
  counting(counter: Counted): void {
    current.counter = counter;
  },
};

/** A new run of `command`: nothing seen yet. */
export function beginRun(command: string): void {
  current.command = command;
  current.cluster = null;
  current.counter = undefined;
  current.printed = false;
}

/**
 * Prints the envelope of this run (the cluster and calls the session recorded unless given) and
 * returns the exit code, so a command can end with `return respond(…)`.
 */
export function respond(
  exitCode: number,
  fields: Record<string, unknown>,
  o: { error?: ErrorJson; cluster?: string | null; command?: string } = {},
): number {
  const body = envelope(
    {
      command: o.command ?? current.command,
      cluster: o.cluster !== undefined ? o.cluster : current.cluster,
      ...(current.counter ? { counter: current.counter } : {}),
      exitCode,
      ...(o.error ? { error: o.error } : {}),
    },
    fields,
  );
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  current.printed = true;
  return exitCode;
}
