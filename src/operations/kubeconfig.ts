/**
 * kubeconfig's operation: an admin client certificate signed in memory with the cluster CA (never
 * written anywhere) placed in a kubeconfig — on standard output, in a standalone file, or merged
 * into an existing one. Files are written atomically (temp file in the same directory, fsync,
 * rename) with mode 0600, holding kubectl's own `<file>.lock` while they are read and rewritten.
 */
import { constants } from 'node:fs';
import { lstat, open, mkdir, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeazError } from '../aws/errors.js';
import {
  entriesFrom,
  isKubeconfig,
  isOwnKubeconfig,
  mergeKubeconfig,
  NotAKubeconfigError,
  standaloneKubeconfig,
  summarize,
} from '../pki/kubeconfig-file.js';
import { UsageError } from '../errors.js';
import { adminKubeconfig } from './endpoint.js';
import type { Session } from './session.js';

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
        throw new UsageError(
          `${file} is a symlink to ${await readlink(file).catch(() => '?')}, which ${code === 'ELOOP' ? 'loops' : 'does not exist'}: refusing to replace the link by a file (make its target, or remove the link)`,
        );
      throw e;
    }
  }
  const what = notRegular(st);
  if (what)
    throw new UsageError(
      `${file}${link.isSymbolicLink() ? ' (through its symlink)' : ''} is ${what}, not a regular file: refusing to read or write it; name a kubeconfig file`,
    );
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

/** Writes `text` to `file` atomically with mode 0600 (through a symlink to its target). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Runs `fn` holding kubectl's lock file `<file>.lock` (client-go's convention), so a concurrent kubectl write waits its turn. */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  let fh;
  try {
    fh = await open(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new KubeazError(
        `${lock} exists: another kubectl or kubeaz is writing ${file} (remove the lock file if no one is)`,
        'KubeconfigLocked',
        'kubeconfig',
      );
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
    if ((e as NodeJS.ErrnoException).code === 'EISDIR')
      throw new UsageError(`${file} is a directory, not a regular file: refusing to read or write it; name a kubeconfig file`);
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

export interface KubeconfigRequest {
  ttlMs: number;
  mode: 'stdout' | 'standalone' | 'merge';
  /** the file (undefined for standard output) */
  target: string | undefined;
  user?: string;
  context?: string;
  /** false with --no-set-current */
  setCurrent?: boolean;
}

export interface KubeconfigResult {
  /** the kubeconfig itself, for standard output (mode stdout only) */
  text?: string;
  names: { cluster: string; user: string; context: string };
  server: string;
  notAfter: Date;
  /** the file's current context after the write (file modes only) */
  current?: string | null;
}

/** Signs the admin certificate and puts it where the request says (never replacing a file that is not ours). */
export async function exportKubeconfig(s: Session, r: KubeconfigRequest): Promise<KubeconfigResult> {
  const { ttlMs, mode, target } = r;
  // Before signing anything: never replace a file that is not ours, never merge into something that is not a kubeconfig.
  const checkTarget = (before: string | undefined): void => {
    if (before === undefined || !target) return;
    if (mode === 'standalone' && !isOwnKubeconfig(before, s.clusterId))
      throw new UsageError(
        `${target} exists and is not a kubeconfig kubeaz wrote for ${s.clusterId}${isKubeconfig(before) ? ` (it holds ${describe(before)})` : ''}: refusing to replace it; ` +
          `--merge adds ${s.clusterId} to it, leaving the rest as it is, or choose another --out`,
      );
    if (mode === 'merge' && !isKubeconfig(before))
      throw new UsageError(`${target} exists but is not a kubeconfig: refusing to write into it`);
  };
  const real = target ? await realpath(target).catch(() => target) : undefined;
  if (real) checkTarget(await readIfExists(real));

  const admin = await adminKubeconfig(s, ttlMs);
  if (admin.endpoint.via === 'internal-elb')
    s.progress.emit({
      type: 'warn',
      message: `spec.network.apiAccess is empty: the API has no public endpoint, so this kubeconfig names the internal load balancer (${admin.endpoint.server}), reachable only from inside the VPC`,
    });
  const names = { cluster: s.clusterId, user: r.user?.trim() || `${s.clusterId}-admin`, context: r.context?.trim() || s.clusterId };
  const entries = entriesFrom(admin.text, s.clusterId, names);
  const signed = { names, server: admin.endpoint.server, notAfter: admin.notAfter };
  if (mode === 'stdout') return { ...signed, text: standaloneKubeconfig(entries) };
  const setCurrent = mode === 'standalone' || r.setCurrent !== false;
  await mkdir(path.dirname(real!), { recursive: true, mode: 0o700 });
  await withFileLock(real!, async () => {
    const before = await readIfExists(real!);
    checkTarget(before);
    let text: string;
    try {
      text =
        mode === 'standalone' || before === undefined
          ? mode === 'merge' && !setCurrent
            ? mergeKubeconfig('', entries, { setCurrent })
            : standaloneKubeconfig(entries)
          : mergeKubeconfig(before, entries, { setCurrent });
    } catch (e) {
      if (e instanceof NotAKubeconfigError) throw new UsageError(`${target}: ${e.message}; refusing to write into it`);
      throw e;
    }
    await writeAtomic(real!, text);
  });
  const after = summarize(await readFile(real!, 'utf8'));
  return { ...signed, current: after.current ?? null };
}

function describe(text: string): string {
  const k = summarize(text);
  return k.contexts.length ? `context${k.contexts.length === 1 ? '' : 's'} ${k.contexts.join(', ')}` : 'no context';
}
