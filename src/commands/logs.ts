/**
 * kubeaz logs INSTANCE-ID|GROUP: what an instance's boot did, from AWS alone (the API may be down,
 * the instance unreachable) — its boot report from `boot/<instance-id>.json` (phases with their
 * durations, the error with the tail of the failing program's output) and its console output
 * (EC2 GetConsoleOutput: the serial console, where the agent logs each phase too, so it helps when
 * the instance could not reach S3). Like kops' `toolbox dump`, for one instance or every instance
 * of a group. An instance must carry this cluster's tags; a terminated one EC2 no longer lists is
 * read from its report alone (reports stay until destroy).
 */
import { KubeazError } from '../aws/errors.js';
import { silentProgress, ConsoleProgress } from '../engine/progress.js';
import { bucketName, masterGroups } from '../model/names.js';
import type { BootReport } from '../records/boot.js';
import type { ClusterInstance } from '../resources/instances.js';
import { ago, outputTail, phaseSeconds } from './boot-view.js';
import { formatDuration } from './duration.js';
import { table } from './output.js';
import { openSession, UsageError, type GlobalOptions, type Session } from './session.js';

export interface LogsOptions extends GlobalOptions {
  output?: string;
}

/** What `logs` shows of one instance (the JSON's `instances` entries). */
export interface InstanceLogs {
  instanceId: string;
  group: string;
  /** EC2's state, or `gone` when EC2 no longer lists it */
  state: string;
  zone?: string;
  boot: BootReport | null;
  /** a report exists but is not one (why) */
  bootInvalid?: string;
  /** the console output, decoded; null when it could not be read (consoleError says why) */
  console: { output: string; timestamp: string | null } | null;
  consoleError?: string;
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

export async function logsCommand(target: string, opts: LogsOptions): Promise<number> {
  const json = opts.output === 'json';
  if (!target) throw new UsageError('name an instance (i-…) or a group');
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    const instances = INSTANCE_ID.test(target) ? [await oneInstance(s, target)] : await ofGroup(s, target);
    const { readBootReports } = await import('../records/boot-store.js');
    const stored = await readBootReports(await s.aws.s3(), bucketName(s.clusterId, s.ctx.accountId), instances.map((i) => i.id), s.ctx.accountId);
    if (instances.length === 1 && instances[0]!.state === 'gone' && 'none' in (stored.get(instances[0]!.id) ?? { none: true }))
      throw new KubeazError(`no instance ${target} in ${s.spec.spec.region} (account ${s.ctx.accountId}), and no boot report of it in s3://${bucketName(s.clusterId, s.ctx.accountId)}/boot/`, 'NoSuchInstance', target);
    const { consoleOutput } = await import('../resources/index.js');
    const out: InstanceLogs[] = [];
    for (const i of instances) {
      const b = stored.get(i.id) ?? { none: true };
      const entry: InstanceLogs = {
        instanceId: i.id,
        group: i.group || ('report' in b ? b.report.group : ''),
        state: i.state,
        ...(i.zone ? { zone: i.zone } : {}),
        boot: 'report' in b ? b.report : null,
        ...('invalid' in b ? { bootInvalid: b.invalid } : {}),
        console: null,
      };
      if (i.state === 'gone') entry.consoleError = 'EC2 no longer lists the instance (terminated): no console output';
      else {
        try {
          const c = await consoleOutput(s.ctx, i.id);
          entry.console = { output: c.text, timestamp: c.timestamp ? c.timestamp.toISOString() : null };
        } catch (e) {
          entry.consoleError = `GetConsoleOutput: ${(e as Error).message}`;
        }
      }
      out.push(entry);
    }
    if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region: s.spec.spec.region, target, instances: out }, null, 2)}\n`);
    else process.stdout.write(renderLogs(out, new Date()));
    return 0;
  } finally {
    s.dispose();
  }
}

/** One instance by id: this cluster's, or refused; a terminated one EC2 forgot is read from its report. */
async function oneInstance(s: Session, id: string): Promise<ClusterInstance> {
  const { instanceById } = await import('../resources/index.js');
  const found = await instanceById(s.ctx, id);
  if ('notMine' in found)
    throw new KubeazError(`${id} is not an instance of ${s.clusterId} (${found.notMine}): refusing to read its report or console`, 'NotThisCluster', id);
  if ('gone' in found) return { id, group: '', state: 'gone' };
  return found.mine;
}

/** Every instance EC2 still lists of one of the spec's groups. */
async function ofGroup(s: Session, group: string): Promise<ClusterInstance[]> {
  const groups = [...masterGroups(s.spec).map((m) => m.name), ...s.spec.spec.nodeGroups.map((g) => g.name)];
  if (!groups.includes(group)) throw new UsageError(`${group}: not an instance id (i-…) nor a group of ${s.clusterId} (groups: ${groups.join(', ')})`);
  const { groupInstances } = await import('../resources/index.js');
  const found = await groupInstances(s.ctx, [group]);
  if (!found.length) throw new KubeazError(`the group ${group} of ${s.clusterId} has no instance (EC2 lists none with its tags)`, 'NoInstances', `asg/${group}`);
  return found;
}

const secs = (n: number) => (n < 60 ? `${n.toFixed(1)}s` : formatDuration(Math.round(n) * 1000));

/** The text: per instance a header, the boot report (phases, durations, error with its output), the console output. */
export function renderLogs(list: readonly InstanceLogs[], now: Date): string {
  const out: string[] = [];
  for (const i of list) {
    out.push(`== ${i.instanceId} (${[i.group || 'group unknown', i.zone, i.state].filter(Boolean).join(', ')}) ==`);
    const r = i.boot;
    if (i.bootInvalid) out.push(`boot report: unreadable: ${i.bootInvalid}`);
    else if (!r) out.push('boot report: none (the agent has not written one: not started yet, no access to the bucket, or an older kubeaz)');
    else {
      out.push(`boot report: ${r.result}${r.result === 'running' && now.getTime() - Date.parse(r.updatedAt) > 10 * 60_000 ? ' (STALLED)' : ''}, role ${r.role}, updated ${r.updatedAt} (${ago(r.updatedAt, now)} ago)`);
      const phases = phaseSeconds(r, now);
      if (phases.length) out.push(table([['  PHASE', 'START', 'DURATION'], ...phases.map((p, k) => [`  ${p.name}`, r.phases[k]!.start, `${secs(p.seconds)}${p.done ? '' : ' (running)'}`])]));
      if (r.error) {
        out.push(`error at ${r.error.phase}: ${r.error.message}`);
        out.push(...outputTail(r.error.output, 200, '  | ', false));
      }
    }
    if (i.console) {
      const text = i.console.output.replace(/\s+$/, '');
      if (!text) out.push(`console output: empty${i.console.timestamp ? ` (as of ${i.console.timestamp})` : ''} — the instance has written nothing to its serial console yet`);
      else out.push(`console output${i.console.timestamp ? ` (as of ${i.console.timestamp})` : ''}:`, ...text.split('\n').map((l) => `  ${l}`));
    } else if (i.consoleError) out.push(`console output: ${i.consoleError}`);
    out.push('');
  }
  return `${out.join('\n')}`;
}
