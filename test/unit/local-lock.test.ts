/**
 * The local lock file (issue 9 #7): an unreadable lock — empty, garbage, a dangling symlink — is
 * named in the refusal, taken over once older than the grace period, and a lock is never seen torn.
 */
import { mkdtemp, readFile, symlink, utimes, lutimes, writeFile, readdir, rm } from 'node:fs/promises';
import { tmpdir, hostname } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalState, LockHeldError, lockFileIdentity, takeOverGuard } from '../../src/state/local.js';

let dir: string;
let state: LocalState;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-lock-'));
  state = new LocalState(path.join(dir, 'cluster.yaml'), 'demo-dev');
  await import('node:fs/promises').then((fs) => fs.mkdir(state.dir, { recursive: true }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const old = new Date(Date.now() - 120_000);

const unreadable: Array<[string, () => Promise<void>, RegExp]> = [
  ['empty', () => writeFile(state.lockFile, ''), /it is empty/],
  ['garbage', () => writeFile(state.lockFile, '{"pid": 12'), /it is not JSON/],
  ['JSON without pid and host', () => writeFile(state.lockFile, '{}'), /names no pid and host/],
  ['a dangling symlink', () => symlink(path.join(dir, 'nowhere'), state.lockFile), /dangling symbolic link to .*nowhere/],
];

describe('local lock: unreadable lock files', () => {
  for (const [what, make, why] of unreadable) {
    it(`${what}: a fresh one is refused naming the file and why; an old one is taken over`, async () => {
      await make();
      const err = await state.lock('create').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockHeldError);
      const msg = (err as Error).message;
      expect(msg).toContain(state.lockFile);
      expect(msg).toMatch(why);
      expect(msg).not.toMatch(/undefined|SyntaxError/);

      await lutimes(state.lockFile, old, old).catch(() => utimes(state.lockFile, old, old));
      await state.lock('create');
      const held = JSON.parse(await readFile(state.lockFile, 'utf8'));
      expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'create' });
      await state.unlock();
      expect(await readdir(state.dir)).toEqual([]);
    });
  }

  it('a live holder is still refused with who holds it, and the lock file is whole when it appears', async () => {
    await writeFile(state.lockFile, JSON.stringify({ pid: process.pid, host: hostname(), command: 'destroy', startedAt: 'then' }));
    await expect(state.lock('create')).rejects.toThrow(/pid \d+ on .* \(destroy, since then\)/);
    await rm(state.lockFile);
    await state.lock('create');
    // no temp file left behind, and the lock holds the full document
    expect((await readdir(state.dir)).sort()).toEqual(['demo-dev.lock']);
    expect(JSON.parse(await readFile(state.lockFile, 'utf8')).pid).toBe(process.pid);
    await state.unlock();
  });

  it('a dead holder on this host is taken over', async () => {
    await writeFile(state.lockFile, JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), command: 'create', startedAt: 'then' }));
    await state.lock('status');
    expect(JSON.parse(await readFile(state.lockFile, 'utf8')).command).toBe('status');
    await state.unlock();
  });
});

describe('local lock: the take-over guard (issue 23 #2)', () => {
  /** above Linux's largest pid_max (2^22): no process has it, so it is a dead holder on this host */
  const deadPid = () => 2 ** 22 + 17;
  const stale = () => writeFile(state.lockFile, JSON.stringify({ pid: deadPid(), host: hostname(), command: 'create', startedAt: 'then' }));

  it('a stale lock whose take-over another live run has begun is refused as a live lock, and left alone', async () => {
    await stale();
    const guard = takeOverGuard(state.lockFile, (await lockFileIdentity(state.lockFile))!);
    await writeFile(guard, JSON.stringify({ pid: process.pid, host: hostname(), command: 'destroy', startedAt: 'now' }));
    const before = await readFile(state.lockFile, 'utf8');
    await expect(state.lock('create')).rejects.toThrow(
      /another kubeaz run holds the lock on this cluster: pid \d+ on .* \(destroy, since now\)/,
    );
    expect(await readFile(state.lockFile, 'utf8')).toBe(before);
  });

  it('a take-over whose taker died mid-way is taken over through the next guard; nothing is left behind', async () => {
    await stale();
    const guard = takeOverGuard(state.lockFile, (await lockFileIdentity(state.lockFile))!);
    await writeFile(guard, JSON.stringify({ pid: deadPid(), host: hostname(), command: 'destroy', startedAt: 'then' }));
    await state.lock('create');
    expect(JSON.parse(await readFile(state.lockFile, 'utf8'))).toMatchObject({ pid: process.pid, command: 'create' });
    expect(await readdir(state.dir)).toEqual(['demo-dev.lock']);
    await state.unlock();
    expect(await readdir(state.dir)).toEqual([]);
  });

  it('unlock leaves a lock that is no longer ours (taken over with --force-unlock from another host)', async () => {
    await state.lock('create');
    await writeFile(state.lockFile, JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'destroy', startedAt: 'now' }));
    await state.unlock();
    expect(JSON.parse(await readFile(state.lockFile, 'utf8')).host).toBe('elsewhere');
  });
});
