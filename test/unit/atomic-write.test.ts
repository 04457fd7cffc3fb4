import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/util/atomic-write.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the file with the text and mode 0600, and leaves no temporary file', async () => {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{"a":1}\n');
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('replaces an existing file, and makes a wider mode 0600', async () => {
    const file = path.join(dir, 'kubeconfig');
    await writeFile(file, 'old', { mode: 0o644 });
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['kubeconfig']);
  });

  it('a crash between the write and the rename leaves the old file intact (and the new text only in the temporary file)', async () => {
    const file = path.join(dir, 'state.json');
    await writeFile(file, 'old contents');
    let seen: { tmp: string; text: string; dir: string[] } | undefined;
    const crash = new Error('killed between write and rename');
    await expect(
      writeFileAtomic(file, 'new contents', {
        beforeRename: async (tmp) => {
          seen = { tmp, text: await readFile(tmp, 'utf8'), dir: (await readdir(dir)).sort() };
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    // at the moment of the crash: the new text complete in a temporary file beside the target, the target untouched
    expect(path.dirname(seen!.tmp)).toBe(dir);
    expect(seen!.text).toBe('new contents');
    expect(seen!.dir).toEqual([path.basename(seen!.tmp), 'state.json'].sort());
    expect(await readFile(file, 'utf8')).toBe('old contents');
    // the failed write cleans up after itself
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('a rename that fails (a directory is in the way) throws, keeps what was there and removes the temporary file', async () => {
    const file = path.join(dir, 'taken');
    await mkdir(file);
    await writeFile(path.join(file, 'inside'), 'x');
    await expect(writeFileAtomic(file, 'text')).rejects.toThrow();
    expect((await stat(file)).isDirectory()).toBe(true);
    expect(await readdir(dir)).toEqual(['taken']);
  });

  it('a missing directory fails before anything is written', async () => {
    await expect(writeFileAtomic(path.join(dir, 'no', 'such', 'file'), 'text')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});
