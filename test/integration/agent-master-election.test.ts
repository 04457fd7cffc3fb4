/**
 * The master flow's AWS side against moto (real S3 conditional writes, EC2, Route 53, auto scaling):
 * three masters booting at once race for init.json — exactly one runs `kubeadm init`, the other two
 * lose the race (S3's PreconditionFailed), wait for the API and join; members, join token, first
 * snapshot and boot reports are in the bucket. Programs and etcd are fakes (test/helpers/agent-master.ts);
 * boot-sim runs the same flow with real etcd.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { putText } from '../../src/agent/bucket.js';
import { masterBootWith, recordClusterId } from '../../src/agent/master/boot.js';
import { claim, CLUSTER_ID_KEY, INIT_KEY, readRecords } from '../../src/agent/master/records.js';
import { generatePair, PKI_PAIRS } from '../../src/pki/ca.js';
import { generateEncryptionKey } from '../../src/pki/encryption-key.js';
import { parseBootReport } from '../../src/records/boot.js';
import { clusterPrograms, deps, FAKE_ETCD_CLUSTER_ID, FakeEtcd, FakePrograms, testMaster } from '../helpers/agent-master.js';
import { useMoto } from '../helpers/moto.js';

useMoto({ processEnv: true });
const BUCKET = 'kubeaz-demo-dev-123456789012';
let aws: AwsClients;
let s3: S3Client;

const text = async (Key: string) => await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString();
const keys = async (Prefix: string) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix }))).Contents ?? []).map((o) => o.Key!).sort();

beforeAll(async () => {
  aws = new AwsClients({ region: 'eu-west-1' });
  s3 = await aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  for (const p of PKI_PAIRS) {
    const pair = await generatePair(p);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `pki/${p.cert}`, Body: pair.cert }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `pki/${p.key}`, Body: pair.key }));
  }
  // the aescbc key the masters' EncryptionConfiguration names by reference (create's pki kind makes it)
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pki/encryption/key1', Body: generateEncryptionKey() }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bootstrap/master/addons/storageclass.yaml', Body: 'kind: StorageClass\n' }));
  // the aescbc key create makes beside the CAs (the masters' EncryptionConfiguration names it: issue 20)
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pki/encryption/key1', Body: `${randomBytes(32).toString('base64')}\n` }));
});

describe('three masters booting at once', () => {
  it('exactly one runs kubeadm init; the others lose init.json, wait for its API and join; records, token, snapshot and reports are written', async () => {
    const etcd = new FakeEtcd();
    const state = { apiUp: false, inits: [] as string[] };
    const sink = { put: (key: string, body: string) => putText(aws, BUCKET, key, body, { contentType: 'application/json' }) };
    const masters = ['master', 'master-2', 'master-3'].map((group, n) => {
      const ip = `127.0.0.${n + 2}`;
      return testMaster({
        instanceId: `i-00000000000000${n}a1`,
        group,
        ip,
        aws,
        bucket: BUCKET,
        sink,
        programs: clusterPrograms(etcd, state, ip, group),
      });
    });
    const actions = await Promise.all(
      masters.map(async (m) => {
        const a = await masterBootWith(m.ctx, deps(etcd, state));
        await m.reporter.ready();
        await m.reporter.flush();
        return a.action;
      }),
    );

    // exactly one init, by the one init.json names; the others joined
    expect(state.inits).toHaveLength(1);
    expect(actions.filter((a) => a === 'init')).toHaveLength(1);
    expect(actions.filter((a) => a === 'join')).toHaveLength(2);
    const init = JSON.parse(await text(INIT_KEY)) as Record<string, string>;
    const winner = masters[actions.indexOf('init')]!;
    expect(init).toMatchObject({
      group: winner.ctx.identity.group,
      instanceId: winner.ctx.identity.instanceId,
      peerURL: `https://${winner.ctx.identity.privateIp}:2380`,
    });
    for (const m of masters.filter((x) => x !== winner)) {
      expect(
        m.logs.some((l) => /another master won etcd\/control-plane\/init.json \(S3 answered PreconditionFailed\)|the API answers/.test(l)),
      ).toBe(true);
      expect(m.programs.calls.some((c) => c.cmd === 'kubeadm' && c.args[0] === 'init')).toBe(false);
      expect(m.programs.calls.some((c) => c.cmd === 'helm')).toBe(false);
    }
    // add-ons and the first snapshot only on the master that ran init
    expect(winner.programs.calls.filter((c) => c.cmd === 'helm' && c.args.includes('upgrade')).length).toBeGreaterThanOrEqual(5);

    // every master recorded its started member (hex ids, as the scripts did)
    const records = await readRecords(aws, BUCKET);
    expect(Object.keys(records.members).sort()).toEqual(['master', 'master-2', 'master-3']);
    for (const m of masters) {
      const r = records.members[m.ctx.identity.group]!;
      expect(r.instanceId).toBe(m.ctx.identity.instanceId);
      expect(r.memberId).toMatch(/^[0-9a-f]+$/);
      expect(etcd.members.map((x) => x.idHex)).toContain(r.memberId);
    }

    // the etcd cluster id the init master's own etcd answers (hex), which backup-etcd --etcd-endpoint checks against
    expect(JSON.parse(await text(CLUSTER_ID_KEY))).toEqual({
      clusterId: BigInt(FAKE_ETCD_CLUSTER_ID).toString(16),
      after: 'init',
      by: winner.ctx.identity.instanceId,
      group: winner.ctx.identity.group,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });

    // the join token (made by the agent, handed to kubeadm) and the CA hash
    const token = (await text('join/token')).trim();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    // (every master renews it right after it is up, as the scripts did: the last one's is in join/)
    expect(
      masters.some((m) =>
        m.programs.calls.some((c) => c.cmd === 'kubeadm' && c.args[0] === 'token' && c.args[1] === 'create' && c.args[2] === token),
      ),
    ).toBe(true);
    expect((await text('join/ca-cert-hash')).trim()).toMatch(/^sha256:[0-9a-f]{64}$/);

    // the first snapshot, from the leader, with its sha256
    const snaps = (await keys('etcd/')).filter((k) => /^etcd\/\d{8}T\d{6}Z\.db$/.test(k));
    expect(snaps).toHaveLength(1);
    expect(etcd.snapshots).toEqual([`https://${winner.ctx.identity.privateIp}:2379`]);

    // a boot report per instance: ready, with its phases in order
    for (const m of masters) {
      const r = parseBootReport(await text(`boot/${m.ctx.identity.instanceId}.json`));
      if (r instanceof Error) throw r;
      expect(r).toMatchObject({ instanceId: m.ctx.identity.instanceId, group: m.ctx.identity.group, role: 'master', result: 'ready' });
      const names = r.phases.map((p) => p.name);
      expect(names.slice(0, 5)).toEqual(['packages', 'kernel', 'pki', 'election', 'dns']);
      expect(names).toContain(m === winner ? 'init' : 'join');
      if (m === winner) expect(names.slice(-2)).toEqual(['first-backup', 'addons']);
      for (const p of r.phases) expect(p.end).toBeDefined();
    }
    // the etcd client certificate was made before the election (its key never in a report)
    for (const m of masters)
      expect(readFileSync(`${m.ctx.root}/etc/kubernetes/pki/etcd/healthcheck-client.crt`, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});

describe('a lost race', () => {
  it('is S3`s typed PreconditionFailed: claim() answers lost, the record stays the winner`s', async () => {
    const key = 'etcd/control-plane/restore-claims/i-race.json';
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => claim(aws, BUCKET, key, { by: `i-${n}`, group: 'master', time: '2026-12-05T12:00:00Z' })),
    );
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'lost')).toHaveLength(3);
    const held = JSON.parse(await text(key)) as { by: string };
    expect(`i-${results.indexOf('won') + 1}`).toBe(held.by);
  });
});

describe('cluster-id.json', () => {
  const master = (instanceId: string, ip: string) =>
    testMaster({ instanceId, group: 'master', ip, aws, bucket: BUCKET, sink: { put: async () => {} }, programs: new FakePrograms() });

  it('after a restore it names the snapshot; an etcd that does not answer leaves the record as it was, and the boot goes on', async () => {
    const etcd = new FakeEtcd();
    etcd.add('127.0.0.9', 'master');
    const restorer = master('i-0000000000000c1d', '127.0.0.9');
    await recordClusterId(restorer.ctx, deps(etcd, { apiUp: true }), 'etcd/20261205T100000Z.db');
    expect(JSON.parse(await text(CLUSTER_ID_KEY))).toMatchObject({
      clusterId: BigInt(FAKE_ETCD_CLUSTER_ID).toString(16),
      after: 'restore',
      snapshot: 'etcd/20261205T100000Z.db',
      by: 'i-0000000000000c1d',
    });
    const before = await text(CLUSTER_ID_KEY);
    const lost = master('i-0000000000000c2d', '127.0.0.10');
    await expect(recordClusterId(lost.ctx, deps(etcd, { apiUp: true }), undefined)).resolves.toBeUndefined();
    expect(await text(CLUSTER_ID_KEY)).toBe(before);
    expect(lost.logs).toContain(
      'i-0000000000000c2d: ERROR: etcd at https://127.0.0.10:2379 did not answer Status: etcd/control-plane/cluster-id.json not written (backup-etcd --etcd-endpoint will ask for --etcd-cluster-id)',
    );
  });
});
