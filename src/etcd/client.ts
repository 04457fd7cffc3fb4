/**
 * An etcd v3 client over its gRPC API (@grpc/grpc-js), for the CLI (`backup-etcd --etcd-endpoint`)
 * and the node agent: Maintenance.Status (who the leader is, this member's id), Cluster.MemberList /
 * MemberAdd / MemberRemove, and Maintenance.Snapshot streamed into a file with etcd's SHA-256
 * trailer verified. Never the text output of `etcdctl`: its table layout changed between 3.5 and
 * 3.6 (issue 19, finding 1), the protobuf fields did not.
 *
 * One file because it is one wire contract: the vendored proto subset, the TLS and deadline
 * handling, the mapping of etcd's gRPC errors to codes, and the calls that use them.
 *
 * The vendored proto (the subset of etcd's api/etcdserverpb/rpc.proto we use; field numbers as in
 * etcd 3.4–3.6 — fields a newer etcd adds are skipped by the decoder):
 *
 *   syntax = "proto3";
 *   package etcdserverpb;
 *   service Maintenance {
 *     rpc Status(StatusRequest) returns (StatusResponse) {}
 *     rpc Snapshot(SnapshotRequest) returns (stream SnapshotResponse) {}
 *   }
 *   service Cluster {
 *     rpc MemberAdd(MemberAddRequest) returns (MemberAddResponse) {}
 *     rpc MemberRemove(MemberRemoveRequest) returns (MemberRemoveResponse) {}
 *     rpc MemberList(MemberListRequest) returns (MemberListResponse) {}
 *   }
 *   message ResponseHeader { uint64 cluster_id = 1; uint64 member_id = 2; int64 revision = 3; uint64 raft_term = 4; }
 *   message StatusRequest {}
 *   message StatusResponse { ResponseHeader header = 1; string version = 2; int64 dbSize = 3; uint64 leader = 4;
 *     uint64 raftIndex = 5; uint64 raftTerm = 6; uint64 raftAppliedIndex = 7; repeated string errors = 8;
 *     int64 dbSizeInUse = 9; bool isLearner = 10; }
 *   message SnapshotRequest {}
 *   message SnapshotResponse { ResponseHeader header = 1; uint64 remaining_bytes = 2; bytes blob = 3; string version = 4; }
 *   message Member { uint64 ID = 1; string name = 2; repeated string peerURLs = 3; repeated string clientURLs = 4; bool isLearner = 5; }
 *   message MemberAddRequest { repeated string peerURLs = 1; bool isLearner = 2; }
 *   message MemberAddResponse { ResponseHeader header = 1; Member member = 2; repeated Member members = 3; }
 *   message MemberRemoveRequest { uint64 ID = 1; }
 *   message MemberRemoveResponse { ResponseHeader header = 1; repeated Member members = 2; }
 *   message MemberListRequest { bool linearizable = 1; }   // field 1 is 3.5+; 3.4 ignores it
 *   message MemberListResponse { ResponseHeader header = 1; repeated Member members = 2; }
 *
 * given to @grpc/proto-loader as its JSON descriptor (so nothing but compiled JavaScript ships),
 * with `longs: String`: every uint64 arrives as a decimal string. Member ids are random uint64s —
 * most are above 2^53, where a JS Number silently rounds — so ids are decimal strings on the wire
 * objects here and hex (as etcdctl prints them, `%x`) in kubeaz's records; idToHex / idFromHex
 * convert through BigInt.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type * as grpcTypes from '@grpc/grpc-js';
import { KubeazFailure, UsageError } from '../errors.js';
import { idToHex, isDecimalId } from './ids.js';

const HEADER = {
  fields: {
    cluster_id: { type: 'uint64', id: 1 },
    member_id: { type: 'uint64', id: 2 },
    revision: { type: 'int64', id: 3 },
    raft_term: { type: 'uint64', id: 4 },
  },
};
const MEMBER = {
  fields: {
    ID: { type: 'uint64', id: 1 },
    name: { type: 'string', id: 2 },
    peerURLs: { rule: 'repeated', type: 'string', id: 3 },
    clientURLs: { rule: 'repeated', type: 'string', id: 4 },
    isLearner: { type: 'bool', id: 5 },
  },
};

/** The proto subset above as @grpc/proto-loader's JSON descriptor (exported for test servers). */
export const ETCD_RPC_DESCRIPTOR = {
  nested: {
    etcdserverpb: {
      nested: {
        Maintenance: {
          methods: {
            Status: { requestType: 'StatusRequest', responseType: 'StatusResponse' },
            Snapshot: { requestType: 'SnapshotRequest', responseType: 'SnapshotResponse', responseStream: true },
          },
        },
        Cluster: {
          methods: {
            MemberAdd: { requestType: 'MemberAddRequest', responseType: 'MemberAddResponse' },
            MemberRemove: { requestType: 'MemberRemoveRequest', responseType: 'MemberRemoveResponse' },
            MemberList: { requestType: 'MemberListRequest', responseType: 'MemberListResponse' },
          },
        },
        ResponseHeader: HEADER,
        StatusRequest: { fields: {} },
        StatusResponse: {
          fields: {
            header: { type: 'ResponseHeader', id: 1 },
            version: { type: 'string', id: 2 },
            dbSize: { type: 'int64', id: 3 },
            leader: { type: 'uint64', id: 4 },
            raftIndex: { type: 'uint64', id: 5 },
            raftTerm: { type: 'uint64', id: 6 },
            raftAppliedIndex: { type: 'uint64', id: 7 },
            errors: { rule: 'repeated', type: 'string', id: 8 },
            dbSizeInUse: { type: 'int64', id: 9 },
            isLearner: { type: 'bool', id: 10 },
          },
        },
        SnapshotRequest: { fields: {} },
        SnapshotResponse: {
          fields: {
            header: { type: 'ResponseHeader', id: 1 },
            remaining_bytes: { type: 'uint64', id: 2 },
            blob: { type: 'bytes', id: 3 },
            version: { type: 'string', id: 4 },
          },
        },
        Member: MEMBER,
        MemberAddRequest: { fields: { peerURLs: { rule: 'repeated', type: 'string', id: 1 }, isLearner: { type: 'bool', id: 2 } } },
        MemberAddResponse: {
          fields: {
            header: { type: 'ResponseHeader', id: 1 },
            member: { type: 'Member', id: 2 },
            members: { rule: 'repeated', type: 'Member', id: 3 },
          },
        },
        MemberRemoveRequest: { fields: { ID: { type: 'uint64', id: 1 } } },
        MemberRemoveResponse: {
          fields: { header: { type: 'ResponseHeader', id: 1 }, members: { rule: 'repeated', type: 'Member', id: 2 } },
        },
        MemberListRequest: { fields: { linearizable: { type: 'bool', id: 1 } } },
        MemberListResponse: { fields: { header: { type: 'ResponseHeader', id: 1 }, members: { rule: 'repeated', type: 'Member', id: 2 } } },
      },
    },
  },
};

