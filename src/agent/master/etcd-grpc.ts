/**
 * EtcdAccess over etcd's v3 gRPC API (src/etcd/client.ts) with the agent's client certificate:
 * leader and member id from Maintenance.Status, Cluster.MemberList/MemberRemove, Maintenance.Snapshot.
 */
import { EtcdClient, probeAll, withEtcd, type EtcdClientOptions } from '../../etcd/client.js';
import type { EtcdAccess } from './etcd-access.js';
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
    probe: (endpoints) => probeAll(endpoints, opts),
    memberList: (endpoints) => first(endpoints, opts, (c) => c.memberList()),
    async memberRemove(endpoints, id) {
      await first(endpoints, opts, (c) => c.memberRemove(id));
    },
    async snapshot(endpoint, file) {
      const r = await withEtcd(endpoint, opts, (c) => c.snapshot(file));
      return { sha256: r.sha256, bytes: r.bytes };
    },
  };
}
