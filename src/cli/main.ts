/**
 * The command line. Thin: parse flags, call a command, map errors to exit codes.
 * Exit codes: 0 success · 1 failure · 2 invalid spec or usage · 3 (status) missing, drifted or
 * unhealthy · 130 interrupted. Command modules (and the AWS SDK) load only when a command runs.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { KubeazFailure, UsageError } from '../errors.js';
import { DEFAULT_SPEC_FILE, specFileOf } from './spec-file.js';
import { beginRun, current, errorCodeOf, respond } from '../operations/envelope.js';

const VERSION = '0.1.0';

/** Exit code of every usage error (bad flag, command, value), as of a bad spec. */
export const USAGE_EXIT = 2;

/**
 * A numeric flag checked while parsing, so a bad value is a usage error (exit 2) before anything
 * is read, locked or written. The value stays the text given (commands read it with Number()).
 */
export function numberOption(
  flags: string,
  description: string,
  range: { min: number; max: number; integer: boolean; minExclusive?: boolean },
  dflt?: string,
): Option {
  const o = new Option(flags, description).argParser((v: string) => {
    const n = /^\s*[-+]?(\d+\.?\d*|\.\d+)\s*$/.test(v) ? Number(v) : NaN;
    const what = range.integer ? 'a whole number' : 'a number';
    const low = range.minExclusive ? `more than ${range.min}` : `from ${range.min}`;
    if (
      !Number.isFinite(n) ||
      (range.integer && !Number.isInteger(n)) ||
      (range.minExclusive ? n <= range.min : n < range.min) ||
      n > range.max
    )
      throw new InvalidArgumentError(`expected ${what} ${low} ${range.minExclusive ? 'up ' : ''}to ${range.max}.`);
    return v.trim();
  });
  return dflt === undefined ? o : o.default(dflt);
}

/** The last usage error commander printed (for the JSON envelope of a parse error). */
let lastUsageError: { command: string; message: string } | undefined;

/** One line for every usage error, naming the help to read: `error: …; see 'kubeaz create --help'`. */
function usageErrors(cmd: Command): Command {
  const where = cmd.parent ? `kubeaz ${cmd.name()}` : 'kubeaz';
  return cmd.configureOutput({
    outputError: (str, write) => {
      const line = `${str
        .trim()
        .replace(/\s*\n\s*/g, ' ')
        .replace(/\.$/, '')}; see '${where} --help'`;
      lastUsageError = { command: cmd.parent ? cmd.name() : 'kubeaz', message: line.replace(/^error: /, '') };
      write(`${line}\n`);
    },
  });
}

/** Whether the command line asks for JSON (-o json, --output json, --output=json, -ojson). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--output=json' || a === '-ojson' || ((a === '--output' || a === '-o') && argv[i + 1] === 'json'));
}

/**
 * `-f, --file`, defaulting to ./cluster.yaml when it exists (cli/spec-file.ts); neither given nor
 * there is a usage error (exit 2) before anything is read.
 */
function specFileOption(cmd: Command): Command {
  return cmd
    .option('-f, --file <cluster.yaml>', `the cluster spec (default ./${DEFAULT_SPEC_FILE} when it exists)`)
    .hook('preAction', (c) => {
      const choice = specFileOf(c.getOptionValue('file') as string | undefined, process.cwd(), existsSync);
      if ('error' in choice) c.error(`error: ${choice.error}`, { exitCode: USAGE_EXIT, code: 'kubeaz.noSpecFile' });
      else c.setOptionValue('file', choice.file);
    });
}

function common(cmd: Command): Command {
  return specFileOption(cmd)
    .option('--profile <name>', 'AWS shared-config profile (default: the SDK credential chain: env, profile, SSO, instance role)')
    .addOption(numberOption('--concurrency <n>', 'AWS operations in flight at once (1 to 256)', { min: 1, max: 256, integer: true }, '12'))
    .addOption(
      numberOption('--poll-interval <seconds>', 'seconds between polls while waiting (default 3; KUBEAZ_POLL_SECONDS)', {
        min: 0,
        max: 3600,
        integer: false,
        minExclusive: true,
      }),
    )
    .option(
      '--state <url>',
      'keep the state in S3 (s3://bucket/prefix) instead of .kubeaz/ beside the spec, locked with conditional writes',
    )
    .option('-v, --verbose', 'also list resources that are unchanged')
    .option('--debug', 'print stack traces of errors');
}

type Runner = (opts: Record<string, unknown>) => Promise<number>;

