/**
 * plan's and status' word on the add-on versions a running cluster runs (as its masters recorded
 * them in etcd/control-plane/addons.json) against this kubeaz's table: one GetObject, only when the
 * cluster's bucket exists; never in create (its no-op budget does not change). The comparison is
 * model/addon-versions.ts'.
 */
import { readAddonsRecord } from '../etcd/snapshots.js';
import { addonVersionNote, addonVersionSet, type AddonVersionNote } from '../model/addon-versions.js';
import { bucketName } from '../model/names.js';
import type { Actual } from '../resources/types.js';
import type { Session } from './session.js';

/**
 * The note, undefined (no bucket, no record — no master installed yet —, or no difference), or
 * `invalid` when the record does not parse (the caller warns: the versions the cluster runs are unknown).
 */
export async function addonVersionsNote(
  s: Session,
  observed: ReadonlyMap<string, Actual>,
): Promise<AddonVersionNote | { invalid: string } | undefined> {
  if (!observed.has('bucket')) return undefined;
  const r = await readAddonsRecord(await s.aws.s3(), bucketName(s.clusterId, s.ctx.accountId), s.ctx.accountId);
  if (!r) return undefined;
  if ('invalid' in r) return { invalid: `${r.invalid}: the add-on versions the cluster runs are unknown` };
  return addonVersionNote(r, addonVersionSet(s.spec.spec.kubernetesVersion));
}
