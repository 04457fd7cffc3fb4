/**
 * Fakes for the master flow's tests: a recording Programs whose kubeadm init/join add a member to a
 * shared in-memory etcd cluster (FakeEtcd, the EtcdAccess the flow asks), and a context builder
 * whose AWS side is whatever the test gives (moto through AwsClients, or aws-sdk-client-mock).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentAws, AgentContext, Waits } from '../../src/agent/context.js';
import { DEFAULT_WAITS } from '../../src/agent/context.js';
import type { Identity } from '../../src/agent/identity.js';
import type { MasterDeps } from '../../src/agent/master/boot.js';
import type { EtcdAccess } from '../../src/agent/master/etcd-access.js';
import { EtcdError, type EtcdMember, type EtcdStatus, type Probe } from '../../src/etcd/client.js';
import type { Programs, RunOptions, RunResult } from '../../src/agent/programs.js';
import { BootReporter, type ReportSink } from '../../src/agent/report.js';
import type { AgentConfig } from '../../src/records/agent-config.js';
import type { MasterSettings } from '../../src/model/master-settings.js';

export const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '', tail: stdout, timedOut: false });
export const fail = (code: number, tail: string): RunResult => ({ code, stdout: '', stderr: tail, tail, timedOut: false });

/** The cluster id FakeEtcd answers in Status (decimal, as the wire carries it; hex cdf818194e3a8c32: above 2^53, as real ones are). */
export const FAKE_ETCD_CLUSTER_ID = '14841639068965178418';

/** A tiny etcd cluster in memory, answering in the client's own types: one leader (the first started and up). */
export class FakeEtcd implements EtcdAccess {
  members: EtcdMember[] = [];
  removed: string[] = [];
  snapshots: string[] = [];
  private next = 0x8e9e05c52164694dn;
  down = new Set<string>();

  add(ip: string, name: string): EtcdMember {
    const n = this.next++;
    const m: EtcdMember = {
      id: n.toString(10),
      idHex: n.toString(16),
      name,
      peerURLs: [`https://${ip}:2380`],
      clientURLs: [`https://${ip}:2379`],
      isLearner: false,
      started: true,
    };
    this.members.push(m);
    return m;
  }
  private leader(): EtcdMember | undefined {
    return this.members.find((m) => m.started && !this.down.has(m.clientURLs[0]!));
  }
  async probe(endpoints: string[]): Promise<Probe[]> {
    return endpoints.map((endpoint): Probe => {
      const m = this.members.find((x) => x.clientURLs.includes(endpoint));
      if (!m || this.down.has(endpoint))
        return {
          endpoint,
          ok: false,
          error: new EtcdError(`etcd Status at ${endpoint} failed: connection refused`, 'Unavailable', endpoint),
        };
      const leader = this.leader()?.id ?? '0';
      const status: EtcdStatus = {
        endpoint,
        memberId: m.id,
        leader,
        clusterId: FAKE_ETCD_CLUSTER_ID,
        version: '3.6.6',
        dbSize: '0',
        dbSizeInUse: '0',
        raftTerm: '2',
        raftIndex: '9',
        raftAppliedIndex: '9',
        errors: [],
        isLearner: false,
      };
      return { endpoint, ok: true, status, healthy: leader !== '0' };
    });
  }
  async memberList(endpoints: string[]): Promise<EtcdMember[]> {
    const answering = endpoints.some((e) => this.members.some((m) => m.clientURLs.includes(e)) && !this.down.has(e));
    if (!answering) throw new EtcdError(`no etcd member answers at ${endpoints.join(', ')}`, 'Unavailable', endpoints[0] ?? '');
    return this.members.map((m) => ({ ...m }));
  }
  async memberRemove(_endpoints: string[], id: string): Promise<void> {
    this.removed.push(id);
    this.members = this.members.filter((m) => m.id !== id);
  }
  async snapshot(endpoint: string, file: string): Promise<{ sha256: string; bytes: number }> {
    this.snapshots.push(endpoint);
    const body = Buffer.alloc(1024, 7);
    writeFileSync(file, body);
    const { createHash } = await import('node:crypto');
    return { sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
  }
}

export interface Call {
  cmd: string;
  args: string[];
  input?: string;
}

/** Programs that record every call and answer through `answer` (default: success; containerd's default config). */
export class FakePrograms implements Programs {
  calls: Call[] = [];
  constructor(private readonly answer: (cmd: string, args: string[]) => RunResult | Promise<RunResult> | undefined = () => undefined) {}
  async run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ cmd, args, ...(opts.input !== undefined ? { input: opts.input } : {}) });
    const a = await this.answer(cmd, args);
    if (a) return a;
    if (cmd === 'containerd' && args[0] === 'config') return ok('[plugins]\n  SystemdCgroup = false\n');
    return ok();
  }
  commands(): string[] {
    return this.calls.map((c) => `${c.cmd} ${c.args.slice(0, 2).join(' ')}`.trim());
  }
}

