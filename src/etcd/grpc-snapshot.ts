/**
 * A snapshot straight from etcd through its v3 gRPC API (etcdserverpb.Maintenance/Snapshot, a
 * server stream), written to a file while it is hashed.
 *
 * etcd sends the backend database in chunks and, as the last chunk, the SHA-256 of everything
 * before it; `etcdctl snapshot save` writes both to the file, and `snapshot restore` checks that
 * trailer. We keep the same file format and verify the trailer ourselves before anything is
 * uploaded. The vendored proto (the subset of etcd's api/etcdserverpb/rpc.proto we use):
 *
 *   syntax = "proto3";
 *   package etcdserverpb;
 *   service Maintenance { rpc Snapshot(SnapshotRequest) returns (stream SnapshotResponse) {} }
 *   message SnapshotRequest {}
 *   message ResponseHeader { uint64 cluster_id = 1; uint64 member_id = 2; int64 revision = 3; uint64 raft_term = 4; }
 *   message SnapshotResponse { ResponseHeader header = 1; uint64 remaining_bytes = 2; bytes blob = 3; string version = 4; }
 *
 * given to @grpc/proto-loader as its JSON descriptor (so nothing but compiled JavaScript ships).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { UsageError } from '../errors.js';

const RPC_DESCRIPTOR = {
  nested: {
    etcdserverpb: {
      nested: {
        Maintenance: { methods: { Snapshot: { requestType: 'SnapshotRequest', responseType: 'SnapshotResponse', responseStream: true } } },
        SnapshotRequest: { fields: {} },
        ResponseHeader: {
          fields: {
            cluster_id: { type: 'uint64', id: 1 },
            member_id: { type: 'uint64', id: 2 },
            revision: { type: 'int64', id: 3 },
            raft_term: { type: 'uint64', id: 4 },
          },
        },
        SnapshotResponse: {
          fields: {
            header: { type: 'ResponseHeader', id: 1 },
            remaining_bytes: { type: 'uint64', id: 2 },
            blob: { type: 'bytes', id: 3 },
            version: { type: 'string', id: 4 },
          },
        },
      },
    },
  },
};

export interface EtcdTls {
  cacert?: string;
  cert?: string;
  key?: string;
}

export interface SnapshotResult {
  file: string;
  /** bytes written (database + 32-byte hash trailer) */
  bytes: number;
  /** sha256 of the whole file, as uploaded (what the master's restore compares) */
  sha256: string;
  /** etcd's own sha256 of the database, from the stream's trailer (verified) */
  dbSha256: string;
  revision?: string;
  seconds: number;
}

/** host:port of an etcd URL; http:// means plaintext, https:// TLS. */
export function parseEndpoint(url: string): { target: string; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--etcd-endpoint ${url} is not a URL (e.g. https://127.0.0.1:2379)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--etcd-endpoint ${url}: use http:// or https://`);
  return { target: `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || '2379'}`, tls: u.protocol === 'https:' };
}

/**
 * Streams a snapshot of `endpoint` into `file`. Rejects (and leaves a partial file for the caller
 * to remove) when the stream breaks, ends without the trailer, or the trailer does not match.
 */
export async function snapshotToFile(endpoint: string, file: string, tls: EtcdTls = {}, opts: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<SnapshotResult> {
  const started = Date.now();
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const { target, tls: useTls } = parseEndpoint(endpoint);
  const definition = loader.fromJSON(RPC_DESCRIPTOR as Parameters<typeof loader.fromJSON>[0], { keepCase: true, longs: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    etcdserverpb: { Maintenance: new (target: string, creds: unknown, options?: Record<string, unknown>) => import('@grpc/grpc-js').Client & { Snapshot(req: object, opts?: object): import('@grpc/grpc-js').ClientReadableStream<SnapshotMessage> } };
  };
  let creds;
  if (useTls || tls.cacert || tls.cert) {
    const [ca, key, cert] = await Promise.all([tls.cacert ? readFile(tls.cacert) : undefined, tls.key ? readFile(tls.key) : undefined, tls.cert ? readFile(tls.cert) : undefined]);
    if (Boolean(key) !== Boolean(cert)) throw new UsageError('--cert and --key go together');
    creds = grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
  } else {
    creds = grpc.credentials.createInsecure();
  }
  const client = new pkg.etcdserverpb.Maintenance(target, creds, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const deadline = new Date(Date.now() + (opts.timeoutSeconds ?? 600) * 1000);
  const out = createWriteStream(file, { mode: 0o600 });
  const fileHash = createHash('sha256');
  const dbHash = createHash('sha256');
  let tail = Buffer.alloc(0); // the last 32 bytes seen: the trailer, once the stream ends
  let bytes = 0;
  let revision: string | undefined;
  let lastRemaining: string | undefined;
  try {
    const call = client.Snapshot({}, { deadline });
    const onAbort = () => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const msg of call as AsyncIterable<SnapshotMessage>) {
        if (msg.header?.revision && !revision) revision = String(msg.header.revision);
        lastRemaining = String(msg.remaining_bytes ?? '0');
        const blob = msg.blob ?? Buffer.alloc(0);
        if (!blob.length) continue;
        fileHash.update(blob);
        bytes += blob.length;
        const joined = Buffer.concat([tail, blob]);
        const cut = Math.max(0, joined.length - 32);
        if (cut) dbHash.update(joined.subarray(0, cut));
        tail = Buffer.from(joined.subarray(cut));
        if (!out.write(blob)) await once(out, 'drain');
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    out.end();
    await once(out, 'finish');
  } catch (e) {
    out.destroy();
    const err = e as { code?: number; details?: string; message?: string };
    throw new Error(`etcd snapshot from ${endpoint} failed: ${err.details ?? err.message ?? String(e)}`, { cause: e });
  } finally {
    client.close();
  }
  if (lastRemaining !== '0') throw new Error(`etcd snapshot from ${endpoint} ended early (${lastRemaining} bytes still announced)`);
  if (bytes < 32 + 512) throw new Error(`etcd snapshot from ${endpoint} is too short (${bytes} bytes)`);
  const dbSha256 = dbHash.digest('hex');
  if (tail.toString('hex') !== dbSha256)
    throw new Error(`etcd snapshot from ${endpoint} is corrupt: its sha256 trailer ${tail.toString('hex')} does not match the data (${dbSha256})`);
  if ((bytes - 32) % 512 !== 0) throw new Error(`etcd snapshot from ${endpoint}: the database is ${bytes - 32} bytes, not a whole number of pages`);
  return { file, bytes, sha256: fileHash.digest('hex'), dbSha256, ...(revision ? { revision } : {}), seconds: (Date.now() - started) / 1000 };
}

interface SnapshotMessage {
  header?: { revision?: string | number };
  remaining_bytes?: string | number;
  blob?: Buffer;
}
