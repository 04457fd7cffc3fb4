/**
 * What the master flow asks etcd, as one narrow interface (tests fake it; the real one is etcd's v3
 * gRPC API through src/etcd/client.ts with the agent's client certificate — never etcdctl's text).
 * Member ids are hex strings here, as the records keep them; the wire's decimal uint64 strings are
 * converted by the client's helpers, never through a JS number.
 */

export interface MemberInfo {
  idHex: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  started: boolean;
}

export interface ProbeInfo {
  endpoint: string;
  ok: boolean;
  /** answered with a leader and no alarm */
  healthy: boolean;
  /** this endpoint's member leads (Maintenance.Status: leader === header.member_id) */
  leader: boolean;
  memberIdHex?: string;
  error?: string;
}

export interface EtcdAccess {
  /** Status of every endpoint, in parallel; never rejects */
  probe(endpoints: string[]): Promise<ProbeInfo[]>;
  /** the member list from the first endpoint that answers; rejects when none does */
  memberList(endpoints: string[]): Promise<MemberInfo[]>;
  /** MemberRemove through the first endpoint that answers */
  memberRemove(endpoints: string[], idHex: string): Promise<void>;
  /** Maintenance.Snapshot of one endpoint into `file`, its trailer verified */
  snapshot(endpoint: string, file: string): Promise<{ sha256: string; bytes: number }>;
}

/** The endpoint to take a snapshot from: the leader, else any healthy member, else none. */
export function snapshotSource(probes: readonly ProbeInfo[]): ProbeInfo | undefined {
  return probes.find((p) => p.ok && p.leader) ?? probes.find((p) => p.ok && p.healthy);
}

export const clientUrl = (ip: string): string => `https://${ip}:2379`;
export const peerUrl = (ip: string): string => `https://${ip}:2380`;
