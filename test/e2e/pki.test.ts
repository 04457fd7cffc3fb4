/**
 * The cluster's PKI in moto through the real CLI: create makes the three CAs and the
 * service-account keys once, under exactly the names master.sh fetches, encrypted, and never
 * overwrites them; a missing pair is regenerated alone, a half pair is refused; no key reaches the
 * state file or user-data; `kubeaz kubeconfig` signs an admin certificate that chains to the CA in
 * the bucket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { motoEnv, startMoto, type Moto } from '../../src/devtools/moto.js';
import { chainsTo, PKI_FILES, x509 } from '../../src/pki/ca.js';
import { kubeaz } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-pk-qa-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: pk, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number };
  actions: Array<{ key: string; action: string }>;
}

describe('pki: CAs and service-account keys in the bucket, and the admin kubeconfig', () => {
  let moto: Moto;
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  const original: Record<string, string> = {};

  const get = async (name: string) => {
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `pki/${name}` }));
    return o.Body!.transformToString('utf8');
  };
  const create = async () => kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);

  beforeAll(async () => {
    moto = await startMoto();
    env = motoEnv(moto.url);
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-pki-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create writes exactly the files master.sh fetches, SSE-S3, once', async () => {
    const r = await create();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<CreateJson>().actions.find((a) => a.key === 'pki')?.action).toBe('create');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pki/' }));
    expect((listed.Contents ?? []).map((o) => o.Key!.slice(4)).sort()).toEqual([...PKI_FILES].sort());
    for (const f of PKI_FILES) {
      const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `pki/${f}` }));
      expect(h.ServerSideEncryption, f).toBe('AES256');
      original[f] = await get(f);
    }
  });

  it('the CAs are 10-year CAs with the kubeadm names, each with its own key; sa.pub is sa.key\'s', async () => {
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    for (const [crt, key, cn] of [
      ['ca.crt', 'ca.key', 'kubernetes'],
      ['etcd/ca.crt', 'etcd/ca.key', 'etcd-ca'],
      ['front-proxy-ca.crt', 'front-proxy-ca.key', 'front-proxy-ca'],
    ] as const) {
      const c = new x509.X509Certificate(original[crt]!);
      expect(c.subject).toBe(`CN=${cn}`);
      expect(c.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
      expect((c.notAfter.getTime() - Date.now()) / (365.25 * 86_400_000)).toBeGreaterThan(9.9);
      const spki = createPublicKey(createPrivateKey(original[key]!)).export({ type: 'spki', format: 'der' });
      expect(Buffer.from(c.publicKey.rawData).equals(spki), crt).toBe(true);
    }
    expect(new Set([original['ca.key'], original['etcd/ca.key'], original['front-proxy-ca.key'], original['sa.key']]).size).toBe(4);
    expect(createPublicKey(createPrivateKey(original['sa.key']!)).export({ type: 'spki', format: 'pem' })).toBe(original['sa.pub']);
  });

  it('no key material in the state file, the user-data or the output', async () => {
    const state = await readFile(path.join(dir, '.kubeaz', 'pk-qa.json'), 'utf8');
    expect(state).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    expect(state).toContain('pki');
    const ec2 = new EC2Client({ region: REGION });
    const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'pk-qa-master', Versions: ['$Latest'] }));
    const userData = Buffer.from(versions.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString();
    expect(userData.length).toBeGreaterThan(100);
    expect(userData).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    const boot = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'bootstrap/' }));
    for (const o of boot.Contents ?? []) expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }))).Body!.transformToString(), o.Key).not.toMatch(/PRIVATE KEY/);
  });

  it('a second create reads pki/ once and writes nothing', async () => {
    const r = await create();
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<CreateJson>();
    expect(out.calls.mutating).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
    for (const f of PKI_FILES) expect(await get(f), f).toBe(original[f]);
  });

  it('a missing pair is regenerated alone: two conditional writes, every other file untouched', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'pki/front-proxy-ca.crt' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'pki/front-proxy-ca.key' }));
    const r = await create();
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<CreateJson>();
    expect(out.actions.filter((a) => a.action !== 'unchanged')).toEqual([expect.objectContaining({ key: 'pki', action: 'update' })]);
    expect(out.calls.mutating).toBe(2);
    for (const f of PKI_FILES) {
      if (f.startsWith('front-proxy')) expect(await get(f), f).not.toBe(original[f]);
      else expect(await get(f), f).toBe(original[f]);
    }
    const fp = new x509.X509Certificate(await get('front-proxy-ca.crt'));
    expect(fp.subject).toBe('CN=front-proxy-ca');
  });

  it('a CA certificate gone beside its key (a create killed between the two writes) is made again from that key, never a new CA', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'pki/ca.crt' }));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ca\.crt was missing beside its key .*made it again from ca\.key/);
    expect(r.stderr + r.stdout).not.toMatch(/PRIVATE KEY/);
    expect(await get('ca.key')).toBe(original['ca.key']);
    const reissued = new x509.X509Certificate(await get('ca.crt'));
    const first = new x509.X509Certificate(original['ca.crt']!);
    expect(reissued.subject).toBe(first.subject);
    expect(Buffer.from(reissued.publicKey.rawData).equals(Buffer.from(first.publicKey.rawData))).toBe(true);
    // what the first certificate signed is still trusted under the re-issued one
    const { signClientCert } = await import('../../src/pki/ca.js');
    const client = await signClientCert(original['ca.crt']!, original['ca.key']!, 'someone', ['g']);
    expect(await chainsTo(client.cert, await get('ca.crt'))).toBe(true);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pki/ca.crt', Body: original['ca.crt'], ServerSideEncryption: 'AES256' }));
  });

  it('a CA key gone while its certificate exists is refused, never regenerated', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'pki/ca.key' }));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/pki\/ca\.key is missing but s3:\/\/\S+\/pki\/ca\.crt exists \(cluster CA\)/);
    expect(r.stderr).toMatch(/never regenerates/);
    expect(await get('ca.crt')).toBe(original['ca.crt']);
    // put it back: create is whole again and writes nothing
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pki/ca.key', Body: original['ca.key'], ServerSideEncryption: 'AES256' }));
    const again = await create();
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<CreateJson>().calls.mutating).toBe(0);
  });

  it('kubeconfig: kubernetes-admin in system:masters, signed by the CA in the bucket, the API ELB as server, mode 0600', async () => {
    const out = path.join(dir, 'admin.kubeconfig');
    const r = await kubeaz(['kubeconfig', '-f', file, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const k = parse(await readFile(out, 'utf8'));
    const elb = new ElasticLoadBalancingClient({ region: REGION });
    const dns = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: ['pk-qa-api'] }))).LoadBalancerDescriptions![0]!.DNSName;
    expect(k.clusters[0].cluster.server).toBe(`https://${dns}:443`);
    const ca = Buffer.from(k.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    expect(ca).toBe(original['ca.crt']);
    const certPem = Buffer.from(k.users[0].user['client-certificate-data'], 'base64').toString();
    expect(await chainsTo(certPem, await get('ca.crt'))).toBe(true);
    const cert = new x509.X509Certificate(certPem);
    expect(cert.subjectName.getField('CN')).toEqual(['kubernetes-admin']);
    expect(cert.subjectName.getField('O')).toEqual(['system:masters']);
    const days = (cert.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
    // the client key is the certificate's
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const keyPem = Buffer.from(k.users[0].user['client-key-data'], 'base64').toString();
    expect(Buffer.from(cert.publicKey.rawData).equals(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(k['current-context']).toBe('kubernetes-admin@pk-qa');
  });
});
