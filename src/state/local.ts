/**
 * The state file: `.kubeaz/<cluster id>.json` beside the spec. A cache and a journal, never the only
 * truth (tags are). Written atomically (temp file + fsync + rename) and guarded by a lock file that
 * holds the owner's pid and host; a lock whose process is gone is taken over.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

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

export class LockHeldError extends Error {
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
    );
  }
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

  /** forceUnlock: the pid of a holder on another host that is known to be gone. */
  async lock(command: string, opts: { forceUnlock?: string } = {}): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const me: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(this.lockFile, 'wx', 0o600);
        await fh.writeFile(JSON.stringify(me));
        await fh.close();
        this.locked = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder: LockInfo | undefined;
      try {
        holder = JSON.parse(await readFile(this.lockFile, 'utf8')) as LockInfo;
      } catch {
        holder = undefined; // being written right now, or torn: look again
      }
      if (holder && ((holder.host === me.host && !alive(holder.pid)) || (opts.forceUnlock !== undefined && opts.forceUnlock === String(holder.pid)))) {
        // Stale: its process is gone. Take it over by renaming it away (atomic), then retry.
        await rename(this.lockFile, `${this.lockFile}.stale.${process.pid}`).catch(() => {});
        await rm(`${this.lockFile}.stale.${process.pid}`, { force: true });
        continue;
      }
      if (holder) throw new LockHeldError(this.lockFile, holder);
      await new Promise((r) => setTimeout(r, 50));
    }
    const holder = JSON.parse(await readFile(this.lockFile, 'utf8').catch(() => '{}')) as LockInfo;
    throw new LockHeldError(this.lockFile, holder);
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
