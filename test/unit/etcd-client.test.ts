/**
 * The etcd gRPC client against a crafted gRPC server on loopback speaking the same descriptor:
 * uint64 ids above 2^53 round-trip exactly (Status, MemberList, MemberAdd, MemberRemove — a JS
 * Number would round them), etcd's error statuses become codes, deadlines hold when a server
 * accepts and never answers, and the hex ↔ decimal helpers. Real etcd: test/integration/etcd-client.test.ts.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ETCD_RPC_DESCRIPTOR,
  EtcdClient,
  EtcdError,
  classifyGrpcError,
  findLeader,
  memberListFrom,
  idFromHex,
  idToHex,
  isHealthy,
  isLeader,
  probeAll,
  sameId,
} from '../../src/etcd/client.js';

// 2^53 + 1 (a Number reads it as 2^53) and a value near 2^64
const BIG = '9007199254740993';
const HUGE = '18446744073709551557';

type Handler = (call: { request: Record<string, unknown> }, cb: (err: Partial<grpc.ServiceError> | null, res?: object) => void) => void;

describe('EtcdClient against a crafted gRPC server', () => {
  let server: grpc.Server;
  let endpoint: string;
  const seen: Array<{ method: string; request: Record<string, unknown> }> = [];
  let memberAdd: Handler;
  let memberRemove: Handler;

  beforeAll(async () => {
    const def = loader.fromJSON(ETCD_RPC_DESCRIPTOR as Parameters<typeof loader.fromJSON>[0], {
      keepCase: true,
      longs: String,
      defaults: true,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      etcdserverpb: { Maintenance: { service: grpc.ServiceDefinition }; Cluster: { service: grpc.ServiceDefinition } };
    };
    server = new grpc.Server();
    const header = { cluster_id: HUGE, member_id: BIG, revision: '7', raft_term: '3' };
    const log =
      (method: string, h: Handler): Handler =>
      (call, cb) => {
        seen.push({ method, request: call.request });
        h(call, cb);
      };
    server.addService(pkg.etcdserverpb.Maintenance.service, {
      Status: log('Status', (_c, cb) =>
        cb(null, {
          header,
          version: '3.6.6',
          dbSize: '20480',
          leader: BIG,
          raftIndex: '10',
          raftTerm: '3',
          raftAppliedIndex: '10',
          errors: [],
          dbSizeInUse: '16384',
          isLearner: false,
        }),
      ),
      Snapshot: () => undefined,
    });
    server.addService(pkg.etcdserverpb.Cluster.service, {
      MemberList: log('MemberList', (_c, cb) =>
        cb(null, {
          header,
          members: [
            { ID: BIG, name: 'ip-10-0-1-5', peerURLs: ['https://10.0.1.5:2380'], clientURLs: ['https://10.0.1.5:2379'] },
            { ID: HUGE, name: '', peerURLs: ['https://10.0.2.7:2380'], clientURLs: [] },
          ],
        }),
      ),
      MemberAdd: log('MemberAdd', (c, cb) => memberAdd(c, cb)),
      MemberRemove: log('MemberRemove', (c, cb) => memberRemove(c, cb)),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(() => server?.forceShutdown());

  it('Status: member id, leader and cluster id above 2^53 come back exact, as decimal strings', async () => {
    const c = await EtcdClient.connect(endpoint);
    try {
      const s = await c.status();
      expect(s).toMatchObject({
        endpoint,
        memberId: BIG,
        leader: BIG,
        clusterId: HUGE,
        version: '3.6.6',
        dbSize: '20480',
        raftTerm: '3',
        errors: [],
        isLearner: false,
      });
      expect(Number(s.memberId)).toBe(2 ** 53); // what a Number would have made of it
      expect(isLeader(s)).toBe(true);
      expect(idToHex(s.memberId)).toBe('20000000000001');
    } finally {
      c.close();
    }
  });

  it('MemberList: exact ids, hex beside them, an unstarted member (no name yet) marked so', async () => {
    const c = await EtcdClient.connect(endpoint);
    try {
      const ms = await c.memberList();
      expect(ms).toEqual([
        {
          id: BIG,
          idHex: '20000000000001',
          name: 'ip-10-0-1-5',
          peerURLs: ['https://10.0.1.5:2380'],
          clientURLs: ['https://10.0.1.5:2379'],
          isLearner: false,
          started: true,
        },
        {
          id: HUGE,
          idHex: 'ffffffffffffffc5',
          name: '',
          peerURLs: ['https://10.0.2.7:2380'],
          clientURLs: [],
          isLearner: false,
          started: false,
        },
      ]);
    } finally {
      c.close();
    }
  });

  it('MemberRemove sends the id exactly (a hex record id converted through BigInt), MemberAdd sends the peer URLs', async () => {
    memberRemove = (_c, cb) => cb(null, { members: [] });
    memberAdd = (_c, cb) => cb(null, { member: { ID: HUGE, peerURLs: ['https://10.0.3.9:2380'] }, members: [] });
    const c = await EtcdClient.connect(endpoint);
    try {
      await c.memberRemove(idFromHex('ffffffffffffffc5'));
      expect(seen.filter((x) => x.method === 'MemberRemove').at(-1)!.request).toEqual({ ID: HUGE });
      const added = await c.memberAdd(['https://10.0.3.9:2380']);
      expect(added.member).toMatchObject({ id: HUGE, started: false, peerURLs: ['https://10.0.3.9:2380'] });
      expect(seen.filter((x) => x.method === 'MemberAdd').at(-1)!.request).toMatchObject({ peerURLs: ['https://10.0.3.9:2380'] });
      await expect(c.memberRemove('ffffffffffffffc5')).rejects.toThrow(/not a decimal uint64/);
      await expect(c.memberRemove(String(2n ** 64n))).rejects.toThrow(/not a decimal uint64/);
    } finally {
      c.close();
    }
  });

  it("etcd's error statuses become EtcdError codes (what kubeadm and etcdctl retry on is retryable)", async () => {
    const c = await EtcdClient.connect(endpoint);
    try {
      memberAdd = (_c, cb) => cb({ code: grpc.status.UNAVAILABLE, details: 'etcdserver: unhealthy cluster' });
      const e = await c.memberAdd(['https://10.0.3.9:2380']).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(EtcdError);
      expect(e).toMatchObject({ code: 'Unhealthy', retryable: true, endpoint, grpcCode: grpc.status.UNAVAILABLE });
      expect((e as Error).message).toBe(`etcd MemberAdd at ${endpoint} failed: etcdserver: unhealthy cluster`);
      memberAdd = (_c, cb) => cb({ code: grpc.status.FAILED_PRECONDITION, details: 'etcdserver: Peer URLs already exists' });
      await expect(c.memberAdd(['https://10.0.3.9:2380'])).rejects.toMatchObject({ code: 'PeerURLExists', retryable: false });
      memberRemove = (_c, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'etcdserver: member not found' });
      await expect(c.memberRemove('1')).rejects.toMatchObject({ code: 'MemberNotFound', retryable: false });
    } finally {
      c.close();
    }
  });

  it('probeAll never rejects; findLeader picks the member that says it leads', async () => {
    const probes = await probeAll([endpoint, 'http://127.0.0.1:1'], { callTimeoutMs: 2000 });
    expect(probes[0]).toMatchObject({ endpoint, ok: true, healthy: true });
    expect(probes[1]).toMatchObject({ endpoint: 'http://127.0.0.1:1', ok: false, error: { code: 'Unavailable' } });
    expect((await findLeader(['http://127.0.0.1:1', endpoint], { callTimeoutMs: 2000 }))?.endpoint).toBe(endpoint);
    // the member list from the first endpoint that answers; none answering is undefined, not a throw
    expect(await memberListFrom(['http://127.0.0.1:1', endpoint], { callTimeoutMs: 2000 })).toMatchObject({
      endpoint,
      members: [{ id: BIG }, { id: HUGE }],
    });
    expect(await memberListFrom(['http://127.0.0.1:1'], { callTimeoutMs: 2000 })).toBeUndefined();
  });
});

describe('deadlines', () => {
  it('a server that accepts and never answers fails the call at its deadline (DeadlineExceeded), not never', async () => {
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const port = (mute.address() as net.AddressInfo).port;
    const c = await EtcdClient.connect(`http://127.0.0.1:${port}`, { callTimeoutMs: 400 });
    const t0 = Date.now();
    try {
      await expect(c.status()).rejects.toMatchObject({ code: 'DeadlineExceeded', retryable: true });
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      c.close();
      sockets.forEach((s) => s.destroy());
      mute.close();
    }
  });
});

describe('ids and statuses', () => {
  it('hex ↔ decimal through BigInt, as etcdctl prints ids (%x: lowercase, no padding)', () => {
    const rows: Array<[string, string]> = [
      ['0', '0'],
      ['1', '1'],
      ['9007199254740993', '20000000000001'],
      ['18446744073709551615', 'ffffffffffffffff'],
      ['10276657743932975437', '8e9e05c52164694d'],
    ];
    for (const [dec, hex] of rows) {
      expect(idToHex(dec)).toBe(hex);
      expect(idFromHex(hex)).toBe(dec);
      expect(idFromHex(hex.toUpperCase())).toBe(dec);
    }
    expect(idFromHex('0x00ff')).toBe('255');
    for (const bad of ['', '-1', '1.5', 'abc', '18446744073709551616']) expect(() => idToHex(bad)).toThrow(RangeError);
    for (const bad of ['', 'xyz', '1ffffffffffffffff', '-1']) expect(() => idFromHex(bad)).toThrow(RangeError);
    expect(sameId({ hex: '8e9e05c52164694d' }, { dec: '10276657743932975437' })).toBe(true);
    expect(sameId({ hex: '8e9e05c52164694c' }, { dec: '10276657743932975437' })).toBe(false);
    expect(sameId({ hex: 'nope' }, { hex: 'nope' })).toBe(false);
  });

  it('isLeader / isHealthy read Status fields: leader === member id, both non-zero; no leader or an alarm is not healthy', () => {
    expect(isLeader({ leader: HUGE, memberId: HUGE })).toBe(true);
    // ids that are equal as Numbers but not as uint64s
    expect(isLeader({ leader: '9007199254740993', memberId: '9007199254740992' })).toBe(false);
    expect(isLeader({ leader: '0', memberId: '0' })).toBe(false);
    expect(isHealthy({ leader: '5', errors: [] })).toBe(true);
    expect(isHealthy({ leader: '0', errors: [] })).toBe(false);
    expect(isHealthy({ leader: '5', errors: ['memberID:5 alarm:NOSPACE '] })).toBe(false);
  });

  it('classifies etcd server errors by their fixed messages, transport errors by gRPC code', () => {
    const rows: Array<[number, string, string]> = [
      [14, 'etcdserver: unhealthy cluster', 'Unhealthy'],
      [9, 'etcdserver: re-configuration failed due to not enough started members', 'NotEnoughStarted'],
      [5, 'etcdserver: member not found', 'MemberNotFound'],
      [9, 'etcdserver: member ID already exist', 'MemberExists'],
      [9, 'etcdserver: Peer URLs already exists', 'PeerURLExists'],
      [9, 'etcdserver: too many learner members in cluster', 'TooManyLearners'],
      [3, 'etcdserver: given member URLs are invalid', 'BadURLs'],
      [14, 'etcdserver: no leader', 'NoLeader'],
      [14, 'etcdserver: leader changed', 'NoLeader'],
      [14, 'etcdserver: request timed out', 'Timeout'],
      [14, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1', 'Unavailable'],
      [4, 'Deadline exceeded after 0.401s', 'DeadlineExceeded'],
      [16, 'bad certificate', 'PermissionDenied'],
      [2, 'something else', 'Unknown'],
    ];
    for (const [code, details, want] of rows) expect([details, classifyGrpcError({ code, details })]).toEqual([details, want]);
  });
});
