/**
 * `npm run acceptance -- --profile NAME --region REGION --i-understand-this-costs-money`: boots a
 * real cluster in a real account and checks that Kubernetes works — the one test moto cannot run.
 * Never run by CI or `npm test`. Steps, each with its own timeout and a live progress line:
 *   create (2 zones, from cluster.example.yaml) → kubeconfig (as `kubeaz kubeconfig` exports it) →
 *   every node Ready → time to Ready per boot phase (the boot reports) → a pod with a PVC (default gp3 class) behind a LoadBalancer Service, reached
 *   over HTTP → a ConfigMap → backup-etcd → the master instance terminated, rebuilt by its auto
 *   scaling group, the ConfigMap back (restored from the backup) → the test objects deleted →
 *   destroy → nothing tagged with the cluster left.
 * Whatever fails, destroy still runs; a JSON report lists each step, its time and pass/fail/skipped.
 * The Kubernetes part uses @kubernetes/client-node; the AWS part is exercised against moto by
 * test/e2e/acceptance.test.ts (through AWS_ENDPOINT_URL), which stops at the first Kubernetes step.
 *
 * Over 300 lines on purpose: `runAcceptance` is the run's steps in the order they happen, each
 * with its timeout and its part of the report; split, one run would be read across files.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { sleep } from '../util/async.js';
import { bootTimes, type BootTimes } from '../operations/boots.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ACK_FLAG = '--i-understand-this-costs-money';

export interface StepReport {
  name: string;
  status: 'pass' | 'fail' | 'skipped';
  seconds: number;
  detail?: string;
}

export interface AcceptanceReport {
  cluster: string;
  region: string;
  startedAt: string;
  finishedAt?: string;
  ok: boolean;
  steps: StepReport[];
  /** time to Ready per instance and per phase, from the instances' boot reports (kubeaz logs) */
  boot?: BootTimes;
}

interface Options {
  profile?: string;
  region: string;
  template: string;
  report?: string;
  ack: boolean;
  /** seconds each Kubernetes wait may take at most (scales every timeout below when smaller) */
  apiTimeout?: number;
}

/** The live progress line: rewritten in place on a terminal, a line every 30 s otherwise. */
class Line {
  private last = 0;
  constructor(private readonly tty = Boolean(process.stderr.isTTY)) {}
  show(text: string): void {
    if (this.tty) process.stderr.write(`\r\x1b[K${text}`);
    else if (Date.now() - this.last > 30_000) {
      this.last = Date.now();
      process.stderr.write(`${text}\n`);
    }
  }
  done(text: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    this.last = 0;
    process.stderr.write(`${text}\n`);
  }
}

/** Polls `check` (undefined = not yet) until it returns something or the step's time is up. */
async function until<T>(line: Line, what: string, timeoutS: number, check: () => Promise<T | undefined>, pollS = 10): Promise<T> {
  const started = Date.now();
  let lastError = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    const s = (Date.now() - started) / 1000;
    line.show(`  … ${what}: ${Math.round(s)}s of ${timeoutS}s${lastError ? ` (${lastError.slice(0, 100)})` : ''}`);
    if (s >= timeoutS) throw new Error(`${what}: not within ${timeoutS}s${lastError ? `: ${lastError}` : ''}`);
    await sleep(Math.min(pollS, Math.max(0.2, timeoutS / 5)) * 1000);
  }
}

function kubeaz(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'kubeaz'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** The 2-zone acceptance spec made from the template (cluster.example.yaml): small, no public domain, no users. */
export function acceptanceSpec(template: string, o: { name: string; region: string; zones: string[] }): string {
  const doc = parse(template) as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown> & { dns?: Record<string, unknown>; network: Record<string, unknown> };
  };
  doc.metadata = { name: o.name, environment: 'acc' };
  const s = doc.spec;
  s.region = o.region;
  s.zones = o.zones;
  s.network = { ...s.network, vpcCidr: '10.42.0.0/16', nat: 'single', apiAccess: ['0.0.0.0/0'] };
  s.dns = {};
  s.controlPlane = { instanceType: 't3.medium', volumeSize: 30 };
  s.nodeGroups = [{ name: 'general', instanceType: 't3.medium', minSize: 2, maxSize: 2, desiredCapacity: 2 }];
  delete s.iam;
  delete s.sshKeyName;
  s.etcd = { backupIntervalMinutes: 15, backupRetentionDays: 1 };
  s.tags = { purpose: 'kubeaz-acceptance' };
  return stringify(doc);
}