// ids: uint64 as decimal strings (wire) and hex (records, etcdctl) — pure helpers in ids.ts
export { idFromHex, idToHex, sameId } from './ids.js';

// ---------------------------------------------------------------------------------------------
// what the calls answer

export interface EtcdStatus {
  /** the endpoint asked */
  endpoint: string;
  /** decimal uint64 */
  memberId: string;
  /** decimal uint64; "0" while the member knows no leader */
  leader: string;
  clusterId: string;
  version: string;
  /** bytes, decimal */
  dbSize: string;
  dbSizeInUse: string;
  raftTerm: string;
  raftIndex: string;
  raftAppliedIndex: string;
  /** alarms and errors the member reports (e.g. NOSPACE): a member with any is not healthy */
  errors: string[];
  isLearner: boolean;
}

export interface EtcdMember {
  /** decimal uint64 */
  id: string;
  /** the same id in hex, as records and etcdctl keep it */
  idHex: string;
  /** empty while the member is added but has not started (etcdctl's "unstarted") */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  started: boolean;
}

/** This member is the leader: it says so itself (Status.leader === header.member_id, both non-zero). */
export function isLeader(s: Pick<EtcdStatus, 'leader' | 'memberId'>): boolean {
  return s.leader !== '0' && s.leader !== '' && s.leader === s.memberId;
}

/** A member that answers Status, knows a leader and reports no alarm. */
export function isHealthy(s: Pick<EtcdStatus, 'leader' | 'errors'>): boolean {
  return s.leader !== '0' && s.leader !== '' && s.errors.length === 0;
}

// ---------------------------------------------------------------------------------------------
// errors

/**
 * What went wrong, from etcd's gRPC status (etcd's api/v3rpc/rpctypes: each server error is a fixed
 * gRPC code with a fixed "etcdserver: …" message) or the transport.
 */
