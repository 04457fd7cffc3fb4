/**
 * status' operation: what exists, what is missing or drifted, AWS-side health (instances, ELB,
 * NAT, etcd backups), the boots, and — when the API can be reached — Kubernetes' own health, read
 * through a short-lived admin certificate (kops' `validate cluster`). One look per call; the
 * command polls it for --wait and renders it (src/commands/status-view.ts).
 */
import { compareNode } from '../engine/compare.js';
import { describeDuplicate, observeEvery } from '../engine/observe.js';
import { clusterAbsent, heldElsewhere, notFoundMessage } from '../engine/ownership.js';
import { listSnapshots, newestSnapshot, readRestoreRecord, snapshotStorage, SNAPSHOT_READ_CALLS } from '../etcd/snapshots.js';
import { evaluateKubernetes, type KubernetesHealth } from '../kube/health.js';
import { readKubernetes } from '../kube/probe.js';
import { bucketName, masterGroups } from '../model/names.js';
import type { Kind } from '../model/types.js';
import type { ImageUpdate } from '../model/images.js';
import type { AddonVersionNote } from '../model/addon-versions.js';
import { BOOT_STORE_CALLS, readBootReports } from '../records/boot-store.js';
import { HANDLERS, handlerFor, observedDesired, observedInstances } from '../resources/index.js';
import type { GroupCapacity } from '../resources/auto-scaling-group.js';
import type { Actual, Change, Health } from '../resources/types.js';
import { addonVersionsNote } from './addon-versions.js';
import { bootEntries, bootPhrase, bootProblems, type BootEntry, type LiveInstance } from './boots.js';
import { publicZoneDns, type PublicZoneDns } from './dns.js';
import { adminKubeconfig, clusterEndpoint, ENDPOINT_CALLS } from './endpoint.js';
import type { Session } from './session.js';

/** What status is asked: --wait (poll until healthy) and --api-endpoint (a tunnel to a private API). */
/** The IAM actions status calls beyond every kind's reads: snapshots, boot reports, the endpoint. */
export const STATUS_CALLS: readonly string[] = [
  ...SNAPSHOT_READ_CALLS,
  ...BOOT_STORE_CALLS,
  ...ENDPOINT_CALLS,
  // the public zone's delegation: the zone's name servers, the parent zone found and its NS records
  'route53:GetHostedZone',
  'route53:ListHostedZonesByName',
  'route53:ListResourceRecordSets',
];

export interface StatusQuery {
  wait?: string;
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
  masters: Array<{
    group: string;
    zone: string | undefined;
    instances: Array<{ id: string; zone: string; lifecycleState: string; healthStatus: string }>;
  }>;
  restore?: import('../etcd/snapshots.js').RestoreRecord | { invalid: string };
}

