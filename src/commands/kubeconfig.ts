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
 * Files are written atomically (temp file in the same directory, fsync, rename) with mode 0600,
 * holding kubectl's own `<file>.lock` while they are read and rewritten.
 * The endpoint: the public master record, else the public API load balancer, else the internal one.
 */
import { constants } from 'node:fs';
import { lstat, open, mkdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { isNotFound, KubeazError } from '../aws/errors.js';
import { ConsoleProgress } from '../engine/progress.js';
import { naming } from '../model/names.js';
import { bucketName } from '../model/names.js';
import { CA_YEARS, signClientCert } from '../pki/ca.js';
import { apiEndpoint, renderKubeconfig, type ApiEndpoint } from '../pki/kubeconfig.js';
import { entriesFrom, isKubeconfig, isOwnKubeconfig, mergeKubeconfig, NotAKubeconfigError, standaloneKubeconfig, summarize } from '../pki/kubeconfig-file.js';
import { PKI_PREFIX } from '../resources/index.js';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
import { openSession, UsageError, type GlobalOptions, type Session } from './session.js';

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
}

export const ADMIN_USER = 'kubernetes-admin';
export const ADMIN_GROUP = 'system:masters';
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
  if (ms === undefined) throw new UsageError(`--admin ${text}: expected a duration such as 18h, 90m or 7d (at most ${formatDuration(MAX_DURATION_MS)})`);
  const cap = parseDuration(ADMIN_TTL_CAP)!;
  if (!unlimited && ms > cap)
    throw new UsageError(
      `--admin ${text}: longer than the ${ADMIN_TTL_CAP} (${formatDuration(cap)}) cap — a system:masters certificate cannot be revoked, so a leaked copy is cluster-admin until it expires; ` +
        `ask for less (kops issues 18h) or pass --admin-unlimited`,
    );
  if (ms > ADMIN_TTL_UNLIMITED_MAX_MS) throw new UsageError(`--admin ${text}: longer than the cluster CA's own ${CA_YEARS} years, which no certificate it signs can outlive`);
  return ms;
}

/** What a path that is not a regular file is, for messages; undefined for a regular file. */
function notRegular(st: import('node:fs').Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Refuses at once (exit 2) a kubeconfig path that is not a regular file or a link to one: a FIFO
 * would block the read (and SIGTERM with it), a directory or a device cannot be replaced by a file,
 * and a dangling symlink would be replaced by a file where the user keeps the link. A path that does
 * not exist is fine (it is made).
 */
export async function checkKubeconfigPath(file: string): Promise<void> {
  let link;
  try {
    link = await lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  let st = link;
  if (link.isSymbolicLink()) {
    try {
      st = await stat(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP')
        throw new UsageError(`${file} is a symlink to ${await readlink(file).catch(() => '?')}, which ${code === 'ELOOP' ? 'loops' : 'does not exist'}: refusing to replace the link by a file (make its target, or remove the link)`);
      throw e;
    }
  }
  const what = notRegular(st);
  if (what) throw new UsageError(`${file}${link.isSymbolicLink() ? ' (through its symlink)' : ''} is ${what}, not a regular file: refusing to read or write it; name a kubeconfig file`);
}

/** The kubeconfig file kubectl would write to: $KUBECONFIG's first existing file (else its first), or ~/.kube/config. */
export async function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  for (const f of list) if (await exists(f)) return path.resolve(f);
  if (list.length) return path.resolve(list[0]!);
  return path.join(env.HOME || homedir(), '.kube', 'config');
}

async function exists(f: string): Promise<boolean> {
  try {
    await stat(f);
    return true;
  } catch {
    return false;
  }
}

/** An endpoint the user gave (`status --api-endpoint`, a tunnel) or the cluster's own. */
export type GivenEndpoint = { server: string; via: ApiEndpoint['via'] | 'given' };

/** The endpoint of the cluster's API, from the spec and (when needed) the API load balancer's DNS name. */
export async function clusterEndpoint(s: Session): Promise<ApiEndpoint> {
  const spec = s.spec;
  const needsElb = !(spec.spec.network.apiAccess.length > 0 && spec.spec.dns.publicDomain);
  const elbDns: { public?: string; internal?: string } = {};
  if (needsElb) {
    const names = naming(spec);
    const publicApi = spec.spec.network.apiAccess.length > 0;
    try {
      let dns: string | undefined;
      if (spec.spec.controlPlane.loadBalancer === 'network') {
        const { DescribeLoadBalancersCommand } = await import('@aws-sdk/client-elastic-load-balancing-v2');
        const want = publicApi ? names.nlbPublic : names.nlbInternal;
        const out = await (await s.aws.elbv2()).send(new DescribeLoadBalancersCommand({ Names: [want] }));
        dns = out.LoadBalancers?.find((l) => l.LoadBalancerName === want)?.DNSName;
      } else {
        const { DescribeLoadBalancersCommand } = await import('@aws-sdk/client-elastic-load-balancing');
        const want = publicApi ? names.elbPublic : names.elbInternal;
        const out = await (await s.aws.elb()).send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [want] }));
        dns = out.LoadBalancerDescriptions?.[0]?.DNSName;
      }
      if (dns) elbDns[publicApi ? 'public' : 'internal'] = dns;
    } catch (e) {
      if (!isNotFound(e) && !/LoadBalancerNotFound/.test((e as Error).name ?? '')) throw e;
    }
  }
  return apiEndpoint(spec, elbDns);
}

