/**
 * kubeaz ssh INSTANCE-ID|GROUP: a shell on an instance of the cluster through AWS Systems Manager
 * Session Manager (`aws ssm start-session`, with the session-manager-plugin) — no port 22, no key
 * pair. A group resolves to one of its InService instances, by instance id (`--index N` for the
 * Nth); the others are listed. Without `aws` or the plugin on PATH: how to install them, exit 1.
 *
 * With --output json no session is opened (a terminal session and a JSON answer do not share
 * stdout): the envelope every command prints, with the instance the target resolves to and the
 * command a session would run (`argv`), and which of the two programs PATH lacks — so a script can
 * find an instance, or check the set-up, without a terminal.
 */
import { ConsoleProgress, silentProgress } from '../engine/progress.js';
import { respond, watch } from '../operations/envelope.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { missingPrograms, resolveSshTarget, startSessionArgs } from '../operations/ssh.js';
import { systemPrograms, type ExternalPrograms } from '../util/programs.js';

export interface SshOptions extends GlobalOptions {
  /** the Nth InService instance of a group (by instance id); a whole number, checked by the CLI */
  index?: string;
  output?: string;
}

export async function sshCommand(target: string, opts: SshOptions, programs: ExternalPrograms = systemPrograms()): Promise<number> {
  const json = opts.output === 'json';
  if (!target) throw new UsageError('name an instance (i-…) or a group');
  // before any AWS call: without these two there is no session to open (--output json opens none)
  const missing = missingPrograms(programs);
  if (missing.length && !json) {
    process.stderr.write(
      `kubeaz ssh opens the session with AWS Systems Manager Session Manager, which needs two programs on this machine:\n` +
        `${missing.map((m) => `  - ${m}\n`).join('')}`,
    );
    return 1;
  }
  const index = Number(opts.index ?? 0);
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }), watch);
  let args: string[] = [];
  try {
    const t = await resolveSshTarget(s, target, index);
    args = startSessionArgs(t.instanceId, s.spec.spec.region, opts.profile);
    if (json)
      return respond(0, {
        region: s.spec.spec.region,
        target,
        instanceId: t.instanceId,
        group: t.group || null,
        index,
        candidates: t.candidates ?? [],
        argv: ['aws', ...args],
        missingPrograms: missing,
        started: false,
      });
    if (t.candidates && t.candidates.length > 1)
      process.stderr.write(
        `the group ${t.group} has ${t.candidates.length} instances in service (pick another with --index N):\n` +
          t.candidates.map((c, i) => `  ${i === index ? '*' : ' '} [${i}] ${c.id}${c.zone ? ` (${c.zone})` : ''}\n`).join(''),
      );
    process.stderr.write(`opening a Session Manager session to ${t.instanceId}${t.group ? ` (${t.group})` : ''}: aws ${args.join(' ')}\n`);
  } finally {
    s.dispose();
  }
  return programs.interactive('aws', args);
}
