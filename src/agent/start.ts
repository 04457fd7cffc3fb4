/**
 * Building the real context of one agent run: identity (injected or IMDSv2), the SDK clients in
 * the instance's region, the agent configuration from the bucket, the group and role, the
 * programs (PATH as given), the reporter. What `boot` learns (bucket, group, its settings) is kept in
 * <root>/etc/kubeaz/agent.json so the timers' runs (`backup`, `join-token`, `node-roles`) need no flags.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AwsClients } from '../aws/clients.js';
import { describeAwsError } from '../aws/errors.js';
import { KubeazFailure } from '../errors.js';
import { AGENT_CONFIG_KEY, parseAgentConfig, parseGroupSettings, type AgentConfig, type GroupSettings } from '../records/agent-config.js';
import { getText, putText } from './bucket.js';
import { consoleLog, hostPath, waitsFrom, WAITS_ENV, type AgentAws, type AgentContext, type Waits } from './context.js';
import { rawIdentity, resolveIdentity } from './identity.js';
import { RealPrograms } from './programs.js';
import { BootReporter, type Log, type ReportSink } from './report.js';

/** Where a boot keeps what later runs on this instance need. */
export const SETTINGS_FILE = '/etc/kubeaz/agent.json';

export interface StartOptions {
  command: string;
  bucket?: string;
  group?: string;
  /** the group's settings as JSON (records/agent-config.ts GroupSettings) */
  settings?: string;
  root: string;
  env: NodeJS.ProcessEnv;
  log?: Log;
}

interface Settings {
  bucket: string;
  group: string;
  settings: GroupSettings;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function readSettings(root: string): Promise<Partial<Settings>> {
  const text = await readFile(path.join(root, SETTINGS_FILE), 'utf8').catch(() => undefined);
  if (!text) return {};
  try {
    return JSON.parse(text) as Partial<Settings>;
  } catch {
    return {};
  }
}

/** The agent configuration from the bucket, retried while it is missing or unreadable (credentials may lag at launch). */
export async function fetchConfig(
  aws: AgentAws,
  bucket: string,
  waits: Waits,
  log: Log,
  pause: (ms: number) => Promise<void> = sleep,
): Promise<AgentConfig> {
  let why = '';
  for (let i = 1; i <= waits.configAttempts; i++) {
    try {
      const text = await getText(aws, bucket, AGENT_CONFIG_KEY);
      if (text === undefined) why = `s3://${bucket}/${AGENT_CONFIG_KEY} does not exist`;
      else {
        const c = parseAgentConfig(text);
        // a malformed document does not heal by waiting
        if (c instanceof Error) throw new KubeazFailure(`s3://${bucket}/${AGENT_CONFIG_KEY}: ${c.message}`, 'internal');
        return c;
      }
    } catch (e) {
      if (e instanceof KubeazFailure) throw e;
      why = describeAwsError(e);
    }
    if (i < waits.configAttempts) {
      log(`agent configuration not readable yet (${why}); attempt ${i} of ${waits.configAttempts}`);
      await pause(waits.configRetryMs);
    }
  }
  throw new KubeazFailure(`cannot read the agent configuration: ${why}`, 'aws');
}

export async function createContext(o: StartOptions): Promise<AgentContext> {
  const log = o.log ?? consoleLog();
  const waits = waitsFrom(o.env[WAITS_ENV]);
  const saved = o.command === 'boot' ? {} : await readSettings(o.root);
  const bucket = o.bucket ?? saved.bucket;
  if (!bucket) throw new KubeazFailure('no bucket: pass --bucket (boot keeps it for later runs)', 'user', 2);
  let settings = saved.settings;
  if (o.settings !== undefined) {
    const parsed = parseGroupSettings(o.settings);
    if (parsed instanceof Error) throw new KubeazFailure(`--settings: ${parsed.message}`, 'user', 2);
    settings = parsed;
  }
  const raw = await rawIdentity(o.env, { attempts: waits.imdsAttempts, retryMs: waits.imdsRetryMs });
  const aws = new AwsClients({ region: raw.region });
  const config = await fetchConfig(aws, bucket, waits, log);
  const identity = resolveIdentity(raw, o.group ?? saved.group, settings);
  if (o.command === 'boot') {
    const file = path.join(o.root, SETTINGS_FILE);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify({ bucket, group: identity.group, settings: identity.settings } satisfies Settings)}\n`);
  }
  // Only `boot` writes the boot report; the timers' runs log to the console (their journal) alone.
  const sink: ReportSink =
    o.command === 'boot'
      ? { put: (key, body) => putText(aws, bucket, key, body, { contentType: 'application/json' }) }
      : { put: async () => {} };
  const now = () => new Date();
  const reporter = new BootReporter({ instanceId: identity.instanceId, group: identity.group, role: identity.role, sink, log, now });
  const programs = new RealPrograms({ env: { ...o.env, KUBEAZ_ROOT: o.root === '/' ? '' : o.root }, timeoutMs: waits.programTimeoutMs });
  log(
    `${o.command} on ${identity.instanceId} (${identity.role} of group ${identity.group}, ${identity.zone}, ${identity.privateIp}) for cluster ${config.clusterId}`,
  );
  return { identity, config, programs, aws, root: o.root, waits, log, reporter, now, sleep };
}

export { hostPath };
