/**
 * Every exit path releases the lock and leaves the state consistent (issue 9 #11): SIGTERM / SIGINT
 * delivered at parse, at pre-flight, mid-apply and post-apply, through the real CLI and the fault
 * proxy; after each, no lock is left, the state file (when any) is whole JSON of this cluster, and
 * a plain create converges. kill -9 (no handler can run) is crash.test.ts: the next run
 * takes the dead lock over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kubeaz } from '../helpers/cli.js';
import { report, runInterrupted, startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';

const ID = 'demo-dev';

describe('signals at every stage', () => {
  let w: FaultWorld;
  const lockFile = () => path.join(w.dir, '.kubeaz', `${ID}.lock`);
  const stateFile = () => path.join(w.dir, '.kubeaz', `${ID}.json`);
  const args = () => ['create', '-f', w.file, '--yes'];

  const consistent = async () => {
    expect(existsSync(lockFile()), 'lock released').toBe(false);
    if (existsSync(stateFile())) {
      const doc = JSON.parse(await readFile(stateFile(), 'utf8'));
      expect(doc).toMatchObject({ version: 1, clusterId: ID });
    }
  };

  beforeAll(async () => {
    w = await startFaultWorld();
    await w.reset();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('at parse (SIGTERM as the process starts): nothing called, locked or written', async () => {
    w.proxy.resetCounts();
    const r = await runInterrupted(w, args(), { signal: 'SIGTERM', afterMs: 0 });
    expect(r.code).not.toBe(0);
    expect(w.proxy.counts().total).toBe(0);
    expect(existsSync(path.join(w.dir, '.kubeaz'))).toBe(false);
  });

  it('at pre-flight (SIGTERM on its first read): exit 130, no mutating call, lock released', async () => {
    w.proxy.resetCounts();
    const r = await runInterrupted(w, args(), { signal: 'SIGTERM', atCall: 'ec2:DescribeAvailabilityZones' });
    expect(r.signalledAt, 'the signal went out at pre-flight').toBe(0);
    expect(r.code, r.stderr).toBe(130);
    expect(w.proxy.counts().mutating).toBe(0);
    await consistent();
    report('SIGTERM at pre-flight', { exit: r.code, mutating: w.proxy.counts().mutating });
  });

  it('mid-apply (SIGTERM): exit 130, state written, lock released', async () => {
    const r = await runInterrupted(w, args(), { signal: 'SIGTERM', afterMutating: 15 });
    expect(r.code, r.stderr).toBe(130);
    await consistent();
    expect(JSON.parse(await readFile(stateFile(), 'utf8')).phase).toBe('creating');
  });

  it('post-apply (SIGINT at the last mutating call): lock released, state consistent; the next create converges', async () => {
    await w.reset();
    w.proxy.resetCounts();
    const full = await kubeaz(args(), w.env);
    expect(full.code, full.stderr).toBe(0);
    const total = w.proxy.counts().mutating;
    await w.reset();
    const cut = await runInterrupted(w, args(), { signal: 'SIGINT', afterMutating: total });
    expect(cut.signalledAt).toBe(total);
    expect([0, 130], cut.stderr).toContain(cut.code);
    await consistent();
    w.proxy.resetCounts();
    const again = await kubeaz(args(), w.env);
    expect(again.code, again.stderr).toBe(0);
    await consistent();
    report('SIGINT post-apply', { signalledAt: cut.signalledAt, exit: cut.code, rerunMutating: w.proxy.counts().mutating });
  });
});