/** Everything of the cluster that AWS still holds (names, one per line); [] when nothing is left. */
export async function leftovers(clusterId: string, region: string, profile?: string): Promise<string[]> {
  // --profile travels as AWS_PROFILE (set by main): the SDK's default chain reads it.
  void profile;
  const creds = {};
  const ec2m = await import('@aws-sdk/client-ec2');
  const elbm = await import('@aws-sdk/client-elastic-load-balancing');
  const elb2m = await import('@aws-sdk/client-elastic-load-balancing-v2');
  const asgm = await import('@aws-sdk/client-auto-scaling');
  const iamm = await import('@aws-sdk/client-iam');
  const s3m = await import('@aws-sdk/client-s3');
  const ec2 = new ec2m.EC2Client({ region, ...creds });
  const out: string[] = [];
  const k8sTag = `kubernetes.io/cluster/${clusterId}`;
  const byTag = [[{ Name: 'tag:kubeaz:cluster', Values: [clusterId] }], [{ Name: 'tag-key', Values: [k8sTag] }]];
  for (const Filters of byTag) {
    for (const r of (await ec2.send(new ec2m.DescribeInstancesCommand({ Filters }))).Reservations ?? [])
      for (const i of r.Instances ?? [])
        if (i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down') out.push(`instance ${i.InstanceId}`);
    for (const v of (await ec2.send(new ec2m.DescribeVolumesCommand({ Filters }))).Volumes ?? []) out.push(`volume ${v.VolumeId}`);
    for (const v of (await ec2.send(new ec2m.DescribeVpcsCommand({ Filters }))).Vpcs ?? []) out.push(`vpc ${v.VpcId}`);
    for (const g of (await ec2.send(new ec2m.DescribeSecurityGroupsCommand({ Filters }))).SecurityGroups ?? [])
      out.push(`security-group ${g.GroupId}`);
    for (const a of (await ec2.send(new ec2m.DescribeAddressesCommand({ Filters }))).Addresses ?? [])
      out.push(`elastic-ip ${a.AllocationId}`);
    for (const n of (await ec2.send(new ec2m.DescribeNatGatewaysCommand({ Filter: Filters }))).NatGateways ?? [])
      if (n.State !== 'deleted') out.push(`nat-gateway ${n.NatGatewayId}`);
  }
  const elb = new elbm.ElasticLoadBalancingClient({ region, ...creds });
  const names = ((await elb.send(new elbm.DescribeLoadBalancersCommand({}))).LoadBalancerDescriptions ?? [])
    .map((l) => l.LoadBalancerName!)
    .filter(Boolean);
  for (let i = 0; i < names.length; i += 20) {
    for (const d of (await elb.send(new elbm.DescribeTagsCommand({ LoadBalancerNames: names.slice(i, i + 20) }))).TagDescriptions ?? [])
      if (d.Tags?.some((t) => (t.Key === 'kubeaz:cluster' && t.Value === clusterId) || t.Key === k8sTag))
        out.push(`classic-elb ${d.LoadBalancerName}`);
  }
  const elb2 = new elb2m.ElasticLoadBalancingV2Client({ region, ...creds });
  const arns = ((await elb2.send(new elb2m.DescribeLoadBalancersCommand({}))).LoadBalancers ?? [])
    .map((l) => l.LoadBalancerArn!)
    .filter(Boolean);
  for (let i = 0; i < arns.length; i += 20) {
    for (const d of (await elb2.send(new elb2m.DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }))).TagDescriptions ?? [])
      if (d.Tags?.some((t) => t.Key === k8sTag)) out.push(`load-balancer ${d.ResourceArn}`);
  }
  const asg = new asgm.AutoScalingClient({ region, ...creds });
  for (const g of (
    await asg.send(new asgm.DescribeAutoScalingGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [clusterId] }] }))
  ).AutoScalingGroups ?? [])
    out.push(`auto-scaling-group ${g.AutoScalingGroupName}`);
  const iam = new iamm.IAMClient({ region, ...creds });
  for (const r of (await iam.send(new iamm.ListRolesCommand({ PathPrefix: `/kubeaz/${clusterId}/` }))).Roles ?? [])
    out.push(`iam-role ${r.RoleName}`);
  const s3 = new s3m.S3Client({ region, ...creds, ...(process.env.AWS_ENDPOINT_URL ? { forcePathStyle: true } : {}) });
  for (const b of (await s3.send(new s3m.ListBucketsCommand({}))).Buckets ?? [])
    if (b.Name?.startsWith(`kubeaz-${clusterId}-`)) out.push(`bucket ${b.Name}`);
  return [...new Set(out)].sort();
}

