/**
 * The cluster's PKI in moto through the real CLI: create makes the three CAs and the
 * service-account keys once, under exactly the names master.sh fetches, encrypted, and never
 * overwrites them; a missing pair is regenerated alone, a half pair is refused; no key reaches the
 * state file or user-data; `kubeaz kubeconfig` signs an admin certificate that chains to the CA in
 * the bucket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { useMoto } from '../helpers/moto.js';
import { chainsTo, PKI_FILES, x509 } from '../../src/pki/ca.js';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { startFakeApi, type FakeApi } from '../helpers/k8s-api-server.js';
import { list as k8sList, node as k8sNode, systemPods, VERSION } from '../fixtures/k8s-api.js';

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

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('pki: CAs and service-account keys in the bucket, and the admin kubeconfig', { shuffle: false }, () => {
  const moto = useMoto();
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
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-pki-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create writes exactly the files master.sh fetches, SSE-S3, once', async () => {
    const r = await create();
    expect(r.code, r.stderr).toBe(0);
    // it ends with the API endpoint and the next commands, in the JSON too
    const elbDns = (
      await new ElasticLoadBalancingClient({ region: REGION }).send(new DescribeLoadBalancersCommand({ LoadBalancerNames: ['pk-qa-api'] }))
    ).LoadBalancerDescriptions![0]!.DNSName;
    expect(r.json<{ api: unknown; next: string[] }>().api).toEqual({ endpoint: `https://${elbDns}:443`, via: 'public-elb' });
    expect(r.json<{ next: string[] }>().next.slice(0, 2)).toEqual([`kubeaz kubeconfig -f ${file}`, 'kubectl get nodes']);
    expect(r.stderr).toContain(`API endpoint: https://${elbDns}:443`);
    expect(r.json<CreateJson>().actions.find((a) => a.key === 'pki')?.action).toBe('create');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pki/' }));
    // and the aescbc key Secrets are encrypted with at rest (spec.encryption's default; test/e2e/encryption.test.ts)
    expect((listed.Contents ?? []).map((o) => o.Key!.slice(4)).sort()).toEqual([...PKI_FILES, 'encryption/key1'].sort());
    for (const f of PKI_FILES) {
      const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `pki/${f}` }));
      expect(h.ServerSideEncryption, f).toBe('AES256');
      original[f] = await get(f);
    }
  });

  it("the CAs are 10-year CAs with the kubeadm names, each with its own key; sa.pub is sa.key's", async () => {
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
    const versions = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'pk-qa-master', Versions: ['$Latest'] }),
    );
    const userData = Buffer.from(versions.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString();
    expect(userData.length).toBeGreaterThan(100);
    expect(userData).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    const boot = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'bootstrap/' }));
    const agent = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'agent/' }));
    expect(agent.KeyCount).toBe(2);
    // the agent's bundle is our code (its SDK names key types in its own source): it is checked to be
    // byte for byte what npm run build made, so nothing of this cluster is in it; the rest must hold no key
    const bundleKey = agent.Contents!.find((o) => o.Key !== 'agent/config.json')!.Key!;
    const bundle = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: bundleKey }))).Body!.transformToByteArray(),
    );
    expect(bundle.equals(readFileSync(path.join(ROOT, 'dist', 'agent', 'kubeaz-agent.mjs')))).toBe(true);
    for (const o of [...(boot.Contents ?? []), ...(agent.Contents ?? []).filter((x) => x.Key !== bundleKey)])
      expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }))).Body!.transformToString(), o.Key).not.toMatch(
        /PRIVATE KEY/,
      );
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
    const dns = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: ['pk-qa-api'] }))).LoadBalancerDescriptions![0]!
      .DNSName;
    expect(k.clusters[0].cluster.server).toBe(`https://${dns}:443`);
    const ca = Buffer.from(k.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    expect(ca).toBe(original['ca.crt']);
    const certPem = Buffer.from(k.users[0].user['client-certificate-data'], 'base64').toString();
    expect(await chainsTo(certPem, await get('ca.crt'))).toBe(true);
    const cert = new x509.X509Certificate(certPem);
    expect(cert.subjectName.getField('CN')).toEqual(['kubernetes-admin']);
    expect(cert.subjectName.getField('O')).toEqual(['system:masters']);
    // short-lived by default, like kops' --admin: 18 hours
    const hours = (cert.notAfter.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(17.9);
    expect(hours).toBeLessThan(18.1);
    // the client key is the certificate's
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const keyPem = Buffer.from(k.users[0].user['client-key-data'], 'base64').toString();
    expect(
      Buffer.from(cert.publicKey.rawData).equals(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' })),
    ).toBe(true);
    expect(k['current-context']).toBe('pk-qa');
    expect(k.contexts.map((c: { name: string }) => c.name)).toEqual(['pk-qa']);
    expect(k.users.map((c: { name: string }) => c.name)).toEqual(['pk-qa-admin']);
  });

  describe('status: the Kubernetes side, through a short-lived admin certificate', () => {
    const MASTER = 'ip-172-20-0-10.us-west-2.compute.internal';
    const WORKER = 'ip-172-20-1-20.us-west-2.compute.internal';
    const healthy = () => ({
      version: VERSION,
      nodes: k8sList('NodeList', [k8sNode(MASTER, 'master', { master: true }), k8sNode(WORKER, 'general')]),
      pods: k8sList('PodList', systemPods(MASTER, [WORKER])),
    });
    let api: FakeApi;
    beforeAll(async () => {
      // an "API server" whose certificate the cluster CA in the bucket signed, and which accepts only client certificates from it
      api = await startFakeApi(await get('ca.crt'), await get('ca.key'));
    });
    afterAll(async () => {
      await api?.stop();
    });

    it('against an emulator the API is not checked: one line, the AWS side as before', async () => {
      const r = await kubeaz(['status', '-f', file], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.split('\n').filter((l) => l.startsWith('Kubernetes'))).toEqual([
        'Kubernetes: not checked: AWS_ENDPOINT_URL names an emulator, no API behind it (--api-endpoint URL)',
      ]);
      for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
      // summarised per kind by default; -v lists every resource
      expect(r.stdout).toMatch(/^subnet +4\/4 +ok$/m);
      expect(r.stdout).not.toContain('subnet/private/us-west-2a');
      const v = await kubeaz(['status', '-f', file, '-v'], env);
      expect(v.stdout).toMatch(/^subnet\/private\/us-west-2a +subnet +subnet-\w+ +present/m);
    });

    it('healthy fixture: exit 0, groups want/have, and the JSON carries the same', async () => {
      api.serve(healthy());
      const r = await kubeaz(['status', '-f', file, '--api-endpoint', api.url], env);
      console.log(`--- status on the healthy fixture (exit ${r.code}):\n${r.stdout}`);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`Kubernetes v1.35.0 at ${api.url}: healthy\n  2/2 nodes Ready, 10/10 system components running\n`);
      for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
      expect(r.stdout).toMatch(/^ {2}general +1 +1 +1$/m);
      expect(r.stdout).toMatch(/, Kubernetes healthy$/m);
      const j = await kubeaz(['status', '-f', file, '--api-endpoint', api.url, '--output', 'json'], env);
      expect(
        j.json<{ ok: boolean; kubernetes: { reachable: boolean; health: { ok: boolean; groups: unknown[] } } }>().kubernetes,
      ).toMatchObject({
        reachable: true,
        health: {
          ok: true,
          groups: [
            { name: 'master', want: 1, have: 1, ready: 1 },
            { name: 'general', want: 1, have: 1, ready: 1 },
          ],
        },
      });
    });

    it('a node NotReady, then CoreDNS in CrashLoopBackOff: exit 3, each named', async () => {
      const notReady = healthy();
      notReady.nodes = k8sList('NodeList', [k8sNode(MASTER, 'master', { master: true }), k8sNode(WORKER, 'general', { ready: false })]);
      api.serve(notReady);
      const r = await kubeaz(['status', '-f', file, '--api-endpoint', api.url], env);
      console.log(`--- status on the NotReady fixture (exit ${r.code}):\n${r.stdout}`);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain('  FAIL node group general: 0 of 1 nodes Ready (1 registered but not Ready)');
      expect(r.stdout).toContain(`  FAIL node ${WORKER} is not Ready: NodeStatusUnknown\n`);
      for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
      expect(r.stdout).toMatch(/^NOT healthy: .*Kubernetes 2 problems$/m);
      const crash = healthy();
      crash.pods = k8sList('PodList', systemPods(MASTER, [WORKER], { reason: 'CrashLoopBackOff', restarts: 7 }));
      api.serve(crash);
      const c = await kubeaz(['status', '-f', file, '--api-endpoint', api.url], env);
      expect(c.code).toBe(3);
      expect(c.stdout).toContain('  FAIL pod kube-system/coredns-668d6bf9bc-5mzlk: CrashLoopBackOff (restarts 7)');
    });

    it('--wait polls with a live line until healthy (exit 0), or until the time is up (exit 3)', async () => {
      const notReady = healthy();
      notReady.nodes = k8sList('NodeList', [k8sNode(MASTER, 'master', { master: true }), k8sNode(WORKER, 'general', { ready: false })]);
      api.serve(notReady);
      const up = await kubeaz(['status', '-f', file, '--api-endpoint', api.url, '--wait', '20s'], env);
      expect(up.code).toBe(3);
      expect(up.stderr).toMatch(/waiting for pk-qa \(\d+s left\): .*1\/2 nodes Ready; node group general: 0 of 1 nodes Ready/);
      // turn healthy only after the first poll has read the API (a loaded machine may take longer than any fixed delay)
      const seen = api.requests.length;
      const timer = setInterval(() => api.requests.length >= seen + 3 && api.serve(healthy()), 100);
      const ok = await kubeaz(['status', '-f', file, '--api-endpoint', api.url, '--wait', '5m'], env);
      clearInterval(timer);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/waiting for pk-qa/);
      const bad = await kubeaz(['status', '-f', file, '--wait', 'soon'], env);
      expect(bad.code).toBe(2);
    });

    it('the API asked for (--api-endpoint) and down: the cluster is not up — one line saying so with where the boots are, exit 3 (issue 19)', async () => {
      const down = await startFakeApi(await get('ca.crt'), await get('ca.key'));
      await down.stop();
      const r = await kubeaz(['status', '-f', file, '--api-endpoint', down.url], env);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      // (a line over 100 columns continues on the next, indented)
      expect(r.stdout.replace(/\n {5,7}/g, ' ')).toMatch(
        new RegExp(
          `^Kubernetes: API ${down.url.replace(/[.]/g, '\\.')} NOT reachable \\(ECONNREFUSED\\); boot: no boot report yet from \\d+ instances`,
          'm',
        ),
      );
      expect(r.stdout).toMatch(/^NOT healthy: \d+\/\d+ resources present and matching, Kubernetes API not reachable$/m);
    });
  });

  describe("kubeconfig: merged into the user's kubeconfig, never replacing it", () => {
    const EXISTING = `# the user's own file
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: { server: 'https://prod.example.org:6443', certificate-authority-data: UFJPRC1DQQ== }
- name: kind-local
  cluster: { server: 'https://127.0.0.1:39121', insecure-skip-tls-verify: true }
users:
- name: prod-oidc
  user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token] } }
- name: kind-local
  user: { token: abc123 }
contexts:
- name: prod
  context: { cluster: prod, user: prod-oidc, namespace: payments }
- name: kind-local
  context: { cluster: kind-local, user: kind-local }
current-context: prod
`;
    const hasKubectl = (() => {
      try {
        execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    const loadKc = (file: string) => {
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      return kc;
    };

    it('by default merges into $KUBECONFIG (its first existing file): one context named after the cluster, the others untouched, 0600, current switched', async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'kubeaz-home-'));
      const cfg = path.join(home, 'config');
      await writeFile(cfg, EXISTING, { mode: 0o644 });
      const r = await kubeaz(['kubeconfig', '-f', file], {
        ...env,
        KUBECONFIG: [path.join(home, 'missing'), cfg, path.join(home, 'other')].join(path.delimiter),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(cfg);
      expect(r.stderr).toMatch(/merged context pk-qa .*current context is now pk-qa/);
      expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
      expect((await stat(cfg)).mode & 0o777).toBe(0o600);
      const text = await readFile(cfg, 'utf8');
      expect(text.startsWith("# the user's own file\n")).toBe(true);
      const kc = loadKc(cfg);
      expect(kc.getContexts().map((c) => c.name)).toEqual(['prod', 'kind-local', 'pk-qa']);
      expect(kc.getCurrentContext()).toBe('pk-qa');
      expect(kc.getContextObject('prod')).toMatchObject({ cluster: 'prod', user: 'prod-oidc', namespace: 'payments' });
      expect(kc.getUser('kind-local')?.token).toBe('abc123');
      const certPem = Buffer.from(kc.getUser('pk-qa-admin')!.certData!, 'base64').toString();
      expect(await chainsTo(certPem, original['ca.crt']!)).toBe(true);
      const before = parse(EXISTING);
      const after = parse(text);
      for (const list of ['clusters', 'users', 'contexts']) expect(after[list].slice(0, 2), list).toEqual(before[list]);
      expect(existsSync(path.join(home, 'missing'))).toBe(false);
      expect(existsSync(path.join(home, 'other'))).toBe(false);
      expect(existsSync(`${cfg}.lock`)).toBe(false);
      expect((await readdir(home)).sort()).toEqual(['config']);
      if (hasKubectl) {
        const rows = execFileSync('kubectl', ['config', 'get-contexts'], { env: { ...process.env, KUBECONFIG: cfg } })
          .toString()
          .trim()
          .split('\n')
          .slice(1);
        expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([
          ['kind-local', 'kind-local', 'kind-local'],
          ['*', 'pk-qa', 'pk-qa', 'pk-qa-admin'],
          ['prod', 'prod', 'prod-oidc', 'payments'],
        ]);
      }
      // again, with --no-set-current after switching away: no duplicate, the current context stays
      execFileSync(process.execPath, [
        '-e',
        `const f=${JSON.stringify(cfg)};const fs=require('fs');fs.writeFileSync(f,fs.readFileSync(f,'utf8').replace(/^current-context: .*$/m,'current-context: kind-local'))`,
      ]);
      const again = await kubeaz(['kubeconfig', '-f', file, '--no-set-current'], { ...env, KUBECONFIG: cfg });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/current context stays kind-local/);
      const kc2 = loadKc(cfg);
      expect(kc2.getContexts().map((c) => c.name)).toEqual(['prod', 'kind-local', 'pk-qa']);
      expect(kc2.getCurrentContext()).toBe('kind-local');
      await rm(home, { recursive: true, force: true });
    });

    it('without $KUBECONFIG: ~/.kube/config, made (0600) when missing', async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'kubeaz-home-'));
      const r = await kubeaz(['kubeconfig', '-f', file, '--user', 'ops', '--context', 'pk'], { ...env, KUBECONFIG: undefined, HOME: home });
      expect(r.code, r.stderr).toBe(0);
      const cfg = path.join(home, '.kube', 'config');
      expect(r.stdout.trim()).toBe(cfg);
      expect((await stat(cfg)).mode & 0o777).toBe(0o600);
      const kc = loadKc(cfg);
      expect(kc.getCurrentContext()).toBe('pk');
      expect(kc.getContextObject('pk')).toMatchObject({ cluster: 'pk-qa', user: 'ops' });
      await rm(home, { recursive: true, force: true });
    });

    it('--out FILE refuses (exit 2) to replace a kubeconfig kubeaz did not write for this cluster; --merge adds to it', async () => {
      const cfg = path.join(dir, 'users-config');
      await writeFile(cfg, EXISTING);
      const r = await kubeaz(['kubeconfig', '-f', file, '--out', cfg], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /is not a kubeconfig kubeaz wrote for pk-qa \(it holds contexts prod, kind-local\): refusing to replace it; --merge/,
      );
      expect(await readFile(cfg, 'utf8')).toBe(EXISTING);
      const notes = path.join(dir, 'notes.txt');
      await writeFile(notes, 'my notes\n');
      for (const args of [
        ['--out', notes],
        ['--out', notes, '--merge'],
      ]) {
        const x = await kubeaz(['kubeconfig', '-f', file, ...args], env);
        expect(x.code, args.join(' ')).toBe(2);
        expect(await readFile(notes, 'utf8')).toBe('my notes\n');
      }
      const m = await kubeaz(['kubeconfig', '-f', file, '--out', cfg, '--merge'], env);
      expect(m.code, m.stderr).toBe(0);
      expect(
        loadKc(cfg)
          .getContexts()
          .map((c) => c.name),
      ).toEqual(['prod', 'kind-local', 'pk-qa']);
      // a standalone file kubeaz wrote for this cluster is replaced without --merge
      const own = path.join(dir, 'own.kubeconfig');
      expect((await kubeaz(['kubeconfig', '-f', file, '--out', own], env)).code).toBe(0);
      const first = await readFile(own, 'utf8');
      const second = await kubeaz(['kubeconfig', '-f', file, '--out', own], env);
      expect(second.code, second.stderr).toBe(0);
      expect(await readFile(own, 'utf8')).not.toBe(first); // a new certificate
    });

    it('--out - prints it; --admin sets the certificate lifetime; a bad duration is a usage error', async () => {
      const r = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', '2h'], env);
      expect(r.code, r.stderr).toBe(0);
      const kc = new KubeConfig();
      kc.loadFromString(r.stdout);
      expect(kc.getCurrentContext()).toBe('pk-qa');
      const cert = new x509.X509Certificate(Buffer.from(kc.getUser('pk-qa-admin')!.certData!, 'base64').toString());
      const hours = (cert.notAfter.getTime() - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(1.9);
      expect(hours).toBeLessThan(2.1);
      expect(r.stderr).toMatch(/certificate valid 2h/);
      const bad = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', 'forever'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--admin forever: expected a duration/);
    });

    it("--out FILE refuses (exit 2) a file kubeaz wrote for this cluster once someone added another user's credentials to it (issue 23 #9)", async () => {
      const own = path.join(dir, 'shared.kubeconfig');
      expect((await kubeaz(['kubeconfig', '-f', file, '--out', own], env)).code).toBe(0);
      const k = parse(await readFile(own, 'utf8'));
      k.users.push({ name: 'alice', user: { token: 'alice-s3cr3t' } });
      k.contexts.push({ name: 'alice', context: { cluster: 'pk-qa', user: 'alice' } });
      const added = stringify(k);
      await writeFile(own, added);
      const r = await kubeaz(['kubeconfig', '-f', file, '--out', own], env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is not a kubeconfig kubeaz wrote for pk-qa .*refusing to replace it; --merge/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(await readFile(own, 'utf8')).toBe(added);
      // only a user, no context: still refused
      const k2 = parse(await readFile(own, 'utf8'));
      k2.contexts.pop();
      await writeFile(own, stringify(k2));
      expect((await kubeaz(['kubeconfig', '-f', file, '--out', own], env)).code).toBe(2);
      expect(parse(await readFile(own, 'utf8')).users.map((u: { name: string }) => u.name)).toEqual(['pk-qa-admin', 'alice']);
      // --merge keeps alice
      const m = await kubeaz(['kubeconfig', '-f', file, '--out', own, '--merge'], env);
      expect(m.code, m.stderr).toBe(0);
      expect(loadKc(own).getUser('alice')?.token).toBe('alice-s3cr3t');
    });

    it('a FIFO, a directory, a socket, a device or a dangling symlink is refused at once (exit 2, one line), never read, replaced or hung on (issue 23 #10)', async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'kubeaz-odd-'));
      const fifo = path.join(home, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const sockPath = path.join(home, 'sock');
      const sock = createServer();
      await new Promise<void>((r) => sock.listen(sockPath, () => r()));
      const dangling = path.join(home, 'dangling');
      await symlink(path.join(home, 'nowhere', 'config'), dangling);
      await mkdir(path.join(home, '.kube'));
      await symlink(path.join(home, 'gone'), path.join(home, '.kube', 'config'));
      const cases: Array<[string, string[], Record<string, string | undefined>, RegExp]> = [
        ['--out FIFO', ['--out', fifo], {}, /is a FIFO \(named pipe\), not a regular file/],
        ['$KUBECONFIG FIFO', [], { KUBECONFIG: fifo }, /is a FIFO/],
        ['--out directory', ['--out', home], {}, /is a directory, not a regular file/],
        ['--out socket', ['--out', sockPath], {}, /is a socket/],
        ['--out device', ['--out', '/dev/null'], {}, /is a device/],
        [
          '--out dangling symlink',
          ['--out', dangling],
          {},
          /is a symlink to .*nowhere\/config, which does not exist: refusing to replace the link/,
        ],
        [
          '~/.kube/config dangling',
          [],
          { KUBECONFIG: undefined, HOME: home },
          /\.kube\/config is a symlink to .*gone, which does not exist/,
        ],
      ];
      try {
        for (const [what, args, extra, message] of cases) {
          // a hang (the FIFO read) ends in SIGKILL at the timeout: exit 137, not 2
          const r = await kubeaz(['kubeconfig', '-f', file, ...args], { ...env, ...extra }, { timeoutMs: 90_000 });
          expect(r.code, `${what}: ${r.stderr}`).toBe(2);
          expect(r.stderr, what).toMatch(message);
          expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
        }
        expect((await lstat(dangling)).isSymbolicLink()).toBe(true);
        expect((await lstat(path.join(home, '.kube', 'config'))).isSymbolicLink()).toBe(true);
        expect((await lstat(fifo)).isFIFO()).toBe(true);
        expect((await readdir(home)).sort()).toEqual(['.kube', 'dangling', 'fifo', 'sock']);
        // a symlink to a regular file is still followed: the file is written, the link stays
        const real = path.join(home, 'real-config');
        await writeFile(real, '');
        const link = path.join(home, 'link');
        await symlink(real, link);
        const ok = await kubeaz(['kubeconfig', '-f', file], { ...env, KUBECONFIG: link });
        expect(ok.code, ok.stderr).toBe(0);
        expect((await lstat(link)).isSymbolicLink()).toBe(true);
        expect(loadKc(real).getCurrentContext()).toBe('pk-qa');
      } finally {
        await new Promise<void>((r) => sock.close(() => r()));
        await rm(home, { recursive: true, force: true });
      }
    }, 900_000);

    it('an entry being replaced that holds a YAML anchor used elsewhere: the aliases keep their values (issue 23 #10)', async () => {
      const home = await mkdtemp(path.join(tmpdir(), 'kubeaz-anchor-'));
      const cfg = path.join(home, 'config');
      const text = `apiVersion: v1
kind: Config
clusters:
- name: pk-qa
  cluster:
    server: https://old.example.com
    certificate-authority-data: &ca UFJPRC1DQQ==
- name: prod
  cluster: { server: 'https://prod.example.org:6443', certificate-authority-data: *ca }
users:
- name: pk-qa-admin
  user: &u { token: old }
- name: prod
  user: *u
contexts:
- name: prod
  context: { cluster: prod, user: prod }
current-context: prod
`;
      await writeFile(cfg, text);
      const r = await kubeaz(['kubeconfig', '-f', file], { ...env, KUBECONFIG: cfg });
      expect(r.code, r.stderr).toBe(0);
      const kc = loadKc(cfg);
      expect(kc.getCluster('prod')?.caData).toBe('UFJPRC1DQQ==');
      expect(kc.getUser('prod')?.token).toBe('old');
      expect(kc.getCluster('pk-qa')?.server).not.toBe('https://old.example.com');
      expect(kc.getCurrentContext()).toBe('pk-qa');
      await rm(home, { recursive: true, force: true });
    });

    it('--admin: over the 168h cap a usage error naming the cap and why, unless --admin-unlimited; an unparsable or out-of-range duration a usage error (issue 23 #10)', async () => {
      for (const [admin, message] of [
        ['169h', /--admin 169h: longer than the 168h \(7d\) cap — a system:masters certificate cannot be revoked.*--admin-unlimited/],
        ['8d', /--admin 8d: longer than the 168h/],
        ['100000d', /--admin 100000d: expected a duration such as 18h, 90m or 7d \(at most 36500d\)/],
        ['9999999999999h', /--admin 9999999999999h: expected a duration/],
        ['1e3h', /expected a duration/],
      ] as const) {
        const r = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', admin], env);
        expect(r.code, `${admin}: ${r.stderr}`).toBe(2);
        expect(r.stderr, admin).toMatch(message);
        expect(r.stderr.trim().split('\n'), admin).toHaveLength(1);
        expect(r.stdout, admin).toBe('');
      }
      const over = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', '4000d', '--admin-unlimited'], env);
      expect(over.code, over.stderr).toBe(2);
      expect(over.stderr).toMatch(/longer than the cluster CA's own 10 years/);
      const week = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', '168h'], env);
      expect(week.code, week.stderr).toBe(0);
      const r = await kubeaz(['kubeconfig', '-f', file, '--out', '-', '--admin', '30d', '--admin-unlimited'], env);
      expect(r.code, r.stderr).toBe(0);
      const kc = new KubeConfig();
      kc.loadFromString(r.stdout);
      const cert = new x509.X509Certificate(Buffer.from(kc.getUser('pk-qa-admin')!.certData!, 'base64').toString());
      const days = (cert.notAfter.getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThan(30.1);
    });
  });
});
