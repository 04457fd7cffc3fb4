/**
 * EtcdAccess over etcd's v3 gRPC API (src/etcd/client.ts) with the agent's client certificate:
 * leader and member id from Maintenance.Status, Cluster.MemberList/MemberRemove, Maintenance.Snapshot.
 * Ids cross here from the wire's decimal uint64 strings to the records' hex, never through a number.
 */
import { EtcdClient, idFromHex, idToHex, isLeader, probeAll, withEtcd, type EtcdClientOptions } from '../../etcd/client.js';
import type { EtcdAccess, MemberInfo, ProbeInfo } from './etcd-access.js';
import type { EtcdTlsFiles } from './pki.js';

/** The first endpoint that answers `fn`; the last error when none does. */
async function first<T>(endpoints: string[], opts: EtcdClientOptions, fn: (c: EtcdClient) => Promise<T>): Promise<T> {
  let last: unknown = new Error('no etcd endpoint to ask');
  for (const e of endpoints) {
    try {
      return await withEtcd(e, opts, fn);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

export function grpcEtcd(tls: EtcdTlsFiles, callTimeoutMs = 5000): EtcdAccess {
  const opts: EtcdClientOptions = { tls: { cacert: tls.cacert, cert: tls.cert, key: tls.key }, callTimeoutMs };
  return {
    async probe(endpoints: string[]): Promise<ProbeInfo[]> {
      const probes = await probeAll(endpoints, opts);
      return probes.map((p) =>
        p.ok
          ? { endpoint: p.endpoint, ok: true, healthy: p.healthy, leader: isLeader(p.status), memberIdHex: idToHex(p.status.memberId) }
          : { endpoint: p.endpoint, ok: false, healthy: false, leader: false, error: p.error.message },
      );
    },
    async memberList(endpoints: string[]): Promise<MemberInfo[]> {
      const ms = await first(endpoints, opts, (c) => c.memberList());
      return ms.map((m) => ({ idHex: m.idHex, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, started: m.started }));
    },
    async memberRemove(endpoints: string[], idHex: string): Promise<void> {
      await first(endpoints, opts, (c) => c.memberRemove(idFromHex(idHex)));
    },
    async snapshot(endpoint: string, file: string): Promise<{ sha256: string; bytes: number }> {
      const r = await withEtcd(endpoint, opts, (c) => c.snapshot(file));
      return { sha256: r.sha256, bytes: r.bytes };
    },
  };
}