/** The default EncryptionConfiguration as the model renders it (aescbc, key1 by reference: model/encryption.ts). */
export const ENCRYPTION_CONFIG = `apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: pki/encryption/key1
      - identity: {}
`;

export const MASTER_SETTINGS: MasterSettings = {
  controlPlaneCount: 3,
  masterDns: 'master.demo-dev.internal',
  apiCertSans: ['master.demo-dev.internal'],
  backupIntervalMinutes: 30,
  backupRetentionDays: 7,
  helmVersion: '3.16.3',
  addons: {
    cilium: '1.19.6',
    awsCcmChart: '0.0.11',
    awsCcmImage: 'v1.34.3',
    ebsCsiChart: '2.64.0',
    clusterAutoscalerChart: '9.59.1',
    clusterAutoscalerImage: 'v1.34.5',
    nthChart: '0.27.3',
  },
  encryption: { provider: 'aescbc', config: ENCRYPTION_CONFIG, fingerprint: createHash('sha256').update(ENCRYPTION_CONFIG).digest('hex') },
};

export function agentConfig(bucket: string, master: MasterSettings = MASTER_SETTINGS): AgentConfig {
  return {
    version: 1,
    clusterId: 'demo-dev',
    region: 'eu-west-1',
    bucket,
    kubernetesVersion: '1.34.2',
    apiEndpoint: 'master.demo-dev.internal:443',
    internalDomain: 'demo-dev.internal',
    podCidr: '100.64.0.0/16',
    serviceCidr: '100.65.0.0/16',
    vpcCidr: '10.0.0.0/16',
    master: master as unknown as Record<string, unknown>,
  };
}

/** Every pause short (tests run in seconds); the grace for unlisted instances stays AWS's (10 minutes). */
export const FAST_WAITS: Waits = {
  ...(Object.fromEntries(
    Object.entries(DEFAULT_WAITS).map(([k, v]) => [
      k,
      k.endsWith('RetryMs') ? Math.min(v, 50) : k.endsWith('Attempts') || k.endsWith('Rounds') ? Math.min(v, 200) : v,
    ]),
  ) as unknown as Waits),
  unknownGraceMs: DEFAULT_WAITS.unknownGraceMs,
};

export interface TestMaster {
  ctx: AgentContext;
  programs: FakePrograms;
  logs: string[];
  reporter: BootReporter;
}

export function testMaster(o: {
  instanceId: string;
  group: string;
  ip: string;
  aws: AgentAws;
  bucket: string;
  sink: ReportSink;
  programs: FakePrograms;
  master?: MasterSettings;
  waits?: Partial<Waits>;
}): TestMaster {
  const identity: Identity = {
    instanceId: o.instanceId,
    region: 'eu-west-1',
    zone: 'eu-west-1a',
    privateIp: o.ip,
    hostname: `ip-${o.ip.replace(/\./g, '-')}.eu-west-1.compute.internal`,
    group: o.group,
    role: 'master',
    settings: { role: 'master', labels: { 'kubeaz.io/role': 'master' }, taints: [], elasticIps: 0 },
  };
  const logs: string[] = [];
  const log = (l: string) => void logs.push(`${o.instanceId}: ${l}`);
  const now = () => new Date();
  const reporter = new BootReporter({ instanceId: o.instanceId, group: o.group, role: 'master', sink: o.sink, log, now });
  const ctx: AgentContext = {
    identity,
    config: agentConfig(o.bucket, o.master),
    programs: o.programs,
    aws: o.aws,
    root: mkdtempSync(path.join(tmpdir(), `agent-${o.instanceId}-`)),
    waits: { ...FAST_WAITS, ...o.waits },
    log,
    reporter,
    now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return { ctx, programs: o.programs, logs, reporter };
}

/** kubeadm init/join through the fake programs: a member joins the fake etcd, the API comes up. */
export function clusterPrograms(
  etcd: FakeEtcd,
  state: { apiUp: boolean; inits: string[] },
  ip: string,
  name: string,
  extra?: (cmd: string, args: string[]) => RunResult | undefined,
): FakePrograms {
  return new FakePrograms((cmd, args) => {
    const e = extra?.(cmd, args);
    if (e) return e;
    if (cmd === 'kubeadm' && args[0] === 'init') {
      state.inits.push(name);
      etcd.add(ip, name);
      state.apiUp = true;
    }
    if (cmd === 'kubeadm' && args[0] === 'join') etcd.add(ip, name);
    return undefined;
  });
}

export function deps(etcd: FakeEtcd, state: { apiUp: boolean }): MasterDeps {
  return { etcd, apiUp: async () => state.apiUp, agentCommand: ['/usr/bin/node-22', '/opt/kubeaz/kubeaz-agent.mjs'] };
}
