/**
 * The state file: `.kubeaz/<cluster id>.json` beside the spec. A cache and a journal, never the only
 * truth (tags are). Written atomically (temp file + fsync + rename) and guarded by a lock file that
 * holds the owner's pid and host; a lock whose process is gone is taken over (by exactly one run:
 * see takeOver). One file over ~300 lines because the file, its lock and the take-over guard share
 * one identity reader and one protocol that is only safe read together.
 */
import { link, lstat, mkdir, open, readFile, readlink, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { KubeazFailure } from '../errors.js';
import { sleep } from '../util/async.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export interface ResourceRecord {
  kind: string;
  id: string;
  attrs?: Record<string, string>;
}

export interface StateDocument {
  version: 1;
  clusterId: string;
  region: string;
  accountId?: string;
  /** new for each cluster built from nothing; idempotency tokens derive from it */
  generation: string;
  /** 'creating' | 'ready' | 'destroying' */
  phase: string;
  updatedAt: string;
  resources: Record<string, ResourceRecord>;
}

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** who (the user name); S3 locks only */
  holder?: string;
  /** the id `--force-unlock` must name to take the lock over; S3 locks only */
  lockId?: string;
}

/** What commands need of a state backend: the local file (LocalState) or an S3 object (S3State). */
export interface StateBackend {
  /** where the state lives, for messages */
  readonly where: string;
  read(): Promise<StateDocument | undefined>;
  write(doc: StateDocument): Promise<void>;
  remove(): Promise<void>;
  /** refuses (LockHeldError) while another run holds the lock; forceUnlock names a lock to take over */
  lock(command: string, opts?: { forceUnlock?: string }): Promise<void>;
  unlock(): Promise<void>;
}

export class LockHeldError extends KubeazFailure {
  override readonly name = 'LockHeldError';
  constructor(
    readonly lockFile: string,
    readonly holder: LockInfo,
    message?: string,
  ) {
    super(
      message ??
        `another kubeaz run holds the lock on this cluster: pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt}). ` +
          `Wait for it to finish; if that process is gone from another host, remove ${lockFile}.`,
      'user',
    );
  }
}

interface UnreadableLock {
  why: string;
  ageMs: number;
}

