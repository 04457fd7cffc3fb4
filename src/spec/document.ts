/**
 * A parsed spec back as a document the schema takes again: what `create` keeps in the cluster's
 * bucket (model/stored-spec.ts) and `kubeaz get-spec` prints. The schema fills defaults and
 * completes each node group (clusterSchema's transform); this undoes what input would refuse, so
 * that parsing the document gives the very same ClusterSpec. PURE.
 *
 * A new transform in schema.ts that output cannot be fed back through must be undone here too:
 * test/unit/stored-spec.test.ts parses every fixture's document again and compares.
 */
import type { ClusterSpec, ClusterSpecInput, NodeGroupSpec } from './schema.js';

type NodeGroupInput = NonNullable<ClusterSpecInput['spec']['nodeGroups']>[number];

/**
 * A node group's fields in the order the document writes them (the schema's): the transform adds
 * the fields it completes after the others, so the order of its output hangs on what the input
 * gave, and the document would not be a fixed point without one order of its own.
 */
const NODE_GROUP_ORDER = [
  'name',
  'role',
  'instanceType',
  'instanceTypes',
  'spot',
  'minSize',
  'desiredCapacity',
  'maxSize',
  'subnets',
  'volumeSize',
  'labels',
  'taints',
  'elasticIps',
  'publicRecord',
] as const;

/** A node group as input: the transform's completions that input refuses are left out. */
function nodeGroupDocument(g: NodeGroupSpec): NodeGroupInput {
  const { instanceType, instanceTypes, elasticIps, ...rest } = g;
  const fields: Record<string, unknown> = {
    ...rest,
    // instanceType and instanceTypes are alternatives in input; the transform sets both
    ...(instanceTypes === undefined ? { instanceType } : { instanceTypes }),
    // 0 is the transform's "none" (input takes 1–20, and only on a loadbalancer group)
    ...(elasticIps > 0 ? { elasticIps } : {}),
  };
  const known = new Set<string>(NODE_GROUP_ORDER);
  // a field the list does not name yet (a new one in the schema) keeps its place after the others
  const order = [...NODE_GROUP_ORDER, ...Object.keys(fields).filter((k) => !known.has(k))];
  return Object.fromEntries(order.filter((k) => k in fields).map((k) => [k, fields[k]])) as NodeGroupInput;
}

/** The spec as a document the schema parses back to the same ClusterSpec (defaults written out). */
export function specDocument(spec: ClusterSpec): ClusterSpecInput {
  return dropUndefined({
    ...spec,
    spec: { ...spec.spec, nodeGroups: spec.spec.nodeGroups.map(nodeGroupDocument) },
  }) as ClusterSpecInput;
}

/** Plain data without undefined members (an optional field left out, not written as null). */
function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, dropUndefined(x)]),
    );
  return v;
}
