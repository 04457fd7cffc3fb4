/**
 * The boot reports as `status` judges them. PURE: instances and what the bucket holds in, entries,
 * verdicts and durations out (the reads are src/records/boot-store.ts; the text is
 * src/commands/boot-view.ts).
 */
import { currentPhase, isStalled, type BootError, type BootReport, type BootResult } from '../records/boot.js';
import type { StoredBoot } from '../records/boot-store.js';

/** A live instance of one of the cluster's groups (from the auto scaling groups). */
export interface LiveInstance {
  id: string;
  group: string;
  zone?: string;
  lifecycleState?: string;
}

/** One instance's boot as status reports it (the JSON's `boot` entries). */
export interface BootEntry {
  instanceId: string;
  group: string;
  /** the phase the report is at (the failing one when failed); null without a report */
  phase: string | null;
  /** running | ready | failed; null: no report (yet) */
  result: BootResult | null;
  error: BootError | null;
  /** running, and not updated for ten minutes */
  stalled: boolean;
  updatedAt: string | null;
  zone?: string;
  lifecycleState?: string;
  /** the report exists but is not one (why) */
  invalid?: string;
}

/** Leaving the group: its report no longer says anything about the cluster's health. */
const leaving = (state: string | undefined): boolean => /^Terminat/.test(state ?? '');

export function bootEntries(instances: readonly LiveInstance[], stored: ReadonlyMap<string, StoredBoot>, now: Date): BootEntry[] {
  return instances.map((i) => {
    const base = {
      instanceId: i.id,
      group: i.group,
      ...(i.zone ? { zone: i.zone } : {}),
      ...(i.lifecycleState ? { lifecycleState: i.lifecycleState } : {}),
    };
    const s = stored.get(i.id);
    if (!s || 'none' in s) return { ...base, phase: null, result: null, error: null, stalled: false, updatedAt: null };
    if ('invalid' in s) return { ...base, phase: null, result: null, error: null, stalled: false, updatedAt: null, invalid: s.invalid };
    const r: BootReport = s.report;
    return {
      ...base,
      phase: currentPhase(r) ?? null,
      result: r.result,
      error: r.error ?? null,
      stalled: isStalled(r, now),
      updatedAt: r.updatedAt,
    };
  });
}

/**
 * What keeps the boots from counting as done, one line each: a failed or stalled boot, an
 * unreadable report, a boot still running. With `requireReady` (the API is not checked, the boots
 * are the verdict) an instance without a report counts too; otherwise it is no problem (instances
 * of an older kubeaz boot without the agent and write none).
 */
export function bootProblems(entries: readonly BootEntry[], opts: { requireReady: boolean; now: Date }): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (leaving(e.lifecycleState)) continue;
    const who = `${e.group} ${e.instanceId}`;
    if (e.invalid) out.push(`${who}: boot report unreadable: ${e.invalid}`);
    else if (e.result === 'failed')
      out.push(`${who}: boot failed at ${e.error?.phase ?? e.phase ?? '?'}: ${e.error?.message ?? 'no message'}`);
    else if (e.result === 'running' && e.stalled)
      out.push(`${who}: boot stalled at ${e.phase ?? 'its start'} (no update for ${ago(e.updatedAt, opts.now)})`);
    else if (e.result === 'running') out.push(`${who}: still booting (${e.phase ?? 'starting'})`);
    else if (e.result === null && opts.requireReady) out.push(`${who}: no boot report yet`);
  }
  return out;
}

/** "4m", "2h5m": how long ago an ISO time was. */
export function ago(iso: string | null, now: Date): string {
  if (!iso) return '?';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/**
 * The boots in one short phrase, masters first, for a reason or a progress line:
 * "master i-0a at kubeadm-init (failed); general i-0b at join (running)".
 */
export function bootPhrase(all: readonly BootEntry[], max = 3): string {
  const entries = all.filter((e) => !leaving(e.lifecycleState));
  if (!entries.length) return 'no instance launched yet';
  const reported = entries.filter((e) => e.result !== null || e.invalid);
  if (!reported.length) return `no boot report yet from ${entries.length} instance${entries.length === 1 ? '' : 's'}`;
  const order = (e: BootEntry) => (e.result === 'failed' ? 0 : e.stalled ? 1 : e.result === 'running' ? 2 : e.result === null ? 3 : 4);
  const master = (e: BootEntry) => (/^master(-\d+)?$/.test(e.group) ? 0 : 1);
  const notReady = entries.filter((e) => e.result !== 'ready').sort((a, b) => master(a) - master(b) || order(a) - order(b));
  const ready = entries.length - notReady.length;
  if (!notReady.length) return `all ${entries.length} instances booted (ready)`;
  const shown = notReady
    .slice(0, max)
    .map(
      (e) =>
        `${e.group} ${e.instanceId} ${e.invalid ? 'has an unreadable report' : e.result === null ? 'has no report' : `at ${e.phase ?? 'its start'} (${e.stalled ? 'stalled' : e.result})`}`,
    );
  return `${ready}/${entries.length} booted; ${shown.join('; ')}${notReady.length > max ? `; ${notReady.length - max} more` : ''}`;
}

/** Durations of a report's phases, in seconds (a phase without an end runs until `now`). */
export function phaseSeconds(r: BootReport, now: Date): Array<{ name: string; seconds: number; done: boolean }> {
  return r.phases.map((p) => {
    const end = p.end ? Date.parse(p.end) : now.getTime();
    return { name: p.name, seconds: Math.max(0, (end - Date.parse(p.start)) / 1000), done: Boolean(p.end) };
  });
}

/** Time to Ready per instance and per phase across instances: what the acceptance run reports from the boot reports. */
export interface BootTimes {
  instances: Array<{
    instanceId: string;
    group: string;
    result: string;
    toReadySeconds: number | null;
    phases: Array<{ name: string; seconds: number }>;
  }>;
  /** per phase name, in the order phases first appear: how many instances ran it, and the spread of its seconds */
  phases: Array<{ name: string; count: number; min: number; median: number; max: number }>;
}

export function bootTimes(reports: ReadonlyArray<{ instanceId: string; group: string; boot: BootReport | null }>, now: Date): BootTimes {
  const instances: BootTimes['instances'] = [];
  const byPhase = new Map<string, number[]>();
  for (const r of reports) {
    if (!r.boot) continue;
    const phases = phaseSeconds(r.boot, now).filter((p) => p.done);
    for (const p of phases) byPhase.set(p.name, [...(byPhase.get(p.name) ?? []), p.seconds]);
    const first = r.boot.phases[0]?.start;
    const lastEnd = r.boot.phases.at(-1)?.end;
    const toReady = r.boot.result === 'ready' && first && lastEnd ? Math.max(0, (Date.parse(lastEnd) - Date.parse(first)) / 1000) : null;
    instances.push({
      instanceId: r.instanceId,
      group: r.group,
      result: r.boot.result,
      toReadySeconds: toReady,
      phases: phases.map(({ name, seconds }) => ({ name, seconds })),
    });
  }
  const phases = [...byPhase].map(([name, s]) => {
    const sorted = [...s].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { name, count: sorted.length, min: sorted[0]!, median, max: sorted.at(-1)! };
  });
  return { instances, phases };
}
