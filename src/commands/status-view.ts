/**
 * status as text: the resources, health, control plane, groups, boots, etcd backups, Kubernetes
 * and the verdict, each line at most 100 columns (problems are wrapped, never cut). PURE.
 */
import { showValue } from '../util/show.js';
import type { serviceAccountRoles } from '../model/derive.js';
import { bootPhrase } from '../operations/boots.js';
import type { ControlPlaneInfo, GroupStatus, KubernetesSection, Report } from '../operations/status.js';
import { groupsOf } from '../operations/status.js';
import { renderBoot } from './boot-view.js';
import { table } from './output.js';

/** The control plane as text lines: one row per master group, and the restore a lost quorum needed. */
export function renderControlPlane(c: ControlPlaneInfo): string[] {
  const rows = c.masters.flatMap((m) =>
    m.instances.length
      ? m.instances.map((i) => [`  ${m.group}`, m.zone ?? i.zone, i.id, i.lifecycleState === 'InService' ? 'in service' : i.lifecycleState])
      : [[`  ${m.group}`, m.zone ?? '-', '-', 'no instance']],
  );
  const inService = c.masters.filter((m) => m.instances.some((i) => i.lifecycleState === 'InService')).length;
  const out = [
    `control plane: ${inService}/${c.count} master${c.count === 1 ? '' : 's'} in service`,
    table([['  GROUP', 'ZONE', 'INSTANCE', 'STATE'], ...rows]),
  ];
  const r = c.restore;
  if (r && 'invalid' in r) out.push(`  etcd restore record unreadable: ${r.invalid}`);
  else if (r)
    out.push(
      `  etcd was restored from ${r.snapshot}${r.snapshotTime ? ` (taken ${r.snapshotTime})` : ''}${r.restoredAt ? ` at ${r.restoredAt}` : ''}${r.by ? ` by ${r.by}` : ''}: writes after that snapshot were lost`,
    );
  return out;
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

/** The groups as a table: min/desired/max, types in use (count each), on-demand and spot. */
export function renderGroups(groups: GroupStatus[]): string[] {
  if (!groups.length) return [];
  const inUse = (g: GroupStatus) =>
    Object.entries(g.typesInUse)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([t, n]) => `${t}×${n}`)
      .join(' ') || '-';
  return table([
    ['GROUP', 'MIN', 'DESIRED', 'MAX', 'TYPES IN USE', 'ON-DEMAND', 'SPOT', 'ALLOWED TYPES'],
    ...groups.map((g) => [
      g.name,
      String(g.min),
      String(g.desired),
      String(g.max),
      inUse(g),
      String(g.onDemand),
      String(g.spot),
      g.instanceTypes.length ? g.instanceTypes.join(',') : '(launch template)',
    ]),
  ])
    .split('\n')
    .map(clip);
}

const WIDTH = 100;
export const clip = (line: string) => (line.length > WIDTH ? `${line.slice(0, WIDTH - 1)}…` : line);
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
  if (verbose)
    out.push(table([['  COMPONENT', 'PODS', 'READY'], ...h.components.map((c) => [`  ${c.name}`, String(c.pods), String(c.ready)])]));
  for (const p of h.problems) out.push(`  FAIL ${p}`);
  return out;
}

