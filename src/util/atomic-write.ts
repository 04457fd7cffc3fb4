/** Writing a file so that a reader (or a crash) sees the old contents or the new, never half of them. */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /**
   * Runs after the temporary file is written and synced, before it is renamed over `file`: tests
   * inject a crash here (a throw) to check that the old file survives.
   */
  beforeRename?: (tmp: string) => Promise<void> | void;
}

/**
 * Writes `text` to `file` atomically with mode 0600: a temporary file beside it (same directory,
 * so the rename cannot cross file systems), fsynced, then renamed over `file`. On any failure the
 * temporary file is removed and `file` keeps what it held. A symlink at `file` is replaced, not
 * followed: resolve it first to write through it.
 */
export async function writeFileAtomic(file: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await options.beforeRename?.(tmp);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
