/**
 * status: what exists, what is missing or drifted, AWS-side health (instances, ELB, NAT, etcd
 * backups) and — when the API can be reached — Kubernetes' own health, read through a short-lived
 * admin certificate (kops' `validate cluster`: nodes per group Ready, control plane and add-on
 * pods running, kubelet version skew). Exit 3 unless all is well; `--wait` polls until it is.
 */
import { compareNode } from '../engine/compare.js';
import { describeDuplicate, observeEvery } from '../engine/observe.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { silentProgress } from '../engine/progress.js';
import { bucketName, masterGroups } from '../model/names.js';
import { serviceAccountRoles } from '../model/derive.js';
import type { Kind } from '../model/types.js';
import type { Actual, Change, Health } from '../resources/types.js';
import type { GroupCapacity } from '../resources/auto-scaling-group.js';
import { openSession, UsageError, type GlobalOptions, type Session } from './session.js';
import { table } from './output.js';
import { ConsoleProgress } from '../engine/progress.js';
import type { KubernetesHealth } from '../kube/health.js';
import { sleep } from '../util/async.js';
import { formatDuration, parseDuration } from './duration.js';
import { bootEntries, bootPhrase, bootProblems, renderBoot, type BootEntry, type LiveInstance } from './boot-view.js';

export interface StatusOptions extends GlobalOptions {
  output?: string;
  /** poll until healthy, at most this long (a duration: 10m) */
  wait?: string;
  /** reach the Kubernetes API here instead (an SSH tunnel or bastion to a private API) */
  apiEndpoint?: string;
}

export interface ResourceStatus {
  key: string;
  kind: Kind;
  id?: string;
  status: 'present' | 'missing' | 'drifted';
  changes?: Change[];
  state?: string;
}

export interface EtcdBackupInfo {
  newestKey?: string;
  newestAt?: string;
  ageMinutes?: number;
  count: number;
  /** bytes every version under etcd/ takes (noncurrent ones included: the bucket is versioned) */
  bytes?: number;
  noncurrentBytes?: number;
}

/** Each master group: where it runs and its instance; with an HA control plane, the restore record if a lost quorum was restored. */
export interface ControlPlaneInfo {
  count: number;
  masters: Array<{ group: string; zone: string | undefined; instances: Array<{ id: string; zone: string; lifecycleState: string; healthStatus: string }> }>;
  restore?: import('../etcd/snapshots.js').RestoreRecord | { invalid: string };
}

async function controlPlane(s: Session, actuals: Map<string, Actual>): Promise<ControlPlaneInfo> {
  const { observedInstances } = await import('../resources/index.js');
  const facts = await s.facts();
  const masters = masterGroups(s.spec, facts.masterZone).map((m) => {
    const instances = observedInstances(actuals.get(`asg/${m.name}`)).map((i) => ({ id: i.id, zone: i.zone, lifecycleState: i.lifecycleState, healthStatus: i.healthStatus }));
    return { group: m.name, zone: m.zone, instances };
  });
  const info: ControlPlaneInfo = { count: s.spec.spec.controlPlane.count, masters };
  // only an HA control plane's scripts restore a lost quorum and record it (a single master restores on every rebuild)
  if (info.count > 1 && actuals.has('bucket')) {
    const { readRestoreRecord } = await import('../etcd/snapshots.js');
    const restore = await readRestoreRecord(await s.aws.s3(), bucketName(s.clusterId, s.ctx.accountId), s.ctx.accountId);
    if (restore) info.restore = restore;
  }
  return info;
}

/** The control plane as text lines: one row per master group, and the restore a lost quorum needed. */
export function renderControlPlane(c: ControlPlaneInfo): string[] {
  const rows = c.masters.flatMap((m) =>
    m.instances.length ? m.instances.map((i) => [`  ${m.group}`, m.zone ?? i.zone, i.id, i.lifecycleState === 'InService' ? 'in service' : i.lifecycleState]) : [[`  ${m.group}`, m.zone ?? '-', '-', 'no instance']],
  );
  const inService = c.masters.filter((m) => m.instances.some((i) => i.lifecycleState === 'InService')).length;
  const out = [`control plane: ${inService}/${c.count} master${c.count === 1 ? '' : 's'} in service`, table([['  GROUP', 'ZONE', 'INSTANCE', 'STATE'], ...rows])];
  const r = c.restore;
  if (r && 'invalid' in r) out.push(`  etcd restore record unreadable: ${r.invalid}`);
  else if (r) out.push(`  etcd was restored from ${r.snapshot}${r.snapshotTime ? ` (taken ${r.snapshotTime})` : ''}${r.restoredAt ? ` at ${r.restoredAt}` : ''}${r.by ? ` by ${r.by}` : ''}: writes after that snapshot were lost`);
  return out;
}

