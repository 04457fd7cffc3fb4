/**
 * The one boundary between the agent and the programs it drives (kubeadm, kubectl, systemctl, dnf,
 * helm, modprobe, sysctl, etcdutl, …). Everything external goes through `Programs.run`: tests inject
 * a fake, boot-sim puts recording stand-ins first on PATH. A run never throws for a non-zero exit
 * (the caller decides; `check()` turns it into a ProgramError carrying the output's tail); it
 * throws only when the program could not be started at all.
 */
import { spawn } from 'node:child_process';
import { KubeazFailure } from '../errors.js';

export interface RunOptions {
  /** written to the program's stdin, then stdin is closed */
  input?: string;
  /** added to (and overriding) the boundary's environment */
  env?: Record<string, string>;
  cwd?: string;
  /** killed (SIGTERM, SIGKILL 5 s later) after this long; default: the boundary's */
  timeoutMs?: number;
}

export interface RunResult {
  /** the exit code; 124 after a timeout (as coreutils' timeout), 128+n after signal n */
  code: number;
  stdout: string;
  stderr: string;
  /** the last lines of stdout and stderr as they came, interleaved (NOT redacted) */
  tail: string;
  timedOut: boolean;
}

export interface Programs {
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** Lines of combined output a result keeps in `tail` (what a failed boot's report shows, redacted). */
export const TAIL_LINES = 40;
/** stdout/stderr kept per stream: enough for any answer we read, bounded for a runaway program. */
const MAX_CAPTURE = 8 * 1024 * 1024;

/** A program that ran and failed: its command line, exit code and the tail of its output. */
export class ProgramError extends KubeazFailure {
  override readonly name = 'ProgramError';
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${cmd} ${args.join(' ')} ${result.timedOut ? 'timed out' : `exited ${result.code}`}`, 'internal');
  }
  /** the program's last output lines (redact before showing) */
  get output(): string {
    return this.result.tail;
  }
}

/** The result when the program succeeded, a ProgramError otherwise. */
export function check(cmd: string, args: readonly string[], r: RunResult): RunResult {
  if (r.code !== 0) throw new ProgramError(cmd, args, r);
  return r;
}

/** Run and require exit 0. */
export async function runChecked(p: Programs, cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  return check(cmd, args, await p.run(cmd, args, opts));
}

/** Keeps the last `max` lines of a stream of chunks. */
export class TailBuffer {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = TAIL_LINES) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.max).join('\n');
  }
}

export interface RealProgramsOptions {
  /** the environment every program gets (PATH decides which program a name runs); default process.env */
  env?: NodeJS.ProcessEnv;
  /** default timeout of one run */
  timeoutMs?: number;
  /** each started program, for the console log (the arguments may hold secrets: never log them) */
  onStart?: (cmd: string) => void;
}

/** Programs over child_process: names resolved through the environment's PATH, output captured. */
export class RealPrograms implements Programs {
  constructor(private readonly opts: RealProgramsOptions = {}) {}

  run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const env = { ...(this.opts.env ?? process.env), ...opts.env };
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 30 * 60_000;
    this.opts.onStart?.(cmd);
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      const tail = new TailBuffer();
      const out: string[] = [];
      const err: string[] = [];
      let outLen = 0;
      let errLen = 0;
      let timedOut = false;
      let killer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        killer.unref();
      }, timeoutMs);
      timer.unref();
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        tail.push(c);
        if (outLen < MAX_CAPTURE) out.push(c);
        outLen += c.length;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        tail.push(c);
        if (errLen < MAX_CAPTURE) err.push(c);
        errLen += c.length;
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        if (killer) clearTimeout(killer);
        reject(new KubeazFailure(`cannot run ${cmd}: ${e.message}`, 'internal', 1, { cause: e }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (killer) clearTimeout(killer);
        const sig = signal ? 128 + (signalNumber(signal) ?? 15) : undefined;
        resolve({ code: timedOut ? 124 : (code ?? sig ?? 1), stdout: out.join(''), stderr: err.join(''), tail: tail.text(), timedOut });
      });
      child.stdin.on('error', () => {
        // a program that exits without reading its stdin: its exit code says what happened
      });
      child.stdin.end(opts.input ?? '');
    });
  }
}

function signalNumber(s: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[s];
}
