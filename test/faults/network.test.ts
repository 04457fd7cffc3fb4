/**
 * A hostile network between kubeaz and AWS, end to end through the real CLI on the example spec,
 * every call through the fault proxy:
 *   4. the state file deleted after create → create makes zero mutating calls (counted at the
 *      proxy), destroy without a state file removes everything;
 *   2. lost responses on 10% of mutating calls (applied by moto, answer dropped) during create →
 *      no duplicates: the same counts per kind as a clean create. moto ignores ClientToken and
 *      CallerReference, so what protects here is the engine's look-before-retry;
 *   3. throttling on 20% and 500s on 5% of every call → create, status and destroy all succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { addedCounts, report, startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';

describe('a hostile network', () => {
  let w: FaultWorld;
  let baseline: Inventory;
  let clean: Record<string, number>;
  const run = (cmd: string, extra: string[] = []) => kubeaz([cmd, '-f', w.file, ...(cmd === 'status' ? [] : ['--yes']), ...extra], w.env);

  beforeAll(async () => {
    w = await startFaultWorld();
    baseline = await w.reset();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('state file deleted after create: create adopts with zero mutating calls; destroy without it removes everything', async () => {
    const r = await run('create');
    expect(r.code, r.stderr).toBe(0);
    clean = addedCounts(await inventory(), baseline);
    const cleanCalls = w.proxy.counts();
    await rm(path.join(w.dir, '.kubeaz'), { recursive: true, force: true });
    w.proxy.resetCounts();
    const again = await run('create');
    expect(again.code, again.stderr).toBe(0);
    const adopt = w.proxy.counts();
    expect(adopt.mutatingCalls).toEqual({});
    expect(addedCounts(await inventory(), baseline)).toEqual(clean);
    await rm(path.join(w.dir, '.kubeaz'), { recursive: true, force: true });
    w.proxy.resetCounts();
    const d = await run('destroy');
    expect(d.code, d.stderr).toBe(0);
    expect(await inventory()).toEqual(baseline);
    expect(existsSync(path.join(w.dir, '.kubeaz', 'demo-dev.json'))).toBe(false);
    report('state file deleted', {
      cleanCreate: { calls: cleanCalls.total, mutating: cleanCalls.mutating },
      createWithoutState: { calls: adopt.total, mutating: adopt.mutating },
      destroyWithoutState: { calls: w.proxy.counts().total, mutating: w.proxy.counts().mutating },
      left: 'inventory equals the one before create',
      clean,
    });
  });

  // Seeds that, in exploration, lost the answers of CreateRouteTable and then CreateRoute,
  // AddRoleToInstanceProfile, ReplaceNetworkAclAssociation, CreateNetworkAclEntry, CreateVpc …
  // (which calls are hit also depends on the order concurrent calls reach the proxy).
  for (const seed of [6, 8, 424242]) {
    it(`lost responses on 10% of mutating calls during create (seed ${seed}): no duplicates`, async () => {
      baseline = await w.reset();
      w.proxy.configure({ seed, lostMutating: 0.1 });
      const r = await run('create');
      const injected = w.proxy.counts();
      w.proxy.quiet();
      expect(injected.injected.lost).toBeGreaterThanOrEqual(5);
      expect(r.code, r.stderr).toBe(0);
      const after = addedCounts(await inventory(), baseline);
      expect(after).toEqual(clean);
      w.proxy.resetCounts();
      const again = await run('create');
      expect(again.code, again.stderr).toBe(0);
      expect(w.proxy.counts().mutatingCalls).toEqual({});
      report(`lost responses 10% (seed ${seed})`, {
        calls: injected.total,
        mutating: injected.mutating,
        lost: injected.injected.lost,
        lostCalls: Object.fromEntries(
          Object.entries(injected.faults)
            .filter(([k]) => k.startsWith('lost '))
            .map(([k, v]) => [k.slice(5), v]),
        ),
        lookedBeforeRetry: (r.stderr.match(/looking for it before trying again/g) ?? []).length,
        after,
        equalsClean: true,
      });
    });
  }

  it('throttling on 20% and 500s on 5% of every call: create, status and destroy succeed', async () => {
    baseline = await w.reset();
    w.proxy.configure({ seed: 777, throttle: 0.2, error500: 0.05 });
    const c = await run('create');
    const createCounts = w.proxy.counts();
    expect(c.code, c.stderr).toBe(0);
    expect(addedCounts(await inventory(), baseline)).toEqual(clean);
    w.proxy.resetCounts();
    const s = await run('status');
    const statusCounts = w.proxy.counts();
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout).toMatch(/healthy: \d+\/\d+ resources present/);
    w.proxy.resetCounts();
    const d = await run('destroy');
    const destroyCounts = w.proxy.counts();
    expect(d.code, d.stderr).toBe(0);
    expect(await inventory()).toEqual(baseline);
    const brief = (x: typeof createCounts) => ({ calls: x.total, throttled: x.injected.throttle, error500: x.injected.error500 });
    report('throttling 20% + 500s 5%', {
      create: brief(createCounts),
      status: brief(statusCounts),
      destroy: brief(destroyCounts),
      afterCreate: 'equals clean',
      afterDestroy: 'inventory equals the one before create',
    });
    expect(createCounts.injected.throttle + createCounts.injected.error500).toBeGreaterThan(20);
  });
  it('an HA control plane (3 masters, one per zone) under lost responses (seed 6): no duplicates, a re-run changes nothing, destroy leaves nothing', async () => {
    const example = await readFile(w.file, 'utf8');
    expect(example).toContain('    volumeSize: 50\n');
    await writeFile(w.file, example.replace('    volumeSize: 50\n', '    volumeSize: 50\n    count: 3\n'));
    try {
      baseline = await w.reset();
      w.proxy.configure({ seed: 6, lostMutating: 0.1 });
      const r = await run('create');
      const injected = w.proxy.counts();
      w.proxy.quiet();
      expect(injected.injected.lost).toBeGreaterThanOrEqual(5);
      expect(r.code, r.stderr).toBe(0);
      const after = addedCounts(await inventory(), baseline);
      // the single master's cluster plus two master groups and their launch templates, and nothing twice
      expect(after).toEqual({
        ...clean,
        autoScalingGroups: clean.autoScalingGroups! + 2,
        launchTemplates: clean.launchTemplates! + 2,
        instances: clean.instances! + 2,
      });
      w.proxy.resetCounts();
      const again = await run('create');
      expect(again.code, again.stderr).toBe(0);
      expect(w.proxy.counts().mutatingCalls).toEqual({});
      const d = await run('destroy');
      expect(d.code, d.stderr).toBe(0);
      expect(await inventory()).toEqual(baseline);
      report('HA control plane, lost responses 10% (seed 6)', {
        calls: injected.total,
        mutating: injected.mutating,
        lost: injected.injected.lost,
        after,
        equalsClean: 'plus two master groups',
      });
    } finally {
      await writeFile(w.file, example);
    }
  });
});
