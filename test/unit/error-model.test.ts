/**
 * One error model (issue 11): every failure reported on purpose is a KubeazFailure with an exit code
 * and a source, and cli/main.ts maps it by class — a usage error raised deep down still exits 2.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { report } from '../../src/cli/main.js';
import { KubeazError } from '../../src/aws/errors.js';
import { GraphError } from '../../src/engine/graph.js';
import { KubeazFailure, UsageError } from '../../src/errors.js';
import { snapshotToFile } from '../../src/etcd/client.js';
import { SpecError } from '../../src/spec/load.js';
import { LockHeldError } from '../../src/state/local.js';

let out = '';
afterEach(() => {
  vi.restoreAllMocks();
  out = '';
});
const capture = () => vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));

describe('the error model', () => {
  it('--cert without --key is a usage error: exit 2 with the pointer to --help, not "error: Error: …" and exit 1', async () => {
    const cert = join(tmpdir(), `kubeaz-cert-${process.pid}.pem`);
    writeFileSync(cert, 'not really a certificate');
    const e = await snapshotToFile('https://127.0.0.1:1', join(tmpdir(), 'never.db'), { cert }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    capture();
    expect(await report(e, false, 'backup-etcd')).toBe(2);
    expect(out).toBe("error: --cert and --key go together; see 'kubeaz backup-etcd --help'\n");
  });

  it('every domain error is a KubeazFailure with its source and exit code', () => {
    const cases: Array<[KubeazFailure, string, number]> = [
      [new UsageError('x'), 'user', 2],
      [new SpecError('c.yaml', [{ path: 'spec', message: 'bad' }]), 'user', 2],
      [new LockHeldError('/l', { pid: 1, host: 'h', command: 'create', startedAt: 't' }), 'user', 1],
      [new KubeazError('reading vpc resources: AccessDenied', 'AccessDenied', 'vpc'), 'aws', 1],
      [
        new KubeazError('IAM role r already exists outside /kubeaz/: not ours, refusing to adopt it', 'RefusedAdopt', 'r', {
          source: 'user',
        }),
        'user',
        1,
      ],
      [new GraphError('dependency cycle: a → b → a'), 'internal', 1],
    ];
    for (const [e, source, code] of cases) {
      expect(e, e.name).toBeInstanceOf(KubeazFailure);
      expect([e.source, e.exitCode], e.name).toEqual([source, code]);
    }
  });

  it('main maps by class, not by name: an Error merely named UsageError is not a usage error', async () => {
    capture();
    const impostor = Object.assign(new Error('boom'), { name: 'UsageError' });
    expect(await report(impostor, false, 'create')).toBe(1);
    expect(out).toContain('(run with --debug for the stack trace)');
    out = '';
    expect(await report(new SpecError('c.yaml', [{ path: 'spec.zones', line: 3, message: 'bad zone' }]), false, 'create')).toBe(2);
    expect(out).toBe('c.yaml: 1 problem\n  spec.zones (line 3): bad zone\n');
  });
});
