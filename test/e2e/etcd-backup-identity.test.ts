/**
 * `backup-etcd --etcd-endpoint` takes a snapshot only from the cluster's own etcd (issue 21, "Safe
 * by default"): the etcd cluster id it reaches (Maintenance.Status header) must be the one the
 * masters record in etcd/control-plane/cluster-id.json at every init and restore — with no record,
 * only with --etcd-cluster-id — and plain http:// is refused away from loopback. REAL etcd: two
 * one-member TLS clusters on loopback, the cluster's and a foreign one; a cluster made in moto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clusterIdRecordKey, renderRecord } from '../../src/records/etcd.js';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { EtcdMembers, etcdClusterIdHex, HAVE_ETCD, HAVE_OPENSSL, makeEtcdPki, type EtcdPki } from '../helpers/etcd.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-ei-qa-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ei, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.21.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
`;

const moto = useMoto({ processEnv: true });

describe.skipIf(!HAVE_ETCD || !HAVE_OPENSSL)('backup-etcd --etcd-endpoint: only the cluster’s own etcd', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let s3: S3Client;
  let pki: EtcdPki;
  let etcd: EtcdMembers;
  let ours: string;
  let foreign: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-identity-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    pki = makeEtcdPki(path.join(dir, 'pki'));
    etcd = new EtcdMembers(dir, pki);
    await etcd.allocate(['ours', 'foreign']);
    // two clusters of one member each: other peer URLs, so other member and cluster ids
    etcd.start('ours', ['ours'], 'new');
    etcd.start('foreign', ['foreign'], 'new');
    const [created] = await Promise.all([kubeaz(['create', '-f', file, '--yes'], moto.env), etcd.waitHealthy(['ours', 'foreign'])]);
    expect(created.code, created.stderr).toBe(0);
    ours = etcdClusterIdHex(etcd.client.ours!, pki);
    foreign = etcdClusterIdHex(etcd.client.foreign!, pki);
    expect(ours).not.toBe(foreign);
  }, 240_000);
  afterAll(async () => {
    await etcd?.killAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const tls = () => ['--cacert', pki.ca, '--cert', pki.clientCert, '--key', pki.clientKey];
  const backup = (endpoint: string, extra: string[] = [], env = moto.env) =>
    kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', endpoint, ...tls(), ...extra], env);
  const snapshots = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'etcd/' }))).Contents ?? [])
      .map((o) => o.Key!)
      .filter((k) => /^etcd\/\d{8}T\d{6}Z\.db$/.test(k));

  it('no record yet (masters an older kubeaz booted): refused, nothing snapshotted — unless --etcd-cluster-id names it', async () => {
    const r = await backup(etcd.client.ours!);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`no etcd cluster id is recorded in s3://${BUCKET}/etcd/control-plane/cluster-id.json`);
    expect(r.stderr).toContain(
      `kubeaz cannot tell whether the etcd at ${etcd.client.ours} (cluster ${ours}) is ei-qa's, and nothing was snapshotted. If it is, run again with --etcd-cluster-id ${ours}`,
    );
    expect(await snapshots()).toEqual([]);

    const given = await backup(etcd.client.ours!, ['--etcd-cluster-id', ours, '--output', 'json']);
    expect(given.code, given.stderr).toBe(0);
    expect(await snapshots()).toEqual([given.json<{ key: string }>().key]);
    const wrong = await backup(etcd.client.ours!, ['--etcd-cluster-id', foreign]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `the etcd at ${etcd.client.ours} is cluster ${ours}, not ei-qa's etcd cluster ${foreign} (--etcd-cluster-id)`,
    );
  }, 60_000);

  it("with the masters' record: the cluster's etcd is snapshotted, a foreign etcd is refused and nothing of it is stored", async () => {
    // what the master that ran kubeadm init writes (src/agent/master/boot.ts recordClusterId)
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: clusterIdRecordKey(),
        Body: renderRecord({ clusterId: ours, after: 'init', by: 'i-0123456789abcdef0', group: 'master', at: '2026-12-06T02:00:00Z' }),
        ServerSideEncryption: 'AES256',
      }),
    );
    const ok = await backup(etcd.client.ours!);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(
      `${etcd.client.ours} is etcd cluster ${ours}, as s3://${BUCKET}/etcd/control-plane/cluster-id.json (after init by i-0123456789abcdef0, 2026-12-06T02:00:00Z) says`,
    );
    const before = await snapshots();

    const r = await backup(etcd.client.foreign!);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the etcd at ${etcd.client.foreign} is cluster ${foreign}, not ei-qa's etcd cluster ${ours} (s3://${BUCKET}/etcd/control-plane/cluster-id.json`,
    );
    expect(r.stderr).toContain('nothing was snapshotted');
    expect(await snapshots()).toEqual(before);
  }, 60_000);

  it('plain http:// away from loopback, and a cluster id that is not one: usage errors (exit 2) before any AWS call', async () => {
    // an endpoint nobody listens on: any AWS call would fail with exit 1, not 2
    const noAws = { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    const plain = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', 'http://10.0.1.5:2379'], noAws);
    expect(plain.code, plain.stderr).toBe(2);
    expect(plain.stderr).toContain('--etcd-endpoint http://10.0.1.5:2379: plain http:// is refused away from loopback');
    const bad = await kubeaz(['backup-etcd', '-f', file, '--etcd-endpoint', etcd.client.ours!, '--etcd-cluster-id', 'not-hex'], noAws);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('--etcd-cluster-id not-hex: not an etcd cluster id');
    const alone = await kubeaz(['backup-etcd', '-f', file, '--etcd-cluster-id', ours], noAws);
    expect(alone.code, alone.stderr).toBe(2);
  });
});
