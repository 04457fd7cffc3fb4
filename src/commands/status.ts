/**
 * status: what exists, what is missing or drifted, AWS-side health (instances, ELB, NAT, etcd
 * backups) and — when the API can be reached — Kubernetes' own health, read through a short-lived
 * admin certificate (kops' `validate cluster`: nodes per group Ready, control plane and add-on
 * pods running, kubelet version skew). Exit 3 unless all is well; `--wait` polls until it is.
 */
import { silentProgress, ConsoleProgress } from '../engine/progress.js';
import { serviceAccountRoles } from '../model/derive.js';
import { collectStatus, groupsOf, statusCredentials, type Report } from '../operations/status.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { sleep } from '../util/async.js';
import { formatDuration, parseDuration } from './duration.js';
import { respond, watch } from '../operations/envelope.js';
import { clip, renderStatus, waitingLine } from './status-view.js';

export interface StatusOptions extends GlobalOptions {
  output?: string;
  /** poll until healthy, at most this long (a duration: 10m) */
  wait?: string;
  /** reach the Kubernetes API here instead (an SSH tunnel or bastion to a private API) */
  apiEndpoint?: string;
}

export async function statusCommand(opts: StatusOptions): Promise<number> {
  const json = opts.output === 'json';
  const waitMs = opts.wait !== undefined ? parseDuration(opts.wait) : 0;
  if (waitMs === undefined) throw new UsageError(`--wait ${opts.wait}: expected a duration such as 10m or 90s`);
  if (opts.apiEndpoint !== undefined && !/^https:\/\/[^/\s]+(:\d+)?\/?$/.test(opts.apiEndpoint))
    throw new UsageError(`--api-endpoint ${opts.apiEndpoint}: expected https://host[:port]`);
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }), watch);
  try {
    const creds = statusCredentials(s, opts.apiEndpoint, waitMs);
    const deadline = Date.now() + waitMs;
    const tty = Boolean(process.stderr.isTTY) && !json;
    const first = await collectStatus(s, opts, creds);
    if ('absent' in first) {
      if (json)
        return respond(
          3,
          { region: s.spec.spec.region, accountId: s.ctx.accountId, found: false, message: first.absent },
          { error: { code: 'not-found', message: first.absent } },
        );
      process.stdout.write(`${first.absent}\n`);
      return 3;
    }
    let report: Report = first;
    // every poll that finds the cluster not up says what it waits for (the first too, however long it took)
    while (waitMs && !report.ok && !s.abort.signal.aborted) {
      const left = formatDuration(Math.max(0, deadline - Date.now()));
      const line = `waiting for ${s.clusterId} (${left} left): ${waitingLine(report)}`;
      if (!json) process.stderr.write(tty ? `\r\x1b[K${clip(line)}` : `${line}\n`);
      if (Date.now() >= deadline) break;
      await sleep(Math.min(s.ctx.timing.pollSeconds * 1000, Math.max(0, deadline - Date.now())));
      const next = await collectStatus(s, opts, creds);
      if ('absent' in next) break;
      report = next;
    }
    if (tty && waitMs) process.stderr.write('\r\x1b[K');
    if (json) {
      const {
        resources,
        health,
        backups,
        controlPlane: cp,
        orphans,
        warnings,
        kubernetes,
        ok,
        boot,
        bootProblems: bootIssues,
        imageUpdate,
        dns,
        addonVersions,
      } = report;
      // `calls` is the envelope's object ({ total, mutating, byAction }); it was a number before
      return respond(
        ok ? 0 : 3,
        {
          region: s.spec.spec.region,
          accountId: s.ctx.accountId,
          found: true,
          resources,
          health,
          groups: groupsOf(health),
          etcdBackups: backups ?? null,
          controlPlane: cp,
          kubernetes,
          boot,
          bootProblems: bootIssues,
          orphans,
          warnings,
          serviceAccounts: serviceAccountRoles(s.spec, s.ctx.accountId),
          ...(imageUpdate ? { imageUpdate } : {}),
          ...(dns ? { dns } : {}),
          ...(addonVersions ? { addonVersions } : {}),
        },
        ok ? {} : { error: { code: 'not-ready', message: waitingLine(report) } },
      );
    } else {
      process.stdout.write(
        renderStatus(
          s.clusterId,
          s.spec.spec.region,
          s.ctx.accountId,
          report,
          Boolean(opts.verbose),
          serviceAccountRoles(s.spec, s.ctx.accountId),
        ),
      );
    }
    return report.ok ? 0 : 3;
  } finally {
    s.dispose();
  }
}