/**
 * An admin kubeconfig (renderKubeconfig's text) with a client certificate valid `ttlMs`, signed with
 * the cluster CA fetched into memory only.
 */
export async function adminKubeconfig(s: Session, ttlMs: number, endpoint?: GivenEndpoint): Promise<{ text: string; endpoint: GivenEndpoint; caCert: string; notAfter: Date }> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = await s.aws.s3();
  const Bucket = bucketName(s.clusterId, s.ctx.accountId);
  const get = async (name: string): Promise<string> => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket, Key: PKI_PREFIX + name, ExpectedBucketOwner: s.ctx.accountId }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (isNotFound(e)) throw new KubeazError(`s3://${Bucket}/${PKI_PREFIX}${name} does not exist: run kubeaz create first`, 'NoPki', 'pki', { cause: e });
      throw e;
    }
  };
  const [caCert, caKey, ep] = await Promise.all([get('ca.crt'), get('ca.key'), endpoint ?? clusterEndpoint(s)]);
  const now = new Date();
  const client = await signClientCert(caCert, caKey, ADMIN_USER, [ADMIN_GROUP], ttlMs / 86_400_000, now);
  const tlsServerName = (ep as { tlsServerName?: string }).tlsServerName;
  const text = renderKubeconfig({ clusterName: s.clusterId, server: ep.server, ...(tlsServerName ? { tlsServerName } : {}), caCert, user: ADMIN_USER, clientCert: client.cert, clientKey: client.key });
  return { text, endpoint: ep, caCert, notAfter: new Date(now.getTime() + ttlMs) };
}

