/**
 * The machinery of `npm run boot-sim`: one simulated instance per instance moto launched — the
 * real agent bundle (`node dist/agent/kubeaz-agent.mjs boot`) with its identity injected, a
 * loopback address 127.X.Y.N of its own, its own root directory, the recording stand-ins of
 * standin.mjs first on PATH and the agent's waits shortened —, the internal API load balancer (a
 * TCP proxy on 127.0.0.1 to any running stand-in API), and the auto scaling group's health check
 * (an instance reported Unhealthy is terminated; moto launches the replacement, which gets an agent).
 * Only loopback traffic: moto, etcd members and the stand-in APIs all listen on 127.0.0.0/8.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeAutoScalingInstancesCommand,
  paginateDescribeAutoScalingGroups,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import type { Server } from 'node:http';
import type { AwsClients } from '../../aws/clients.js';
import { recordingProxy } from './iam.js';
import { agentArgsOfUserData } from './userdata-args.js';
import { parseAgentConfig, parseGroupSettings, AGENT_CONFIG_KEY, type AgentConfig } from '../../records/agent-config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
export const STANDIN = path.join(REPO_ROOT, 'src', 'devtools', 'boot-sim', 'standin.mjs');
export const AGENT_BUNDLE = path.join(REPO_ROOT, 'dist', 'agent', 'kubeaz-agent.mjs');
/** The programs the agent runs on an instance; each gets a recording stand-in. */
export const STANDINS = [
  'kubeadm',
  'kubelet',
  'kubectl',
  'helm',
  'dnf',
  'systemctl',
  'containerd',
  'modprobe',
  'sysctl',
  'swapoff',
  'etcdutl',
  'curl',
  'tar',
] as const;

/** The agent's waits in boot-sim (KUBEAZ_AGENT_WAITS): the same attempts, seconds instead of minutes. */
export const SIM_WAITS = {
  imdsRetryMs: 200,
  configRetryMs: 500,
  programTimeoutMs: 120_000,
  packageRetryMs: 200,
  joinRecordAttempts: 600,
  joinRecordRetryMs: 500,
  joinRetryMs: 500,
  eipRetryMs: 300,
  electionAttempts: 240,
  electionRetryMs: 700,
  unknownGraceMs: 20_000,
  initAttempts: 2,
  initRetryMs: 300,
  masterJoinRetryMs: 700,
  memberRetryMs: 500,
  tokenRetryMs: 500,
  addonRetryMs: 200,
  addonAttempts: 2,
  backupRetryMs: 700,
  apiProbeTimeoutMs: 1500,
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The cluster's bucket and agent configuration: the bucket whose agent/config.json names this cluster. */
export async function findCluster(aws: AwsClients, clusterId: string): Promise<AgentConfig> {
  const s3 = await aws.s3();
  const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets ?? [];
  for (const b of buckets) {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: b.Name!, Key: AGENT_CONFIG_KEY }));
      const c = parseAgentConfig(await out.Body!.transformToString());
      if (!(c instanceof Error) && c.clusterId === clusterId) return c;
    } catch {
      /* not this one */
    }
  }
  throw new Error(`no bucket holds ${AGENT_CONFIG_KEY} of cluster ${clusterId}: did create upload the agent configuration?`);
}

export interface SimInstance {
  id: string;
  group: string;
  role: string;
  zone: string;
  /** the agent's arguments from the user data of the launch template version it was launched with (--bucket, --group, --settings) */
  args: string[];
  ip: string;
  root: string;
  agent?: ChildProcess;
  /** the recording proxy to the emulator this instance's agent calls AWS through */
  aws?: { url: string; server: Server };
  exit?: number | null;
  terminated?: boolean;
}

export interface SimOptions {
  dir: string;
  aws: AwsClients;
  config: AgentConfig;
  env: NodeJS.ProcessEnv;
  log: (s: string) => void;
  initFails?: boolean;
}

export class Sim {
  readonly instances = new Map<string, SimInstance>();
  readonly bin: string;
  readonly shared: string;
  /** every AWS call of every agent, one RecordedCall a line (iam.ts) */
  readonly callsFile: string;
  private readonly base = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
  private next = 2;
  private lb?: net.Server;
  lbUrl = '';
  private stopped = false;
  private loops: Array<Promise<void>> = [];

  constructor(readonly o: SimOptions) {
    this.bin = path.join(o.dir, 'bin');
    this.shared = path.join(o.dir, 'shared');
    this.callsFile = path.join(o.dir, 'aws-calls.jsonl');
  }

