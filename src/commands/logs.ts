/**
 * kubeaz logs INSTANCE-ID|GROUP: what an instance's boot did, from AWS alone (the API may be down,
 * the instance unreachable) — its boot report from `boot/<instance-id>.json` (phases with their
 * durations, the error with the tail of the failing program's output) and its console output
 * (EC2 GetConsoleOutput: the serial console, where the agent logs each phase too, so it helps when
 * the instance could not reach S3). Like kops' `toolbox dump`, for one instance or every instance
 * of a group. An instance must carry this cluster's tags; a terminated one EC2 no longer lists is
 * read from its report alone (reports stay until destroy).
 */
import { silentProgress, ConsoleProgress } from '../engine/progress.js';
import { instanceLogs, type InstanceLogs } from '../operations/logs.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { ago, phaseSeconds } from '../operations/boots.js';
import { outputTail } from './boot-view.js';
import { formatDuration } from './duration.js';
import { respond, watch } from '../operations/envelope.js';
import { table } from './output.js';

export interface LogsOptions extends GlobalOptions {
  output?: string;
}

export async function logsCommand(target: string, opts: LogsOptions): Promise<number> {
  const json = opts.output === 'json';
  if (!target) throw new UsageError('name an instance (i-…) or a group');
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }), watch);
  try {
    const out = await instanceLogs(s, target);
    if (json) return respond(0, { region: s.spec.spec.region, target, instances: out });
    process.stdout.write(renderLogs(out, new Date()));
    return 0;
  } finally {
    s.dispose();
  }
}

const secs = (n: number) => (n < 60 ? `${n.toFixed(1)}s` : formatDuration(Math.round(n) * 1000));

/** The text: per instance a header, the boot report (phases, durations, error with its output), the console output. */
export function renderLogs(list: readonly InstanceLogs[], now: Date): string {
  const out: string[] = [];
  for (const i of list) {
    out.push(`== ${i.instanceId} (${[i.group || 'group unknown', i.zone, i.state].filter(Boolean).join(', ')}) ==`);
    const r = i.boot;
    if (i.bootInvalid) out.push(`boot report: unreadable: ${i.bootInvalid}`);
    else if (!r)
      out.push('boot report: none (the agent has not written one: not started yet, no access to the bucket, or an older kubeaz)');
    else {
      out.push(
        `boot report: ${r.result}${r.result === 'running' && now.getTime() - Date.parse(r.updatedAt) > 10 * 60_000 ? ' (STALLED)' : ''}, role ${r.role}, updated ${r.updatedAt} (${ago(r.updatedAt, now)} ago)`,
      );
      const phases = phaseSeconds(r, now);
      if (phases.length)
        out.push(
          table([
            ['  PHASE', 'START', 'DURATION'],
            ...phases.map((p, k) => [`  ${p.name}`, r.phases[k]!.start, `${secs(p.seconds)}${p.done ? '' : ' (running)'}`]),
          ]),
        );
      if (r.error) {
        out.push(`error at ${r.error.phase}: ${r.error.message}`);
        out.push(...outputTail(r.error.output, 200, '  | ', false));
      }
    }
    if (i.console) {
      const text = i.console.output.replace(/\s+$/, '');
      if (!text)
        out.push(
          `console output: empty${i.console.timestamp ? ` (as of ${i.console.timestamp})` : ''} — the instance has written nothing to its serial console yet`,
        );
      else
        out.push(
          `console output${i.console.timestamp ? ` (as of ${i.console.timestamp})` : ''}:`,
          ...text.split('\n').map((l) => `  ${l}`),
        );
    } else if (i.consoleError) out.push(`console output: ${i.consoleError}`);
    out.push('');
  }
  return `${out.join('\n')}`;
}
