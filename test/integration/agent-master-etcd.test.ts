/**
 * The master flow's etcd side against REAL etcd 3.4 (three TLS members with client-certificate auth)
 * and moto's S3: the client certificate the agent makes from the etcd CA is accepted (finding 4);
 * the leader comes from Maintenance.Status, so a backup run on a master that does not lead still
 * snapshots the leader (findings 1, 2) while the timer's leader-only run skips there; a replacement
 * master removes its group's dead member while the other two hold quorum, and refuses without it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { elect, masterSettingsOf } from '../../src/agent/master/boot.js';
import { isLeader } from '../../src/etcd/client.js';
import { grpcEtcd } from '../../src/agent/master/etcd-grpc.js';
import { ensureEtcdClientCert, etcdTlsFiles } from '../../src/agent/master/pki.js';
import { memberKey, write } from '../../src/agent/master/records.js';
import { takeBackup } from '../../src/agent/master/snapshots.js';
import { EtcdMembers, HAVE_ETCD, HAVE_OPENSSL, makeEtcdPki } from '../helpers/etcd.js';
import { FakePrograms, testMaster } from '../helpers/agent-master.js';
import { useMoto } from '../helpers/moto.js';

useMoto({ processEnv: true });
const BUCKET = 'kubeaz-etcd-side-123456789012';

describe.skipIf(!HAVE_ETCD || !HAVE_OPENSSL)('the master flow against real etcd', () => {
  let dir: string;
  let etcd: EtcdMembers;
  let aws: AwsClients;
  let s3: S3Client;
  const master = (instanceId: string, group: string, ip = '127.0.0.9') =>
    testMaster({
      instanceId,
      group,
      ip,
      aws,
      bucket: BUCKET,
      sink: { put: async () => {} },
      programs: new FakePrograms(),
      waits: { memberAttempts: 3, electionAttempts: 3 },
    });
  let m: ReturnType<typeof master>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-agent-etcd-'));
    etcd = new EtcdMembers(dir, makeEtcdPki(path.join(dir, 'pki')));
    await etcd.allocate(['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c']) etcd.start(n, ['a', 'b', 'c'], 'new');
    await etcd.waitHealthy(['a', 'b', 'c']);
    aws = new AwsClients({ region: 'eu-west-1' });
    s3 = await aws.s3();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    m = master('i-0000000000000new', 'master-3');
    // the etcd CA as fetchPki would have put it; the agent makes its own client certificate from it
    const etcdDir = path.join(m.ctx.root, 'etc/kubernetes/pki/etcd');
    fs.mkdirSync(etcdDir, { recursive: true });
    fs.copyFileSync(etcd.pki.ca, path.join(etcdDir, 'ca.crt'));
    fs.copyFileSync(path.join(etcd.pki.dir, 'ca.key'), path.join(etcdDir, 'ca.key'));
    await ensureEtcdClientCert(m.ctx);
    // the member records as the three masters wrote them
    const list = etcd.etcdctl(etcd.client.a!, 'member', 'list', '-w', 'json');
    const members = (JSON.parse(list.out) as { members: Array<{ ID: number | string; name: string }> }).members;
    const hexOf = (name: string) => {
      // etcdctl's JSON prints ids as numbers that lose precision above 2^53: take the hex table instead
      const row = etcd
        .etcdctl(etcd.client.a!, 'member', 'list')
        .out.split('\n')
        .find((l) => l.split(', ')[2] === name)!;
      return row.split(', ')[0]!;
    };
    expect(members).toHaveLength(3);
    for (const [n, group] of [
      ['a', 'master'],
      ['b', 'master-2'],
      ['c', 'master-3'],
    ] as const)
      await write(aws, BUCKET, memberKey(group), {
        group,
        memberId: hexOf(n),
        name: n,
        peerURL: etcd.peer[n],
        clientURL: etcd.client[n],
        instanceId: `i-old${n}`,
        time: '2026-12-05T10:00:00Z',
      });
  }, 120_000);

  afterAll(async () => {
    await etcd?.killAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the agent`s own client certificate is accepted; exactly one member leads (Status), as etcdctl says', async () => {
    const access = grpcEtcd(etcdTlsFiles(m.ctx));
    const probes = await access.probe([etcd.client.a!, etcd.client.b!, etcd.client.c!]);
    expect(probes.every((p) => p.ok && p.healthy)).toBe(true);
    const leads = probes.map((p) => p.ok && isLeader(p.status));
    expect(leads.filter(Boolean)).toHaveLength(1);
    const leaderName = ['a', 'b', 'c'][leads.indexOf(true)]!;
    const status = JSON.parse(etcd.etcdctl(etcd.client[leaderName]!, 'endpoint', 'status', '-w', 'json').out) as Array<{
      Status: { header: { member_id: number }; leader: number };
    }>;
    expect(status[0]!.Status.leader).toBe(status[0]!.Status.header.member_id);
  });

  it('backup from a master whose member does not lead: the leader`s snapshot, uploaded with its sha256; the timer`s leader-only run skips', async () => {
    const access = grpcEtcd(etcdTlsFiles(m.ctx));
    expect(await takeBackup(m.ctx, access, 7, { leaderOnly: true })).toBeUndefined();
    const r = await takeBackup(m.ctx, access, 7);
    expect(r).toBeDefined();
    const leader = (await access.probe([r!.from]))[0]!;
    expect(leader.ok && isLeader(leader.status)).toBe(true);
    const obj = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: r!.key }));
    const body = Buffer.from(await obj.Body!.transformToByteArray());
    expect(obj.Metadata?.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(r!.sha256).toBe(obj.Metadata?.sha256);
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toContain(r!.key);
  });

  it('a replacement removes its group`s dead member while the other two hold quorum', async () => {
    const access = grpcEtcd(etcdTlsFiles(m.ctx));
    const deps = { etcd: access, apiUp: async () => true, agentCommand: ['node', 'agent.mjs'] };
    await etcd.kill('c');
    // the API answers: the election removes master-3's previous member, then decides join
    expect(await elect(m.ctx, deps, masterSettingsOf(m.ctx))).toEqual({ action: 'join' });
    const names = etcd
      .etcdctl(etcd.client.a!, 'member', 'list')
      .out.trim()
      .split('\n')
      .map((l) => l.split(', ')[2]);
    expect(names.sort()).toEqual(['a', 'b']);
    expect(m.logs.some((l) => /removing master-3's previous member [0-9a-f]+ \(instance i-oldc\)/.test(l))).toBe(true);
  });

  it('and refuses while they do not (two members left, b dead: master-2`s replacement would leave a alone, short of a quorum of 2)', async () => {
    const other = master('i-0000000000000ne2', 'master-2');
    fs.cpSync(path.join(m.ctx.root, 'etc'), path.join(other.ctx.root, 'etc'), { recursive: true });
    await write(aws, BUCKET, memberKey('master-3'), {
      group: 'master-3',
      memberId: 'ffff',
      instanceId: 'i-gone',
      clientURL: etcd.client.c!,
      time: '2026-12-05T10:00:00Z',
    });
    await etcd.kill('b');
    const access = grpcEtcd(etcdTlsFiles(other.ctx), 1500);
    await expect(
      elect(other.ctx, { etcd: access, apiUp: async () => true, agentCommand: ['node', 'agent.mjs'] }, masterSettingsOf(other.ctx)),
    ).rejects.toThrow(
      /refusing to remove member [0-9a-f]+ yet: only [01] of the other 1 members are healthy and 2 are needed for quorum once it is replaced — still so after 3 attempts/,
    );
    expect(etcd.etcdctl(etcd.client.a!, 'member', 'list').out).toContain(', b, ');
  });
});
