/** How the CLI reports errors (issue 9 #12): domain errors say what to do, without the --debug hint. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { report } from '../../src/cli/main.js';
import { KubeazError } from '../../src/aws/errors.js';
import { LockHeldError } from '../../src/state/local.js';

let out = '';
afterEach(() => {
  vi.restoreAllMocks();
  out = '';
});
const capture = () => vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));

describe('error report', () => {
  it('a held lock, missing PKI, a missing backup: one line, exit 1, no "(run with --debug …)"', async () => {
    capture();
    for (const e of [
      new LockHeldError('/x/.kubeaz/demo-dev.lock', { pid: 7, host: 'h', command: 'create', startedAt: 't' }),
      new KubeazError('s3://b/pki/ca.crt does not exist: run kubeaz create first', 'NoPki', 'pki'),
      new KubeazError('the bucket b of demo-dev does not exist: run kubeaz create first', 'NoSuchBucket', 'bucket'),
    ]) {
      out = '';
      expect(await report(e, false, 'create')).toBe(1);
      expect(out.trimEnd().split('\n')).toHaveLength(1);
      expect(out).toMatch(/^error: /);
      expect(out).not.toMatch(/--debug|Error: /);
    }
  });
  it('an unexpected error keeps the hint, and reads without "Error: "', async () => {
    capture();
    expect(await report(new Error('boom'), false, 'create')).toBe(1);
    expect(out).toBe('error: boom\n(run with --debug for the stack trace)\n');
  });
});
