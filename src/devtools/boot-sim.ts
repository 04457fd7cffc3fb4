/**
 * `npm run boot-sim -- -f SPEC [--scenario boot|replace-master|lose-all-masters|init-fails] [--output json]`
 *
 * The boot of a whole cluster on one machine: a loopback moto (or AWS_ENDPOINT_URL's emulator),
 * `kubeaz create` through the built CLI, then one real agent per instance moto launched, against
 * real etcd 3.4 members and recording stand-ins (src/devtools/boot-sim/). The scenario's outcome is
 * judged from what the agents left in the bucket (boot reports, control-plane records, snapshots),
 * etcd's own answers (gRPC) and EC2's elastic-IP associations. Exit 0 only when it held.
 * With its own moto the cluster is destroyed and moto stopped; with AWS_ENDPOINT_URL everything stays.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AwsClients } from '../aws/clients.js';
import { isLeader, memberListFrom, probeAll, type EtcdClientOptions } from '../etcd/client.js';
import { listSnapshots } from '../etcd/snapshots.js';
import { BOOT_PREFIX, parseBootReport, type BootReport } from '../records/boot.js';
import { CONTROL_PLANE_PREFIX, parseControlPlaneRecords } from '../records/etcd.js';
import { loadSpecFile } from '../spec/load.js';
import { clusterIdOf } from '../spec/schema.js';
import { masterGroups, naming } from '../model/names.js';
import { motoEnv, startMoto, type Moto } from './moto.js';
import { iamReport } from './boot-sim/iam-report.js';
import { REPO_ROOT, Sim, sleep, type SimInstance } from './boot-sim/sim.js';

export const SCENARIOS = ['boot', 'replace-master', 'lose-all-masters', 'init-fails'] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** Each scenario's budget (the issue: under 3 minutes on 2 cores). */
const SCENARIO_LIMIT_MS = 170_000;

export interface SimResult {
  scenario: Scenario;
  ok: boolean;
  reason?: string;
  instances: Array<{
    id: string;
    group: string;
    role: string;
    result: string;
    phases: Array<{ name: string; seconds: number }>;
    error: BootReport['error'] | null;
  }>;
  controlPlane: { initBy: string | null; members: string[]; leader: string | null };
  snapshots: string[];
  addresses: Record<string, string>;
}

const USAGE =
  'usage: npm run boot-sim -- -f SPEC [--scenario boot|replace-master|lose-all-masters|init-fails] [--output json] [--iam-report FILE]\n';

