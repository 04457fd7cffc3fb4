// One contender of the local-lock race (test/integration/local-lock-race.test.ts): a real process
// that imports the built LocalState, waits at the parent's barrier ('go'), calls lock() once and
// reports what happened with a wall-clock time (ms, sub-ms precision); a holder keeps the lock
// until the parent says 'release' (after every contender has reported), then unlocks.
import { performance } from 'node:perf_hooks';

const [, , distDir, specFile, clusterId] = process.argv;
const { LocalState, LockHeldError } = await import(`${distDir}/state/local.js`);
const now = () => performance.timeOrigin + performance.now();
const state = new LocalState(specFile, clusterId);

process.on('message', async (msg) => {
  if (msg === 'go') {
    try {
      await state.lock('race');
      process.send({ outcome: 'held', at: now() });
    } catch (e) {
      process.send({ outcome: e instanceof LockHeldError ? 'refused' : 'error', at: now(), error: String(e?.message ?? e) });
      process.disconnect();
    }
  } else if (msg === 'release') {
    await state.unlock();
    const at = now();
    process.send({ outcome: 'released', at }, () => process.disconnect());
  }
});
process.send({ outcome: 'ready', at: now() });
