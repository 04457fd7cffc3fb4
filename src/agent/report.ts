/**
 * The boot reporter: what this boot did, as it goes, in `boot/<instance-id>.json` of the cluster
 * bucket (src/records/boot.ts) and one line per phase event on the console (the serial console on
 * an instance, so `kubeaz logs` helps when S3 cannot be reached). Each phase start and end is a
 * write; writes are queued in order, and a write that fails is logged, never fatal: a boot does not
 * stop because its report could not be stored.
 */
import { bootReportKey, type BootReport } from '../records/boot.js';
import type { AgentRole } from '../records/agent-config.js';
import { ProgramError } from './programs.js';
import { Redactor, redactedTail } from './redact.js';

export interface ReportSink {
  /** store the report's JSON under `key` of the cluster bucket */
  put(key: string, body: string): Promise<void>;
}

export type Log = (line: string) => void;

export interface ReporterOptions {
  instanceId: string;
  group: string;
  role: AgentRole;
  sink: ReportSink;
  log: Log;
  now: () => Date;
  redactor?: Redactor;
}

/** Thrown by `phase()` after the failure was reported: callers stop without reporting it again. */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
  constructor(
    readonly phase: string,
    cause: unknown,
  ) {
    super(`boot failed in phase ${phase}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export class BootReporter {
  readonly redactor: Redactor;
  private state: BootReport;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ReporterOptions) {
    this.redactor = opts.redactor ?? new Redactor();
    this.state = {
      instanceId: opts.instanceId,
      group: opts.group,
      role: opts.role,
      result: 'running',
      updatedAt: opts.now().toISOString(),
      phases: [],
    };
  }

  /** A copy of the report as last written (or about to be). */
  get report(): BootReport {
    return structuredClone(this.state);
  }

  /** Run `fn` as phase `name`: reported at its start and end; a failure is reported (redacted) and rethrown as ReportedFailure. */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const p = { name, start: this.opts.now().toISOString() } as BootReport['phases'][number];
    this.state.phases.push(p);
    this.opts.log(`phase ${name}: start`);
    await this.write();
    let out: T;
    try {
      out = await fn();
    } catch (e) {
      if (e instanceof ReportedFailure) throw e;
      p.end = this.opts.now().toISOString();
      await this.fail(name, e);
      throw new ReportedFailure(name, e);
    }
    p.end = this.opts.now().toISOString();
    this.opts.log(`phase ${name}: done in ${seconds(p.start, p.end)} s`);
    await this.write();
    return out;
  }

  /** The boot failed in `phase`: result failed, the message and the output's last lines, redacted. */
  async fail(phase: string, err: unknown, output?: string): Promise<void> {
    const tail = output ?? (err instanceof ProgramError ? err.output : (err as { output?: string })?.output);
    const message = this.redactor.redact((err as Error)?.message ?? String(err));
    this.state.result = 'failed';
    this.state.error = { phase, message, ...(tail ? { output: redactedTail(tail, this.redactor) } : {}) };
    this.opts.log(`phase ${phase}: FAILED: ${message}`);
    if (this.state.error.output) for (const line of this.state.error.output.split('\n')) this.opts.log(`  | ${line}`);
    await this.write();
  }

  /** Every phase of the role is done. */
  async ready(): Promise<void> {
    this.state.result = 'ready';
    delete this.state.error;
    this.opts.log('ready');
    await this.write();
  }

  /** Wait for every queued write (the process may exit after this). */
  flush(): Promise<void> {
    return this.queue;
  }

  private write(): Promise<void> {
    this.state.updatedAt = this.opts.now().toISOString();
    const body = `${JSON.stringify(this.state)}\n`;
    const key = bootReportKey(this.opts.instanceId);
    this.queue = this.queue.then(() =>
      this.opts.sink
        .put(key, body)
        .catch((e: unknown) => this.opts.log(`could not store the boot report ${key}: ${(e as Error)?.message ?? String(e)}`)),
    );
    return this.queue;
  }
}

const seconds = (start: string, end: string): string => ((Date.parse(end) - Date.parse(start)) / 1000).toFixed(1);
