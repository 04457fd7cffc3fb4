/** EtcdAccess over etcd's v3 gRPC API (src/etcd/client.ts, a-etcd's branch): wired when that client is merged. */
import { KubeazFailure } from '../../errors.js';
import type { EtcdAccess } from './etcd-access.js';
import type { EtcdTlsFiles } from './pki.js';

export function grpcEtcd(_tls: EtcdTlsFiles): EtcdAccess {
  const no = async (): Promise<never> => {
    throw new KubeazFailure('the etcd gRPC client is not merged yet', 'internal');
  };
  return { probe: no, memberList: no, memberRemove: no, snapshot: no };
}