/** How old an unreadable lock file must be to count as stale (KUBEAZ_LOCK_GRACE_SECONDS, default 30). */
export function unreadableLockGraceMs(): number {
  const s = Number(process.env.KUBEAZ_LOCK_GRACE_SECONDS);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 30_000;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalState implements StateBackend {
  readonly dir: string;
  readonly file: string;
  readonly lockFile: string;
  /** the text of the lock this run holds */
  private locked: string | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    specFile: string,
    readonly clusterId: string,
  ) {
    this.dir = path.join(path.dirname(path.resolve(specFile)), '.kubeaz');
    this.file = path.join(this.dir, `${clusterId}.json`);
    this.lockFile = path.join(this.dir, `${clusterId}.lock`);
  }

  get where(): string {
    return this.file;
  }

  async read(): Promise<StateDocument | undefined> {
    try {
      const doc = JSON.parse(await readFile(this.file, 'utf8')) as StateDocument;
      return doc.version === 1 && doc.clusterId === this.clusterId ? doc : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof SyntaxError) return undefined; // a torn file cannot happen with rename, but a hand edit can
      throw e;
    }
  }

  /** Atomic (util/atomic-write: a temp file, fsynced, renamed over). Writes are serialised. */
  write(doc: StateDocument): Promise<void> {
    const next = this.writing.then(async () => {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(this.file, `${JSON.stringify({ ...doc, updatedAt: new Date().toISOString() }, null, 2)}\n`);
    });
    this.writing = next.catch(() => {});
    return next;
  }

  async remove(): Promise<void> {
    await this.writing;
    await rm(this.file, { force: true });
  }

  /**
   * forceUnlock: the pid of a holder on another host that is known to be gone.
   * The lock is written whole to a temp file, then hard-linked into place (link fails when the
   * lock exists), so it never appears empty or torn. One that cannot be read all the same (a crash
   * of an older kubeaz between open and write, a hand edit, a dangling symlink) is named in the
   * refusal and taken over once it is older than the grace period.
   */
  async lock(command: string, opts: { forceUnlock?: string } = {}): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const me: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    const tmp = `${this.lockFile}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(me));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      let unreadable: UnreadableLock | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(tmp, this.lockFile);
          this.locked = JSON.stringify(me);
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const found = await this.readLock();
        if (found.holder) {
          const holder = found.holder;
          if (
            (holder.host === me.host && !alive(holder.pid)) ||
            (opts.forceUnlock !== undefined && opts.forceUnlock === String(holder.pid))
          ) {
            if (await this.takeOver(found.identity!, tmp, me)) {
              this.locked = JSON.stringify(me);
              return;
            }
            continue;
          }
          throw new LockHeldError(this.lockFile, holder);
        }
        if (found.unreadable === undefined) continue; // removed meanwhile: try again
        unreadable = found.unreadable;
        if (unreadable.ageMs > unreadableLockGraceMs()) {
          if (await this.takeOver(found.identity!, tmp, me)) {
            this.locked = JSON.stringify(me);
            return;
          }
          continue;
        }
        await sleep(50);
      }
      const u = unreadable ?? { why: 'could not be taken', ageMs: 0 };
      throw new LockHeldError(
        this.lockFile,
        { pid: 0, host: 'unknown', command: 'unknown', startedAt: 'unknown' },
        `the lock file ${this.lockFile} cannot be read (${u.why}; ${Math.round(u.ageMs / 1000)} s old). ` +
          `A kubeaz run may be starting; otherwise it is taken over once it is ${Math.round(unreadableLockGraceMs() / 1000)} s old, or remove it by hand.`,
      );
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * The holder of a lock file (the lock itself or a take-over guard), or why it cannot be read (with
   * its age), or neither when it is gone; with the file's identity whenever it exists.
   */
  private async readLock(file = this.lockFile): Promise<{ holder?: LockInfo; unreadable?: UnreadableLock; identity?: string }> {
    const seen = await identify(file);
    if (!seen) return {};
    const { identity, ageMs, text, symlinkTarget, readError } = seen;
    if (symlinkTarget !== undefined && text === undefined)
      return { identity, unreadable: { why: `a dangling symbolic link to ${symlinkTarget}`, ageMs } };
    if (text === undefined) return { identity, unreadable: { why: `it cannot be read: ${readError ?? 'unknown'}`, ageMs } };
    if (text.trim() === '') return { identity, unreadable: { why: 'it is empty', ageMs } };
    try {
      const h = JSON.parse(text) as Partial<LockInfo> | null;
      if (h && typeof h === 'object' && typeof h.pid === 'number' && typeof h.host === 'string')
        return {
          identity,
          holder: { pid: h.pid, host: h.host, command: String(h.command ?? 'unknown'), startedAt: String(h.startedAt ?? 'unknown') },
        };
      return { identity, unreadable: { why: 'it names no pid and host', ageMs } };
    } catch {
      return { identity, unreadable: { why: 'it is not JSON', ageMs } };
    }
  }

  /**
   * Take over the stale lock whose identity is `stale` — exactly one run can. Renaming away "whatever
   * is at the lock path" is not enough: between reading the stale lock and renaming, another run may
   * have taken it over and linked its own lock, which would then be thrown away with two holders as
   * the result. So a take-over is guarded by a second lock keyed by the stale lock's identity
   * (`<lock>.takeover-<hash>`, created with link(), which fails when it exists): of all runs that
   * judged that very file stale, one creates the guard. Under the guard it reads the lock again and
   * acts only if the lock path still holds that very file; then it renames its own lock over it, so the
   * path is never empty (a run starting afresh gets EEXIST and reads the new, live holder). Nothing
   * else replaces a lock file: its owner is dead, fresh runs only link, other take-overs of that file
   * wait on the guard. A guard whose taker died mid-way is itself taken over the same way, by a guard
   * keyed by the stale lock and that dead guard. A live guard is refused as a live lock.
   * Returns whether this run now holds the lock (false: the lock changed meanwhile, look again).
   */
  private async takeOver(stale: string, tmp: string, me: LockInfo): Promise<boolean> {
    const chain: string[] = [];
    let key = stale;
    try {
      let mine = false;
      for (let tries = 0; !mine && tries < 10; tries++) {
        const guard = takeOverGuard(this.lockFile, key);
        try {
          await link(tmp, guard);
          chain.push(guard);
          mine = true;
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const g = await this.readLock(guard);
        if (!g.identity) continue; // the guard went meanwhile: try it again
        if (g.holder && !(g.holder.host === me.host && !alive(g.holder.pid))) throw new LockHeldError(this.lockFile, g.holder);
        if (g.unreadable && g.unreadable.ageMs <= unreadableLockGraceMs())
          throw new LockHeldError(
            this.lockFile,
            { pid: 0, host: 'unknown', command: 'unknown', startedAt: 'unknown' },
            `another kubeaz run is taking over the stale lock ${this.lockFile} (its guard ${guard} cannot be read: ${g.unreadable.why}); try again shortly, or remove ${guard} by hand if it stays.`,
          );
        chain.push(guard); // its taker died: ours is the guard keyed by this dead one
        key = `${key}\n${g.identity}`;
      }
      if (!mine) return false;
      const now = await identify(this.lockFile);
      if (now?.identity !== stale) return false; // taken over or released meanwhile: start over
      await rename(tmp, this.lockFile);
      return true;
    } finally {
      // Every guard of the chain guards a file that is no longer at the lock path (we replaced it, or
      // found it gone): whoever takes such a guard later finds a different identity and gives up.
      for (const g of chain) await rm(g, { force: true });
    }
  }

  /** Releases only our own lock (one taken over with --force-unlock from elsewhere is not ours now). */
  async unlock(): Promise<void> {
    if (!this.locked) return;
    await this.writing;
    const now = await readFile(this.lockFile, 'utf8').catch(() => undefined);
    if (now === this.locked) await rm(this.lockFile, { force: true });
    this.locked = undefined;
  }
}

/** The guard of a take-over of the lock file whose identity (or chain of identities) is `key`. */
export function takeOverGuard(lockFile: string, key: string): string {
  return `${lockFile}.takeover-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The identity of the file at `file` as the take-over sees it (undefined: nothing there). */
