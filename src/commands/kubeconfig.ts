/**
 * kubeaz kubeconfig: an admin client certificate (kubernetes-admin in system:masters, 18 hours by
 * default like kops' `--admin`) signed in memory with the cluster CA read from s3://<bucket>/pki/
 * — the CA key is never written anywhere — and placed in a kubeconfig:
 *
 * - default: merged into $KUBECONFIG's first file (the first that exists, as kubectl picks) or
 *   ~/.kube/config; one cluster, user and context named after the cluster; every other entry left
 *   as it was; current context switched to it unless --no-set-current;
 * - --out FILE: a standalone file; an existing file is replaced only when it is a kubeconfig
 *   kubeaz wrote for this cluster (otherwise exit 2), or merged into with --merge;
 * - --out -: standard output.
 *
 * The signing, the endpoint and the file handling are the operation's (src/operations/kubeconfig.ts,
 * endpoint.ts); this file reads the flags and says what was written.
 */
import path from 'node:path';
import { ConsoleProgress } from '../engine/progress.js';
import { CA_YEARS } from '../pki/ca.js';
import { ADMIN_GROUP, ADMIN_USER } from '../operations/endpoint.js';
import { checkKubeconfigPath, defaultKubeconfigPath, exportKubeconfig } from '../operations/kubeconfig.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
import { respond, watch } from '../operations/envelope.js';

export interface KubeconfigOptions extends GlobalOptions {
  /** FILE, or '-' for standard output; default: merge into $KUBECONFIG / ~/.kube/config */
  out?: string;
  merge?: boolean;
  /** false with --no-set-current */
  setCurrent?: boolean;
  /** client certificate lifetime (Go duration; default 18h, at most ADMIN_TTL_CAP without --admin-unlimited) */
  admin?: string | boolean;
  adminUnlimited?: boolean;
  user?: string;
  context?: string;
  output?: string;
}

export const DEFAULT_ADMIN_TTL = '18h';
/**
 * The longest --admin lifetime without --admin-unlimited: a week. The certificate is in
 * system:masters and cannot be revoked (Kubernetes has no CRL for client certificates): a copy that
 * leaks is cluster-admin until it expires. kops issues 18h by default.
 */
export const ADMIN_TTL_CAP = '168h';
/** Even with --admin-unlimited: no certificate outlives the CA that signs it. */
export const ADMIN_TTL_UNLIMITED_MAX_MS = CA_YEARS * 365 * 86_400_000;

/** The --admin lifetime in milliseconds, or a UsageError saying the rule it breaks. */
export function adminTtlMs(text: string, unlimited: boolean): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--admin ${text}: expected a duration such as 18h, 90m or 7d (at most ${formatDuration(MAX_DURATION_MS)})`);
  const cap = parseDuration(ADMIN_TTL_CAP)!;
  if (!unlimited && ms > cap)
    throw new UsageError(
      `--admin ${text}: longer than the ${ADMIN_TTL_CAP} (${formatDuration(cap)}) cap — a system:masters certificate cannot be revoked, so a leaked copy is cluster-admin until it expires; ` +
        `ask for less (kops issues 18h) or pass --admin-unlimited`,
    );
  if (ms > ADMIN_TTL_UNLIMITED_MAX_MS)
    throw new UsageError(`--admin ${text}: longer than the cluster CA's own ${CA_YEARS} years, which no certificate it signs can outlive`);
  return ms;
}

export async function kubeconfigCommand(opts: KubeconfigOptions): Promise<number> {
  const ttlText = typeof opts.admin === 'string' ? opts.admin : DEFAULT_ADMIN_TTL;
  const ttlMs = adminTtlMs(ttlText, Boolean(opts.adminUnlimited));
  if (opts.user !== undefined && !opts.user.trim()) throw new UsageError('--user must not be empty');
  if (opts.context !== undefined && !opts.context.trim()) throw new UsageError('--context must not be empty');
  const toStdout = opts.out === '-';
  if (opts.merge && (!opts.out || toStdout))
    throw new UsageError('--merge goes with --out FILE (without --out kubeaz always merges into your kubeconfig)');
  const target = toStdout ? undefined : opts.out ? path.resolve(opts.out) : await defaultKubeconfigPath();
  const mode: 'stdout' | 'standalone' | 'merge' = toStdout ? 'stdout' : opts.out && !opts.merge ? 'standalone' : 'merge';
  if (target) await checkKubeconfigPath(target);

  const json = opts.output === 'json';
  const s = await openSession(opts, new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }), watch);
  try {
    const r = await exportKubeconfig(s, {
      ttlMs,
      mode,
      target,
      ...(opts.user !== undefined ? { user: opts.user } : {}),
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      ...(opts.setCurrent !== undefined ? { setCurrent: opts.setCurrent } : {}),
    });
    const { names } = r;
    const notAfter = r.notAfter.toISOString().replace(/\.\d+Z$/, 'Z');
    const validity = `${ADMIN_USER} in ${ADMIN_GROUP}, certificate valid ${formatDuration(ttlMs)} until ${notAfter}`;
    // under --output json, --out - puts the kubeconfig in the JSON (stdout holds the JSON alone)
    if (json)
      return respond(0, {
        mode,
        file: target ?? null,
        server: r.server,
        context: names.context,
        user: names.user,
        currentContext: r.text !== undefined ? null : (r.current ?? null),
        notAfter,
        ...(r.text !== undefined ? { kubeconfig: r.text } : {}),
      });
    if (r.text !== undefined) {
      process.stdout.write(r.text);
      s.progress.emit({ type: 'info', message: `admin kubeconfig for ${s.clusterId} (${validity}) → ${r.server}` });
      return 0;
    }
    s.progress.emit({
      type: 'info',
      message:
        `${mode === 'merge' ? 'merged' : 'wrote'} context ${names.context} (user ${names.user}; ${validity}) into ${target} → ${r.server}; ` +
        (r.current === names.context
          ? `current context is now ${names.context}`
          : `current context stays ${r.current ?? '(none)'}: kubectl --context ${names.context}`),
    });
    process.stdout.write(`${target}\n`);
    return 0;
  } finally {
    s.dispose();
  }
}
