/**
 * Cluster rules no single node's diff sees (a node's own refusals, such as a VPC's CIDR or tenancy,
 * are its kind's: the handler's `diff` marks them not in place and the engine refuses any such
 * change alike). PURE: they judge what observe found against the desired graph.
 */
import { isMasterGroup } from '../model/names.js';
import type { ClusterRule } from './types.js';

/**
 * The zones of an existing cluster cannot change: its subnets, NAT gateways, route tables and
 * every group's placement hang on them. Its zones are those of its subnets (keys
 * subnet/<tier>/<zone>).
 */
export const clusterZones: ClusterRule<{ vpc: string; had: string[]; want: string[] }> = {
  name: 'cluster-zones',
  input({ observed, zones }) {
    const vpc = observed.get('vpc');
    if (!vpc) return undefined;
    const had = new Set<string>();
    for (const a of observed.values()) if (a.kind === 'subnet') had.add(a.key.split('/').pop()!);
    return { vpc: vpc.id, had: [...had].sort(), want: [...zones].sort() };
  },
  check({ vpc, had, want }) {
    if (!had.length || had.join(',') === want.join(',')) return undefined;
    return {
      key: 'vpc',
      kind: 'vpc',
      id: vpc,
      fields: [{ field: 'zones', from: had, to: want }],
      reason:
        'the zones of an existing cluster cannot change: its subnets, NAT gateways, route tables and instances are placed in them. Put the zones back, or destroy and create the cluster.',
    };
  },
};

/** asg/master, asg/master-2, …: one group per master. */
const isMasterAsg = (a: { key: string; kind: string }): boolean =>
  a.kind === 'auto-scaling-group' && a.key.startsWith('asg/') && isMasterGroup(a.key.slice('asg/'.length));

/**
 * Fewer masters than run now (3 → 1, 5 → 3) is refused: each master is an etcd member, and
 * removing members safely means `etcdctl member remove` one at a time while quorum holds, before
 * the instance goes — deleting groups would leave etcd counting dead members (two of three gone
 * is a lost quorum). More masters (1 → 3) is a plan like any other: the new members join.
 */
export const controlPlaneShrink: ClusterRule<{ id: string; running: number; wanted: number }> = {
  name: 'control-plane-shrink',
  input({ observed, graph }) {
    const running = [...observed.values()].filter(isMasterAsg).length;
    const wanted = graph.nodes.filter(isMasterAsg).length;
    return { id: observed.get('asg/master')?.id ?? '', running, wanted };
  },
  check({ id, running, wanted }) {
    if (!running || running <= wanted) return undefined;
    return {
      key: 'asg/master',
      kind: 'auto-scaling-group',
      id,
      fields: [{ field: 'controlPlane.count', from: running, to: wanted }],
      reason: `controlPlane.count ${running} → ${wanted} removes masters, and kubeaz does not shrink a control plane: every master is an etcd member, and deleting their groups would leave etcd counting members that are gone (losing quorum once a majority of its members is missing). Put count back to ${running}; to run fewer masters, back up etcd and restore it into a new cluster.`,
    };
  },
};
