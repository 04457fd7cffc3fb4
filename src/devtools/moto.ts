/**
 * Starts moto_server (a real AWS API emulator) on a free loopback port and stops it again.
 * Used by the end-to-end tests, the demo and the benchmark. Never anything but 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { sleep } from '../util/async.js';

export interface Moto {
  url: string;
  port: number;
  stop(): Promise<void>;
  reset(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The launcher lives in src/devtools; this resolves to it from src/devtools and from dist/devtools. */
export const MOTO_LAUNCHER = path.resolve(here, '..', '..', 'src', 'devtools', 'moto_server.py');

/** The environment that points every AWS SDK client at a moto server, with dummy credentials. */
export function motoEnv(url: string): Record<string, string> {
  return { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
}

export async function startMoto(opts: { python?: string; quiet?: boolean } = {}): Promise<Moto> {
  const port = await freePort();
  const python = opts.python ?? process.env.KUBEAZ_PYTHON ?? 'python3';
  const child: ChildProcess = spawn(python, [MOTO_LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', opts.quiet === false ? 'inherit' : 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`moto_server exited before it answered:\n${stderr}`);
    try {
      const r = await fetch(`${url}/moto-api/`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${url} within 60s:\n${stderr}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    async stop() {
      if (exited) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
    async reset() {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
  };
}
