/**
 * The CLI's one boundary to the programs it hands the terminal to (the node agent has its own,
 * agent/programs.ts, which captures output): `kubeaz ssh` runs `aws ssm start-session`, which runs
 * `session-manager-plugin`. Names are found on PATH, as a shell would; tests put stand-ins there
 * (test/e2e/ssh.test.ts) or pass another ExternalPrograms.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export interface ExternalPrograms {
  /** the file `cmd` runs from PATH (an executable regular file), or undefined when PATH has none */
  which(cmd: string): string | undefined;
  /**
   * Runs `cmd` with this process's stdin, stdout and stderr (a terminal session) and resolves to its
   * exit code (128+n after signal n). Ctrl-C belongs to the program while it runs: this process
   * ignores SIGINT until it ends.
   */
  interactive(cmd: string, args: readonly string[]): Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export function systemPrograms(env: NodeJS.ProcessEnv = process.env): ExternalPrograms {
  return {
    which(cmd) {
      for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
        const file = path.join(dir, cmd);
        try {
          if (!statSync(file).isFile()) continue;
          accessSync(file, constants.X_OK);
          return file;
        } catch {
          // not there, or not executable: the next directory
        }
      }
      return undefined;
    },
    interactive(cmd, args) {
      return new Promise((resolve, reject) => {
        const ignore = () => {};
        process.on('SIGINT', ignore);
        const child = spawn(cmd, [...args], { env, stdio: 'inherit' });
        const done = () => process.off('SIGINT', ignore);
        child.on('error', (e) => {
          done();
          reject(e);
        });
        child.on('close', (code, signal) => {
          done();
          resolve(code ?? (signal ? 128 + (SIGNALS[signal] ?? 15) : 1));
        });
      });
    },
  };
}