async function run(fn: Runner, opts: Record<string, unknown>, command: string): Promise<void> {
  beginRun(command);
  try {
    process.exitCode = await fn(opts);
  } catch (e) {
    const f = await failureOf(e, Boolean(opts.debug), command);
    process.stderr.write(f.text);
    // under --output json the error is one envelope on stdout too (unless the command printed its own)
    if (opts.output === 'json' && !current.printed) respond(f.exitCode, f.fields, { error: { code: f.code, message: f.message } });
    process.exitCode = f.exitCode;
  }
}

/** Prints an error as the CLI reports it (stderr) and returns the exit code it ends the command with. */
export async function report(e: unknown, debug: boolean, command: string): Promise<number> {
  const f = await failureOf(e, debug, command);
  process.stderr.write(f.text);
  return f.exitCode;
}

interface Failure {
  /** what goes to stderr */
  text: string;
  exitCode: number;
  /** the JSON envelope's error */
  code: string;
  message: string;
  /** more for the envelope (a spec's issues) */
  fields: Record<string, unknown>;
}

const failure = (text: string, exitCode: number, code: string, message: string, fields: Record<string, unknown> = {}): Failure => ({
  text,
  exitCode,
  code,
  message,
  fields,
});

async function failureOf(e: unknown, debug: boolean, command: string): Promise<Failure> {
  const err = e as Error;
  // Every failure reported on purpose is a KubeazFailure: its class says how it is printed, its exitCode how the command ends.
  const { SpecError } = await import('../spec/load.js');
  if (e instanceof SpecError) {
    const issues = e.issues.map((i) => ({ path: i.path, line: i.line ?? null, message: i.message }));
    return failure(`${e.message}\n`, e.exitCode, 'invalid-spec', e.message, { file: e.file, issues });
  }
  if (e instanceof UsageError)
    return failure(
      `error: ${e.message}; see 'kubeaz ${command} --help'\n`,
      e.exitCode,
      'usage',
      `${e.message}; see 'kubeaz ${command} --help'`,
    );
  const { describeAwsError, isMissingCredentials } = await import('../aws/errors.js');
  const credentials = isMissingCredentials(e) ? await credentialsFailure(e as Error) : undefined;
  if (credentials) return failure(`error: ${credentials}\n`, 1, 'no-credentials', credentials);
  // Domain errors (a lock held, no PKI, a backup missing, a conflict) say what to do; a stack
  // trace adds nothing there, so only unexpected errors suggest --debug.
  const domain = e instanceof KubeazFailure;
  const msg = domain ? e.message : describeAwsError(e);
  let text = `error: ${msg}\n`;
  if (debug && err?.stack) text += `${err.stack}\n${err.cause ? `caused by: ${(err.cause as Error).stack ?? String(err.cause)}\n` : ''}`;
  else if (!domain) text += '(run with --debug for the stack trace)\n';
  return failure(text, domain ? e.exitCode : 1, errorCodeOf(e), msg);
}

/** Missing credentials (or a missing profile): the one line that says what to do. */
async function credentialsFailure(e: Error): Promise<string> {
  const named = /Profile (\S+) could not be found/.exec(e.message);
  if (named) {
    const name = named[1]!;
    return `the AWS profile '${name}'${process.env.AWS_PROFILE === name ? ' (AWS_PROFILE)' : ''} does not exist in the shared config or credentials file`;
  }
  if (process.env.AWS_PROFILE) {
    const { profileExists } = await import('../aws/clients.js');
    if (!(await profileExists(process.env.AWS_PROFILE)).exists)
      return `the AWS profile '${process.env.AWS_PROFILE}' (AWS_PROFILE) does not exist in the shared config or credentials file`;
  }
  return 'no AWS credentials found: pass --profile NAME, set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), sign in with `aws sso login`, or run where an instance role applies';
}