/** The Kubernetes side: not checked (and why), not reachable (and why), or its health. */
export type KubernetesSection =
  | { checked: false; reason: string }
  /** `required`: asked for (--wait, --api-endpoint), so unreachable is unhealthy; `boot`: where the instances' boots are */
  | { checked: true; reachable: false; server: string; reason: string; required: boolean; boot: string }
  | { checked: true; reachable: true; server: string; health: KubernetesHealth };

/**
 * How the Kubernetes side is judged. Asked for (--wait, --api-endpoint): an API that does not
 * answer is unhealthy. With a private API (apiAccess: []) and no --api-endpoint, --wait does not
 * try the API at all: the boot reports are the verdict (every instance ready).
 */
export interface KubernetesMode {
  required: boolean;
  bootJudged: boolean;
}

export function kubernetesMode(opts: Pick<StatusOptions, 'wait' | 'apiEndpoint'>, apiAccess: readonly string[]): KubernetesMode {
  const required = opts.wait !== undefined || opts.apiEndpoint !== undefined;
  return { required, bootJudged: opts.wait !== undefined && opts.apiEndpoint === undefined && apiAccess.length === 0 };
}

/** Every live instance of the cluster's groups (from the observed auto scaling groups), masters first. */
async function liveInstances(actuals: Map<string, Actual>): Promise<LiveInstance[]> {
  const { observedInstances } = await import('../resources/index.js');
  const groups = [...actuals.values()].filter((a) => a.kind === 'auto-scaling-group' && a.key.startsWith('asg/')).map((a) => a.key.slice('asg/'.length));
  const master = (g: string) => (/^master(-\d+)?$/.test(g) ? 0 : 1);
  groups.sort((a, b) => master(a) - master(b) || a.localeCompare(b, 'en', { numeric: true }));
  return groups.flatMap((g) =>
    observedInstances(actuals.get(`asg/${g}`))
      .filter((i) => i.id && i.lifecycleState !== 'Terminated')
      .map((i) => ({ id: i.id, group: g, ...(i.zone ? { zone: i.zone } : {}), ...(i.lifecycleState ? { lifecycleState: i.lifecycleState } : {}) })),
  );
}

/** The boot of every live instance, from its report in the bucket (one listing of boot/, one read per reported instance). */
async function boots(s: Session, actuals: Map<string, Actual>, now: Date): Promise<BootEntry[]> {
  const instances = await liveInstances(actuals);
  if (!instances.length || !actuals.has('bucket')) return bootEntries(instances, new Map(), now);
  const { readBootReports } = await import('../records/boot-store.js');
  const stored = await readBootReports(await s.aws.s3(), bucketName(s.clusterId, s.ctx.accountId), instances.map((i) => i.id), s.ctx.accountId);
  return bootEntries(instances, stored, now);
}

