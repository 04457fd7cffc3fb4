/**
 * What the master flow asks etcd, as one narrow interface over etcd's v3 gRPC API (the real one is
 * etcd-grpc.ts over src/etcd/client.ts with the agent's client certificate — never etcdctl's text;
 * tests fake it). Answers are the client's own types, so a-etcd's decisions (src/agent/decide/) take
 * them as they are; ids are the wire's decimal uint64 strings (idHex beside them), never numbers.
 */
import { isLeader, type EtcdMember, type Probe } from '../../etcd/client.js';

export interface EtcdAccess {
  /** Maintenance.Status of every endpoint, in parallel; never rejects */
  probe(endpoints: string[]): Promise<Probe[]>;
  /** Cluster.MemberList from the first endpoint that answers; rejects when none does */
  memberList(endpoints: string[]): Promise<EtcdMember[]>;
  /** Cluster.MemberRemove (decimal id) through the first endpoint that answers */
  memberRemove(endpoints: string[], id: string): Promise<void>;
  /** Maintenance.Snapshot of one endpoint into `file`, its trailer verified */
  snapshot(endpoint: string, file: string): Promise<{ sha256: string; bytes: number }>;
}

/** The endpoint to take a snapshot from: the leader (it says so in Status), else any healthy member, else none. */
export function snapshotSource(probes: readonly Probe[]): Extract<Probe, { ok: true }> | undefined {
  const ok = probes.filter((p): p is Extract<Probe, { ok: true }> => p.ok);
  return ok.find((p) => isLeader(p.status)) ?? ok.find((p) => p.healthy);
}

export const clientUrl = (ip: string): string => `https://${ip}:2379`;
export const peerUrl = (ip: string): string => `https://${ip}:2380`;
