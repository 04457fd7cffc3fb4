/**
 * The tags cluster-autoscaler reads on an auto scaling group (its AWS provider's auto-discovery
 * and scale-from-zero "node-template" tags, cloudprovider/aws/README.md), and the tag budget they
 * share with the user's and kubeaz's own. Pure; in spec/ because validation refuses a group whose
 * tags would not fit before anything is made.
 */
import type { TaintEffect } from './k8s-names.js';

export const AUTOSCALER_ENABLED_TAG = 'k8s.io/cluster-autoscaler/enabled';
export const autoscalerClusterTag = (clusterId: string): string => `k8s.io/cluster-autoscaler/${clusterId}`;
export const NODE_TEMPLATE_LABEL_PREFIX = 'k8s.io/cluster-autoscaler/node-template/label/';
export const NODE_TEMPLATE_TAINT_PREFIX = 'k8s.io/cluster-autoscaler/node-template/taint/';
/** An auto scaling group's tag key: at most 128 characters (value: 256). */
export const ASG_TAG_KEY_MAX = 128;
/**
 * The tags kubeaz itself puts on a node group's auto scaling group besides the spec's `tags`:
 * Name, kubeaz:cluster, kubeaz:name, kubeaz:environment, kubeaz:region, kubeaz:key,
 * kubeaz:node-group, kubernetes.io/cluster/<id>, kubeaz:desired-capacity. (A unit test derives a
 * graph and counts them, so this number cannot drift from what the model does.)
 */
export const KUBEAZ_NODE_GROUP_ASG_TAGS = 9;

/** The autoscaler's tags for one node group: discovery, then one per label and one per taint. */
export function autoscalerTags(
  clusterId: string,
  labels: Readonly<Record<string, string>>,
  taints: ReadonlyArray<{ key: string; value?: string | undefined; effect: TaintEffect }>,
): Record<string, string> {
  const out: Record<string, string> = { [AUTOSCALER_ENABLED_TAG]: 'true', [autoscalerClusterTag(clusterId)]: 'owned' };
  for (const k of Object.keys(labels).sort()) out[`${NODE_TEMPLATE_LABEL_PREFIX}${k}`] = labels[k]!;
  for (const t of taints) out[`${NODE_TEMPLATE_TAINT_PREFIX}${t.key}`] = `${t.value ?? ''}:${t.effect}`;
  return out;
}
