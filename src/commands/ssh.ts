/**
 * kubeaz ssh INSTANCE-ID|GROUP: a shell on an instance of the cluster through AWS Systems Manager
 * Session Manager (`aws ssm start-session`, with the session-manager-plugin) — no port 22, no key
 * pair. A group resolves to one of its InService instances, by instance id (`--index N` for the
 * Nth); the others are listed. Without `aws` or the plugin on PATH: how to install them, exit 1.
 */
import { ConsoleProgress } from '../engine/progress.js';
import { openSession, UsageError, type GlobalOptions } from '../operations/session.js';
import { missingPrograms, resolveSshTarget, startSessionArgs } from '../operations/ssh.js';
import { systemPrograms, type ExternalPrograms } from '../util/programs.js';

export interface SshOptions extends GlobalOptions {
  /** the Nth InService instance of a group (by instance id); a whole number, checked by the CLI */
  index?: string;
}

export async function sshCommand(target: string, opts: SshOptions, programs: ExternalPrograms = systemPrograms()): Promise<number> {
  if (!target) throw new UsageError('name an instance (i-…) or a group');
  // before any AWS call: without these two there is no session to open
  const missing = missingPrograms(programs);
  if (missing.length) {
    process.stderr.write(
      `kubeaz ssh opens the session with AWS Systems Manager Session Manager, which needs two programs on this machine:\n` +
        `${missing.map((m) => `  - ${m}\n`).join('')}`,
    );
    return 1;
  }
  const index = Number(opts.index ?? 0);
  const s = await openSession(opts, new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  let args: string[] = [];
  try {
    const t = await resolveSshTarget(s, target, index);
    if (t.candidates && t.candidates.length > 1)
      process.stderr.write(
        `the group ${t.group} has ${t.candidates.length} instances in service (pick another with --index N):\n` +
          t.candidates.map((c, i) => `  ${i === index ? '*' : ' '} [${i}] ${c.id}${c.zone ? ` (${c.zone})` : ''}\n`).join(''),
      );
    args = startSessionArgs(t.instanceId, s.spec.spec.region, opts.profile);
    process.stderr.write(`opening a Session Manager session to ${t.instanceId}${t.group ? ` (${t.group})` : ''}: aws ${args.join(' ')}\n`);
  } finally {
    s.dispose();
  }
  return programs.interactive('aws', args);
}