export type EtcdErrorCode =
  /** "unhealthy cluster": a member add/remove would break the active quorum now (e.g. a member is added but not started, or peers were connected too recently): retry later */
  | 'Unhealthy'
  /** "re-configuration failed due to not enough started members" */
  | 'NotEnoughStarted'
  | 'MemberNotFound'
  | 'MemberExists'
  | 'PeerURLExists'
  | 'TooManyLearners'
  | 'BadURLs'
  /** "no leader", "leader changed", "not leader", "request timed out", "server stopped", too many requests: transient */
  | 'NoLeader'
  | 'Timeout'
  /** nothing answered (connection refused, TLS failed, DNS) */
  | 'Unavailable'
  | 'DeadlineExceeded'
  | 'PermissionDenied'
  /** a snapshot that broke off, is too short, or whose SHA-256 trailer does not match */
  | 'Corrupt'
  | 'Unknown';

const MESSAGES: Array<[RegExp, EtcdErrorCode]> = [
  [/unhealthy cluster/i, 'Unhealthy'],
  [/not enough started members/i, 'NotEnoughStarted'],
  [/member not found/i, 'MemberNotFound'],
  [/member ID already exist/i, 'MemberExists'],
  [/peer ?URLs? already exist/i, 'PeerURLExists'],
  [/too many learner/i, 'TooManyLearners'],
  [/given member URLs are invalid/i, 'BadURLs'],
  [/no leader|leader changed|not leader/i, 'NoLeader'],
  [/request timed out|server stopped|too many requests/i, 'Timeout'],
  [/permission denied|authentication/i, 'PermissionDenied'],
];

/** gRPC status codes (grpc-js `status`), the few we map by number. */
const GRPC = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16, CANCELLED: 1 } as const;

export class EtcdError extends KubeazFailure {
  override readonly name = 'EtcdError';
  constructor(
    message: string,
    readonly code: EtcdErrorCode,
    readonly endpoint: string,
    /** the gRPC status code, when the error came from a call */
    readonly grpcCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, 'aws', undefined, options);
  }

  /** Worth retrying the same call later: the cluster or the network may be in a better state. */
  get retryable(): boolean {
    return ['Unhealthy', 'NotEnoughStarted', 'NoLeader', 'Timeout', 'Unavailable', 'DeadlineExceeded'].includes(this.code);
  }
}

/** The code for a gRPC error as grpc-js reports it (exported for tests). */
export function classifyGrpcError(err: { code?: number; details?: string; message?: string }): EtcdErrorCode {
  const text = err.details ?? err.message ?? '';
  for (const [re, code] of MESSAGES) if (re.test(text)) return code;
  switch (err.code) {
    case GRPC.DEADLINE_EXCEEDED:
      return 'DeadlineExceeded';
    case GRPC.UNAVAILABLE:
      return 'Unavailable';
    case GRPC.NOT_FOUND:
      return 'MemberNotFound';
    case GRPC.PERMISSION_DENIED:
    case GRPC.UNAUTHENTICATED:
      return 'PermissionDenied';
    default:
      return 'Unknown';
  }
}

function wrap(endpoint: string, what: string, e: unknown): EtcdError {
  if (e instanceof EtcdError) return e;
  const err = e as { code?: number; details?: string; message?: string };
  const code = classifyGrpcError(err);
  return new EtcdError(
    `etcd ${what} at ${endpoint} failed: ${err.details || err.message || String(e)}`,
    code,
    endpoint,
    typeof err.code === 'number' ? err.code : undefined,
    { cause: e },
  );
}

// ---------------------------------------------------------------------------------------------
// connection

/**
 * TLS material: each a PEM (a Buffer, or a string that starts with "-----BEGIN") or a file path.
 * `cert` and `key` go together (the client certificate etcd's --client-cert-auth asks for).
 */
