/**
 * kubeaz-agent: what runs on the cluster's instances (bundled into dist/agent/kubeaz-agent.mjs by
 * `npm run build`; user data fetches it from the cluster bucket, checks its SHA-256 and runs
 * `boot`). `--help` prints the usage and touches nothing else (no network, no files).
 * Exit codes: 0 done, 1 failed (the boot report says where), 2 usage.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeazFailure } from '../errors.js';
import type { AgentContext } from './context.js';
import { backup, joinToken, masterBoot, nodeRoles } from './master/index.js';
import { nodeBoot } from './node/index.js';
import { ReportedFailure } from './report.js';

export const USAGE = `usage: kubeaz-agent <command> [options]

The kubeaz node agent: brings this instance into its cluster and keeps the masters' day jobs.

commands:
  boot         bring this instance into the cluster as its group's role (user data runs it once)
  backup       etcd snapshot to the bucket when this master leads etcd (the masters' timer)
  join-token   renew the bootstrap token nodes join with in join/ (the masters' timer)
  node-roles   label nodes node-role.kubernetes.io/<role> from kubeaz.io/role (the masters' timer)

options:
  --bucket NAME   the cluster bucket (boot keeps it in /etc/kubeaz/agent.json for later runs)
  --group NAME    this instance's group (default: the injected identity; boot keeps it)
  --settings JSON the group's settings {role, labels, taints, elasticIps} (user data passes them; boot keeps them)
  --root DIR      the filesystem root every path hangs off (default /; tests and boot-sim)
  -h, --help      this text

environment:
  KUBEAZ_AGENT_IDENTITY  JSON {instanceId, zone, privateIp, region, group?}: instead of IMDSv2
  KUBEAZ_AGENT_WAITS     JSON of waits to override (attempts, pauses in ms), e.g. {"joinRetryMs":500}
  AWS_ENDPOINT_URL       an AWS endpoint other than AWS's (an emulator)

exit codes: 0 done, 1 failed (the boot report says where), 2 usage
`;

export const COMMANDS: Readonly<Record<string, (ctx: AgentContext) => Promise<void>>> = {
  boot: (ctx) => (ctx.identity.role === 'master' ? masterBoot(ctx) : nodeBoot(ctx)),
  backup,
  'join-token': joinToken,
  'node-roles': nodeRoles,
};

export interface MainIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The agent's whole run for `argv` (without node and script): the exit code. Never exits the process itself. */
export async function main(
  argv: string[],
  io: MainIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        bucket: { type: 'string' },
        group: { type: 'string' },
        settings: { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.err(`kubeaz-agent: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') {
    io.out(USAGE);
    return 0;
  }
  const command = positionals[0];
  if (!command || positionals.length > 1 || !(command in COMMANDS)) {
    io.err(
      `kubeaz-agent: ${!command ? 'a command is needed' : positionals.length > 1 ? `one command only (got ${positionals.join(' ')})` : `unknown command ${command}`}\n\n${USAGE}`,
    );
    return 2;
  }
  // the context module pulls in the SDK: loaded only when a command runs (--help stays instant)
  const { createContext } = await import('./start.js');
  let ctx: AgentContext;
  try {
    ctx = await createContext({
      command,
      root: path.resolve(values.root ?? '/'),
      env: io.env,
      ...(values.bucket ? { bucket: values.bucket } : {}),
      ...(values.group ? { group: values.group } : {}),
      ...(values.settings !== undefined ? { settings: values.settings } : {}),
    });
  } catch (e) {
    io.err(`kubeaz-agent: ${command}: ${(e as Error)?.message ?? String(e)}\n`);
    return e instanceof KubeazFailure && e.exitCode === 2 ? 2 : 1;
  }
  try {
    await COMMANDS[command]!(ctx);
    if (command === 'boot') await ctx.reporter.ready();
    await ctx.reporter.flush();
    return 0;
  } catch (e) {
    if (!(e instanceof ReportedFailure)) await ctx.reporter.fail(command, e);
    await ctx.reporter.flush();
    return 1;
  }
}

if (
  process.argv[1] &&
  /kubeaz-agent\.mjs$|agent[/\\]main\.js$/.test(process.argv[1]) &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  process.exitCode = await main(process.argv.slice(2));
}
