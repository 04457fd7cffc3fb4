/**
 * A helm release left `pending-*` before the next `helm upgrade --install`. PURE.
 *
 * A master killed mid-upgrade (replaced by its group, rebooted, a timeout's SIGKILL) leaves its
 * release `pending-install`, `pending-upgrade` or `pending-rollback`, and every later upgrade fails
 * "another operation (install/upgrade/rollback) is in progress" — for good, on every master. So
 * before each release step the runner asks `helm status -o json`; a pending release is rolled back
 * to its newest revision that was live (`deployed`, or `superseded` by a later one), from
 * `helm history -o json`; with none (a first install that never finished) it is uninstalled. Then the
 * upgrade goes on. Only helm's JSON is read, never its text: an absent release is `helm status`
 * failing, which is nothing to act on (the upgrade installs it).
 */
import { z } from 'zod';

export interface HelmRevision {
  revision: number;
  /** deployed, superseded, failed, pending-upgrade, … (helm's release.Status) */
  status: string;
}

const statusSchema = z.object({ info: z.object({ status: z.string().min(1) }) });
const historySchema = z.array(z.object({ revision: z.number().int(), status: z.string().min(1) }));

function parseJson<S extends z.ZodType>(schema: S, what: string, text: string): z.infer<S> | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new Error(`${what} is not JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  return r.success
    ? r.data
    : new Error(`${what} has the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

/** info.status of `helm status <release> -o json`. */
export function parseHelmStatus(stdout: string): string | Error {
  const r = parseJson(statusSchema, 'helm status -o json', stdout);
  return r instanceof Error ? r : r.info.status;
}

/** The revisions of `helm history <release> -o json`. */
export function parseHelmHistory(stdout: string): HelmRevision[] | Error {
  const r = parseJson(historySchema, 'helm history -o json', stdout);
  return r instanceof Error ? r : r.map((x) => ({ revision: x.revision, status: x.status }));
}

export const isPendingStatus = (status: string | undefined): boolean => status?.startsWith('pending-') ?? false;

export type HelmRecovery =
  { action: 'none'; reason: string } | { action: 'rollback'; revision: number; reason: string } | { action: 'uninstall'; reason: string };

/** Revisions that ran: where a rollback may return to. */
const LIVE = new Set(['deployed', 'superseded']);

/**
 * `status`: the release's info.status, undefined when helm knows no such release (or could not
 * say); `history`: its revisions (asked only when the status is pending; [] otherwise).
 */
export function helmRecovery(release: string, status: string | undefined, history: readonly HelmRevision[]): HelmRecovery {
  if (status === undefined) return { action: 'none', reason: `${release}: no release to recover (helm status did not find it)` };
  if (!isPendingStatus(status)) return { action: 'none', reason: `${release} is ${status}` };
  const back = [...history].filter((h) => LIVE.has(h.status)).sort((a, b) => b.revision - a.revision)[0];
  if (back)
    return {
      action: 'rollback',
      revision: back.revision,
      reason: `${release} is ${status} (an upgrade was interrupted): rolling back to revision ${back.revision} (${back.status})`,
    };
  return {
    action: 'uninstall',
    reason: `${release} is ${status} and no revision of it was ever deployed (an install was interrupted): uninstalling it`,
  };
}
