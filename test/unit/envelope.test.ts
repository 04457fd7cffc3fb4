/**
 * The one JSON envelope (src/operations/envelope.ts, issue 21): the same top-level shape for every
 * command, `ok` exactly when the exit code is 0 and then no `error`, a false `ok` always with an
 * error, the command's fields beside the envelope's and never over them, and the calls by action.
 */
import { describe, expect, it } from 'vitest';
import { CallCounter } from '../../src/aws/clients.js';
import { callsOf, envelope, errorCodeOf } from '../../src/operations/envelope.js';
import { SpecError } from '../../src/spec/load.js';
import { KubeazFailure, UsageError } from '../../src/errors.js';
import { KubeazError } from '../../src/aws/errors.js';
import { LockHeldError } from '../../src/state/local.js';

describe('the JSON envelope', () => {
  it('counts calls in total, mutating, and by service:Action', () => {
    const c = new CallCounter();
    c.record('ec2', 'DescribeVpcs');
    c.record('ec2', 'DescribeVpcs');
    c.record('ec2', 'CreateVpc');
    c.record('s3', 'PutObject');
    expect(callsOf(c)).toEqual({ total: 4, mutating: 2, byAction: { 'ec2:DescribeVpcs': 2, 'ec2:CreateVpc': 1, 's3:PutObject': 1 } });
    expect(callsOf()).toEqual({ total: 0, mutating: 0, byAction: {} });
  });

  const cases: Array<{ name: string; exitCode: number; error?: { code: string; message: string }; ok: boolean; code?: string }> = [
    { name: 'exit 0: ok, no error', exitCode: 0, ok: true },
    { name: 'exit 0 ignores an error given', exitCode: 0, error: { code: 'x', message: 'y' }, ok: true },
    { name: 'exit 1 with its error', exitCode: 1, error: { code: 'lock-held', message: 'held' }, ok: false, code: 'lock-held' },
    { name: 'exit 1 without: failed', exitCode: 1, ok: false, code: 'failed' },
    { name: 'exit 2 without: usage', exitCode: 2, ok: false, code: 'usage' },
    { name: 'exit 3 (status) without: not-ready', exitCode: 3, ok: false, code: 'not-ready' },
    { name: 'exit 4 (plan --detailed-exitcode): changes', exitCode: 4, ok: false, code: 'changes' },
    { name: 'exit 130: interrupted', exitCode: 130, ok: false, code: 'interrupted' },
    { name: 'an unknown exit: failed, naming it', exitCode: 7, ok: false, code: 'failed' },
  ];
  for (const c of cases)
    it(c.name, () => {
      const e = envelope({ command: 'plan', cluster: 'demo-dev', exitCode: c.exitCode, ...(c.error ? { error: c.error } : {}) }, {});
      expect(e.ok).toBe(c.ok);
      expect(e.ok).toBe(c.exitCode === 0);
      if (c.ok) expect(e).not.toHaveProperty('error');
      else {
        expect(e.error!.code).toBe(c.code);
        expect(e.error!.message).not.toBe('');
      }
    });

  it('the same top-level keys first for every command; its own fields follow and never replace them', () => {
    const c = new CallCounter();
    c.record('sts', 'GetCallerIdentity');
    const e = envelope(
      { command: 'status', cluster: 'demo-dev', counter: c, exitCode: 3, error: { code: 'not-ready', message: '2 missing' } },
      { cluster: 'other', ok: true, calls: 99, command: 'x', error: 'no', resources: [{ key: 'vpc' }], found: true },
    );
    expect(Object.keys(e)).toEqual(['command', 'cluster', 'ok', 'calls', 'error', 'resources', 'found']);
    expect(e).toMatchObject({
      command: 'status',
      cluster: 'demo-dev',
      ok: false,
      calls: { total: 1, mutating: 0, byAction: { 'sts:GetCallerIdentity': 1 } },
      error: { code: 'not-ready', message: '2 missing' },
      resources: [{ key: 'vpc' }],
    });
    expect(Object.keys(envelope({ command: 'version', cluster: null, exitCode: 0 }, { version: '0.1.0' }))).toEqual([
      'command',
      'cluster',
      'ok',
      'calls',
      'version',
    ]);
  });

  it('names thrown errors by what they are', () => {
    expect(errorCodeOf(new SpecError('c.yaml', [{ path: 'spec', message: 'bad' }]))).toBe('invalid-spec');
    expect(errorCodeOf(new UsageError('--x'))).toBe('usage');
    expect(errorCodeOf(new LockHeldError('/l', { pid: 1, host: 'h', command: 'create', startedAt: 't' }))).toBe('lock-held');
    expect(errorCodeOf(new KubeazError('no pki', 'NoPki', 'pki'))).toBe('NoPki');
    expect(errorCodeOf(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))).toBe(
      'AccessDenied',
    );
    expect(errorCodeOf(new KubeazFailure('refused', 'user'))).toBe('failed');
    expect(errorCodeOf(new Error('boom'))).toBe('internal');
    expect(errorCodeOf('a string')).toBe('internal');
  });
});