export function buildProgram(): Command {
  const program = new Command('kubeaz')
    .version(VERSION)
    .description(
      'Stand up a production-shaped, multi-availability-zone Kubernetes cluster on AWS from one YAML spec, ' +
        'by calling the AWS SDK directly, and tear it down leaving nothing behind. Every resource carries ' +
        'the tag kubeaz:cluster=<name>-<environment> and is found again by it: re-running is always safe.',
    )
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok · 1 failed · 2 invalid spec or usage · 3 status: missing, drifted or unhealthy · 130 interrupted\n' +
        'Credentials and endpoint come from the AWS SDK chain (AWS_PROFILE, AWS_ENDPOINT_URL, …); the region from the spec\n' +
        "(list and get-spec: --region, else the SDK's). -f defaults to ./cluster.yaml when it exists.\n" +
        'Example: kubeaz validate -f cluster.yaml && kubeaz create -f cluster.yaml',
    );

  specCommands(program);
  dayTwoCommands(program);
  clusterCommands(program);
  findCommands(program);
  toolCommands(program);
  usageErrors(program);
  for (const c of program.commands) usageErrors(c);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // --help and --version end here with 0; every other parse error has printed its one line
    // (and, asked for JSON, its envelope).
    process.exitCode = e.exitCode === 0 ? 0 : USAGE_EXIT;
    if (process.exitCode && wantsJson(argv.slice(2)) && !current.printed)
      respond(
        USAGE_EXIT,
        {},
        {
          command: lastUsageError?.command ?? 'kubeaz',
          cluster: null,
          error: { code: 'usage', message: lastUsageError?.message ?? e.message },
        },
      );
  }
}

