/**
 * The checks of the one JSON envelope (issue 21) that the e2e tests of every command share
 * (json-envelope.test.ts, json-envelope-new.test.ts): `run` runs the real CLI and holds every
 * output, text or JSON, to never containing "undefined" or "[object Object]"; `envelope` holds a
 * JSON run's stdout to one object of the shape every command shares — `command`, `cluster`, `ok`,
 * `calls: { total, mutating, byAction }` first, `ok` true exactly when the exit code is 0, and
 * `error: { code, message }` exactly when not —; `coverage` that each command ran in text and in
 * JSON, succeeding and failing.
 */
import { expect } from 'vitest';
import { kubeaz, type CliResult } from './cli.js';

export interface Envelope {
  command: string;
  cluster: string | null;
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  error?: { code: string; message: string };
  [k: string]: unknown;
}

export interface Seen<N extends string> {
  command: N;
  json: boolean;
  code: number;
}

export function envelopeChecks<N extends string>(env: () => Record<string, string | undefined>) {
  const seen: Array<Seen<N>> = [];

  /** Runs the CLI; every run, text or JSON, is checked for "undefined" and "[object Object]". */
  const run = async (command: N, args: string[], o: { env?: Record<string, string> } = {}): Promise<CliResult> => {
    const r = await kubeaz([command, ...args], { ...env(), ...o.env }, { timeoutMs: 240_000 });
    const json = args.includes('json');
    seen.push({ command, json, code: r.code });
    for (const [stream, text] of [
      ['stdout', r.stdout],
      ['stderr', r.stderr],
    ] as const)
      expect(text, `${command} ${args.join(' ')} (${stream}, exit ${r.code})`).not.toMatch(/undefined|\[object Object\]/);
    return r;
  };

  /** The envelope of a JSON run: one object, the shape every command shares, ok ⇔ exit 0. */
  const envelope = (r: CliResult, command: N, cluster: string | null): Envelope => {
    const e = r.json<Envelope>();
    expect(Object.keys(e).slice(0, 4), r.stdout).toEqual(['command', 'cluster', 'ok', 'calls']);
    expect(e.command).toBe(command);
    expect(e.cluster).toBe(cluster);
    expect(e.ok, `${command}: exit ${r.code}\n${r.stderr}`).toBe(r.code === 0);
    expect(Object.keys(e.calls).sort()).toEqual(['byAction', 'mutating', 'total']);
    expect(Object.values(e.calls.byAction).reduce((a, b) => a + b, 0)).toBe(e.calls.total);
    expect(e.calls.mutating).toBeLessThanOrEqual(e.calls.total);
    for (const k of Object.keys(e.calls.byAction)) expect(k).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    if (e.ok) expect(e).not.toHaveProperty('error');
    else {
      expect(typeof e.error?.code).toBe('string');
      expect(e.error!.code).not.toBe('');
      expect(e.error!.message).not.toBe('');
    }
    return e;
  };

  /** Every command ran in text and in JSON, succeeding (exit 0) and failing (any other). */
  const coverage = (commands: readonly N[]): void => {
    for (const c of commands)
      for (const json of [true, false]) {
        const runs = seen.filter((x) => x.command === c && x.json === json);
        expect(
          runs.some((x) => x.code === 0),
          `${c} ${json ? 'json' : 'text'} success`,
        ).toBe(true);
        expect(
          runs.some((x) => x.code !== 0),
          `${c} ${json ? 'json' : 'text'} error`,
        ).toBe(true);
      }
  };

  return { seen, run, envelope, coverage };
}
