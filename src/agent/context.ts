/**
 * What every part of the agent works with: who this instance is, the cluster's agent
 * configuration, the external-program boundary, the SDK clients, the filesystem root every path
 * hangs off (`/` on an instance, a temp dir in tests and boot-sim), every wait and retry in one
 * object (boot-sim shortens them), the console log, the boot reporter, the clock and sleep.
 * Tests build one with `testContext`-style fakes; `createContext` builds the real one.
 */
import path from 'node:path';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import { KubeazFailure } from '../errors.js';
import type { AgentConfig } from '../records/agent-config.js';
import type { Identity } from './identity.js';
import type { Programs } from './programs.js';
import type { BootReporter, Log } from './report.js';

/** The SDK clients the agent uses (AwsClients gives them; tests mock them with aws-sdk-client-mock). */
export interface AgentAws {
  s3(): Promise<S3Client>;
  ec2(): Promise<EC2Client>;
  autoscaling(): Promise<AutoScalingClient>;
  route53(): Promise<Route53Client>;
}

/**
 * Every wait and retry of the agent: attempts and the pause between them, program timeouts.
 * The defaults suit AWS; boot-sim passes shorter ones (KUBEAZ_AGENT_WAITS, JSON of a subset).
 */
export interface Waits {
  /** IMDSv2 reads right after launch */
  imdsAttempts: number;
  imdsRetryMs: number;
  /** fetching the agent configuration at boot (the instance role's credentials may lag a little) */
  configAttempts: number;
  configRetryMs: number;
  /** one external program, unless its call says otherwise */
  programTimeoutMs: number;
  /** dnf installs (a mirror can fail for a moment) */
  packageAttempts: number;
  packageRetryMs: number;
  /** node: waiting for join/ (a master writes it once up; a new cluster boots every group at once) */
  joinRecordAttempts: number;
  joinRecordRetryMs: number;
  /** node: `kubeadm join` tries, with `kubeadm reset -f` between */
  joinAttempts: number;
  joinRetryMs: number;
  /** loadbalancer: rounds of listing the pool and claiming a free address */
  eipRounds: number;
  eipRetryMs: number;
  /** master: rounds of the boot decision (API up? records? lost for good?) before giving up */
  electionAttempts: number;
  electionRetryMs: number;
  /** master: an instance recorded this recently but not listed by EC2 counts as alive (it may be new) */
  unknownGraceMs: number;
  /** master: `kubeadm init` tries (with `kubeadm reset -f` between) before the instance marks itself Unhealthy */
  initAttempts: number;
  initRetryMs: number;
  /** master: `kubeadm join --control-plane` tries (reset between), and the waits before it (replace, pending adds) */
  masterJoinAttempts: number;
  masterJoinRetryMs: number;
  memberAttempts: number;
  memberRetryMs: number;
  /** master: `kubeadm token create` right after init (the API may not take writes yet) */
  tokenAttempts: number;
  tokenRetryMs: number;
  /** master: each add-on's tries */
  addonAttempts: number;
  addonRetryMs: number;
  /** master: an add-on install claimed in addons.json (`installing`) this long ago and not recorded done is taken over by the next joining master */
  addonsStaleMs: number;
  /** master: the first snapshot after the control plane formed (the leader may take a moment) */
  backupAttempts: number;
  backupRetryMs: number;
  /** master: the API's /readyz probe */
  apiProbeTimeoutMs: number;
}

export const DEFAULT_WAITS: Waits = {
  imdsAttempts: 10,
  imdsRetryMs: 2000,
  configAttempts: 30,
  configRetryMs: 10_000,
  programTimeoutMs: 30 * 60_000,
  packageAttempts: 5,
  packageRetryMs: 10_000,
  // 360 × 10 s: an hour for the control plane to come up (as node.sh waited)
  joinRecordAttempts: 360,
  joinRecordRetryMs: 10_000,
  joinAttempts: 30,
  joinRetryMs: 10_000,
  eipRounds: 5,
  eipRetryMs: 10_000,
  // 360 × 10 s: an hour for the control plane to form or be restored (as etcd-membership.sh waited)
  electionAttempts: 360,
  electionRetryMs: 10_000,
  unknownGraceMs: 10 * 60_000,
  initAttempts: 3,
  initRetryMs: 10_000,
  masterJoinAttempts: 30,
  masterJoinRetryMs: 10_000,
  memberAttempts: 60,
  memberRetryMs: 10_000,
  tokenAttempts: 30,
  tokenRetryMs: 10_000,
  addonAttempts: 10,
  addonRetryMs: 10_000,
  // well above a slow install (7 steps retried 10 × 10 s; helm runs without --wait, the webhook's
  // rollout waits up to 5 min a try): a live installer is not raced; a failed one is retried later
  addonsStaleMs: 2 * 60 * 60_000,
  backupAttempts: 30,
  backupRetryMs: 10_000,
  apiProbeTimeoutMs: 5000,
};

export const WAITS_ENV = 'KUBEAZ_AGENT_WAITS';

/** DEFAULT_WAITS with the overrides of `text` (JSON of a subset; unknown names or non-numbers refused). */
export function waitsFrom(text: string | undefined, base: Waits = DEFAULT_WAITS): Waits {
  if (!text) return { ...base };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new KubeazFailure(`${WAITS_ENV} is not JSON: ${(e as Error).message}`, 'user', 2);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new KubeazFailure(`${WAITS_ENV} must be a JSON object`, 'user', 2);
  const out: Waits = { ...base };
  for (const [k, v] of Object.entries(raw)) {
    if (!(k in base)) throw new KubeazFailure(`${WAITS_ENV}: unknown wait ${k} (known: ${Object.keys(base).join(', ')})`, 'user', 2);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new KubeazFailure(`${WAITS_ENV}: ${k} must be a number ≥ 0`, 'user', 2);
    (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

export interface AgentContext {
  identity: Identity;
  config: AgentConfig;
  programs: Programs;
  aws: AgentAws;
  /** the filesystem root: `/` on an instance */
  root: string;
  waits: Waits;
  log: Log;
  reporter: BootReporter;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** An absolute instance path (`/etc/kubernetes/pki`) under the context's root. */
export function hostPath(ctx: Pick<AgentContext, 'root'>, p: string): string {
  return path.join(ctx.root, p);
}

/** A console logger: `kubeaz-agent[HH:MM:SS]: line` on stderr (the serial console on an instance). */
export function consoleLog(write: (s: string) => void = (s) => process.stderr.write(s), now: () => Date = () => new Date()): Log {
  return (line) => write(`kubeaz-agent[${now().toISOString().slice(11, 19)}]: ${line}\n`);
}
