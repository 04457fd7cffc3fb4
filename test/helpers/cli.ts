/** Runs the real CLI (bin/kubeaz → dist) as a child process, as a user would. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'kubeaz');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

export function kubeaz(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { timeoutMs?: number; onSpawn?: (pid: number) => void; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const fullEnv: NodeJS.ProcessEnv = {
      ...process.env,
      KUBEAZ_POLL_SECONDS: '0.2',
      KUBEAZ_PROPAGATION_SECONDS: '2',
      KUBEAZ_DEPENDENCY_SECONDS: '60',
      ...env,
    };
    for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
    const child = spawn(process.execPath, [BIN, ...args], {
      env: fullEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 170_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : 1),
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\n--- stderr:\n${stderr}`);
          }
        },
      });
    });
  });
}
