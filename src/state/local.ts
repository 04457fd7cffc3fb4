/**
 * The state file: `.kubeaz/<cluster id>.json` beside the spec. A cache and a journal, never the only
 * truth (tags are). Written atomically (temp file + fsync + rename) and guarded by a lock file that
 * holds the owner's pid and host; a lock whose process is gone is taken over.
 */
import { link, lstat, mkdir, open, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { KubeazFailure } from '../errors.js';
import { sleep } from '../util/async.js';

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
  private locked = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(specFile: string, readonly clusterId: string) {
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

  /** Atomic: write a temp file, fsync it, rename over. Writes are serialised. */
  write(doc: StateDocument): Promise<void> {
    const next = this.writing.then(async () => {
      await mkdir(this.dir, { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify({ ...doc, updatedAt: new Date().toISOString() }, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
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
          this.locked = true;
          return;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const found = await this.readLock();
        if (found.holder) {
          const holder = found.holder;
          if ((holder.host === me.host && !alive(holder.pid)) || (opts.forceUnlock !== undefined && opts.forceUnlock === String(holder.pid))) {
            await this.takeOver();
            continue;
          }
          throw new LockHeldError(this.lockFile, holder);
        }
        if (found.unreadable === undefined) continue; // removed meanwhile: try again
        unreadable = found.unreadable;
        if (unreadable.ageMs > unreadableLockGraceMs()) {
          await this.takeOver();
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

  /** The holder of the lock file, or why it cannot be read (with its age), or neither when it is gone. */
  private async readLock(): Promise<{ holder?: LockInfo; unreadable?: UnreadableLock }> {
    let st;
    try {
      st = await lstat(this.lockFile);
    } catch {
      return {};
    }
    const ageMs = Date.now() - st.mtimeMs;
    if (st.isSymbolicLink()) {
      const target = await readlink(this.lockFile).catch(() => '?');
      const ok = await readFile(this.lockFile, 'utf8').then(() => true, () => false);
      if (!ok) return { unreadable: { why: `a dangling symbolic link to ${target}`, ageMs } };
    }
    let text: string;
    try {
      text = await readFile(this.lockFile, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return {};
      return { unreadable: { why: `it cannot be read: ${code ?? String(e)}`, ageMs } };
    }
    if (text.trim() === '') return { unreadable: { why: 'it is empty', ageMs } };
    try {
      const h = JSON.parse(text) as Partial<LockInfo> | null;
      if (h && typeof h === 'object' && typeof h.pid === 'number' && typeof h.host === 'string')
        return { holder: { pid: h.pid, host: h.host, command: String(h.command ?? 'unknown'), startedAt: String(h.startedAt ?? 'unknown') } };
      return { unreadable: { why: 'it names no pid and host', ageMs } };
    } catch {
      return { unreadable: { why: 'it is not JSON', ageMs } };
    }
  }

  /** Take a stale lock over by renaming it away (atomic: one of two racing runs wins), then drop it. */
  private async takeOver(): Promise<void> {
    const away = `${this.lockFile}.stale.${process.pid}`;
    await rename(this.lockFile, away).catch(() => {});
    await rm(away, { force: true });
  }

  async unlock(): Promise<void> {
    if (!this.locked) return;
    await this.writing;
    await rm(this.lockFile, { force: true });
    this.locked = false;
  }
}

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}
