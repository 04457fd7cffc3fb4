/**
 * `npm run demo`: the whole life of a cluster against a local AWS emulator, no AWS account needed.
 * Starts moto_server on a free loopback port, runs create → status → destroy on
 * cluster.example.yaml (a copy in a temporary folder) through the real CLI, then stops moto.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { motoEnv, startMoto } from './moto.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function kubeaz(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    process.stderr.write(`\n$ kubeaz ${args.join(' ')}\n`);
    const child = spawn(process.execPath, [path.join(root, 'bin', 'kubeaz'), ...args], { stdio: 'inherit', env });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  process.stderr.write('starting moto_server (a local AWS emulator) on 127.0.0.1 …\n');
  const moto = await startMoto();
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-demo-'));
  const spec = path.join(dir, 'cluster.yaml');
  await copyFile(path.join(root, 'cluster.example.yaml'), spec);
  const env: NodeJS.ProcessEnv = { ...process.env, ...motoEnv(moto.url), KUBEAZ_POLL_SECONDS: process.env.KUBEAZ_POLL_SECONDS ?? '0.5' };
  delete env.AWS_PROFILE;
  let failed = false;
  try {
    process.stderr.write(`moto is listening on ${moto.url}; the spec is ${spec}\n`);
    for (const step of [
      ['create', '-f', spec, '--yes'],
      ['create', '-f', spec, '--yes'],
      ['status', '-f', spec],
      ['destroy', '-f', spec, '--yes'],
    ]) {
      const code = await kubeaz(step, env);
      if (code !== 0) {
        process.stderr.write(`kubeaz ${step[0]} exited ${code}\n`);
        failed = true;
        if (step[0] !== 'status') break;
      }
    }
  } finally {
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
  process.stderr.write(failed ? '\ndemo FAILED\n' : '\ndemo done: created, re-created with no change, checked, destroyed, nothing left.\n');
  process.exitCode = failed ? 1 : 0;
}

await main();
