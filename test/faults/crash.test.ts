/**
 * Crashes and interruptions, end to end through the real CLI on the example spec (3 zones,
 * per-zone NAT, a loadbalancer group), with every call going through the fault proxy:
 *   1. kill -9 mid-create at seeded random moments, then a plain create → the same counts per kind
 *      as a clean create (exactly one of everything), and a further create changes nothing;
 *   6. SIGINT mid-create → exit 130, a line telling to re-run, state written, lock released; the
 *      re-run converges;
 *   7. two concurrent creates → the second is refused at once, naming the holder's pid; a lock
 *      left by a killed process is taken over (checked after every kill -9 of scenario 1);
 *   8. destroy killed mid-way, then destroy again → nothing left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { addedCounts, prng, report, runInterrupted, startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';

const ID = 'demo-dev';
const SEED = 20240917;

describe('crashes and interruptions', () => {
  let w: FaultWorld;
  let baseline: Inventory;
  let clean: Record<string, number>;
  let cleanMutating = 0;
  const stateFile = () => path.join(w.dir, '.kubeaz', `${ID}.json`);
  const lockFile = () => path.join(w.dir, '.kubeaz', `${ID}.lock`);
  const create = (extra: string[] = []) => kubeaz(['create', '-f', w.file, '--yes', ...extra], w.env);

  beforeAll(async () => {
    w = await startFaultWorld();
    baseline = await w.reset();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('a clean create: the reference counts', async () => {
    const r = await create(['--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    clean = addedCounts(await inventory(), baseline);
    cleanMutating = w.proxy.counts().mutating;
    // the proxy tells reads from writes as the CLI's own counter does
    const own = r.json<{ calls: { total: number; mutating: number } }>().calls;
    expect(w.proxy.counts().total).toBe(own.total);
    expect(cleanMutating).toBe(own.mutating);
    // exactly one of everything the example spec asks for
    expect(clean).toMatchObject({
      vpcs: 1,
      subnets: 6,
      internetGateways: 1,
      natGateways: 3,
      elasticIps: 5,
      autoScalingGroups: 3,
      loadBalancers: 2,
      launchTemplates: 3,
      instances: 6,
      roles: 3,
      instanceProfiles: 3,
      users: 1,
      hostedZones: 1, // the private zone: the example names no publicDomain
      buckets: 1,
    });
    report('clean create', { calls: w.proxy.counts().total, mutating: cleanMutating, counts: clean });
  });

  it('kill -9 at seeded random moments, then a plain create: exactly one of everything', async () => {
    const rand = prng(SEED);
    // one seeded moment in each third of the run: early (before the VPC), middle, late (ASGs)
    const third = Math.floor((cleanMutating - 2) / 3);
    const moments = [0, 1, 2].map((i) => 1 + i * third + Math.floor(rand() * third));
    for (const n of moments) {
      baseline = await w.reset();
      const killed = await runInterrupted(w, ['create', '-f', w.file, '--yes'], { signal: 'SIGKILL', afterMutating: n });
      expect(killed.code, `kill at ${n}: ${killed.stderr}`).toBe(137);
      const partial = addedCounts(await inventory(), baseline);
      // the dead run's lock is still there, naming a pid that is gone: the next run takes it over
      expect(existsSync(lockFile())).toBe(true);
      expect(JSON.parse(await readFile(lockFile(), 'utf8')).pid).toBe(killed.pid);
      w.proxy.resetCounts();
      const r = await create();
      expect(r.code, r.stderr).toBe(0);
      const resumeMutating = w.proxy.counts().mutating;
      const after = addedCounts(await inventory(), baseline);
      expect(after, `after kill at mutating call ${n}`).toEqual(clean);
      expect(existsSync(lockFile())).toBe(false);
      // converged: one more create changes nothing
      w.proxy.resetCounts();
      const again = await create();
      expect(again.code, again.stderr).toBe(0);
      expect(w.proxy.counts().mutatingCalls, again.stderr).toEqual({});
      report(`kill -9 at mutating call ${n}`, {
        killedAfterMutating: killed.signalledAt,
        partial,
        resumeMutating,
        after,
        equalsClean: true,
        thirdCreateMutating: 0,
      });
    }
  });

  it('SIGINT mid-create: exit 130, re-run advice, state written, lock released; the re-run converges', async () => {
    baseline = await w.reset();
    const r = await runInterrupted(w, ['create', '-f', w.file, '--yes'], {
      signal: 'SIGINT',
      afterMutating: Math.floor(cleanMutating / 2),
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stderr).toMatch(/run the same create again to finish/);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    expect(existsSync(lockFile())).toBe(false);
    const state = JSON.parse(await readFile(stateFile(), 'utf8'));
    expect(state.phase).toBe('creating');
    expect(state.resources.vpc?.id).toMatch(/^vpc-/);
    const partial = addedCounts(await inventory(), baseline);
    w.proxy.resetCounts();
    const again = await create();
    expect(again.code, again.stderr).toBe(0);
    const after = addedCounts(await inventory(), baseline);
    expect(after).toEqual(clean);
    report('SIGINT mid-create', {
      signalledAfterMutating: r.signalledAt,
      recordedInState: Object.keys(state.resources).length,
      partial,
      rerunMutating: w.proxy.counts().mutating,
      after,
      equalsClean: true,
    });
  });

  it('two concurrent creates: the second is refused at once, naming the holder', async () => {
    baseline = await w.reset();
    w.proxy.configure({ latencyMs: 150 }); // keep the first run busy for a while (its waits no longer overshoot: latency is what keeps it running)
    const first = kubeaz(['create', '-f', w.file, '--yes'], w.env);
    const deadline = Date.now() + 30_000;
    while (!existsSync(lockFile()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const holder = JSON.parse(await readFile(lockFile(), 'utf8')) as { pid: number };
    const started = Date.now();
    const second = await kubeaz(['create', '-f', w.file, '--yes'], w.env);
    const secondSeconds = (Date.now() - started) / 1000;
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`holds the lock.*pid ${holder.pid}`));
    expect(second.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(secondSeconds).toBeLessThan(10);
    expect(existsSync(lockFile())).toBe(true); // the refusal did not remove the holder's lock
    const r = await first;
    expect(r.code, r.stderr).toBe(0);
    w.proxy.quiet();
    expect(addedCounts(await inventory(), baseline)).toEqual(clean);
    report('two concurrent creates', { holderPid: holder.pid, secondRefusedAfterSeconds: secondSeconds, firstExit: r.code });
  });

  it('destroy killed mid-way, then destroy again: completes, nothing left', async () => {
    // the cluster of the previous test is there
    const before = w.proxy.counts();
    const killed = await runInterrupted(w, ['destroy', '-f', w.file, '--yes'], { signal: 'SIGKILL', afterMutating: 40 });
    expect(killed.code).toBe(137);
    const partial = addedCounts(await inventory(), baseline);
    expect(Object.values(partial).some((n) => n > 0)).toBe(true); // really mid-way
    const r = await kubeaz(['destroy', '-f', w.file, '--yes'], w.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing of demo-dev remains/);
    expect(await inventory()).toEqual(baseline);
    expect(existsSync(stateFile())).toBe(false);
    report('destroy killed mid-way', {
      killedAfterMutating: killed.signalledAt,
      leftAfterKill: partial,
      callsBefore: before.total,
      afterSecondDestroy: 'inventory equals the one before create',
    });
  });
});