function kubeaz(args: string[], env: NodeJS.ProcessEnv, log: (s: string) => void): Promise<number> {
  return new Promise((resolve) => {
    log(`$ kubeaz ${args.join(' ')}`);
    // stdout to our stderr: with --output json our stdout holds the JSON document only
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kubeaz'), ...args], {
      stdio: ['ignore', process.stderr, process.stderr],
      env,
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

class Sims {
  constructor(
    readonly sim: Sim,
    readonly aws: AwsClients,
    readonly log: (s: string) => void,
  ) {}

  get bucket(): string {
    return this.sim.o.config.bucket;
  }

  async text(key: string): Promise<string | undefined> {
    try {
      const out = await (await this.aws.s3()).send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToString();
    } catch {
      return undefined;
    }
  }

  async keys(prefix: string): Promise<string[]> {
    const out = await (await this.aws.s3()).send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((c) => c.Key!);
  }

  async reports(): Promise<Map<string, BootReport>> {
    const m = new Map<string, BootReport>();
    for (const k of await this.keys(BOOT_PREFIX)) {
      const t = await this.text(k);
      const r = t ? parseBootReport(t) : undefined;
      if (r && !(r instanceof Error)) m.set(r.instanceId, r);
    }
    return m;
  }

  async snapshots(): Promise<string[]> {
    return ((await listSnapshots(await this.aws.s3(), this.bucket)) ?? []).map((s) => s.key);
  }

  live(): SimInstance[] {
    return [...this.sim.instances.values()].filter((i) => !i.terminated);
  }

  /** Until every live instance's agent has finished its boot (or `deadline`). */
  async untilBooted(deadline: number, what: string): Promise<void> {
    for (;;) {
      await this.sim.startNew();
      const live = this.live();
      if (live.length && live.every((i) => i.exit !== undefined)) return;
      if (Date.now() > deadline)
        throw new Error(
          `${what}: not every agent finished in time (${live
            .filter((i) => i.exit === undefined)
            .map((i) => `${i.id}/${i.group}`)
            .join(', ')} still booting)`,
        );
      await sleep(500);
    }
  }

  etcdOpts(): EtcdClientOptions | undefined {
    const m = this.live().find((i) => i.role === 'master');
    if (!m) return undefined;
    const pki = path.join(m.root, 'etc', 'kubernetes', 'pki', 'etcd');
    return {
      tls: {
        cacert: path.join(pki, 'ca.crt'),
        cert: path.join(pki, 'healthcheck-client.crt'),
        key: path.join(pki, 'healthcheck-client.key'),
      },
      callTimeoutMs: 3000,
    };
  }

  masterEndpoints(): string[] {
    return this.live()
      .filter((i) => i.role === 'master')
      .map((i) => `https://${i.ip}:2379`);
  }

  async controlPlane(): Promise<SimResult['controlPlane'] & { peers: string[] }> {
    const objs: Record<string, string> = {};
    for (const k of await this.keys(CONTROL_PLANE_PREFIX)) objs[k] = (await this.text(k)) ?? '';
    const rec = parseControlPlaneRecords(objs);
    // init.json is the HA election's record; a one-master cluster has none: the master whose init ended first
    let initBy = rec.init?.instanceId ?? null;
    if (!initBy) {
      // (a failed init also ends its phase: only a master whose init held counts)
      const inits = [...(await this.reports()).values()]
        .filter((r) => r.error?.phase !== 'init')
        .flatMap((r) => r.phases.filter((p) => p.name === 'init' && p.end).map((p) => ({ id: r.instanceId, end: p.end! })));
      initBy = inits.sort((a, b) => a.end.localeCompare(b.end))[0]?.id ?? null;
    }
    const opts = this.etcdOpts();
    if (!opts) return { initBy, members: [], leader: null, peers: [] };
    const list = await memberListFrom(this.masterEndpoints(), opts).catch(() => undefined);
    const probes = await probeAll(this.masterEndpoints(), opts);
    const leaderId = probes.find((p) => p.ok && isLeader(p.status));
    const members = list?.members ?? [];
    const leader = leaderId && leaderId.ok ? (members.find((m) => m.id === leaderId.status.memberId)?.name ?? null) : null;
    return { initBy, members: members.map((m) => m.name).sort(), leader, peers: members.flatMap((m) => m.peerURLs) };
  }

  /** The leader's snapshot: the masters' backup timer run on every master (only the leader's takes it). */
  async leaderBackup(): Promise<void> {
    for (const m of this.live().filter((i) => i.role === 'master'))
      await this.sim.runAgent(m, 'backup', { KUBEAZ_BACKUP_LEADER_ONLY: '1' });
  }
}

async function judge(s: Sims, scenario: Scenario, deadline: number, failedIds: Set<string>): Promise<{ ok: boolean; reason?: string }> {
  const reports = await s.reports();
  const live = s.live();
  const notReady = live.filter((i) => reports.get(i.id)?.result !== 'ready');
  if (notReady.length)
    return {
      ok: false,
      reason: `not ready: ${notReady.map((i) => `${i.id}/${i.group}=${reports.get(i.id)?.result ?? 'no report'}${reports.get(i.id)?.error ? ` (${reports.get(i.id)!.error!.phase}: ${reports.get(i.id)!.error!.message})` : ''}`).join('; ')}`,
    };
  for (const id of failedIds) {
    const r = reports.get(id);
    if (r?.result !== 'failed' || r.error?.phase !== 'init')
      return {
        ok: false,
        reason: `${id} should have reported failed at init, reported ${r?.result ?? 'nothing'}${r?.error ? ` at ${r.error.phase}` : ''}`,
      };
  }
  const cp = await s.controlPlane();
  const masters = live.filter((i) => i.role === 'master');
  for (const m of masters)
    if (!cp.peers.includes(`https://${m.ip}:2380`))
      return { ok: false, reason: `master ${m.id} (${m.ip}) is not an etcd member (members: ${cp.peers.join(', ')})` };
  if (cp.peers.length !== masters.length)
    return { ok: false, reason: `etcd has ${cp.peers.length} members for ${masters.length} masters: ${cp.peers.join(', ')}` };
  if (!cp.leader) return { ok: false, reason: 'no etcd leader' };
  if (Date.now() > deadline) return { ok: false, reason: 'over the time budget' };
  void scenario;
  return { ok: true };
}

type ParsedSpec = Awaited<ReturnType<typeof loadSpecFile>>['spec'];
type Verdict = { ok: boolean; reason?: string };
type ScenarioOptions = { spec: string; scenario: Scenario; log: (s: string) => void; env: NodeJS.ProcessEnv; iamReportFile?: string };

/** init-fails: the winner of init failed and is replaced by its group; returns the failed instances once they are. */
async function replaceFailedInit(sim: Sim, s: Sims, spec: ParsedSpec, deadline: number): Promise<Set<string>> {
  const failedIds = new Set<string>();
  // the winner failed (and was replaced by the group); the replacement boots meanwhile
  const reports = await s.reports();
  for (const [id, r] of reports) if (r.result === 'failed') failedIds.add(id);
  if (failedIds.size === 0) throw new Error('init-fails: no instance reported failed');
  // one master per master group (terminated instances and replacements are both in sim.instances)
  const mastersWanted = masterGroups(spec).length;
  // the group's health check terminates it; moto launches the replacement, which gets an agent
  for (;;) {
    await sim.startNew();
    const gone = [...failedIds].every((id) => sim.instances.get(id)?.terminated);
    if (gone && s.live().filter((i) => i.role === 'master').length >= mastersWanted) break;
    if (Date.now() > deadline) throw new Error(`init-fails: ${[...failedIds].join(', ')} not replaced in time`);
    await sleep(500);
  }
  await s.untilBooted(deadline, 'after the failed init');
  return failedIds;
}

/** The snapshots before the scenario's own backup and, when masters were lost, what their replacements must show. */
interface MastersLost {
  before: string[];
  /** when every master was lost: the snapshot the new ones must restore (the newest) */
  mustRestore?: string;
  newMasters: SimInstance[];
}

/** replace-master / lose-all-masters: terminate the last master or all of them, and wait for the replacements to boot. */
async function loseMasters(
  sim: Sim,
  s: Sims,
  scenario: 'replace-master' | 'lose-all-masters',
  before: string[],
  deadline: number,
): Promise<MastersLost> {
  if (before.length === 0) await s.leaderBackup();
  before = await s.snapshots();
  const masters = s.live().filter((i) => i.role === 'master');
  const victims = scenario === 'replace-master' ? masters.slice(-1) : masters;
  const mustRestore = victims.length === masters.length ? before[before.length - 1] : undefined;
  if (victims.length === masters.length && !mustRestore) throw new Error('no snapshot to restore before every master is lost');
  for (const v of victims)
    await sim.terminate(
      v,
      scenario === 'replace-master' ? 'replace-master: its instance is lost' : 'lose-all-masters: every master is lost',
    );
  for (;;) {
    await sim.startNew();
    if (s.live().filter((i) => i.role === 'master').length >= masters.length) break;
    if (Date.now() > deadline) throw new Error('no replacement master was launched');
    await sleep(500);
  }
  const newMasters = s.live().filter((i) => i.role === 'master' && !masters.includes(i));
  await s.untilBooted(deadline, scenario);
  return { before, ...(mustRestore ? { mustRestore } : {}), newMasters };
}

/** Every scenario ends with the leader's snapshot under etcd/ (up to four backups asked for). */
async function awaitLeaderSnapshot(s: Sims, scenario: Scenario, before: string[], deadline: number): Promise<void> {
  for (let i = 0; ; i++) {
    const now = await s.snapshots();
    if (now.some((k) => !before.includes(k)) || (scenario === 'boot' && now.length > 0)) break;
    if (i >= 3 || Date.now() > deadline) break;
    await s.leaderBackup();
  }
}

/** The scenario's verdict (judge's, then the leader's snapshot and, HA, the records the replacements left) and the snapshots it saw. */
async function verdictOf(
  s: Sims,
  scenario: Scenario,
  deadline: number,
  failedIds: Set<string>,
  lost: MastersLost,
): Promise<{ verdict: Verdict; snapshots: string[] }> {
  const { before, mustRestore, newMasters } = lost;
  const verdict = await judge(s, scenario, deadline, failedIds);
  const snapshots = await s.snapshots();
  if (verdict.ok && !snapshots.some((k) => !before.includes(k) || scenario === 'boot'))
    Object.assign(verdict, { ok: false, reason: 'no leader snapshot under etcd/' });
  if (verdict.ok && newMasters.length && (await s.keys(`${CONTROL_PLANE_PREFIX}members/`)).length) {
    // HA: each replacement took over its group's member (members/<group>.json names it)
    const objs: Record<string, string> = {};
    for (const k of await s.keys(CONTROL_PLANE_PREFIX)) objs[k] = (await s.text(k)) ?? '';
    const rec = parseControlPlaneRecords(objs);
    const stale = newMasters.filter((i) => rec.members[i.group]?.instanceId !== i.id);
    if (stale.length)
      Object.assign(verdict, {
        ok: false,
        reason: `members/<group>.json does not name the replacement: ${stale.map((i) => `${i.group}: ${rec.members[i.group]?.instanceId ?? 'none'}, not ${i.id}`).join('; ')}`,
      });
  }
  if (verdict.ok && mustRestore) {
    // HA: restore.json names the snapshot; one master keeps no records: its console says what it restored
    const restore = await s.text(`${CONTROL_PLANE_PREFIX}restore.json`);
    const m = restore ? /"snapshot"\s*:\s*"([^"]+)"/.exec(restore) : null;
    const consoles = await Promise.all(
      newMasters.map((i) => readFile(path.join(i.root, 'var', 'log', 'console.log'), 'utf8').catch(() => '')),
    );
    const restored = m ? m[1] === mustRestore : consoles.some((c) => c.includes(`restoring ${mustRestore} into`));
    if (!restored)
      Object.assign(verdict, {
        ok: false,
        reason: `the new masters did not restore the newest snapshot ${mustRestore} (restore.json: ${restore ?? 'none'})`,
      });
  }
  return { verdict, snapshots };
}

/** The result document (each instance's boot report, the control plane, the snapshots, elastic-IP associations); the IAM report when asked. */
async function resultOf(
  o: ScenarioOptions,
  sim: Sim,
  s: Sims,
  aws: AwsClients,
  spec: ParsedSpec,
  judged: { verdict: Verdict; snapshots: string[] },
): Promise<SimResult> {
  const { verdict, snapshots } = judged;
  const reports = await s.reports();
  const cp = await s.controlPlane();
  if (o.iamReportFile) {
    const names = naming(spec);
    const asgNames = Object.fromEntries(
      [...masterGroups(spec).map((m) => m.name), ...spec.spec.nodeGroups.map((g) => g.name)].map((g) => [g, names.asg(g)]),
    );
    const report = await iamReport(aws, spec.spec.region, sim.callsFile, [...sim.instances.values()], asgNames);
    await writeFile(o.iamReportFile, `${JSON.stringify(report, null, 2)}\n`);
    o.log(`${report.calls.length} AWS calls of the agents and their roles' policies in ${o.iamReportFile}`);
  }
  const addrs = await (await aws.ec2()).send(new DescribeAddressesCommand({}));
  const ids = new Set(sim.instances.keys());
  return {
    scenario: o.scenario,
    ok: verdict.ok,
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    instances: [...sim.instances.values()].map((i) => {
      const r = reports.get(i.id);
      return {
        id: i.id,
        group: i.group,
        role: i.role,
        result: r?.result ?? 'none',
        phases: (r?.phases ?? []).map((p) => ({
          name: p.name,
          seconds: p.end ? Math.round((Date.parse(p.end) - Date.parse(p.start)) / 100) / 10 : -1,
        })),
        error: r?.error ?? null,
      };
    }),
    controlPlane: { initBy: cp.initBy, members: cp.members, leader: cp.leader },
    snapshots,
    addresses: Object.fromEntries(
      (addrs.Addresses ?? []).filter((a) => a.InstanceId && ids.has(a.InstanceId)).map((a) => [a.InstanceId!, a.AllocationId!]),
    ),
  };
}

export async function runScenario(o: ScenarioOptions): Promise<SimResult> {
  const { log } = o;
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-boot-sim-'));
  const own = !o.env.AWS_ENDPOINT_URL;
  let moto: Moto | undefined;
  let sim: Sim | undefined;
  const env: NodeJS.ProcessEnv = { ...o.env, KUBEAZ_POLL_SECONDS: o.env.KUBEAZ_POLL_SECONDS ?? '0.3' };
  delete env.AWS_PROFILE;
  const spec = path.join(dir, path.basename(o.spec));
  await copyFile(o.spec, spec);
  let created = false;
  try {
    if (own) {
      log('starting moto_server on 127.0.0.1 …');
      moto = await startMoto();
      Object.assign(env, motoEnv(moto.url));
      // the SDK clients of this process read the endpoint and credentials from the environment
      Object.assign(process.env, motoEnv(moto.url));
    }
    const parsed = await loadSpecFile(spec);
    const aws = new AwsClients({ region: parsed.spec.spec.region });
    const code = await kubeaz(['create', '-f', spec, '--yes'], env, log);
    if (code !== 0) throw new Error(`kubeaz create exited ${code}`);
    created = true;
    const { findCluster } = await import('./boot-sim/sim.js');
    const config = await findCluster(aws, clusterIdOf(parsed.spec));
    sim = new Sim({ dir, aws, config, env, log, initFails: o.scenario === 'init-fails' });
    await sim.prepare();
    const s = new Sims(sim, aws, log);
    const deadline = Date.now() + SCENARIO_LIMIT_MS;
    await sim.startNew();
    sim.startLoops();
    await s.untilBooted(deadline, 'boot');
    const failedIds = o.scenario === 'init-fails' ? await replaceFailedInit(sim, s, parsed.spec, deadline) : new Set<string>();
    let lost: MastersLost = { before: await s.snapshots(), newMasters: [] };
    if (o.scenario === 'replace-master' || o.scenario === 'lose-all-masters')
      lost = await loseMasters(sim, s, o.scenario, lost.before, deadline);
    await awaitLeaderSnapshot(s, o.scenario, lost.before, deadline);
    return await resultOf(o, sim, s, aws, parsed.spec, await verdictOf(s, o.scenario, deadline, failedIds, lost));
  } finally {
    await sim?.stop();
    if (own && moto) {
      if (created) await kubeaz(['destroy', '-f', spec, '--yes'], env, log);
      await moto.stop();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        file: { type: 'string', short: 'f' },
        scenario: { type: 'string', default: 'boot' },
        output: { type: 'string' },
        'iam-report': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`boot-sim: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.file || !(SCENARIOS as readonly string[]).includes(values.scenario!) || (values.output && values.output !== 'json')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const json = values.output === 'json';
  const log = (s: string) => process.stderr.write(`boot-sim: ${s}\n`);
  const started = Date.now();
  let result: SimResult;
  try {
    result = await runScenario({
      spec: path.resolve(values.file),
      scenario: values.scenario as Scenario,
      log,
      env: process.env,
      ...(values['iam-report'] ? { iamReportFile: path.resolve(values['iam-report']) } : {}),
    });
  } catch (e) {
    log(`FAILED: ${(e as Error).message}`);
    if (json)
      process.stdout.write(
        `${JSON.stringify({ scenario: values.scenario, ok: false, reason: (e as Error).message, instances: [], controlPlane: { initBy: null, members: [], leader: null }, snapshots: [], addresses: {} }, null, 2)}\n`,
      );
    return 1;
  }
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    for (const i of result.instances)
      process.stdout.write(
        `${i.id} ${i.group} ${i.role} ${i.result} ${i.phases.map((p) => `${p.name}=${p.seconds}s`).join(' ')}${i.error ? ` ERROR ${i.error.phase}: ${i.error.message}` : ''}\n`,
      );
    process.stdout.write(
      `control plane: init by ${result.controlPlane.initBy}, members ${result.controlPlane.members.join(', ')}, leader ${result.controlPlane.leader}\nsnapshots: ${result.snapshots.join(', ')}\naddresses: ${JSON.stringify(result.addresses)}\n`,
    );
    process.stdout.write(
      `${result.scenario}: ${result.ok ? 'OK' : `FAILED: ${result.reason}`} in ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
  }
  return result.ok ? 0 : 1;
}

if (process.argv[1] && /boot-sim\.js$/.test(process.argv[1])) process.exitCode = await main();
