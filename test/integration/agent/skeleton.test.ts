/**
 * The agent's program boundary (src/agent/programs.ts RealPrograms) against real programs: a stub
 * kubeadm on PATH, sleep, and a program that does not exist. The rest of the agent's skeleton is
 * test/unit/agent/skeleton.test.ts.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProgramError, RealPrograms, runChecked } from '../../../src/agent/programs.js';

describe('the program boundary', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-bin-'));
  const stub = path.join(dir, 'kubeadm');
  writeFileSync(
    stub,
    '#!/bin/sh\nfor i in $(seq 1 60); do echo "line $i"; done\necho "err: $1" >&2\n[ "$1" = ok ] && exit 0\nread -r x; echo "stdin: $x"\nexit 3\n',
  );
  chmodSync(stub, 0o755);
  const programs = new RealPrograms({ env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });

  it('runs a program found on PATH, with its output and a 40-line tail of both streams', async () => {
    const r = await programs.run('kubeadm', ['ok']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(61);
    expect(r.tail.split('\n')).toHaveLength(40);
    expect(r.tail.endsWith('err: ok')).toBe(true);
  });

  it('returns a failure as a result; runChecked throws a ProgramError carrying the tail', async () => {
    const r = await programs.run('kubeadm', ['bad'], { input: 'hello\n' });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('stdin: hello');
    const e = await runChecked(programs, 'kubeadm', ['bad']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProgramError);
    expect((e as ProgramError).message).toBe('kubeadm bad exited 3');
    expect((e as ProgramError).output).toContain('err: bad');
  });

  it('kills a program past its timeout (exit 124) and rejects a program that does not exist', async () => {
    const r = await programs.run('sleep', ['10'], { timeoutMs: 200 });
    expect(r).toMatchObject({ code: 124, timedOut: true });
    await expect(programs.run('no-such-program-kubeaz', [])).rejects.toThrow(/cannot run no-such-program-kubeaz/);
  });
});
