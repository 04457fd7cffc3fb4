/**
 * An AgentContext for tests: a temp root, a fake program boundary that records every call and
 * answers by a handler, real SDK clients (mock them with aws-sdk-client-mock, or point them at
 * moto), zero waits, a reporter whose writes are kept.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AwsClients } from '../../src/aws/clients.js';
import { DEFAULT_WAITS, type AgentContext, type Waits } from '../../src/agent/context.js';
import type { Identity } from '../../src/agent/identity.js';
import type { Programs, RunOptions, RunResult } from '../../src/agent/programs.js';
import { BootReporter } from '../../src/agent/report.js';
import type { AgentConfig, GroupSettings } from '../../src/records/agent-config.js';

export interface Call {
  cmd: string;
  args: string[];
  opts?: RunOptions;
}

export type Answer = Partial<RunResult> | undefined;

/** Records calls; `answer` decides each result (default: exit 0, no output). */
export class FakePrograms implements Programs {
  readonly calls: Call[] = [];
  constructor(public answer: (c: Call, n: number) => Answer | Promise<Answer> = () => undefined) {}
  async run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult> {
    const c = { cmd, args, ...(opts ? { opts } : {}) };
    this.calls.push(c);
    const a = (await this.answer(c, this.calls.filter((x) => x.cmd === cmd && x.args[0] === args[0]).length)) ?? {};
    const code = a.code ?? 0;
    return {
      code,
      stdout: a.stdout ?? '',
      stderr: a.stderr ?? '',
      tail: a.tail ?? `${a.stdout ?? ''}${a.stderr ?? ''}`,
      timedOut: a.timedOut ?? false,
    };
  }
  /** `cmd arg0 arg1 …` of every call */
  lines(): string[] {
    return this.calls.map((c) => [c.cmd, ...c.args].join(' '));
  }
}

export function testConfig(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    version: 1,
    clusterId: 'demo-dev',
    region: 'us-east-1',
    bucket: 'kubeaz-demo-dev-123456789012-us-east-1',
    kubernetesVersion: '1.31.4',
    apiEndpoint: 'master.dev.kube:443',
    internalDomain: 'dev.kube',
    podCidr: '100.96.0.0/11',
    serviceCidr: '100.64.0.0/13',
    vpcCidr: '10.0.0.0/16',
    ...over,
  };
}

/** The groups' settings their user data would pass (--settings), by group. */
export const TEST_GROUPS: Record<string, GroupSettings> = {
  master: { role: 'master', labels: { 'kubeaz.io/role': 'master' }, taints: [], elasticIps: 0 },
  workers: {
    role: 'node',
    labels: { 'kubeaz.io/role': 'node', tier: 'apps', 'node-role.kubernetes.io/worker': '' },
    taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }],
    elasticIps: 0,
  },
  edge: { role: 'loadbalancer', labels: { 'kubeaz.io/role': 'loadbalancer' }, taints: [], elasticIps: 3 },
};

export interface TestContext extends AgentContext {
  programs: FakePrograms;
  reports: Array<{ key: string; body: string }>;
  logLines: string[];
  slept: number[];
}

export function testContext(
  o: { identity?: Partial<Identity>; config?: AgentConfig; waits?: Partial<Waits>; programs?: FakePrograms; aws?: AwsClients } = {},
): TestContext {
  const config = o.config ?? testConfig();
  const group = o.identity?.group ?? 'workers';
  const identity: Identity = {
    instanceId: 'i-0123456789abcdef0',
    region: config.region,
    zone: 'us-east-1a',
    privateIp: '10.0.1.5',
    hostname: 'ip-10-0-1-5.ec2.internal',
    group,
    role: o.identity?.settings?.role ?? TEST_GROUPS[group]?.role ?? 'node',
    settings: TEST_GROUPS[group] ?? { role: 'node', labels: {}, taints: [], elasticIps: 0 },
    ...o.identity,
  };
  const reports: Array<{ key: string; body: string }> = [];
  const logLines: string[] = [];
  const slept: number[] = [];
  let t = Date.parse('2026-12-01T10:00:00Z');
  const now = () => new Date((t += 1000));
  const log = (l: string) => void logLines.push(l);
  const reporter = new BootReporter({
    instanceId: identity.instanceId,
    group: identity.group,
    role: identity.role,
    sink: { put: async (key, body) => void reports.push({ key, body }) },
    log,
    now,
  });
  return {
    identity,
    config,
    programs: o.programs ?? new FakePrograms(),
    aws: o.aws ?? new AwsClients({ region: config.region, retry: { maxAttempts: 1 } }),
    root: mkdtempSync(path.join(tmpdir(), 'agent-root-')),
    waits: {
      ...DEFAULT_WAITS,
      ...Object.fromEntries(
        Object.keys(DEFAULT_WAITS)
          .filter((k) => k.endsWith('Ms'))
          .map((k) => [k, 0]),
      ),
      ...o.waits,
    } as Waits,
    log,
    reporter,
    now,
    sleep: async (ms) => void slept.push(ms),
    reports,
    logLines,
    slept,
  };
}