/** validate, cost, and the commands that build and change the cluster: create, plan, rollout, backup-etcd. */
function specCommands(program: Command): void {
  specFileOption(program.command('validate'))
    .description('check the spec and report every problem at once with its path and line; no AWS call')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/validate.js')).validateCommand(opts as never), o, 'validate'));

  program
    .command('cost')
    .description(
      'estimate the monthly cost of the spec by component (instances, NAT gateways, load balancers, public IPv4 addresses, EBS, hosted zones), ' +
        'from the AWS Price List API, or the bundled price table when it cannot be reached; no change, no cluster call',
    )
    .requiredOption('-f, --file <cluster.yaml>', 'the cluster spec')
    .option('--profile <name>', 'AWS shared-config profile for the Price List API (default: the SDK credential chain)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/cost.js')).costCommand(opts as never), o, 'cost'));

  program
    .command('iam-policy')
    .description(
      'print the least-privilege IAM policy a user needs to run every kubeaz command on this cluster (for aws iam create-policy); no AWS call',
    )
    .requiredOption('-f, --file <cluster.yaml>', 'the cluster spec')
    .option('--state <url>', "the S3 state (s3://bucket/prefix) the user will pass to --state, when not the spec's")
    .addOption(
      numberOption(
        '--part <n>',
        'print only part N: a policy over the 6,144 characters a managed policy holds comes in parts, one managed policy each',
        { min: 1, max: 20, integer: true },
      ),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/iam-policy.js')).iamPolicyCommand(opts as never), o, 'iam-policy'));

  common(program.command('create'))
    .description('create the cluster, or bring an existing one back to the spec (idempotent: a re-run changes nothing)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--dry-run', 'show what would be created or changed, change nothing (same as plan)')
    .option('--allow-delete', 'also delete what the spec no longer names (removed node groups, …)')
    .option('--force-unlock <lock-id>', 'take over a lock whose holder is gone (the id the refusal printed)')
    .option(
      '--update-images',
      'move every group to the newest Amazon Linux 2023 image (groups keep the image they run until asked, and plan and status say when a newer one is out)',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    // --dry-run is plan, with create's output default
    .action((o) =>
      run(
        async (opts) =>
          opts.dryRun
            ? (await import('../commands/plan.js')).planCommand({ ...opts, output: opts.output ?? 'text' } as never)
            : (await import('../commands/create.js')).createCommand(opts as never),
        o,
        'create',
      ),
    );

  common(program.command('plan'))
    .description('compare the spec with what exists: what would be created, changed (field: old → new), replaced or deleted; no change')
    .option('--detailed-exitcode', 'exit 0 when nothing would change, 4 when something would')
    .option('--update-images', 'show what create --update-images would change: every group on the newest Amazon Linux 2023 image')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/plan.js')).planCommand(opts as never), o, 'plan'));
}

/** The commands that change a running cluster's instances or back it up: rollout, backup-etcd. */
function dayTwoCommands(program: Command): void {
  common(program.command('rollout'))
    .description(
      'replace instances that run an old launch template version, a batch at a time (each drained, the next once the new ones are Ready), node groups first, the master last after a fresh etcd backup',
    )
    .option('--group <name>', 'only this group (master for the control plane)')
    .addOption(
      numberOption(
        '--min-healthy-percentage <n>',
        "share of a group's instances kept in service: how many are replaced at once (0 to 100, at least one at a time)",
        { min: 0, max: 100, integer: true },
        '90',
      ),
    )
    .addOption(
      numberOption(
        '--drain-timeout <seconds>',
        "how long a replaced node may take to drain before rollout stops (or, with --force, terminates it); the drain hook's heartbeat (300) plus a minute",
        { min: 0, max: 86_400, integer: true },
        '360',
      ),
    )
    .option(
      '--force',
      'complete pending termination lifecycle actions (CONTINUE) instead of waiting for their drain: pods stop without honouring PodDisruptionBudgets',
    )
    .option(
      '--api-endpoint <url>',
      "reach the Kubernetes API at this URL (an SSH tunnel or bastion to a private API) instead of the cluster's endpoint",
    )
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/rollout.js')).rolloutCommand(opts as never), o, 'rollout'));

  common(program.command('backup-etcd'))
    .description("take an etcd snapshot of the master now into the cluster's bucket (or --list / --prune the snapshots)")
    .option('--etcd-endpoint <url>', 'take the snapshot directly from this etcd (v3 gRPC), e.g. https://127.0.0.1:2379 through a tunnel')
    .option('--cacert <file>', 'CA certificate for --etcd-endpoint')
    .option('--cert <file>', 'client certificate for --etcd-endpoint')
    .option('--key <file>', 'client key for --etcd-endpoint')
    .option(
      '--etcd-cluster-id <hex>',
      'the etcd cluster id --etcd-endpoint must reach (hex), when the masters have recorded none (etcd/control-plane/cluster-id.json)',
    )
    .option('--list', 'list the snapshots in the bucket')
    .option('--prune', 'apply the retention policy now')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/backup-etcd.js')).backupEtcdCommand(opts as never), o, 'backup-etcd'));
}

/** The commands that read or remove the cluster: kubeconfig, destroy, status, logs, ssh. */
function clusterCommands(program: Command): void {
  common(program.command('kubeconfig'))
    .description(
      'merge a context for the cluster (admin client certificate, short-lived) into $KUBECONFIG or ~/.kube/config and switch to it, like kops export kubeconfig',
    )
    .option(
      '--out <file>',
      'write a standalone kubeconfig to FILE instead (- for standard output); an existing file is replaced only if kubeaz wrote it for this cluster',
    )
    .option('--merge', 'with --out FILE: add the context to that existing kubeconfig instead of refusing')
    .option('--no-set-current', 'keep the current context as it is')
    .addOption(
      new Option(
        '--admin [duration]',
        'lifetime of the admin client certificate (e.g. 18h, 90m, 7d); at most 168h (a week): it is in system:masters and cannot be revoked, so a leaked copy is cluster-admin until it expires (kops issues 18h)',
      )
        .default('18h')
        .preset('18h'),
    )
    .option('--admin-unlimited', "allow an --admin lifetime over 168h (up to the cluster CA's 10 years)")
    .option('--user <name>', 'name of the user entry (default: <cluster>-admin)')
    .option('--context <name>', 'name of the context (default: <cluster>)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/kubeconfig.js')).kubeconfigCommand(opts as never), o, 'kubeconfig'));

  common(program.command('destroy'))
    .description("delete everything tagged as this cluster's, in reverse dependency order; works without the state file")
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--delete-backups', 'also delete the etcd snapshots (and the bucket holding them); otherwise they are kept')
    .option('--dry-run', 'list every resource destroy would delete (kind, id, name) and change nothing; needs no --yes, takes no lock')
    .option('--force-unlock <lock-id>', 'take over a lock whose holder is gone (the id the refusal printed)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/destroy.js')).destroyCommand(opts as never), o, 'destroy'));

  common(program.command('status'))
    .description(
      'what exists, what is missing or drifted, and health (instances, ELB, NAT, etcd backups, and the Kubernetes API: nodes Ready per group, system pods, version skew); exit 3 unless all is well',
    )
    .option('--wait <duration>', 'poll until healthy, at most this long (e.g. 10m); exit 0 when healthy, 3 when time is up')
    .option(
      '--api-endpoint <url>',
      "reach the Kubernetes API at this URL (an SSH tunnel or bastion to a private API) instead of the cluster's endpoint",
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/status.js')).statusCommand(opts as never), o, 'status'));

  common(program.command('logs'))
    .description("print an instance's boot report (phases, durations, the failure with its output) and its console output, from AWS alone")
    .argument('<instance-id|group>', 'an instance of the cluster (i-…), or a group (master, a node group): every instance of it')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nWorks while the Kubernetes API is down: the report is s3://<bucket>/boot/<instance-id>.json, written by the\n' +
        "instance's agent as it boots; the console output is EC2's GetConsoleOutput (the agent logs each phase there too).\n" +
        'Reports of terminated instances stay readable until destroy. An instance of another cluster is refused.\n' +
        'Examples: kubeaz logs -f cluster.yaml i-0123456789abcdef0 · kubeaz logs -f cluster.yaml master --output json',
    )
    .action((target: string, o) =>
      run(async (opts) => (await import('../commands/logs.js')).logsCommand(target, opts as never), o, 'logs'),
    );

  common(program.command('ssh'))
    .description('open a shell on an instance of the cluster through AWS Systems Manager Session Manager (no port 22, no key pair)')
    .argument('<instance-id|group>', 'an instance of the cluster (i-…), or a group (master, a node group): one of its InService instances')
    .addOption(
      numberOption('--index <n>', "a group's Nth InService instance, by instance id (default 0)", { min: 0, max: 1000, integer: true }),
    )
    .addOption(
      new Option('-o, --output <format>', 'json: print the instance and the command a session would run, and open none')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nRuns `aws ssm start-session --target <id> --region <region>` (the AWS CLI and the session-manager-plugin must be on\n' +
        "PATH; kubeaz says where to get them). Every instance's role lets its SSM agent open sessions; no port is opened.\n" +
        'With --output json no session is opened: the instance, the command it would run (argv) and the programs PATH lacks.\n' +
        'Examples: kubeaz ssh -f cluster.yaml master · kubeaz ssh -f cluster.yaml workers --index 1 · kubeaz ssh -f cluster.yaml i-0123456789abcdef0',
    )
    .action((target: string, o) => run(async (opts) => (await import('../commands/ssh.js')).sshCommand(target, opts as never), o, 'ssh'));
}

