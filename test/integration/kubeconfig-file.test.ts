/**
 * A merged kubeconfig read by kubectl itself (where it is installed), and the kubeconfig path check
 * on a FIFO made by mkfifo. The merge itself is test/unit/kubeconfig-file.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeKubeconfig } from '../../src/pki/kubeconfig-file.js';
import { EXISTING, entries } from '../helpers/kubeconfig.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubeaz-kc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('mergeKubeconfig', () => {
  it.runIf(kubectl)('kubectl config get-contexts reads the merged file: every context, ours current', () => {
    const file = path.join(dir, 'config');
    writeFileSync(file, mergeKubeconfig(EXISTING, entries, { setCurrent: true }));
    const out = execFileSync('kubectl', ['config', 'get-contexts'], { env: { ...process.env, KUBECONFIG: file } }).toString();
    const rows = out
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    // kubectl lists by name
    expect(rows).toEqual([
      ['*', 'demo-dev', 'demo-dev', 'demo-dev-admin'],
      ['kind-local', 'kind-local', 'kind-local'],
      ['prod', 'prod', 'prod-oidc', 'payments'],
    ]);
  });
});

describe('checkKubeconfigPath: only a regular file (or a link to one) is read or replaced (issue 23 #10)', () => {
  it('refuses a FIFO, a directory, a socket, a device and a dangling symlink with a UsageError, at once; a missing path or a link to a file is fine', async () => {
    const { checkKubeconfigPath } = await import('../../src/operations/kubeconfig.js');
    const { symlinkSync, mkdirSync } = await import('node:fs');
    const { createServer } = await import('node:net');
    const d = path.join(dir, 'odd');
    mkdirSync(d);
    execFileSync('mkfifo', [path.join(d, 'fifo')]);
    const sock = createServer();
    await new Promise<void>((r) => sock.listen(path.join(d, 'sock'), () => r()));
    symlinkSync(path.join(d, 'nowhere'), path.join(d, 'dangling'));
    writeFileSync(path.join(d, 'file'), '');
    symlinkSync(path.join(d, 'file'), path.join(d, 'link'));
    symlinkSync(path.join(d, 'fifo'), path.join(d, 'link-to-fifo'));
    try {
      for (const [name, message] of [
        ['fifo', /is a FIFO \(named pipe\), not a regular file/],
        ['link-to-fifo', /\(through its symlink\) is a FIFO/],
        ['sock', /is a socket/],
        ['dangling', /is a symlink to .*nowhere, which does not exist: refusing to replace the link/],
      ] as const) {
        await expect(checkKubeconfigPath(path.join(d, name)), name).rejects.toMatchObject({
          name: 'UsageError',
          exitCode: 2,
          message: expect.stringMatching(message),
        });
      }
      await expect(checkKubeconfigPath(d)).rejects.toMatchObject({ name: 'UsageError', message: expect.stringMatching(/is a directory/) });
      await expect(checkKubeconfigPath('/dev/null')).rejects.toMatchObject({
        name: 'UsageError',
        message: expect.stringMatching(/is a device/),
      });
      for (const ok of ['file', 'link', 'missing']) await expect(checkKubeconfigPath(path.join(d, ok)), ok).resolves.toBeUndefined();
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
  });
});
