/**
 * Which master (re)installs the add-ons, decided from etcd/control-plane/addons.json. PURE.
 *
 * The master that ran `kubeadm init` or a restore always installs them. But a rollout of a highly
 * available control plane (a new Kubernetes version and so new chart versions, IRSA switched on or
 * off) replaces every master by JOINING ones: were only init/restore masters to install, the
 * add-ons would keep the old settings for good. So the settings a master would install with have a
 * fingerprint, addons.json says which fingerprint the add-ons were last installed with, and a
 * joined master installs when its own differs — unless another live master is installing right now
 * (two helm runs on the same releases race). Whoever installs first claims the record with a
 * conditional write; the lost race is the next master's skip.
 */
import { createHash } from 'node:crypto';
import type { MasterSettings } from '../../model/master-settings.js';
import type { AddonsRecord } from '../../records/etcd.js';
import type { InstanceState } from './master.js';

/** JSON with every object's keys sorted, so equal settings give equal text whatever the key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The sha256 of what decides how the add-ons are installed: the chart and image versions, helm's
 * version, the IRSA settings (roles, and whether it is on at all: it moves controllers off the host
 * network), the Kubernetes version (the versions above are chosen from it) and the
 * EncryptionConfiguration's fingerprint (the add-on step rewrites the Secrets after it) and the node
 * termination handler's queue and role (its mode). Not the backup or
 * DNS settings: changing those must not re-run helm.
 */
export function addonsFingerprint(
  ms: Pick<MasterSettings, 'addons' | 'helmVersion' | 'irsa' | 'encryption' | 'nth'>,
  kubernetesVersion: string,
): string {
  const relevant = {
    kubernetesVersion,
    helmVersion: ms.helmVersion,
    addons: ms.addons,
    irsa: ms.irsa ?? null,
    // a new EncryptionConfiguration: the master that runs the add-on step rewrites every Secret (master/encryption.ts)
    encryption: ms.encryption.fingerprint,
    // the node termination handler's queue and role (queue-processor mode); absent (IMDS mode) it
    // leaves the text, and so the fingerprint of a cluster without node groups, as it was
    nth: ms.nth,
  };
  return createHash('sha256').update(canonicalJson(relevant)).digest('hex');
}

/**
 * The installer's EC2 state: a DescribeInstances state, 'unlisted' (EC2 does not list it), or
 * 'unknown' (EC2 could not be asked; counts as alive: never take over a live install on a guess).
 */
export type InstallerState = InstanceState | 'unlisted' | 'unknown';

export interface AddonsInput {
  self: { instanceId: string };
  /** this master's addonsFingerprint */
  fingerprint: string;
  /** addons.json; undefined when there is none or it does not parse (either way nobody installed with known settings) */
  record?: AddonsRecord;
  /** EC2's word on record.by (only asked while the record is `installing`) */
  installer?: InstallerState;
  now: Date;
  limits: {
    /** an `installing` claim older than this is taken over, its installer alive or not (it hangs, or failed) */
    staleSeconds: number;
    /** an installer recorded less than this ago and not listed by EC2 may be too new to be listed (decide/master.ts' rule) */
    unknownGraceSeconds: number;
  };
}

export type AddonsDecision = { action: 'install' | 'skip'; reason: string };

const LIVE: ReadonlySet<InstallerState> = new Set(['running', 'pending', 'unknown']);
const short = (fp: string) => fp.slice(0, 12);

export function decideAddons(input: AddonsInput): AddonsDecision {
  const { record: r, fingerprint: fp } = input;
  if (!r) return { action: 'install', reason: 'no add-on install is recorded: this master installs them' };
  const mine = r.fingerprint === fp;
  const settings = mine ? 'these settings' : `other settings (${short(r.fingerprint)}, this master's are ${short(fp)})`;
  if (r.state === 'installed') {
    if (mine)
      return { action: 'skip', reason: `the add-ons were installed with these settings (${short(fp)}) by ${r.by} (${r.group}) at ${r.at}` };
    return { action: 'install', reason: `the add-ons were installed with ${settings} by ${r.by} at ${r.at}: this master installs its own` };
  }
  // installing
  if (r.by === input.self.instanceId)
    return { action: 'install', reason: `this instance claimed the install at ${r.at} and did not finish it: installing again` };
  const age = (input.now.getTime() - Date.parse(r.at)) / 1000;
  if (age >= input.limits.staleSeconds)
    return {
      action: 'install',
      reason: `${r.by} (${r.group}) claimed the install at ${r.at}, ${Math.round(age)} s ago (limit ${input.limits.staleSeconds} s), and never recorded it done: taking over`,
    };
  const st = input.installer ?? 'unlisted';
  const alive = LIVE.has(st) || (st === 'unlisted' && age < input.limits.unknownGraceSeconds);
  if (alive) {
    // even with other settings: two helm runs on the same releases race; the installer's own
    // settings win for now and the next master that joins compares again
    return {
      action: 'skip',
      reason: `${r.by} (${r.group}, ${st === 'unlisted' ? 'not listed by EC2 yet' : st}) is installing the add-ons with ${settings} since ${r.at}`,
    };
  }
  return {
    action: 'install',
    reason: `${r.by} (${r.group}) claimed the install at ${r.at} but is ${st === 'unlisted' ? 'not listed by EC2' : st}: taking over`,
  };
}