async function firstZones(region: string, profile: string | undefined): Promise<string[]> {
  const { EC2Client, DescribeAvailabilityZonesCommand } = await import('@aws-sdk/client-ec2');
  void profile;
  const ec2 = new EC2Client({ region });
  const zones =
    (await ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'zone-type', Values: ['availability-zone'] }] })))
      .AvailabilityZones ?? [];
  const ok = zones
    .filter((z) => z.State === 'available' && z.OptInStatus !== 'not-opted-in')
    .map((z) => z.ZoneName!)
    .sort();
  if (ok.length < 2) throw new Error(`${region} offers fewer than 2 availability zones`);
  return ok.slice(0, 2);
}

const NS = 'kubeaz-acceptance';
const EXPECTED_NODES = 3; // the master and the two nodes of the spec

/** One acceptance run: its names and files, its report, the Kubernetes client once there is a kubeconfig. */
class AcceptanceRun {
  readonly clusterId: string;
  readonly file: string;
  readonly kubeconfigFile: string;
  readonly report: AcceptanceReport;
  readonly reportFile: string;
  readonly line = new Line();
  readonly token = randomBytes(8).toString('hex');
  private readonly env: NodeJS.ProcessEnv;
  private readonly common: string[];
  /** a Kubernetes step failed: the later ones are skipped, destroy still runs */
  private stop = false;
  created = false;
  k8s: typeof import('@kubernetes/client-node') | undefined;
  kc: import('@kubernetes/client-node').KubeConfig | undefined;

  constructor(
    readonly o: Options,
    readonly id: string,
    dir: string,
  ) {
    this.clusterId = `${id}-acc`;
    this.file = path.join(dir, 'cluster.yaml');
    this.kubeconfigFile = path.join(dir, 'kubeconfig');
    this.env = { ...process.env, ...(o.profile ? { AWS_PROFILE: o.profile } : {}) };
    this.common = o.profile ? ['--profile', o.profile] : [];
    this.report = { cluster: this.clusterId, region: o.region, startedAt: new Date().toISOString(), ok: false, steps: [] };
    this.reportFile = path.resolve(o.report ?? `acceptance-${this.clusterId}-${this.report.startedAt.replace(/[:.]/g, '')}.json`);
  }

  limit(s: number): number {
    return this.o.apiTimeout !== undefined ? Math.min(s, this.o.apiTimeout) : s;
  }

  core() {
    return this.kc!.makeApiClient(this.k8s!.CoreV1Api);
  }