  async prepare(): Promise<void> {
    await mkdir(this.bin, { recursive: true });
    await mkdir(path.join(this.shared, 'apiservers'), { recursive: true });
    for (const s of STANDINS) {
      const f = path.join(this.bin, s);
      await writeFile(f, `#!/bin/sh\nexec "${process.execPath}" "${STANDIN}" ${s} "$@"\n`);
      await chmod(f, 0o755);
    }
    await this.startLoadBalancer();
  }

  /** The internal API load balancer: each connection goes to a running stand-in API (its 6443). */
  private async startLoadBalancer(): Promise<void> {
    this.lb = net.createServer((client) => {
      void (async () => {
        const live = (await readdir(path.join(this.shared, 'apiservers')).catch(() => [] as string[])).sort(() => Math.random() - 0.5);
        const ip = live[0];
        if (!ip) return client.destroy();
        const up = net.connect(6443, ip);
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
        client.pipe(up).pipe(client);
      })();
    });
    await new Promise<void>((r) => this.lb!.listen(0, '127.0.0.1', () => r()));
    this.lbUrl = `https://127.0.0.1:${(this.lb.address() as net.AddressInfo).port}`;
  }

  /**
   * Instances of the cluster's groups that moto runs now (not terminated), each with the agent's
   * arguments from the user data of the launch template version it was launched with — what an
   * instance's user data would run. The cluster's groups are found by their tag, checked here.
   */
  async launched(): Promise<Array<Omit<SimInstance, 'ip' | 'root'>>> {
    const asg = await this.o.aws.autoscaling();
    const r: Array<Omit<SimInstance, 'ip' | 'root'>> = [];
    for await (const page of paginateDescribeAutoScalingGroups({ client: asg }, {})) {
      for (const g of page.AutoScalingGroups ?? []) {
        if (!g.Tags?.some((t) => t.Key === 'kubeaz:cluster' && t.Value === this.o.config.clusterId)) continue;
        for (const i of g.Instances ?? []) {
          if (!i.InstanceId || /Terminat/.test(i.LifecycleState ?? '') || this.instances.has(i.InstanceId)) continue;
          const lt = i.LaunchTemplate ?? g.LaunchTemplate;
          if (!lt?.LaunchTemplateId) throw new Error(`instance ${i.InstanceId} of ${g.AutoScalingGroupName} names no launch template`);
          const args = await this.agentArgs(lt.LaunchTemplateId, lt.Version ?? '$Default');
          const settings = parseGroupSettings(args[args.indexOf('--settings') + 1] ?? '');
          const group = args[args.indexOf('--group') + 1];
          if (settings instanceof Error || !group || !args.includes('--group'))
            throw new Error(`instance ${i.InstanceId}: the user data's agent arguments (${args.join(' ')}) name no group or settings`);
          r.push({ id: i.InstanceId, group, role: settings.role, zone: i.AvailabilityZone ?? '', args });
        }
      }
    }
    return r;
  }