export interface EtcdTls {
  cacert?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface EtcdClientOptions {
  tls?: EtcdTls;
  /** per-call deadline for unary calls (Status, Member*), ms; default 5000 */
  callTimeoutMs?: number;
}

/** host:port of an etcd URL; http:// means plaintext, https:// TLS. */
export function parseEndpoint(url: string): { target: string; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`etcd endpoint ${url} is not a URL (e.g. https://127.0.0.1:2379)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`etcd endpoint ${url}: use http:// or https://`);
  return { target: `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || '2379'}`, tls: u.protocol === 'https:' };
}

const pem = async (v: string | Buffer | undefined): Promise<Buffer | undefined> =>
  v === undefined ? undefined : Buffer.isBuffer(v) ? v : v.trimStart().startsWith('-----BEGIN') ? Buffer.from(v) : readFile(v);

type Unary<Req, Res> = (
  req: Req,
  meta: grpcTypes.Metadata,
  opts: grpcTypes.CallOptions,
  cb: (err: grpcTypes.ServiceError | null, res?: Res) => void,
) => grpcTypes.ClientUnaryCall;
type MaintenanceClient = grpcTypes.Client & {
  Status: Unary<object, WireStatus>;
  Snapshot(req: object, opts?: grpcTypes.CallOptions): grpcTypes.ClientReadableStream<WireSnapshot>;
};
type ClusterClient = grpcTypes.Client & {
  MemberAdd: Unary<{ peerURLs: string[]; isLearner?: boolean }, { header?: WireHeader; member?: WireMember; members?: WireMember[] }>;
  MemberRemove: Unary<{ ID: string }, { header?: WireHeader; members?: WireMember[] }>;
  MemberList: Unary<{ linearizable?: boolean }, { header?: WireHeader; members?: WireMember[] }>;
};
interface WireHeader {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}
interface WireStatus {
  header?: WireHeader;
  version?: string;
  dbSize?: string;
  leader?: string;
  raftIndex?: string;
  raftTerm?: string;
  raftAppliedIndex?: string;
  errors?: string[];
  dbSizeInUse?: string;
  isLearner?: boolean;
}
interface WireMember {
  ID?: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}
interface WireSnapshot {
  header?: WireHeader;
  remaining_bytes?: string;
  blob?: Buffer;
}

interface EtcdPackage {
  grpc: typeof grpcTypes;
  Maintenance: new (target: string, creds: grpcTypes.ChannelCredentials, options?: grpcTypes.ClientOptions) => MaintenanceClient;
  Cluster: new (target: string, creds: grpcTypes.ChannelCredentials, options?: grpcTypes.ClientOptions) => ClusterClient;
}

let loaded: Promise<EtcdPackage> | undefined;
/** grpc-js and the descriptor, loaded on first use (the CLI's other commands never pay for them). */
export function loadEtcdPackage(): Promise<EtcdPackage> {
  loaded ??= (async () => {
    const grpc = await import('@grpc/grpc-js');
    const loader = await import('@grpc/proto-loader');
    const definition = loader.fromJSON(ETCD_RPC_DESCRIPTOR as Parameters<typeof loader.fromJSON>[0], {
      keepCase: true,
      longs: String,
      defaults: true,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: Omit<EtcdPackage, 'grpc'> };
    return { grpc, Maintenance: pkg.etcdserverpb.Maintenance, Cluster: pkg.etcdserverpb.Cluster };
  })();
  return loaded;
}

const member = (m: WireMember): EtcdMember => {
  const id = String(m.ID ?? '0');
  const name = m.name ?? '';
  return {
    id,
    idHex: idToHex(id),
    name,
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: Boolean(m.isLearner),
    started: name !== '',
  };
};

/**
 * One etcd endpoint. Create with `EtcdClient.connect(url, opts)`; `close()` when done. Every unary
 * call has a deadline (`callTimeoutMs`), every failure is an EtcdError with a code.
 */
export class EtcdClient {
  private constructor(
    readonly endpoint: string,
    private readonly pkg: EtcdPackage,
    private readonly maintenance: MaintenanceClient,
    private readonly cluster: ClusterClient,
    private readonly callTimeoutMs: number,
  ) {}

  static async connect(endpoint: string, opts: EtcdClientOptions = {}): Promise<EtcdClient> {
    const pkg = await loadEtcdPackage();
    const { target, tls: useTls } = parseEndpoint(endpoint);
    const tls = opts.tls ?? {};
    let creds: grpcTypes.ChannelCredentials;
    if (useTls || tls.cacert || tls.cert) {
      const [ca, key, cert] = await Promise.all([pem(tls.cacert), pem(tls.key), pem(tls.cert)]);
      if (Boolean(key) !== Boolean(cert)) throw new UsageError('--cert and --key go together');
      creds = pkg.grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
    } else {
      creds = pkg.grpc.credentials.createInsecure();
    }
    const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    const maintenance = new pkg.Maintenance(target, creds, options);
    const cluster = new pkg.Cluster(target, creds, { ...options, channelOverride: maintenance.getChannel() });
    return new EtcdClient(endpoint, pkg, maintenance, cluster, opts.callTimeoutMs ?? 5000);
  }

  private unary<Req, Res>(what: string, fn: Unary<Req, Res>, client: grpcTypes.Client, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn.call(client, req, new this.pkg.grpc.Metadata(), { deadline: new Date(Date.now() + this.callTimeoutMs) }, (err, res) =>
        err ? reject(wrap(this.endpoint, what, err)) : resolve(res as Res),
      );
    });
  }

