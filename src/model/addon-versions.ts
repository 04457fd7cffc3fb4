/**
 * The add-on versions a running cluster runs, as its masters recorded them
 * (etcd/control-plane/addons.json, written by the master that installed them), against the table
 * of this kubeaz (src/spec/versions.ts). PURE. New pins reach a running cluster only through a
 * master rollout (the master that runs the add-on step installs them), so `plan` and `status` say
 * when the two differ — information only, no change and exit 0 under --detailed-exitcode.
 */
import { createHash } from 'node:crypto';
import { addonsFor, helmFor } from '../spec/versions.js';

/** The chart and image versions the master installs (one row of src/spec/versions.ts, flattened). */
export interface AddonVersionSet {
  cilium: string;
  awsCcmChart: string;
  awsCcmImage: string;
  ebsCsiChart: string;
  clusterAutoscalerChart: string;
  clusterAutoscalerImage: string;
  nthChart: string;
}

/** The add-on versions this kubeaz installs for a Kubernetes version (its row of the table). */
export function addonVersionSet(kubernetesVersion: string): AddonVersionSet {
  const { addons } = addonsFor(kubernetesVersion);
  return {
    cilium: addons.cilium.chart,
    awsCcmChart: addons.awsCloudControllerManager.chart,
    awsCcmImage: addons.awsCloudControllerManager.image!,
    ebsCsiChart: addons.awsEbsCsiDriver.chart,
    clusterAutoscalerChart: addons.clusterAutoscaler.chart,
    clusterAutoscalerImage: addons.clusterAutoscaler.image!,
    nthChart: addons.awsNodeTerminationHandler.chart,
  };
}

/**
 * A short digest of what the master installs for a Kubernetes version (helm and the add-on
 * versions): named in the masters' user data, so a new pin makes a new master launch template
 * version and `kubeaz rollout` replaces the masters (whose add-on step installs it).
 */
export function addonPinsDigest(kubernetesVersion: string): string {
  const v = addonVersionSet(kubernetesVersion);
  const text = [
    `helm=${helmFor(kubernetesVersion)}`,
    ...Object.keys(v)
      .sort()
      .map((k) => `${k}=${v[k as keyof AddonVersionSet]}`),
  ].join(',');
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

/** Each recorded field: the add-on it belongs to (its helm release) and what it pins. */
export const ADDON_VERSION_FIELDS: ReadonlyArray<{ field: keyof AddonVersionSet; addon: string; what: 'chart' | 'image' }> = [
  { field: 'cilium', addon: 'cilium', what: 'chart' },
  { field: 'awsCcmChart', addon: 'aws-cloud-controller-manager', what: 'chart' },
  { field: 'awsCcmImage', addon: 'aws-cloud-controller-manager', what: 'image' },
  { field: 'ebsCsiChart', addon: 'aws-ebs-csi-driver', what: 'chart' },
  { field: 'clusterAutoscalerChart', addon: 'cluster-autoscaler', what: 'chart' },
  { field: 'clusterAutoscalerImage', addon: 'cluster-autoscaler', what: 'image' },
  { field: 'nthChart', addon: 'aws-node-termination-handler', what: 'chart' },
];

export interface AddonVersionDifference {
  addon: string;
  what: 'chart' | 'image';
  /** what the cluster runs, as recorded */
  recorded: string;
  /** what this kubeaz's table pins for the spec's Kubernetes version */
  table: string;
}

/** plan's and status' note: the differences and the line they print. */
export interface AddonVersionNote {
  /** the master that recorded them, its state (installing / installed) and when */
  recordedBy: { by: string; state: string; at: string };
  differences: AddonVersionDifference[];
  text: string;
}

/**
 * The fields whose recorded version differs from the table's, in the table's order. A field the
 * record does not carry (written by an older agent, which recorded only a fingerprint) is not
 * compared: nothing is known of it.
 */
export function addonVersionDifferences(recorded: Partial<AddonVersionSet>, table: AddonVersionSet): AddonVersionDifference[] {
  const out: AddonVersionDifference[] = [];
  for (const f of ADDON_VERSION_FIELDS) {
    const r = recorded[f.field];
    if (r === undefined || r === table[f.field]) continue;
    out.push({ addon: f.addon, what: f.what, recorded: r, table: table[f.field] });
  }
  return out;
}

/** The note, or undefined when the recorded versions are the table's (or none are recorded). */
export function addonVersionNote(
  record: Partial<AddonVersionSet> & { by: string; state: string; at: string },
  table: AddonVersionSet,
): AddonVersionNote | undefined {
  const differences = addonVersionDifferences(record, table);
  if (!differences.length) return undefined;
  const list = differences.map((d) => `${d.addon} ${d.what === 'image' ? 'image ' : ''}${d.recorded} → ${d.table}`).join(', ');
  const installing = record.state === 'installing' ? ` (being installed by ${record.by} since ${record.at})` : '';
  return {
    recordedBy: { by: record.by, state: record.state, at: record.at },
    differences,
    text:
      `add-on versions differ from this kubeaz's: ${list}${installing}; ` +
      'a master rollout installs them (kubeaz create, then kubeaz rollout: the master that runs the add-on step installs the new versions)',
  };
}
