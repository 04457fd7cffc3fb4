/**
 * Kubernetes' version-skew policy for `plan` and `create`: a kubelet is never newer than its API
 * server, and kubeadm upgrades the control plane one minor at a time. So a `kubernetesVersion`
 * change may raise the minor by at most one and never lower it; patch changes are free. The
 * running version is what AWS holds: the `kubeaz:kubernetes-version` tag on the master's launch
 * template. PURE.
 */
import { K8S_VERSION_TAG } from '../model/types.js';
import type { ClusterRule } from './types.js';

export interface SkewRefusal {
  from: string;
  to: string;
  reason: string;
}

const minorOf = (v: string): [number, number] | undefined => {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
};

/** undefined when `to` may follow `from`; otherwise why not. */
export function checkVersionSkew(from: string, to: string): SkewRefusal | undefined {
  const a = minorOf(from);
  const b = minorOf(to);
  if (!a || !b) return undefined;
  if (a[0] !== b[0])
    return { from, to, reason: `kubernetesVersion ${from} → ${to} changes the major version; kubeaz does not do that in place` };
  const step = b[1] - a[1];
  if (step < 0)
    return {
      from,
      to,
      reason: `kubernetesVersion ${from} → ${to} lowers the minor version: kubeadm cannot downgrade a control plane, and etcd's data may not be readable by the older version. Put ${from} back (restore an etcd backup of the older version into a new cluster to go back).`,
    };
  if (step > 1)
    return {
      from,
      to,
      reason: `kubernetesVersion ${from} → ${to} skips ${step - 1} minor version(s): the control plane is upgraded one minor at a time (version-skew policy). Set ${a[0]}.${a[1] + 1}.x, run create and rollout, then go on.`,
    };
  return undefined;
}

/** Minor raised by exactly one: rollout must replace the master first. */
export function isMinorUpgrade(from: string, to: string): boolean {
  const a = minorOf(from);
  const b = minorOf(to);
  return !!a && !!b && a[0] === b[0] && b[1] === a[1] + 1;
}

/**
 * The rule `plan` refuses on: the version the running cluster was given (the tag on the master's
 * launch template, lt/master) against the one the spec wants (the same tag on the desired node).
 */
export const versionSkew: ClusterRule<{ id: string; running: string; wanted: string }> = {
  name: 'version-skew',
  input({ observed, graph }) {
    const lt = observed.get('lt/master');
    const running = lt?.tags[K8S_VERSION_TAG];
    const wanted = graph.nodes.find((n) => n.key === 'lt/master')?.tags[K8S_VERSION_TAG];
    return lt && running && wanted && running !== wanted ? { id: lt.id, running, wanted } : undefined;
  },
  check({ id, running, wanted }) {
    const refusal = checkVersionSkew(running, wanted);
    if (!refusal) return undefined;
    return {
      key: 'lt/master',
      kind: 'launch-template',
      id,
      fields: [{ field: 'kubernetesVersion', from: running, to: wanted }],
      reason: refusal.reason,
    };
  },
};