  private readonly userDataArgs = new Map<string, string[]>();
  /** The agent's arguments in a launch template version's user data (cached: a version never changes). */
  private async agentArgs(templateId: string, version: string): Promise<string[]> {
    const key = `${templateId}@${version}`;
    const known = this.userDataArgs.get(key);
    if (known) return known;
    const out = await (
      await this.o.aws.ec2()
    ).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: [version] }));
    const ud = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData;
    if (!ud) throw new Error(`launch template ${key} has no user data`);
    const args = agentArgsOfUserData(Buffer.from(ud, 'base64').toString('utf8'));
    this.userDataArgs.set(key, args);
    return args;
  }

  /** Starts an agent for every instance launched that has none yet. */
  async startNew(): Promise<SimInstance[]> {
    const started: SimInstance[] = [];
    for (const l of await this.launched()) {
      if (this.instances.has(l.id)) continue;
      const ip = `${this.base}.${this.next++}`;
      const inst: SimInstance = { ...l, ip, root: path.join(this.o.dir, 'instances', l.id) };
      this.instances.set(l.id, inst);
      this.startAgent(inst);
      started.push(inst);
    }
    return started;
  }

  agentEnv(inst: SimInstance): NodeJS.ProcessEnv {
    return {
      ...this.o.env,
      PATH: `${this.bin}:${this.o.env.PATH ?? ''}`,
      ...(inst.aws ? { AWS_ENDPOINT_URL: inst.aws.url } : {}),
      KUBEAZ_AGENT_IDENTITY: JSON.stringify({
        instanceId: inst.id,
        zone: inst.zone,
        privateIp: inst.ip,
        region: this.o.config.region,
        group: inst.group,
      }),
      KUBEAZ_AGENT_WAITS: JSON.stringify(SIM_WAITS),
      KUBEAZ_AGENT_API_URL: this.lbUrl,
      KUBEAZ_ETCDUTL: path.join(this.bin, 'etcdutl'),
      SIM_ROOT: inst.root,
      SIM_IP: inst.ip,
      SIM_SHARED: this.shared,
      SIM_CALLS: path.join(inst.root, 'var', 'log', 'kubeaz-sim-calls.jsonl'),
      ...(this.o.initFails ? { SIM_INIT_FAILS: '1' } : {}),
    };
  }

  private startAgent(inst: SimInstance): void {
    void (async () => {
      await mkdir(path.join(inst.root, 'var', 'log'), { recursive: true });
      inst.aws = await recordingProxy(this.o.env.AWS_ENDPOINT_URL!, this.callsFile, { instanceId: inst.id, role: inst.role });
      const consoleLog = createWriteStream(path.join(inst.root, 'var', 'log', 'console.log'));
      const child = spawn(process.execPath, [AGENT_BUNDLE, 'boot', ...inst.args, '--root', inst.root], {
        env: this.agentEnv(inst),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pipe(consoleLog);
      child.stderr.pipe(consoleLog);
      inst.agent = child;
      this.o.log(`${inst.id} (${inst.group}, ${inst.role}) boots as ${inst.ip}`);
      child.on('exit', (code) => {
        inst.exit = code;
        if (!inst.terminated) this.o.log(`${inst.id} (${inst.group}) agent boot exited ${code}`);
      });
    })();
  }

  /** Runs one agent command (a master's timer: backup) on an instance; its exit code. */
  runAgent(inst: SimInstance, command: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<number> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [AGENT_BUNDLE, command, '--root', inst.root], {
        env: { ...this.agentEnv(inst), ...extraEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      c.stderr.on('data', (d: Buffer) => this.o.log(`${inst.id} ${command}: ${d.toString().trimEnd()}`));
      c.on('exit', (code) => resolve(code ?? 1));
    });
  }

  /** The instance is gone: its processes killed (agent, etcd member, API), then terminated in its group. */
  async terminate(inst: SimInstance, why: string): Promise<void> {
    if (inst.terminated) return;
    inst.terminated = true;
    this.o.log(`terminating ${inst.id} (${inst.group}): ${why}`);
    // as an instance's shutdown: what runs on it gets a moment to finish (the agent writes its report)
    for (let i = 0; i < 30 && inst.agent && inst.agent.exitCode === null && inst.agent.signalCode === null; i++) await sleep(500);
    await this.kill(inst);
    await (
      await this.o.aws.autoscaling()
    ).send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: inst.id, ShouldDecrementDesiredCapacity: false }));
  }

  private async kill(inst: SimInstance): Promise<void> {
    if (inst.agent && inst.agent.exitCode === null) inst.agent.kill('SIGKILL');
    const pid = Number(await readFile(path.join(inst.root, 'run', 'kubeaz-sim-controlplane.pid'), 'utf8').catch(() => ''));
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await writeFile(path.join(this.shared, 'apiservers', inst.ip), '').catch(() => undefined);
    const { rm } = await import('node:fs/promises');
    await rm(path.join(this.shared, 'apiservers', inst.ip), { force: true });
  }

  /** The auto scaling group's part: Unhealthy instances terminated; new instances get an agent. */
  startLoops(): void {
    const loop = async () => {
      while (!this.stopped) {
        try {
          const ids = [...this.instances.values()].filter((i) => !i.terminated).map((i) => i.id);
          if (ids.length) {
            const out = await (await this.o.aws.autoscaling()).send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ids }));
            for (const a of out.AutoScalingInstances ?? []) {
              const inst = this.instances.get(a.InstanceId!);
              if (inst && /unhealthy/i.test(a.HealthStatus ?? ''))
                await this.terminate(inst, 'reported Unhealthy (SetInstanceHealth): the group replaces it');
            }
          }
          await this.startNew();
        } catch (e) {
          this.o.log(`auto scaling loop: ${(e as Error).message}`);
        }
        await sleep(700);
      }
    };
    this.loops.push(loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    for (const i of this.instances.values()) {
      await this.kill(i);
      i.aws?.server.closeAllConnections();
      i.aws?.server.close();
    }
    await new Promise((r) => this.lb?.close(r));
  }
}
