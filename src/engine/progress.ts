/**
 * Progress a user sees during a run: one line per finished step, and on a terminal a live line
 * for long waits. Everything goes to stderr so stdout stays clean for --output json.
 */
import type { Progress, ProgressEvent } from '../resources/types.js';

// the types live with the run context every kind reports through; printers of them live here
export type { Progress, ProgressEvent };

export const silentProgress: Progress = { emit: () => {} };

const SYMBOL: Record<string, string> = { create: '+', update: '~', delete: '-', adopt: '=', unchanged: ' ', skip: '!' };

export class ConsoleProgress implements Progress {
  private live = false;
  private readonly started = Date.now();
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly opts: { verbose?: boolean } = {},
  ) {}

  private clearLive(): void {
    if (this.live) {
      this.out.write('\r\x1b[2K');
      this.live = false;
    }
  }

  private stamp(): string {
    return `[${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s]`;
  }

  emit(e: ProgressEvent): void {
    if (e.type === 'wait') {
      const line = `${this.stamp()} … waiting for ${e.what}: ${e.ready}/${e.total} ready (${Math.round(e.seconds)}s)`;
      if (this.out.isTTY) {
        this.clearLive();
        this.out.write(line);
        this.live = true;
        if (e.ready === e.total) this.clearLive();
      } else if (e.ready === e.total || Math.round(e.seconds) % 30 === 0) this.out.write(`${line}\n`);
      return;
    }
    this.clearLive();
    if (e.type === 'info') return void this.out.write(`${this.stamp()} ${e.message}\n`);
    if (e.type === 'warn') return void this.out.write(`${this.stamp()} warning: ${e.message}\n`);
    if (e.type === 'unchanged' && !this.opts.verbose) return;
    this.out.write(
      `${this.stamp()} ${SYMBOL[e.type]} ${e.key}${e.detail ? `  ${e.detail}` : ''}${e.seconds !== undefined ? ` (${e.seconds.toFixed(1)}s)` : ''}\n`,
    );
  }
}

/** Collects events (tests, --output json). */
export class RecordingProgress implements Progress {
  readonly events: ProgressEvent[] = [];
  emit(e: ProgressEvent): void {
    this.events.push(e);
  }
}
