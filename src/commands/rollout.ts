/**
 * rollout: replace the instances that run an older launch template version than their group
 * launches now (a batch at a time, drained, the next once the new ones are Ready), node groups first, the master last after a fresh etcd backup —
 * the operation is src/operations/rollout.ts; this file reads the flags, asks, and says how it went.
 */
import { isMasterGroup } from '../model/names.js';
import { takeBackup } from '../operations/backup.js';
import { rolloutCluster } from '../operations/rollout.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { respond, watch } from '../operations/envelope.js';
import { summarizeCalls } from './output.js';
import { confirm } from './prompt.js';

export interface RolloutOptions extends GlobalOptions {
  group?: string;
  minHealthyPercentage?: string;
  drainTimeout?: string;
  force?: boolean;
  apiEndpoint?: string;
  yes?: boolean;
  output?: string;
}

export async function rolloutCommand(opts: RolloutOptions): Promise<number> {
  const min = Number(opts.minHealthyPercentage ?? '90');
  if (!Number.isInteger(min) || min < 0 || min > 100)
    throw new UsageError(`--min-healthy-percentage ${opts.minHealthyPercentage}: expected a whole number from 0 to 100`);
  const drain = Number(opts.drainTimeout ?? '360');
  if (!Number.isInteger(drain) || drain < 0)
    throw new UsageError(`--drain-timeout ${opts.drainTimeout}: expected a whole number of seconds`);
  if (opts.apiEndpoint !== undefined && !/^https:\/\/[^/\s]+(:\d+)?\/?$/.test(opts.apiEndpoint))
    throw new UsageError(`--api-endpoint ${opts.apiEndpoint}: expected https://host[:port]`);
  const json = opts.output === 'json';
  const s = await openSession(opts, undefined, watch);
  const backups: Array<{ bucket: string; key: string }> = [];
  if (opts.force)
    s.progress.emit({
      type: 'warn',
      message: `--force: a node still draining after ${drain}s is terminated anyway (its termination lifecycle action completed with CONTINUE), and so is any termination already pending — pods stop without honouring PodDisruptionBudgets`,
    });
  try {
    const result = await rolloutCluster(s, {
      ...(opts.group ? { group: opts.group } : {}),
      minHealthyPercentage: min,
      drainTimeoutSeconds: drain,
      force: opts.force === true,
      ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint.replace(/\/$/, '') } : {}),
      ask: (todo) =>
        confirm(
          `Replace ${todo.reduce((n, g) => n + g.stale.length, 0)} instances of ${todo.map((g) => g.group).join(', ')} in cluster ${s.clusterId} (drained a batch at a time, the next once the new ones are Ready, min healthy ${min}%${todo.some((g) => isMasterGroup(g.group)) ? ', the masters last, one at a time, after an etcd backup' : ''})?`,
          opts.yes,
        ),
      takeBackup: async () => {
        const made = await takeBackup(s);
        backups.push({ bucket: made.bucket, key: made.key });
        if (!json) process.stdout.write(`s3://${made.bucket}/${made.key}\n`);
      },
    });
    if ('nothingToDo' in result) {
      s.progress.emit({
        type: 'info',
        message: `nothing to roll out: every instance runs its group's launch template version — ${summarizeCalls(s.aws.counter)}`,
      });
      return json ? respond(0, { nothingToDo: true, steps: [], backups }) : 0;
    }
    if ('declined' in result)
      return json
        ? respond(1, { nothingToDo: false, steps: [], backups }, { error: { code: 'declined', message: 'nothing was replaced' } })
        : 1;
    for (const st of result.steps.filter((x) => x.status !== 'Successful' && x.status !== 'up-to-date'))
      s.progress.emit({ type: 'warn', message: `${st.group}: ${st.status}${st.reason ? `: ${st.reason}` : ''}` });
    s.progress.emit({
      type: 'info',
      message: `${result.ok ? 'done' : 'stopped'}: ${result.steps.filter((x) => x.status === 'Successful').length} group(s) replaced — ${summarizeCalls(s.aws.counter)}`,
    });
    const code = result.ok ? 0 : s.abort.signal.aborted ? 130 : 1;
    if (!json) return code;
    const failed = result.steps.filter((x) => x.status !== 'Successful' && x.status !== 'up-to-date');
    const error = {
      code: code === 130 ? 'interrupted' : 'incomplete',
      message: failed.map((x) => `${x.group}: ${x.status}${x.reason ? `: ${x.reason}` : ''}`).join('; ') || 'stopped',
    };
    return respond(code, { nothingToDo: false, steps: result.steps, backups }, code ? { error } : {});
  } finally {
    s.dispose();
  }
}