/** Runs `fn` holding kubectl's lock file `<file>.lock` (client-go's convention), so a concurrent kubectl write waits its turn. */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  let fh;
  try {
    fh = await open(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KubeazError(`${lock} exists: another kubectl or kubeaz is writing ${file} (remove the lock file if no one is)`, 'KubeconfigLocked', 'kubeconfig');
    throw e;
  }
  await fh.close();
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/** The file's text, undefined when it does not exist; refuses anything but a regular file (opened non-blocking, checked on the open handle). */
async function readIfExists(file: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError(`${file} is a directory, not a regular file: refusing to read or write it; name a kubeconfig file`);
    throw e;
  }
  try {
    const what = notRegular(await fh.stat());
    if (what) throw new UsageError(`${file} is ${what}, not a regular file: refusing to read or write it; name a kubeconfig file`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

export async function kubeconfigCommand(opts: KubeconfigOptions): Promise<number> {
  const ttlText = typeof opts.admin === 'string' ? opts.admin : DEFAULT_ADMIN_TTL;
  const ttlMs = adminTtlMs(ttlText, Boolean(opts.adminUnlimited));
  if (opts.user !== undefined && !opts.user.trim()) throw new UsageError('--user must not be empty');
  if (opts.context !== undefined && !opts.context.trim()) throw new UsageError('--context must not be empty');
  const toStdout = opts.out === '-';
  if (opts.merge && (!opts.out || toStdout)) throw new UsageError('--merge goes with --out FILE (without --out kubeaz always merges into your kubeconfig)');
  const target = toStdout ? undefined : opts.out ? path.resolve(opts.out) : await defaultKubeconfigPath();
  const mode: 'stdout' | 'standalone' | 'merge' = toStdout ? 'stdout' : opts.out && !opts.merge ? 'standalone' : 'merge';
  if (target) await checkKubeconfigPath(target);

  const s = await openSession(opts, new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    // Before signing anything: never replace a file that is not ours, never merge into something that is not a kubeconfig.
    const checkTarget = (before: string | undefined): void => {
      if (before === undefined || !target) return;
      if (mode === 'standalone' && !isOwnKubeconfig(before, s.clusterId))
        throw new UsageError(
          `${target} exists and is not a kubeconfig kubeaz wrote for ${s.clusterId}${isKubeconfig(before) ? ` (it holds ${describe(before)})` : ''}: refusing to replace it; ` +
            `--merge adds ${s.clusterId} to it, leaving the rest as it is, or choose another --out`,
        );
      if (mode === 'merge' && !isKubeconfig(before)) throw new UsageError(`${target} exists but is not a kubeconfig: refusing to write into it`);
    };
    const real = target ? await realpath(target).catch(() => target) : undefined;
    if (real) checkTarget(await readIfExists(real));

    const admin = await adminKubeconfig(s, ttlMs);
    if (admin.endpoint.via === 'internal-elb')
      s.progress.emit({ type: 'warn', message: `spec.network.apiAccess is empty: the API has no public endpoint, so this kubeconfig names the internal load balancer (${admin.endpoint.server}), reachable only from inside the VPC` });
    const names = { cluster: s.clusterId, user: opts.user?.trim() || `${s.clusterId}-admin`, context: opts.context?.trim() || s.clusterId };
    const entries = entriesFrom(admin.text, s.clusterId, names);
    const validity = `${ADMIN_USER} in ${ADMIN_GROUP}, certificate valid ${formatDuration(ttlMs)} until ${admin.notAfter.toISOString().replace(/\.\d+Z$/, 'Z')}`;
    if (mode === 'stdout') {
      process.stdout.write(standaloneKubeconfig(entries));
      s.progress.emit({ type: 'info', message: `admin kubeconfig for ${s.clusterId} (${validity}) → ${admin.endpoint.server}` });
      return 0;
    }
    const setCurrent = mode === 'standalone' || opts.setCurrent !== false;
    await mkdir(path.dirname(real!), { recursive: true, mode: 0o700 });
    await withFileLock(real!, async () => {
      const before = await readIfExists(real!);
      checkTarget(before);
      let text: string;
      try {
        text = mode === 'standalone' || before === undefined ? (mode === 'merge' && !setCurrent ? mergeKubeconfig('', entries, { setCurrent }) : standaloneKubeconfig(entries)) : mergeKubeconfig(before, entries, { setCurrent });
      } catch (e) {
        if (e instanceof NotAKubeconfigError) throw new UsageError(`${target}: ${e.message}; refusing to write into it`);
        throw e;
      }
      await writeFileAtomic(real!, text);
    });
    const after = summarize(await readFile(real!, 'utf8'));
    s.progress.emit({
      type: 'info',
      message:
        `${mode === 'merge' ? 'merged' : 'wrote'} context ${names.context} (user ${names.user}; ${validity}) into ${target} → ${admin.endpoint.server}; ` +
        (after.current === names.context ? `current context is now ${names.context}` : `current context stays ${after.current ?? '(none)'}: kubectl --context ${names.context}`),
    });
    process.stdout.write(`${target}\n`);
    return 0;
  } finally {
    s.dispose();
  }
}

function describe(text: string): string {
  const k = summarize(text);
  return k.contexts.length ? `context${k.contexts.length === 1 ? '' : 's'} ${k.contexts.join(', ')}` : 'no context';
}