  /** Maintenance.Status of this endpoint's member. */
  async status(): Promise<EtcdStatus> {
    const r = await this.unary('Status', this.maintenance.Status, this.maintenance, {});
    const h = r.header ?? {};
    return {
      endpoint: this.endpoint,
      memberId: String(h.member_id ?? '0'),
      leader: String(r.leader ?? '0'),
      clusterId: String(h.cluster_id ?? '0'),
      version: r.version ?? '',
      dbSize: String(r.dbSize ?? '0'),
      dbSizeInUse: String(r.dbSizeInUse ?? '0'),
      raftTerm: String(r.raftTerm ?? '0'),
      raftIndex: String(r.raftIndex ?? '0'),
      raftAppliedIndex: String(r.raftAppliedIndex ?? '0'),
      errors: r.errors ?? [],
      isLearner: Boolean(r.isLearner),
    };
  }

  /** Cluster.MemberList: every member, started or not. */
  async memberList(): Promise<EtcdMember[]> {
    const r = await this.unary('MemberList', this.cluster.MemberList, this.cluster, {});
    return (r.members ?? []).map(member);
  }

  /**
   * Cluster.MemberAdd of a voting member with these peer URLs (what kubeadm join does before it
   * starts the new etcd). etcd refuses while any voting member is not connected — e.g. another
   * member added but not started — with 'Unhealthy'.
   */
  async memberAdd(peerURLs: string[]): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
    const r = await this.unary('MemberAdd', this.cluster.MemberAdd, this.cluster, { peerURLs });
    if (!r.member) throw new EtcdError(`etcd MemberAdd at ${this.endpoint} answered without the new member`, 'Unknown', this.endpoint);
    return { member: member(r.member), members: (r.members ?? []).map(member) };
  }

  /** Cluster.MemberRemove of a member by id (decimal string, as on the wire; idFromHex for a record's). */
  async memberRemove(id: string): Promise<EtcdMember[]> {
    if (!isDecimalId(id))
      throw new RangeError(`etcd member id ${JSON.stringify(id)} is not a decimal uint64 (idFromHex converts a hex id)`);
    const r = await this.unary('MemberRemove', this.cluster.MemberRemove, this.cluster, { ID: id });
    return (r.members ?? []).map(member);
  }

  /**
   * Maintenance.Snapshot streamed into `file` while it is hashed. etcd sends the backend database in
   * chunks and, last, the SHA-256 of everything before it; `etcdctl snapshot save` writes both to
   * the file and `snapshot restore` checks that trailer. We keep that file format and verify the
   * trailer before anything is uploaded. Rejects (leaving a partial file for the caller to remove)
   * when the stream breaks, ends without the trailer, or the trailer does not match.
   */
  async snapshot(file: string, opts: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<SnapshotResult> {
    const started = Date.now();
    const endpoint = this.endpoint;
    const deadline = new Date(Date.now() + (opts.timeoutSeconds ?? 600) * 1000);
    const out = createWriteStream(file, { mode: 0o600 });
    const fileHash = createHash('sha256');
    const dbHash = createHash('sha256');
    let tail = Buffer.alloc(0); // the last 32 bytes seen: the trailer, once the stream ends
    let bytes = 0;
    let revision: string | undefined;
    let lastRemaining: string | undefined;
    try {
      const call = this.maintenance.Snapshot({}, { deadline });
      const onAbort = () => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const msg of call as AsyncIterable<WireSnapshot>) {
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
      throw new EtcdError(
        `etcd snapshot from ${endpoint} failed: ${err.details || err.message || String(e)}`,
        classifyGrpcError(err),
        endpoint,
        typeof err.code === 'number' ? err.code : undefined,
        { cause: e },
      );
    }
    const corrupt = (m: string) => new EtcdError(m, 'Corrupt', endpoint);
    if (lastRemaining !== '0') throw corrupt(`etcd snapshot from ${endpoint} ended early (${lastRemaining} bytes still announced)`);
    if (bytes < 32 + 512) throw corrupt(`etcd snapshot from ${endpoint} is too short (${bytes} bytes)`);
    const dbSha256 = dbHash.digest('hex');
    if (tail.toString('hex') !== dbSha256)
      throw corrupt(
        `etcd snapshot from ${endpoint} is corrupt: its sha256 trailer ${tail.toString('hex')} does not match the data (${dbSha256})`,
      );
    if ((bytes - 32) % 512 !== 0)
      throw corrupt(`etcd snapshot from ${endpoint}: the database is ${bytes - 32} bytes, not a whole number of pages`);
    return {
      file,
      bytes,
      sha256: fileHash.digest('hex'),
      dbSha256,
      ...(revision ? { revision } : {}),
      seconds: (Date.now() - started) / 1000,
    };
  }

  close(): void {
    this.cluster.close();
    this.maintenance.close();
  }
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

/** Opens a client for one call and closes it after (whatever the call's outcome). */
export async function withEtcd<T>(endpoint: string, opts: EtcdClientOptions, fn: (c: EtcdClient) => Promise<T>): Promise<T> {
  const c = await EtcdClient.connect(endpoint, opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** A snapshot of `endpoint` into `file` (backup-etcd --etcd-endpoint). */
export async function snapshotToFile(
  endpoint: string,
  file: string,
  tls: EtcdTls = {},
  opts: { timeoutSeconds?: number; signal?: AbortSignal } = {},
): Promise<SnapshotResult> {
  return withEtcd(endpoint, { tls }, (c) => c.snapshot(file, opts));
}

// ---------------------------------------------------------------------------------------------
// several endpoints

/** What one endpoint answered: its Status, or the error that stood for it. */
export type Probe =
  { endpoint: string; ok: true; status: EtcdStatus; healthy: boolean } | { endpoint: string; ok: false; error: EtcdError };

/**
 * Status of every endpoint, in parallel, each with its own deadline; never rejects (a member that
 * does not answer is a `{ok: false}` probe). This is the health check the decisions take as input:
 * made with the client certificate, so an answer means a live member (finding 4).
 */
export async function probeAll(endpoints: string[], opts: EtcdClientOptions = {}): Promise<Probe[]> {
  return Promise.all(
    endpoints.map(async (endpoint): Promise<Probe> => {
      try {
        const status = await withEtcd(endpoint, opts, (c) => c.status());
        return { endpoint, ok: true, status, healthy: isHealthy(status) };
      } catch (e) {
        return { endpoint, ok: false, error: e instanceof EtcdError ? e : wrap(endpoint, 'Status', e) };
      }
    }),
  );
}

/** The endpoint whose member says it is the leader (Status, not etcdctl's table), or undefined. */
export async function findLeader(
  endpoints: string[],
  opts: EtcdClientOptions = {},
): Promise<{ endpoint: string; status: EtcdStatus } | undefined> {
  const probes = await probeAll(endpoints, opts);
  for (const p of probes) if (p.ok && isLeader(p.status)) return { endpoint: p.endpoint, status: p.status };
  return undefined;
}

/** The leader if one answers, else the first healthy member, else undefined (where a snapshot can come from). */
export async function anyHealthy(
  endpoints: string[],
  opts: EtcdClientOptions = {},
): Promise<{ endpoint: string; status: EtcdStatus } | undefined> {
  const probes = await probeAll(endpoints, opts);
  const ok = probes.filter((p): p is Extract<Probe, { ok: true }> => p.ok && p.healthy);
  const best = ok.find((p) => isLeader(p.status)) ?? ok[0];
  return best ? { endpoint: best.endpoint, status: best.status } : undefined;
}

/**
 * MemberList from the first of `endpoints` that answers (tried in order, each with its deadline);
 * undefined when none does. The member list a join or a replacement decides from.
 */
export async function memberListFrom(
  endpoints: string[],
  opts: EtcdClientOptions = {},
): Promise<{ endpoint: string; members: EtcdMember[] } | undefined> {
  for (const endpoint of endpoints) {
    try {
      return { endpoint, members: await withEtcd(endpoint, opts, (c) => c.memberList()) };
    } catch (e) {
      if (!(e instanceof EtcdError)) throw e;
    }
  }
  return undefined;
}