  async step(name: string, fn: () => Promise<string | void>, always = false): Promise<boolean> {
    const { report, line } = this;
    if (this.stop && !always) {
      report.steps.push({ name, status: 'skipped', seconds: 0 });
      return false;
    }
    const started = Date.now();
    process.stderr.write(`▶ ${name}\n`);
    try {
      const detail = await fn();
      const seconds = (Date.now() - started) / 1000;
      report.steps.push({ name, status: 'pass', seconds, ...(detail ? { detail } : {}) });
      line.done(`✔ ${name} (${seconds.toFixed(0)}s)${detail ? ` — ${detail}` : ''}`);
      return true;
    } catch (e) {
      const seconds = (Date.now() - started) / 1000;
      report.steps.push({ name, status: 'fail', seconds, detail: (e as Error).message });
      line.done(`✘ ${name} (${seconds.toFixed(0)}s): ${(e as Error).message}`);
      if (!always) this.stop = true;
      return false;
    } finally {
      await writeFile(this.reportFile, `${JSON.stringify(report, null, 2)}\n`);
    }
  }

  async cli(args: string[]) {
    const r = await kubeaz([...args, ...this.common], this.env);
    if (r.code !== 0) throw new Error(`kubeaz ${args[0]} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return r;
  }
}

async function writeSpec(r: AcceptanceRun): Promise<string> {
  const zones = await firstZones(r.o.region, r.o.profile);
  await writeFile(r.file, acceptanceSpec(await readFile(r.o.template, 'utf8'), { name: r.id, region: r.o.region, zones }));
  return `${r.clusterId} in ${zones.join(', ')} (${r.file})`;
}

async function loadKubeconfig(r: AcceptanceRun): Promise<string> {
  await r.cli(['kubeconfig', '-f', r.file, '--out', r.kubeconfigFile]);
  r.k8s = await import('@kubernetes/client-node');
  r.kc = new r.k8s.KubeConfig();
  r.kc.loadFromFile(r.kubeconfigFile);
  const c = r.kc.getCurrentCluster();
  return `${c?.server}${c?.tlsServerName ? ` (TLS name ${c.tlsServerName})` : ''}`;
}

async function nodesReady(r: AcceptanceRun): Promise<string> {
  const { kc, k8s, line } = r;
  const server = kc!.getCurrentCluster()?.server;
  const apiWait = r.limit(20 * 60);
  // Against an emulator (AWS_ENDPOINT_URL) the load balancer's name is made up and nothing boots:
  // never send a request to it (it could resolve to someone's real address).
  const emulator = process.env.AWS_ENDPOINT_URL;
  if (emulator && server && !/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(server))
    throw new Error(
      `no Kubernetes API answers at ${server}: AWS_ENDPOINT_URL=${emulator} is an emulator, which boots no instances; not connecting outside it`,
    );
  // The API answers first (kubeadm init, ELB InService), then every node joins and gets Ready.
  await until(line, `Kubernetes API at ${server}`, apiWait, async () => {
    try {
      return (await kc!.makeApiClient(k8s!.VersionApi).getCode()).gitVersion;
    } catch (e) {
      throw new Error(`no Kubernetes API answers at ${server}: ${(e as Error).message}`);
    }
  }).catch((e: Error) => {
    throw new Error(
      /no Kubernetes API answers/.test(e.message)
        ? e.message.replace(/^.*?(no Kubernetes API answers)/, '$1')
        : `no Kubernetes API answers at ${server}: ${e.message}`,
    );
  });
  const ready = await until(line, `${EXPECTED_NODES} nodes Ready`, r.limit(20 * 60), async () => {
    const nodes = (await r.core().listNode()).items;
    const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length >= EXPECTED_NODES ? ready.map((n) => n.metadata?.name).join(', ') : undefined;
  });
  return ready;
}

async function bootPhases(r: AcceptanceRun): Promise<string> {
  if (!r.created) return 'no cluster was created';
  const groups = [
    'master',
    ...(parse(await readFile(r.file, 'utf8')) as { spec: { nodeGroups: Array<{ name: string }> } }).spec.nodeGroups.map((g) => g.name),
  ];
  const all = [];
  for (const g of groups) all.push(...JSON.parse((await r.cli(['logs', g, '-f', r.file, '--output', 'json'])).stdout).instances);
  const boot = (r.report.boot = bootTimes(all, new Date()));
  const slow = [...boot.phases].sort((a, b) => b.max - a.max).slice(0, 3);
  const ready = boot.instances.map((i) => i.toReadySeconds).filter((x): x is number => x !== null);
  return `${ready.length} of ${boot.instances.length} instances ready${ready.length ? ` in ${Math.min(...ready).toFixed(0)}–${Math.max(...ready).toFixed(0)} s` : ''}; slowest phases: ${slow.map((p) => `${p.name} ${p.max.toFixed(0)} s`).join(', ')}`;
}

/** A pod writing to a PVC, served through a LoadBalancer Service: storage, scheduling and the cloud controller at once. */
async function pvcPodLoadBalancer(r: AcceptanceRun): Promise<string> {
  const { line, token } = r;
  const api = r.core();
  await api.createNamespace({ body: { metadata: { name: NS } } }).catch(() => undefined);
  await api.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  });
  await api.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        initContainers: [
          {
            name: 'seed',
            image: 'public.ecr.aws/docker/library/busybox:1.36',
            command: ['sh', '-c', `echo kubeaz-acceptance-${token} > /data/index.html`],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        containers: [
          {
            name: 'web',
            image: 'public.ecr.aws/nginx/nginx:1.27',
            ports: [{ containerPort: 80 }],
            volumeMounts: [{ name: 'data', mountPath: '/usr/share/nginx/html' }],
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    },
  });
  await api.createNamespacedService({
    namespace: NS,
    body: { metadata: { name: 'web' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } },
  });
  await until(line, 'pod web Running', r.limit(10 * 60), async () =>
    (await api.readNamespacedPod({ name: 'web', namespace: NS })).status?.phase === 'Running' ? true : undefined,
  );
  const pvc = await api.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS });
  if (pvc.status?.phase !== 'Bound') throw new Error(`PVC data is ${pvc.status?.phase}`);
  const pv = await api.readPersistentVolume({ name: pvc.spec!.volumeName! });
  const lbHost = await until(
    line,
    'LoadBalancer hostname',
    r.limit(10 * 60),
    async () => (await api.readNamespacedService({ name: 'web', namespace: NS })).status?.loadBalancer?.ingress?.[0]?.hostname,
  );
  await until(line, `http://${lbHost}/`, r.limit(10 * 60), async () => {
    const res = await fetch(`http://${lbHost}/`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    return body.includes(token) ? true : undefined;
  });
  return `PVC class ${pvc.spec?.storageClassName} (${pv.spec?.csi?.driver ?? 'no CSI'}), served through ${lbHost}`;
}

/** Terminate the master; its replacement restores etcd from the backup, the ConfigMap with it. */
async function masterRebuilt(r: AcceptanceRun): Promise<string> {
  const { o, line } = r;
  const { AutoScalingClient, DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
  const { EC2Client, TerminateInstancesCommand } = await import('@aws-sdk/client-ec2');
  const asg = new AutoScalingClient({ region: o.region });
  const masterOf = async () =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${r.clusterId}-master`] }))).AutoScalingGroups?.[0]
      ?.Instances ?? [];
  const old = (await masterOf()).find((i) => i.LifecycleState === 'InService')?.InstanceId;
  if (!old) throw new Error('the master group has no InService instance');
  await new EC2Client({ region: o.region }).send(new TerminateInstancesCommand({ InstanceIds: [old] }));
  const fresh = await until(
    line,
    'a new master InService',
    r.limit(15 * 60),
    async () => (await masterOf()).find((i) => i.InstanceId !== old && i.LifecycleState === 'InService')?.InstanceId,
  );
  await until(line, 'the ConfigMap back from the restored etcd', r.limit(25 * 60), async () =>
    (await r.core().readNamespacedConfigMap({ name: 'marker', namespace: NS })).data?.token === r.token ? true : undefined,
  );
  return `${old} → ${fresh}`;
}

/** The Service's load balancer and the PVC's volume are the cluster's to delete, before destroy. */
async function deleteTestObjects(r: AcceptanceRun): Promise<void> {
  await r.core().deleteNamespace({ name: NS });
  await until(r.line, 'namespace gone', r.limit(10 * 60), async () => {
    try {
      await r.core().readNamespace({ name: NS });
      return undefined;
    } catch {
      return true;
    }
  });
}

export async function runAcceptance(o: Options): Promise<AcceptanceReport> {
  const id = `acc${randomBytes(2).toString('hex')}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-acceptance-'));
  const r = new AcceptanceRun(o, id, dir);
  const { report, reportFile, file } = r;
  await r.step('spec', () => writeSpec(r));
  await r.step('create', async () => {
    r.created = true;
    await r.cli(['create', '-f', file, '--yes']);
  });
  await r.step('kubeconfig', () => loadKubeconfig(r));
  await r.step('nodes-ready', () => nodesReady(r));
  // Time to Ready per phase, from the boot reports every instance wrote (`kubeaz logs GROUP`): run
  // whether or not the nodes came up — a boot that failed says here where.
  await r.step('boot-phases', () => bootPhases(r), true);
  await r.step('pvc-pod-loadbalancer', () => pvcPodLoadBalancer(r));
  await r.step('configmap', async () => {
    await r.core().createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'marker' }, data: { token: r.token } } });
  });
  await r.step('backup-etcd', async () => {
    await r.cli(['backup-etcd', '-f', file]);
  });
  await r.step('master-rebuilt', () => masterRebuilt(r));
  await r.step('delete-test-objects', () => deleteTestObjects(r));
  await r.step(
    'destroy',
    async () => {
      if (!r.created) return 'nothing was created';
      await r.cli(['destroy', '-f', file, '--yes', '--delete-backups']);
    },
    true,
  );
  await r.step(
    'nothing-left',
    async () => {
      const left = await leftovers(r.clusterId, o.region, o.profile);
      if (left.length) throw new Error(`still there: ${left.join(', ')}`);
      return `nothing tagged with ${r.clusterId} remains`;
    },
    true,
  );
  report.finishedAt = new Date().toISOString();
  report.ok = report.steps.every((s) => s.status === 'pass');
  await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`${report.ok ? 'PASSED' : 'FAILED'}: report in ${reportFile}\n`);
  return report;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('acceptance')
    .description('Boot a real cluster in your AWS account, check that Kubernetes works on it, destroy it.')
    .requiredOption('--region <region>', 'the AWS region')
    .option('--profile <name>', 'the AWS profile (otherwise the SDK default chain)')
    .option('--template <file>', 'the spec template', path.join(root, 'cluster.example.yaml'))
    .option('--report <file>', 'where to write the JSON report')
    .option('--api-timeout <seconds>', 'cap every Kubernetes wait at this many seconds')
    .option(ACK_FLAG, 'acknowledge that this creates billable resources (EC2, NAT gateway, ELBs, EBS) for about an hour')
    .exitOverride();
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{
    region: string;
    profile?: string;
    template: string;
    report?: string;
    apiTimeout?: string;
    iUnderstandThisCostsMoney?: boolean;
  }>();
  if (!opts.iUnderstandThisCostsMoney) {
    process.stderr.write(
      `acceptance: refusing to start. This run creates billable AWS resources in ${opts.region} (2-zone VPC with a NAT gateway, 3 EC2 instances, classic ELBs, EBS volumes) for roughly an hour, then destroys them.\nRun it again with ${ACK_FLAG} to accept that.\n`,
    );
    return 2;
  }
  if (opts.profile) process.env.AWS_PROFILE = opts.profile;
  const report = await runAcceptance({
    region: opts.region,
    template: opts.template,
    ack: true,
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(opts.report ? { report: opts.report } : {}),
    ...(opts.apiTimeout ? { apiTimeout: Number(opts.apiTimeout) } : {}),
  });
  return report.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`acceptance: ${e.message}\n`);
      process.exit(1);
    },
  );
}
