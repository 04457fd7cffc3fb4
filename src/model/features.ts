/**
 * The cluster's optional features, recorded in AWS on a resource every cluster has and reads anyway:
 * the VPC's tag `kubeaz:features` names each feature the cluster may hold resources of (`elb nlb`,
 * `irsa`, or `none`). A no-op run reads the resources of a feature only when the spec asks for it,
 * the tag names it, or there is no such tag (a VPC made by an older kubeaz, or no VPC at all): a
 * cluster that never had an NLB or IRSA makes no ELBv2, OIDC-provider or discovery-bucket read, and
 * what a turned-off feature left is still found — from AWS, not from the state file.
 *
 * The tag is set before the feature's first resource is made (the VPC is made with it, or updated
 * first: every feature's first resource waits for the VPC), and a feature once recorded stays
 * recorded: dropping it the run after its last resource went would make that run's no-op a
 * mutating one (a CreateTags), and a cluster that had a feature pays only that feature's few reads.
 * An older kubeaz's VPC gets the tag on its next create, from what that run found. PURE.
 */
import type { Kind, Tags } from './types.js';

export const FEATURES_TAG = 'kubeaz:features';

/** classic ELBs in front of the API; Network Load Balancers with their target groups; IRSA's discovery bucket, documents and OIDC provider */
export const FEATURES = ['elb', 'irsa', 'nlb'] as const;
export type Feature = (typeof FEATURES)[number];

/** The tag's value when the cluster has none of them. */
export const NO_FEATURES = 'none';

/** The discovery documents are bucket objects whose keys start so (model/areas/irsa.ts). */
const DISCOVERY_OBJECT = 'object/discovery/';

const BY_KIND: Partial<Record<Kind, Feature>> = {
  'load-balancer': 'elb',
  'network-load-balancer': 'nlb',
  'target-group': 'nlb',
  'discovery-bucket': 'irsa',
  'oidc-provider': 'irsa',
};

/** The feature a resource belongs to, if any (by its kind, and its key for the discovery documents). */
export function featureOf(r: { kind: Kind; key: string }): Feature | undefined {
  if (r.kind === 'bucket-object') return r.key.startsWith(DISCOVERY_OBJECT) ? 'irsa' : undefined;
  return BY_KIND[r.kind];
}

/** The features of these resources (desired nodes or observed ones), sorted. */
export function featuresOf(rs: Iterable<{ kind: Kind; key: string }>): Feature[] {
  const out = new Set<Feature>();
  for (const r of rs) {
    const f = featureOf(r);
    if (f) out.add(f);
  }
  return FEATURES.filter((f) => out.has(f));
}

/**
 * What observe found of the features (model Facts.seenFeatures): the features of the resources it
 * found, and those the found VPC already records (a recorded feature stays recorded).
 */
export function featuresSeen(observed: Iterable<{ kind: Kind; key: string; tags: Tags }>): Feature[] {
  const list = [...observed];
  const recorded = list.filter((r) => r.kind === 'vpc').flatMap((r) => [...(recordedFeatures(r.tags) ?? [])]);
  const set = new Set<Feature>([...featuresOf(list), ...recorded]);
  return FEATURES.filter((f) => set.has(f));
}

/** The tag value: the features sorted and space-separated, or `none`. */
export const featuresTagValue = (fs: Iterable<Feature>): string => {
  const set = new Set(fs);
  const list = FEATURES.filter((f) => set.has(f));
  return list.length ? list.join(' ') : NO_FEATURES;
};

/** What the tag records; undefined when there is no tag or it names something this kubeaz does not know (read everything). */
export function recordedFeatures(tags: Tags): ReadonlySet<Feature> | undefined {
  const v = tags[FEATURES_TAG];
  if (v === undefined) return undefined;
  if (v.trim() === NO_FEATURES) return new Set();
  const words = v.split(/\s+/).filter(Boolean);
  if (!words.length || words.some((w) => !(FEATURES as readonly string[]).includes(w))) return undefined;
  return new Set(words as Feature[]);
}

/** The features a spec's cluster has, whatever was observed: the ones its desired graph holds. */
export interface SpecFeatureInputs {
  controlPlane: { loadBalancer: 'classic' | 'network' };
  iam: { serviceAccountIssuerDiscovery: { enabled: boolean } };
}

export function featuresOfSpec(s: SpecFeatureInputs): Feature[] {
  const out: Feature[] = [s.controlPlane.loadBalancer === 'network' ? 'nlb' : 'elb'];
  if (s.iam.serviceAccountIssuerDiscovery.enabled) out.push('irsa');
  return FEATURES.filter((f) => out.includes(f));
}
