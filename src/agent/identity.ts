/**
 * Who this instance is: its id, region, zone, private address and host name from the instance
 * metadata service (IMDSv2: a session token by PUT, then reads carrying it; the launch template
 * keeps the hop limit at 1), or injected for tests and boot-sim through KUBEAZ_AGENT_IDENTITY
 * (JSON {instanceId, zone, privateIp, region, group?, hostname?}). Its group comes from the
 * injection or the user data's `--group`; its role (with labels, taints and elastic-IP pool) from
 * the group settings the user data passes (`--settings`).
 */
import { request } from 'node:http';
import { z } from 'zod';
import { KubeazFailure } from '../errors.js';
import type { AgentRole, GroupSettings } from '../records/agent-config.js';

export interface Identity {
  instanceId: string;
  region: string;
  zone: string;
  privateIp: string;
  /** the private DNS name (the node name the AWS cloud-controller-manager expects) */
  hostname: string;
  group: string;
  role: AgentRole;
  /** what the group's launch template version says this instance is */
  settings: GroupSettings;
}

/** What the metadata service (or the injection) tells, before the group is known. */
export type RawIdentity = Omit<Identity, 'group' | 'role' | 'settings'> & { group?: string };

export const IDENTITY_ENV = 'KUBEAZ_AGENT_IDENTITY';

const injectedSchema = z.object({
  instanceId: z.string().regex(/^i-[0-9a-z]+$/),
  zone: z.string().min(1),
  privateIp: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/),
  region: z.string().min(1),
  group: z.string().min(1).optional(),
  hostname: z.string().min(1).optional(),
});

export class IdentityError extends KubeazFailure {
  override readonly name = 'IdentityError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'aws', 1, options);
  }
}

/** EC2's private DNS name for an address: ip-10-0-1-5.ec2.internal in us-east-1, ip-10-0-1-5.<region>.compute.internal elsewhere. */
export function privateDnsName(ip: string, region: string): string {
  return `ip-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
}

/** The injected identity's JSON, checked. */
export function parseInjectedIdentity(text: string): RawIdentity {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new IdentityError(`${IDENTITY_ENV} is not JSON: ${(e as Error).message}`);
  }
  const r = injectedSchema.safeParse(raw);
  if (!r.success)
    throw new IdentityError(`${IDENTITY_ENV}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const v = r.data;
  return {
    instanceId: v.instanceId,
    region: v.region,
    zone: v.zone,
    privateIp: v.privateIp,
    hostname: v.hostname ?? privateDnsName(v.privateIp, v.region),
    ...(v.group ? { group: v.group } : {}),
  };
}

export interface ImdsOptions {
  /** default http://169.254.169.254 (AWS_EC2_METADATA_SERVICE_ENDPOINT, as the SDK reads it) */
  endpoint?: string;
  attempts?: number;
  retryMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

function http(method: 'GET' | 'PUT', url: string, headers: Record<string, string>, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () =>
        (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300
          ? resolve(body)
          : reject(new Error(`${method} ${url}: HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The instance's identity from IMDSv2, retried (the metadata service can be slow right after launch). */
export async function imdsIdentity(opts: ImdsOptions = {}): Promise<RawIdentity> {
  const base = (opts.endpoint ?? process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254').replace(/\/+$/, '');
  const attempts = opts.attempts ?? 10;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      const token = await http('PUT', `${base}/latest/api/token`, { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' }, timeoutMs);
      const md = (p: string) =>
        http('GET', `${base}/latest/meta-data/${p}`, { 'X-aws-ec2-metadata-token': token }, timeoutMs).then((s) => s.trim());
      const [instanceId, zone, region, privateIp, hostname] = await Promise.all([
        md('instance-id'),
        md('placement/availability-zone'),
        md('placement/region'),
        md('local-ipv4'),
        md('local-hostname'),
      ]);
      // local-hostname may list several names (custom DHCP options): the first is the instance's
      return { instanceId, zone, region, privateIp, hostname: hostname.split(/\s+/)[0] || privateDnsName(privateIp, region) };
    } catch (e) {
      last = e;
      if (i < attempts) await sleep(opts.retryMs ?? 2000);
    }
  }
  throw new IdentityError(
    `cannot read the instance identity from IMDSv2 at ${base} after ${attempts} attempts: ${(last as Error)?.message ?? String(last)}`,
    { cause: last },
  );
}

/** Injected when KUBEAZ_AGENT_IDENTITY is set, else from IMDSv2. */
export function rawIdentity(env: NodeJS.ProcessEnv = process.env, imds: ImdsOptions = {}): Promise<RawIdentity> {
  const injected = env[IDENTITY_ENV];
  return injected ? Promise.resolve(parseInjectedIdentity(injected)) : imdsIdentity(imds);
}

/**
 * The full identity: the group from the injection or the `--group` the user data passes, the role
 * from the group's settings. Without either the instance cannot know what to be: refused.
 */
export function resolveIdentity(raw: RawIdentity, given: string | undefined, settings: GroupSettings | undefined): Identity {
  const group = raw.group ?? given;
  if (!group) throw new IdentityError(`instance ${raw.instanceId}: no group was given (the user data passes --group)`);
  if (!settings)
    throw new IdentityError(`instance ${raw.instanceId} of group ${group}: no group settings were given (the user data passes --settings)`);
  return {
    instanceId: raw.instanceId,
    region: raw.region,
    zone: raw.zone,
    privateIp: raw.privateIp,
    hostname: raw.hostname,
    group,
    role: settings.role,
    settings,
  };
}