/** The commands that find clusters without a spec: list, get-spec. */
function findCommands(program: Command): void {
  const account = (cmd: Command) =>
    cmd
      .option('--profile <name>', 'AWS shared-config profile (default: the SDK credential chain: env, profile, SSO, instance role)')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
      .option('--debug', 'print stack traces of errors');

  account(program.command('list'))
    .description(
      "every kubeaz cluster of the account, found by kubeaz's tags (no spec needed): name, environment, region, Kubernetes version, masters, node groups, created",
    )
    .option('--region <region>', "the region to look in (default: the SDK's, from AWS_REGION or the profile)")
    .option('--all-regions', 'look in every region enabled for the account (EC2 DescribeRegions), a few at a time')
    .addOption(
      numberOption('--concurrency <n>', 'regions read at once with --all-regions (1 to 32)', { min: 1, max: 32, integer: true }, '4'),
    )
    .action((o) => run(async (opts) => (await import('../commands/list.js')).listCommand(opts as never), o, 'list'));

  account(program.command('get-spec'))
    .description('print the spec the cluster was last created from, kept in its bucket (after a destroy too, while the backups are kept)')
    .argument('<cluster-id>', 'NAME-ENVIRONMENT, as metadata.name and metadata.environment make it (kubeaz list shows them)')
    .option('--region <region>', 'the region the cluster lives in: refused when its bucket is elsewhere (default: wherever its bucket is)')
    .addHelpText('after', '\nExample: kubeaz get-spec demo-dev > cluster.yaml')
    .action((id: string, o) =>
      run(async (opts) => (await import('../commands/get-spec.js')).getSpecCommand(id, opts as never), o, 'get-spec'),
    );
}

/** The commands without a spec: schema, version, completion (which reads the program itself). */
function toolCommands(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the cluster spec (for editors and CI; docs/spec.md is generated from it)')
    .addOption(
      new Option('-o, --output <format>', 'text: the schema itself; json: the schema in the JSON envelope, as `schema`')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action((o) => run(async (opts) => (await import('../commands/schema.js')).schemaCommand(opts as never), o, 'schema'));

  program
    .command('version')
    .description('print the version, the git commit, Node and the pinned add-on versions a cluster gets')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((o) => run(async (opts) => (await import('../commands/version.js')).versionCommand(opts as never), o, 'version'));

  program
    .command('completion')
    .description(
      'print a shell completion script: source <(kubeaz completion bash) · source <(kubeaz completion zsh) · kubeaz completion fish | source',
    )
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) =>
      run(
        async () => {
          const { completionScript, SHELLS } = await import('./completion.js');
          if (!(SHELLS as readonly string[]).includes(shell)) {
            throw new UsageError(`completion ${shell}: expected one of ${SHELLS.join(', ')}`);
          }
          process.stdout.write(completionScript(program, shell as 'bash'));
          return 0;
        },
        {},
        'completion',
      ),
    );
}