export function renderStatus(
  clusterId: string,
  region: string,
  account: string,
  r: Report,
  verbose: boolean,
  serviceAccounts: ReturnType<typeof serviceAccountRoles> = [],
): string {
  const out: string[] = [`cluster ${clusterId} in ${region} (account ${account})`, ''];
  if (verbose) {
    out.push(
      table([
        ['RESOURCE', 'KIND', 'ID', 'STATUS'],
        ...r.resources.map((x) => [x.key, x.kind, x.id ?? '-', x.status + (x.state && x.state !== 'available' ? ` (${x.state})` : '')]),
      ]),
      '',
    );
  } else {
    const kinds = [...new Set(r.resources.map((x) => x.kind))];
    const rows = kinds.map((kind) => {
      const of = r.resources.filter((x) => x.kind === kind);
      const present = of.filter((x) => x.status === 'present').length;
      const off = of.filter((x) => x.status !== 'present').map((x) => `${x.key} ${x.status}`);
      return [kind, `${present}/${of.length}`, off.length ? off.join(', ') : 'ok'];
    });
    out.push(
      ...table([['KIND', 'PRESENT', 'STATUS'], ...rows])
        .split('\n')
        .map(clip),
      '',
    );
  }
  for (const x of r.resources.filter((y) => y.status === 'drifted'))
    for (const c of x.changes ?? []) out.push(...wrap(`drift: ${x.key}: ${c.field}: ${driftValue(c.from)} → ${driftValue(c.to)}`));
  if (r.health.length) {
    const failing = r.health.filter((h) => !h.ok);
    out.push(`health: ${r.health.length - failing.length}/${r.health.length} checks ok`);
    for (const h of verbose ? r.health : failing) out.push(...wrap(`  ${h.ok ? 'ok  ' : 'FAIL'} ${h.key}: ${h.summary}`));
  }
  out.push(
    ...renderControlPlane(r.controlPlane)
      .flatMap((l) => l.split('\n'))
      .flatMap(wrap),
  );
  out.push(...renderGroups(groupsOf(r.health)));
  out.push(...renderBoot(r.boot, new Date()));
  if (r.backups?.newestKey) out.push(`etcd backups: ${r.backups.count}, newest ${r.backups.newestKey} (${r.backups.ageMinutes} min old)`);
  if (r.backups?.bytes !== undefined)
    out.push(
      ...wrap(
        `etcd backups take ${formatBytes(r.backups.bytes)} in the bucket (${formatBytes(r.backups.noncurrentBytes ?? 0)} of it pruned versions awaiting the lifecycle rule)`,
      ),
    );
  // IRSA: a pod gets its service account's role once the service account carries the annotation.
  for (const a of serviceAccounts) out.push(`service account ${a.namespace}/${a.name}: role ${a.roleArn}`, `  ${a.annotate}`);
  out.push(
    ...renderKubernetes(r.kubernetes, verbose)
      .flatMap((l) => l.split('\n'))
      .flatMap(wrap),
  );
  for (const o of r.orphans) out.push(...wrap(`orphan: ${o.key} (${o.kind} ${o.id}) is owned by the cluster but not in the spec`));
  for (const u of r.imageUpdate ?? []) out.push(...wrap(`note: ${u.text}`));
  // the public zone's delegation (not delegated: one of the warnings below)
  if (r.dns && !('error' in r.dns) && r.dns.delegation?.state !== 'not-delegated') out.push(...wrap(`dns: ${r.dns.text}`));
  if (r.dns && 'error' in r.dns) out.push(...wrap(`dns: ${r.dns.error}`));
  if (r.addonVersions) out.push(...wrap(`note: ${r.addonVersions.text}`));
  for (const w of r.warnings) out.push(...wrap(`warning: ${w}`));
  const present = r.resources.filter((x) => x.status === 'present').length;
  const failing = r.health.filter((h) => !h.ok).length;
  const k = r.kubernetes;
  const k8s =
    k.checked && k.reachable
      ? `, Kubernetes ${k.health.ok ? 'healthy' : `${k.health.problems.length} problem${k.health.problems.length === 1 ? '' : 's'}`}`
      : k.checked && k.required
        ? ', Kubernetes API not reachable'
        : !k.checked && r.boot.length && /judged by the boot reports/.test(k.reason)
          ? ', API not checked'
          : '';
  const booting = r.bootProblems.length ? `, ${r.bootProblems.length} instance boot${r.bootProblems.length === 1 ? '' : 's'} not done` : '';
  out.push(
    '',
    `${r.ok ? 'healthy' : 'NOT healthy'}: ${present}/${r.resources.length} resources present and matching${failing ? `, ${failing} health checks failing` : ''}${k8s}${booting}`,
  );
  return `${out.join('\n')}\n`;
}

/** One line for --wait: what is still missing. */
export function waitingLine(r: Report): string {
  const parts: string[] = [];
  const off = r.resources.filter((x) => x.status !== 'present').length;
  if (off) parts.push(`${off} resources missing or drifted`);
  const failing = r.health.filter((h) => !h.ok);
  if (failing.length)
    parts.push(
      failing
        .map((h) => `${h.key}: ${h.summary}`)
        .slice(0, 2)
        .join('; '),
    );
  const k = r.kubernetes;
  if (k.checked && k.reachable && !k.health.ok)
    parts.push(`${k.health.nodes.ready}/${k.health.nodes.total} nodes Ready; ${k.health.problems[0]}`);
  if (k.checked && !k.reachable) parts.push(`API not reachable yet (boot: ${k.boot})`);
  else if (r.bootProblems.length || r.boot.some((b) => b.result !== 'ready')) parts.push(`boot: ${bootPhrase(r.boot)}`);
  return parts.join(' · ') || 'healthy';
}

/** A drifted field's value: JSON as before ("attached", 3, [..]), an absent one as (none). */
export const driftValue = (v: unknown): string =>
  v === undefined || v === null ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : showValue(v);