/** The snapshots as retention.ts reads them (src/etcd/snapshots.ts): newest by the UTC time in its key. */
async function etcdBackups(s: Awaited<ReturnType<typeof openSession>>): Promise<EtcdBackupInfo | undefined> {
  const { listSnapshots, newestSnapshot, snapshotStorage } = await import('../etcd/snapshots.js');
  const s3 = await s.aws.s3();
  const bucket = bucketName(s.clusterId, s.ctx.accountId);
  const [snaps, storage] = await Promise.all([listSnapshots(s3, bucket, s.ctx.accountId), snapshotStorage(s3, bucket, s.ctx.accountId)]);
  if (!snaps) return undefined;
  const sizes = storage ? { bytes: storage.bytes, noncurrentBytes: storage.noncurrentBytes } : {};
  const newest = newestSnapshot(snaps);
  if (!newest) return { count: 0, ...sizes };
  const at = new Date(newest.time * 1000);
  return { newestKey: newest.key, newestAt: at.toISOString(), ageMinutes: Math.round((Date.now() - at.getTime()) / 60000), count: snaps.length, ...sizes };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Admin credentials for the Kubernetes API, signed once per run (short-lived), reused by every poll. */
type Credentials = { kubeconfig: string; server: string } | { error: string };

async function kubernetesSide(s: Session, actuals: Map<string, Actual>, opts: StatusOptions, creds: () => Promise<Credentials>, mode: KubernetesMode, boot: Promise<BootEntry[]>): Promise<KubernetesSection> {
  if (!actuals.has('pki')) return { checked: false, reason: 'the cluster CA is not in the bucket (run kubeaz create)' };
  if (mode.bootJudged) return { checked: false, reason: 'private API (apiAccess: []), no --api-endpoint: judged by the boot reports' };
  if ((process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING) && !opts.apiEndpoint)
    return { checked: false, reason: 'AWS_ENDPOINT_URL names an emulator, no API behind it (--api-endpoint URL)' };
  const c = await creds();
  if ('error' in c) return { checked: true, reachable: false, server: '-', reason: c.error, required: mode.required, boot: bootPhrase(await boot) };
  const { readKubernetes } = await import('../kube/probe.js');
  const read = await readKubernetes(c.kubeconfig);
  if (!read.reachable) return { checked: true, reachable: false, server: read.server, reason: read.reason, required: mode.required, boot: bootPhrase(await boot) };
  const { evaluateKubernetes } = await import('../kube/health.js');
  const { observedDesired } = await import('../resources/index.js');
  const groups = [...masterGroups(s.spec).map((m) => ({ name: m.name, want: 1 })), ...s.spec.spec.nodeGroups.map((g) => ({ name: g.name, want: g.desiredCapacity }))].map((g) => {
    // the group's own desired capacity (the cluster autoscaler moves it), else the spec's
    return { name: g.name, want: observedDesired(actuals.get(`asg/${g.name}`)) ?? g.want };
  });
  return { checked: true, reachable: true, server: c.server, health: evaluateKubernetes({ serverVersion: read.serverVersion, nodes: read.nodes, pods: read.pods, groups }) };
}

interface Report {
  ok: boolean;
  resources: ResourceStatus[];
  health: Health[];
  backups: EtcdBackupInfo | undefined;
  controlPlane: ControlPlaneInfo;
  orphans: Array<{ key: string; kind: Kind; id: string }>;
  warnings: string[];
  kubernetes: KubernetesSection;
  boot: BootEntry[];
  /** what keeps the boots from counting as done (failed, stalled, still running; no report when they are the verdict) */
  bootProblems: string[];
}

async function collect(s: Session, opts: StatusOptions, creds: () => Promise<Credentials>): Promise<Report | { absent: string }> {
  await s.graph();
  const { HANDLERS, handlerFor } = await import('../resources/index.js');
  // Where two resources claim one key, the one the state file knows is the one reported.
  const prior = await s.state.read().catch(() => undefined);
  if (prior) s.ctx.stateIds = Object.fromEntries(Object.entries(prior.resources).map(([k, r]) => [k, r.id]));
  const { actuals, duplicates } = await observeEvery(s.ctx, HANDLERS);
  // Nothing of it here: one line, not a table of every resource "missing".
  if (clusterAbsent(actuals.values())) return { absent: notFoundMessage(s.ctx) };
  // an IRSA switch under way keeps both grants: that is the cluster's desired state, not drift
  const graph = s.graphFor(actuals);
  const resources: ResourceStatus[] = graph.nodes.map((node) => {
    const actual = actuals.get(node.key);
    if (!actual) return { key: node.key, kind: node.kind, status: 'missing' };
    // Drift is the plan's own per-node comparison, against what exists (no simulation of what create would do).
    const c = compareNode(HANDLERS, node, actuals);
    const changes: Change[] =
      c.verdict === 'update' || c.verdict === 'refuse' ? c.changes : c.verdict === 'incomplete' ? [{ field: 'dependencies', from: 'missing', to: 'present', inPlace: true }] : [];
    return { key: node.key, kind: node.kind, id: actual.id, status: changes.length ? 'drifted' : 'present', ...(changes.length ? { changes } : {}), ...(actual.state ? { state: actual.state } : {}) };
  });
  const byKind = new Map<Kind, Actual[]>();
  for (const a of actuals.values()) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
  const now = new Date();
  const mode = kubernetesMode(opts, s.spec.spec.network.apiAccess);
  const boot = boots(s, actuals, now);
  // an unhandled rejection must not escape while kubernetesSide has not awaited it yet
  boot.catch(() => undefined);
  const [health, backups, kubernetes, masters, bootList] = await Promise.all([
    Promise.all(
      [...byKind].map(async ([kind, list]) => {
        const h = handlerFor(HANDLERS, kind);
        return h.health ? h.health(s.ctx, list) : [];
      }),
    ).then((x) => x.flat()),
    actuals.has('bucket') ? etcdBackups(s) : Promise.resolve(undefined),
    kubernetesSide(s, actuals, opts, creds, mode, boot),
    controlPlane(s, actuals),
    boot,
  ]);
  const warnings = [...s.warnings];
  for (const d of duplicates) warnings.push(describeDuplicate(d, actuals.get(d.key)));
  const elsewhere = heldElsewhere(s.ctx);
  if (elsewhere) warnings.push(`${elsewhere}: left out of this status`);
  const interval = s.spec.spec.etcd.backupIntervalMinutes;
  if (backups && backups.count === 0) warnings.push('no etcd backup yet (a master that has not finished booting has none)');
  else if (backups?.ageMinutes !== undefined && backups.ageMinutes > 2 * interval)
    warnings.push(`the newest etcd backup is ${backups.ageMinutes} minutes old (more than twice the ${interval}-minute interval)`);
  const desired = new Set(graph.nodes.map((n) => n.key));
  const orphans = [...actuals.values()].filter((a) => !desired.has(a.key)).map((a) => ({ key: a.key, kind: a.kind, id: a.id }));
  // an API that does not answer counts only when it was asked for; then it is the cluster not being up
  const k8sOk = !kubernetes.checked || (kubernetes.reachable ? kubernetes.health.ok : !kubernetes.required);
  const bootIssues = bootProblems(bootList, { requireReady: mode.bootJudged, now });
  const ok = resources.every((r) => r.status === 'present') && health.every((h) => h.ok) && k8sOk && bootIssues.length === 0;
  return { ok, resources, health, backups, controlPlane: masters, orphans, warnings, kubernetes, boot: bootList, bootProblems: bootIssues };
}

/** Per auto scaling group: bounds, the types it runs, its spot/on-demand split (from the group's health details). */
export interface GroupStatus extends GroupCapacity {
  name: string;
}

export function groupsOf(health: Health[]): GroupStatus[] {
  return health
    .filter((h) => h.key.startsWith('asg/') && h.details?.group)
    .map((h) => ({ name: h.key.slice('asg/'.length), ...(h.details!.group as GroupCapacity) }));
}

/** The groups as a table: min/desired/max, types in use (count each), on-demand and spot. */
export function renderGroups(groups: GroupStatus[]): string[] {
  if (!groups.length) return [];
  const inUse = (g: GroupStatus) => Object.entries(g.typesInUse).sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${t}×${n}`).join(' ') || '-';
  return table([
    ['GROUP', 'MIN', 'DESIRED', 'MAX', 'TYPES IN USE', 'ON-DEMAND', 'SPOT', 'ALLOWED TYPES'],
    ...groups.map((g) => [g.name, String(g.min), String(g.desired), String(g.max), inUse(g), String(g.onDemand), String(g.spot), g.instanceTypes.length ? g.instanceTypes.join(',') : '(launch template)']),
  ]).split('\n').map(clip);
}

const WIDTH = 100;
const clip = (line: string) => (line.length > WIDTH ? `${line.slice(0, WIDTH - 1)}…` : line);
/** Wraps a long line at spaces, continuing indented (problems are never cut short). */
const wrap = (line: string): string[] => {
  const out: string[] = [];
  let rest = line;
  const indent = ' '.repeat(Math.min(7, (/^ */.exec(line)?.[0].length ?? 0) + 5));
  while (rest.length > WIDTH) {
    const at = rest.lastIndexOf(' ', WIDTH);
    if (at <= indent.length) break;
    out.push(rest.slice(0, at));
    rest = indent + rest.slice(at + 1);
  }
  return [...out, rest];
};

/** The Kubernetes section as text lines (default: summary and problems; verbose: every group and component). */
export function renderKubernetes(k: KubernetesSection, verbose: boolean): string[] {
  if (!k.checked) return [`Kubernetes: not checked: ${k.reason}`];
  if (!k.reachable && k.required) return [`Kubernetes: API ${k.server} NOT reachable (${k.reason}); boot: ${k.boot}`];
  if (!k.reachable) return [`Kubernetes: API ${k.server} not reachable (${k.reason}); only the AWS side is shown`];
  const h = k.health;
  const comps = h.components.filter((c) => c.pods > 0 && c.problems.length === 0).length;
  const out = [
    `Kubernetes ${h.serverVersion} at ${k.server}: ${h.ok ? 'healthy' : 'NOT healthy'}`,
    `  ${h.nodes.ready}/${h.nodes.total} nodes Ready, ${comps}/${h.components.length} system components running`,
    table([
      ['  GROUP', 'WANT', 'REGISTERED', 'READY'],
      ...h.groups.map((g) => [`  ${g.name}`, String(g.want), String(g.have), String(g.ready)]),
    ]),
  ];
  if (verbose) out.push(table([['  COMPONENT', 'PODS', 'READY'], ...h.components.map((c) => [`  ${c.name}`, String(c.pods), String(c.ready)])]));
  for (const p of h.problems) out.push(`  FAIL ${p}`);
  return out;
}

export function renderStatus(clusterId: string, region: string, account: string, r: Report, verbose: boolean, serviceAccounts: ReturnType<typeof serviceAccountRoles> = []): string {
  const out: string[] = [`cluster ${clusterId} in ${region} (account ${account})`, ''];
  if (verbose) {
    out.push(table([['RESOURCE', 'KIND', 'ID', 'STATUS'], ...r.resources.map((x) => [x.key, x.kind, x.id ?? '-', x.status + (x.state && x.state !== 'available' ? ` (${x.state})` : '')])]), '');
  } else {
    const kinds = [...new Set(r.resources.map((x) => x.kind))];
    const rows = kinds.map((kind) => {
      const of = r.resources.filter((x) => x.kind === kind);
      const present = of.filter((x) => x.status === 'present').length;
      const off = of.filter((x) => x.status !== 'present').map((x) => `${x.key} ${x.status}`);
      return [kind, `${present}/${of.length}`, off.length ? off.join(', ') : 'ok'];
    });
    out.push(...table([['KIND', 'PRESENT', 'STATUS'], ...rows]).split('\n').map(clip), '');
  }
  for (const x of r.resources.filter((y) => y.status === 'drifted'))
    for (const c of x.changes ?? []) out.push(...wrap(`drift: ${x.key}: ${c.field}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`));
  if (r.health.length) {
    const failing = r.health.filter((h) => !h.ok);
    out.push(`health: ${r.health.length - failing.length}/${r.health.length} checks ok`);
    for (const h of verbose ? r.health : failing) out.push(...wrap(`  ${h.ok ? 'ok  ' : 'FAIL'} ${h.key}: ${h.summary}`));
  }
  out.push(...renderControlPlane(r.controlPlane).flatMap((l) => l.split('\n')).flatMap(wrap));
  out.push(...renderGroups(groupsOf(r.health)));
  out.push(...renderBoot(r.boot, new Date()));
  if (r.backups?.newestKey) out.push(`etcd backups: ${r.backups.count}, newest ${r.backups.newestKey} (${r.backups.ageMinutes} min old)`);
  if (r.backups?.bytes !== undefined)
    out.push(...wrap(`etcd backups take ${formatBytes(r.backups.bytes)} in the bucket (${formatBytes(r.backups.noncurrentBytes ?? 0)} of it pruned versions awaiting the lifecycle rule)`));
  // IRSA: a pod gets its service account's role once the service account carries the annotation.
  for (const a of serviceAccounts) out.push(`service account ${a.namespace}/${a.name}: role ${a.roleArn}`, `  ${a.annotate}`);
  out.push(...renderKubernetes(r.kubernetes, verbose).flatMap((l) => l.split('\n')).flatMap(wrap));
  for (const o of r.orphans) out.push(...wrap(`orphan: ${o.key} (${o.kind} ${o.id}) is owned by the cluster but not in the spec`));
  for (const w of r.warnings) out.push(...wrap(`warning: ${w}`));
  const present = r.resources.filter((x) => x.status === 'present').length;
  const failing = r.health.filter((h) => !h.ok).length;
  const k = r.kubernetes;
  const k8s = k.checked && k.reachable
    ? `, Kubernetes ${k.health.ok ? 'healthy' : `${k.health.problems.length} problem${k.health.problems.length === 1 ? '' : 's'}`}`
    : k.checked && k.required ? ', Kubernetes API not reachable' : !k.checked && r.boot.length && /judged by the boot reports/.test(k.reason) ? ', API not checked' : '';
  const booting = r.bootProblems.length ? `, ${r.bootProblems.length} instance boot${r.bootProblems.length === 1 ? '' : 's'} not done` : '';
  out.push('', `${r.ok ? 'healthy' : 'NOT healthy'}: ${present}/${r.resources.length} resources present and matching${failing ? `, ${failing} health checks failing` : ''}${k8s}${booting}`);
  return `${out.join('\n')}\n`;
}

/** One line for --wait: what is still missing. */
function waitingLine(r: Report): string {
  const parts: string[] = [];
  const off = r.resources.filter((x) => x.status !== 'present').length;
  if (off) parts.push(`${off} resources missing or drifted`);
  const failing = r.health.filter((h) => !h.ok);
  if (failing.length) parts.push(failing.map((h) => `${h.key}: ${h.summary}`).slice(0, 2).join('; '));
  const k = r.kubernetes;
  if (k.checked && k.reachable && !k.health.ok) parts.push(`${k.health.nodes.ready}/${k.health.nodes.total} nodes Ready; ${k.health.problems[0]}`);
  if (k.checked && !k.reachable) parts.push(`API not reachable yet (boot: ${k.boot})`);
  else if (r.bootProblems.length || r.boot.some((b) => b.result !== 'ready')) parts.push(`boot: ${bootPhrase(r.boot)}`);
  return parts.join(' · ') || 'healthy';
}

export async function statusCommand(opts: StatusOptions): Promise<number> {
  const json = opts.output === 'json';
  const waitMs = opts.wait !== undefined ? parseDuration(opts.wait) : 0;
  if (waitMs === undefined) throw new UsageError(`--wait ${opts.wait}: expected a duration such as 10m or 90s`);
  if (opts.apiEndpoint !== undefined && !/^https:\/\/[^/\s]+(:\d+)?\/?$/.test(opts.apiEndpoint)) throw new UsageError(`--api-endpoint ${opts.apiEndpoint}: expected https://host[:port]`);
  const s = await openSession(opts, json ? silentProgress : new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }));
  try {
    let signed: Promise<Credentials> | undefined;
    const creds = () =>
      (signed ??= (async (): Promise<Credentials> => {
        const { adminKubeconfig, clusterEndpoint } = await import('./kubeconfig.js');
        try {
          const endpoint = opts.apiEndpoint ? { server: opts.apiEndpoint.replace(/\/$/, ''), via: 'given' as const } : await clusterEndpoint(s);
          // short-lived: the run, plus a margin
          const admin = await adminKubeconfig(s, waitMs + 15 * 60_000, endpoint);
          return { kubeconfig: admin.text, server: admin.endpoint.server };
        } catch (e) {
          return { error: (e as Error).message };
        }
      })());
    const deadline = Date.now() + waitMs;
    const tty = Boolean(process.stderr.isTTY) && !json;
    const first = await collect(s, opts, creds);
    if ('absent' in first) {
      if (json) process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region: s.spec.spec.region, accountId: s.ctx.accountId, found: false, ok: false, message: first.absent }, null, 2)}\n`);
      else process.stdout.write(`${first.absent}\n`);
      return 3;
    }
    let report: Report = first;
    // every poll that finds the cluster not up says what it waits for (the first too, however long it took)
    while (waitMs && !report.ok && !s.abort.signal.aborted) {
      const left = formatDuration(Math.max(0, deadline - Date.now()));
      const line = `waiting for ${s.clusterId} (${left} left): ${waitingLine(report)}`;
      if (!json) process.stderr.write(tty ? `\r\x1b[K${clip(line)}` : `${line}\n`);
      if (Date.now() >= deadline) break;
      await sleep(Math.min(s.ctx.timing.pollSeconds * 1000, Math.max(0, deadline - Date.now())));
      const next = await collect(s, opts, creds);
      if ('absent' in next) break;
      report = next;
    }
    if (tty && waitMs) process.stderr.write('\r\x1b[K');
    if (json) {
      const { resources, health, backups, controlPlane: cp, orphans, warnings, kubernetes, ok, boot, bootProblems: bootIssues } = report;
      process.stdout.write(`${JSON.stringify({ cluster: s.clusterId, region: s.spec.spec.region, accountId: s.ctx.accountId, found: true, ok, resources, health, groups: groupsOf(health), etcdBackups: backups ?? null, controlPlane: cp, kubernetes, boot, bootProblems: bootIssues, orphans, warnings, serviceAccounts: serviceAccountRoles(s.spec, s.ctx.accountId), calls: s.aws.counter.total }, null, 2)}\n`);
    } else {
      process.stdout.write(renderStatus(s.clusterId, s.spec.spec.region, s.ctx.accountId, report, Boolean(opts.verbose), serviceAccountRoles(s.spec, s.ctx.accountId)));
    }
    return report.ok ? 0 : 3;
  } finally {
    s.dispose();
  }
}
