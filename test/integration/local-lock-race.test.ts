/**
 * The local lock under a real race (issue 23, item 2): a stale lock of a dead process is planted,
 * then N real node processes, released together by a barrier, each call LocalState.lock() once.
 * A stale lock may be taken over by exactly one of them; the others must refuse as for a live lock.
 * Every round asserts exactly one holder and no two holders at any time (each holder keeps the lock
 * until every contender has reported, so two holders in a round always overlap).
 * Runs the built module (dist/), like the CLI tests: `npm run build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';

const ROUNDS = Number(process.env.KUBEAZ_RACE_ROUNDS ?? 30);
const CONTENDERS = 6;
const RACER = path.join(ROOT, 'test', 'integration', 'lock-racer.mjs');
const DIST = path.join(ROOT, 'dist');

interface Report {
  outcome: 'ready' | 'held' | 'refused' | 'error' | 'released';
  at: number;
  error?: string;
}

/** A pid that is certainly not running: a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  if (!r.pid) throw new Error('could not start a process to get a dead pid');
  return r.pid;
}

async function round(
  dir: string,
  n: number,
): Promise<{ holders: { held: number; released: number }[]; refused: number; errors: string[] }> {
  const spec = path.join(dir, `r${n}`, 'cluster.yaml');
  const clusterId = 'race-t';
  const kubeaz = path.join(dir, `r${n}`, '.kubeaz');
  await mkdir(kubeaz, { recursive: true });
  await writeFile(
    path.join(kubeaz, `${clusterId}.lock`),
    JSON.stringify({ pid: deadPid(), host: hostname(), command: 'create', startedAt: new Date(Date.now() - 60_000).toISOString() }),
  );
  const children: ChildProcess[] = [];
  const reports: Report[][] = [];
  const waitFor = (pred: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const tick = () =>
        pred() ? resolve() : Date.now() - t0 > 60_000 ? reject(new Error('contenders did not report in 60 s')) : setTimeout(tick, 5);
      tick();
    });
  const exited: Promise<void>[] = [];
  for (let i = 0; i < CONTENDERS; i++) {
    const c = fork(RACER, [DIST, spec, clusterId], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    reports[i] = [];
    c.on('message', (m: Report) => reports[i]!.push(m));
    exited.push(new Promise((resolve) => c.on('exit', () => resolve())));
    children.push(c);
  }
  try {
    await waitFor(() => reports.every((r) => r.some((m) => m.outcome === 'ready')));
    for (const c of children) c.send('go'); // the barrier: all are loaded and waiting
    await waitFor(() => reports.every((r) => r.some((m) => m.outcome !== 'ready')));
    for (let i = 0; i < CONTENDERS; i++) if (reports[i]!.some((m) => m.outcome === 'held')) children[i]!.send('release');
    await Promise.all(exited);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
  const holders = reports
    .filter((r) => r.some((m) => m.outcome === 'held'))
    .map((r) => ({ held: r.find((m) => m.outcome === 'held')!.at, released: r.find((m) => m.outcome === 'released')?.at ?? Infinity }));
  return {
    holders,
    refused: reports.filter((r) => r.some((m) => m.outcome === 'refused')).length,
    errors: reports.flatMap((r) => r.filter((m) => m.outcome === 'error').map((m) => m.error ?? '?')),
  };
}

describe('local lock: a stale lock taken over by exactly one of many racing processes', () => {
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(path.join(DIST, 'state', 'local.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-lockrace-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    `${ROUNDS} rounds × ${CONTENDERS} processes: one holder per round, never two at once, the rest refused`,
    { timeout: 600_000 },
    async () => {
      const bad: string[] = [];
      for (let n = 0; n < ROUNDS; n++) {
        const r = await round(dir, n);
        const sorted = [...r.holders].sort((a, b) => a.held - b.held);
        const overlaps = sorted.filter((h, i) => i > 0 && h.held < sorted[i - 1]!.released).length;
        if (r.holders.length !== 1 || overlaps > 0 || r.errors.length > 0 || r.refused !== CONTENDERS - 1)
          bad.push(
            `round ${n}: ${r.holders.length} holders (${overlaps} overlapping), ${r.refused} refused, errors: ${r.errors.join('; ') || 'none'}`,
          );
        // the holder released the lock and nothing of the race is left behind but the lock dir itself
        const left = await readdir(path.join(dir, `r${n}`, '.kubeaz'));
        if (left.length > 0) bad.push(`round ${n}: left behind ${left.join(', ')}`);
      }
      console.log(
        `local lock race: ${ROUNDS} rounds × ${CONTENDERS} processes, ${bad.length} bad rounds${bad.length ? `:\n  ${bad.join('\n  ')}` : ''}`,
      );
      expect(bad).toEqual([]);
    },
  );
});