export async function lockFileIdentity(file: string): Promise<string | undefined> {
  return (await identify(file))?.identity;
}

/**
 * What is at `file` now, with an identity that changes whenever it is replaced: device, inode,
 * change time (ns) and content (or link target). Read through one descriptor, so the content is that
 * inode's. undefined: nothing there.
 */
async function identify(
  file: string,
): Promise<{ identity: string; ageMs: number; text?: string; symlinkTarget?: string; readError?: string } | undefined> {
  let st;
  try {
    st = await lstat(file, { bigint: true });
  } catch {
    return undefined;
  }
  const ageMs = Date.now() - Number(st.mtimeMs);
  const base = `${st.dev}:${st.ino}:${st.ctimeNs}:${st.mtimeNs}:${st.size}`;
  const id = (...parts: string[]) =>
    createHash('sha256')
      .update([base, ...parts].join('\0'))
      .digest('hex');
  if (st.isSymbolicLink()) {
    const target = await readlink(file).catch(() => '?');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    return { identity: id('symlink', target, text ?? ''), ageMs, symlinkTarget: target, ...(text !== undefined ? { text } : {}) };
  }
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return { identity: id('unopenable'), ageMs, readError: code ?? String(e) };
  }
  try {
    const fst = await fh.stat({ bigint: true });
    if (fst.ino !== st.ino || fst.dev !== st.dev)
      return { identity: id('changed', String(fst.ino)), ageMs, readError: 'it changed while being read' };
    const text = await fh.readFile('utf8');
    return { identity: id('file', text), ageMs, text };
  } catch (e) {
    return { identity: id('unreadable'), ageMs, readError: (e as NodeJS.ErrnoException).code ?? String(e) };
  } finally {
    await fh.close();
  }
}