async function controlPlane(s: Session, actuals: Map<string, Actual>): Promise<ControlPlaneInfo> {
  const facts = await s.facts();
  const masters = masterGroups(s.spec, facts.masterZone).map((m) => {
    const instances = observedInstances(actuals.get(`asg/${m.name}`)).map((i) => ({
      id: i.id,
      zone: i.zone,
      lifecycleState: i.lifecycleState,
      healthStatus: i.healthStatus,
    }));
    return { group: m.name, zone: m.zone, instances };
  });
  const info: ControlPlaneInfo = { count: s.spec.spec.controlPlane.count, masters };
  // only an HA control plane's scripts restore a lost quorum and record it (a single master restores on every rebuild)
  if (info.count > 1 && actuals.has('bucket')) {
    const restore = await readRestoreRecord(await s.aws.s3(), bucketName(s.clusterId, s.ctx.accountId), s.ctx.accountId);
    if (restore) info.restore = restore;
  }
  return info;
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

export function kubernetesMode(opts: StatusQuery, apiAccess: readonly string[]): KubernetesMode {
  const required = opts.wait !== undefined || opts.apiEndpoint !== undefined;
  return { required, bootJudged: opts.wait !== undefined && opts.apiEndpoint === undefined && apiAccess.length === 0 };
}

/** Every live instance of the cluster's groups (from the observed auto scaling groups), masters first. */
async function liveInstances(actuals: Map<string, Actual>): Promise<LiveInstance[]> {
  const groups = [...actuals.values()]
    .filter((a) => a.kind === 'auto-scaling-group' && a.key.startsWith('asg/'))
    .map((a) => a.key.slice('asg/'.length));
  const master = (g: string) => (/^master(-\d+)?$/.test(g) ? 0 : 1);
  groups.sort((a, b) => master(a) - master(b) || a.localeCompare(b, 'en', { numeric: true }));
  return groups.flatMap((g) =>
    observedInstances(actuals.get(`asg/${g}`))
      .filter((i) => i.id && i.lifecycleState !== 'Terminated')
      .map((i) => ({
        id: i.id,
        group: g,
        ...(i.zone ? { zone: i.zone } : {}),
        ...(i.lifecycleState ? { lifecycleState: i.lifecycleState } : {}),
      })),
  );
}

/** The boot of every live instance, from its report in the bucket (one listing of boot/, one read per reported instance). */
async function boots(s: Session, actuals: Map<string, Actual>, now: Date): Promise<BootEntry[]> {
  const instances = await liveInstances(actuals);
  if (!instances.length || !actuals.has('bucket')) return bootEntries(instances, new Map(), now);
  const stored = await readBootReports(
    await s.aws.s3(),
    bucketName(s.clusterId, s.ctx.accountId),
    instances.map((i) => i.id),
    s.ctx.accountId,
  );
  return bootEntries(instances, stored, now);
}

/** The snapshots as retention.ts reads them (src/etcd/snapshots.ts): newest by the UTC time in its key. */
async function etcdBackups(s: Session): Promise<EtcdBackupInfo | undefined> {
  const s3 = await s.aws.s3();
  const bucket = bucketName(s.clusterId, s.ctx.accountId);
  const [snaps, storage] = await Promise.all([listSnapshots(s3, bucket, s.ctx.accountId), snapshotStorage(s3, bucket, s.ctx.accountId)]);
  if (!snaps) return undefined;
  const sizes = storage ? { bytes: storage.bytes, noncurrentBytes: storage.noncurrentBytes } : {};
  const newest = newestSnapshot(snaps);
  if (!newest) return { count: 0, ...sizes };
  const at = new Date(newest.time * 1000);
  return {
    newestKey: newest.key,
    newestAt: at.toISOString(),
    ageMinutes: Math.round((Date.now() - at.getTime()) / 60000),
    count: snaps.length,
    ...sizes,
  };
}

/** Admin credentials for the Kubernetes API, signed once per run (short-lived), reused by every poll. */
export type Credentials = { kubeconfig: string; server: string } | { error: string };

async function kubernetesSide(
  s: Session,
  actuals: Map<string, Actual>,
  opts: StatusQuery,
  creds: () => Promise<Credentials>,
  mode: KubernetesMode,
  boot: Promise<BootEntry[]>,
): Promise<KubernetesSection> {
  if (!actuals.has('pki')) return { checked: false, reason: 'the cluster CA is not in the bucket (run kubeaz create)' };
  if (mode.bootJudged) return { checked: false, reason: 'private API (apiAccess: []), no --api-endpoint: judged by the boot reports' };
  if ((process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING) && !opts.apiEndpoint)
    return { checked: false, reason: 'AWS_ENDPOINT_URL names an emulator, no API behind it (--api-endpoint URL)' };
  const c = await creds();
  if ('error' in c)
    return { checked: true, reachable: false, server: '-', reason: c.error, required: mode.required, boot: bootPhrase(await boot) };
  const read = await readKubernetes(c.kubeconfig);
  if (!read.reachable)
    return {
      checked: true,
      reachable: false,
      server: read.server,
      reason: read.reason,
      required: mode.required,
      boot: bootPhrase(await boot),
    };
  const groups = [
    ...masterGroups(s.spec).map((m) => ({ name: m.name, want: 1 })),
    ...s.spec.spec.nodeGroups.map((g) => ({ name: g.name, want: g.desiredCapacity })),
  ].map((g) => {
    // the group's own desired capacity (the cluster autoscaler moves it), else the spec's
    return { name: g.name, want: observedDesired(actuals.get(`asg/${g.name}`)) ?? g.want };
  });
  return {
    checked: true,
    reachable: true,
    server: c.server,
    health: evaluateKubernetes({ serverVersion: read.serverVersion, nodes: read.nodes, pods: read.pods, groups }),
  };
}

export interface Report {
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
  /** information, not unhealthy: the public AL2023 parameter names another image than groups run (absent: none) */
  imageUpdate?: ImageUpdate[];
  /** the public zone kubeaz made: its name servers and whether the parent delegates to them (absent: none, or adopted) */
  dns?: PublicZoneDns | { domain: string; error: string };
  /** information, not unhealthy: the add-on versions the cluster runs differ from this kubeaz's (absent: the same, or unknown) */
  addonVersions?: AddonVersionNote;
}

export async function collectStatus(
  s: Session,
  opts: StatusQuery,
  creds: () => Promise<Credentials>,
): Promise<Report | { absent: string }> {
  await s.graph();
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
      c.verdict === 'update' || c.verdict === 'refuse'
        ? c.changes
        : c.verdict === 'incomplete'
          ? [{ field: 'dependencies', from: 'missing', to: 'present', inPlace: true }]
          : [];
    return {
      key: node.key,
      kind: node.kind,
      id: actual.id,
      status: changes.length ? 'drifted' : 'present',
      ...(changes.length ? { changes } : {}),
      ...(actual.state ? { state: actual.state } : {}),
    };
  });
  const byKind = new Map<Kind, Actual[]>();
  for (const a of actuals.values()) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), a]);
  const now = new Date();
  const mode = kubernetesMode(opts, s.spec.spec.network.apiAccess);
  const boot = boots(s, actuals, now);
  // an unhandled rejection must not escape while kubernetesSide has not awaited it yet
  boot.catch(() => undefined);
  const dns = publicZoneDns(s, actuals, true).catch((e: unknown) => ({
    domain: s.spec.spec.dns.publicDomain ?? 'zone/public',
    error: `could not check the public zone's delegation: ${(e as Error).message}`,
  }));
  const [health, backups, kubernetes, masters, bootList, zone, addons] = await Promise.all([
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
    dns,
    addonVersionsNote(s, actuals),
  ]);
  const warnings = [...s.warnings];
  if (addons && 'invalid' in addons) warnings.push(addons.invalid);
  for (const d of duplicates) warnings.push(describeDuplicate(d, actuals.get(d.key)));
  const elsewhere = heldElsewhere(s.ctx);
  if (elsewhere) warnings.push(`${elsewhere}: left out of this status`);
  const interval = s.spec.spec.etcd.backupIntervalMinutes;
  if (backups && backups.count === 0) warnings.push('no etcd backup yet (a master that has not finished booting has none)');
  else if (backups?.ageMinutes !== undefined && backups.ageMinutes > 2 * interval)
    warnings.push(`the newest etcd backup is ${backups.ageMinutes} minutes old (more than twice the ${interval}-minute interval)`);
  // a zone nobody delegates to: its names never resolve (a warning: the cluster itself is there)
  if (zone && 'delegation' in zone && zone.delegation?.state === 'not-delegated') warnings.push(zone.text);
  const desired = new Set(graph.nodes.map((n) => n.key));
  const orphans = [...actuals.values()].filter((a) => !desired.has(a.key)).map((a) => ({ key: a.key, kind: a.kind, id: a.id }));
  // an API that does not answer counts only when it was asked for; then it is the cluster not being up
  const k8sOk = !kubernetes.checked || (kubernetes.reachable ? kubernetes.health.ok : !kubernetes.required);
  const bootIssues = bootProblems(bootList, { requireReady: mode.bootJudged, now });
  const ok = resources.every((r) => r.status === 'present') && health.every((h) => h.ok) && k8sOk && bootIssues.length === 0;
  const imageUpdate = s.imageUpdate(actuals);
  return {
    ok,
    resources,
    health,
    backups,
    controlPlane: masters,
    orphans,
    warnings,
    kubernetes,
    boot: bootList,
    bootProblems: bootIssues,
    ...(imageUpdate.length ? { imageUpdate } : {}),
    ...(zone ? { dns: zone } : {}),
    ...(addons && !('invalid' in addons) ? { addonVersions: addons } : {}),
  };
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

/**
 * Admin credentials for the Kubernetes API, signed once per run (short-lived: the run, plus a
 * margin), reused by every poll; at --api-endpoint when given, else at the cluster's endpoint.
 */
export function statusCredentials(s: Session, apiEndpoint: string | undefined, waitMs: number): () => Promise<Credentials> {
  let signed: Promise<Credentials> | undefined;
  return () =>
    (signed ??= (async (): Promise<Credentials> => {
      try {
        const endpoint = apiEndpoint ? { server: apiEndpoint.replace(/\/$/, ''), via: 'given' as const } : await clusterEndpoint(s);
        const admin = await adminKubeconfig(s, waitMs + 15 * 60_000, endpoint);
        return { kubeconfig: admin.text, server: admin.endpoint.server };
      } catch (e) {
        return { error: (e as Error).message };
      }
    })());
}
