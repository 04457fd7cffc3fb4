/**
 * The cluster's PKI and the admin kubeconfig, without AWS: CAs are proper, long-lived CAs that
 * OpenSSL accepts; the admin certificate chains to the cluster CA with the right CN and O; the
 * kubeconfig names the right endpoint for each shape of spec.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../helpers/sdk-mock.js';
import { chainsTo, generateCa, generateServiceAccountKeys, PKI_FILES, signClientCert, x509, type PemPair } from '../../src/pki/ca.js';
import { apiEndpoint, renderKubeconfig } from '../../src/pki/kubeconfig.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import type { AgentContext } from '../../src/agent/context.js';
import { kubeadmInput, masterSettingsOf } from '../../src/agent/master/boot.js';
import { renderInitConfig } from '../../src/agent/master/kubeadm-config.js';
import { fetchPki } from '../../src/agent/master/pki.js';
import { parseAgentConfig } from '../../src/records/agent-config.js';
import { FakePrograms, testMaster } from '../helpers/agent-master.js';
import { MemoryBucket } from '../helpers/memory-s3.js';
import { parseSpec } from '../../src/spec/load.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'); // no publicDomain
const exampleWithDomain = withPublicDomain(example); // publicDomain example.com
const variant = (from: string, to: string, base = example) => {
  expect(base.split(from).length, `test bug: ${from}`).toBe(2);
  return parseSpec(base.replace(from, to), 'v.yaml').spec;
};

describe('PKI', () => {
  let ca: PemPair;
  beforeAll(async () => {
    ca = await generateCa('kubernetes');
  });

  it("names exactly the files the master's agent fetches from pki/ and kubeadm finds in /etc/kubernetes/pki (keys 0600)", async () => {
    // kubeadm's names for the CAs it must not make itself, and the service-account pair
    expect([...PKI_FILES].sort()).toEqual([
      'ca.crt',
      'ca.key',
      'etcd/ca.crt',
      'etcd/ca.key',
      'front-proxy-ca.crt',
      'front-proxy-ca.key',
      'sa.key',
      'sa.pub',
    ]);
    const s3 = sdkMock(S3Client);
    try {
      const bucket = new MemoryBucket('kubeaz-demo-dev-123456789012');
      for (const f of PKI_FILES) bucket.put(`pki/${f}`, `the bucket's ${f}\n`);
      bucket.put('pki/extra.key', 'not fetched');
      bucket.attach(s3);
      const m = testMaster({
        instanceId: 'i-0000000000000pki',
        group: 'master',
        ip: '10.0.1.5',
        aws: { s3: async () => new S3Client({ region: 'us-east-1' }) } as never,
        bucket: bucket.name,
        sink: { put: async () => {} },
        programs: new FakePrograms(),
      });
      await fetchPki(m.ctx);
      expect(
        bucket.log
          .filter((l) => l.startsWith('get '))
          .map((l) => l.slice(4))
          .sort(),
      ).toEqual(PKI_FILES.map((f) => `pki/${f}`).sort());
      for (const f of PKI_FILES) {
        const file = join(m.ctx.root, 'etc/kubernetes/pki', f);
        expect(readFileSync(file, 'utf8')).toBe(`the bucket's ${f}\n`);
        expect(statSync(file).mode & 0o777, f).toBe(f.endsWith('.key') ? 0o600 : 0o644);
      }
      // a missing one stops the boot, naming it
      bucket.objects.delete('pki/sa.pub');
      await expect(fetchPki(m.ctx)).rejects.toThrow(/s3:\/\/kubeaz-demo-dev-123456789012\/pki\/sa\.pub is missing/);
      rmSync(m.ctx.root, { recursive: true, force: true });
    } finally {
      s3.restore();
    }
  });

  it('a CA is a self-signed, critical CA:TRUE certificate valid for 10 years, with its key', async () => {
    const c = new x509.X509Certificate(ca.cert);
    expect(c.subject).toBe('CN=kubernetes');
    expect(c.issuer).toBe(c.subject);
    expect(await c.isSelfSigned()).toBe(true);
    const bc = c.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.critical).toBe(true);
    const ku = c.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(ku.critical).toBe(true);
    expect(c.getExtension(x509.SubjectKeyIdentifierExtension)).toBeTruthy();
    const years = (c.notAfter.getTime() - Date.now()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(9.99);
    expect(years).toBeLessThan(10.01);
    expect(c.notBefore.getTime()).toBeLessThan(Date.now());
    // the key is the certificate's, in PKCS#8 PEM
    expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const spki = createPublicKey(createPrivateKey(ca.key)).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(c.publicKey.rawData).equals(spki)).toBe(true);
    expect(createPrivateKey(ca.key).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('two CAs never share a key or a serial', async () => {
    const other = await generateCa('etcd-ca');
    expect(other.key).not.toBe(ca.key);
    expect(new x509.X509Certificate(other.cert).serialNumber).not.toBe(new x509.X509Certificate(ca.cert).serialNumber);
  });

  it('the service-account key pair: sa.pub is the public half of sa.key', async () => {
    const sa = await generateServiceAccountKeys();
    expect(sa.cert).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(createPublicKey(createPrivateKey(sa.key)).export({ type: 'spki', format: 'pem' })).toBe(sa.cert);
  });

  it('the admin client certificate chains to the CA: CN=kubernetes-admin, O=system:masters, clientAuth, 1 year', async () => {
    const client = await signClientCert(ca.cert, ca.key, 'kubernetes-admin', ['system:masters']);
    expect(await chainsTo(client.cert, ca.cert)).toBe(true);
    const c = new x509.X509Certificate(client.cert);
    expect(c.subjectName.getField('CN')).toEqual(['kubernetes-admin']);
    expect(c.subjectName.getField('O')).toEqual(['system:masters']);
    expect(c.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    expect(c.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    const days = (c.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364.9);
    expect(days).toBeLessThan(365.1);
    // a certificate of another CA does not chain
    const other = await generateCa('kubernetes');
    expect(await chainsTo(client.cert, other.cert)).toBe(false);
    // openssl verify -purpose sslclient: test/integration/pki.test.ts
  });

  it("refuses to sign with a key that is not the CA certificate's", async () => {
    const other = await generateCa('kubernetes');
    await expect(signClientCert(ca.cert, other.key, 'kubernetes-admin', ['system:masters'])).rejects.toThrow(/does not belong/);
  });
});

describe('kubeconfig endpoint', () => {
  it('public domain and public API: the public master record', () => {
    const spec = parseSpec(exampleWithDomain, 'v.yaml').spec;
    expect(apiEndpoint(spec, { public: 'x.elb', internal: 'y.elb' })).toEqual({
      server: 'https://master.dev.example.com:443',
      via: 'public-record',
    });
  });
  it('no public domain (cluster.example.yaml as shipped): the internet-facing ELB', () => {
    const noRecord = parseSpec(example, 'cluster.example.yaml').spec;
    expect(apiEndpoint(noRecord, { public: 'demo-dev-api-1.us-east-1.elb.amazonaws.com', internal: 'i' })).toEqual({
      server: 'https://demo-dev-api-1.us-east-1.elb.amazonaws.com:443',
      via: 'public-elb',
      tlsServerName: 'master.dev.kube',
    });
    expect(() => apiEndpoint(noRecord, { internal: 'i' })).toThrow(/kubeaz create/);
  });
  it('no public API: the internal ELB, even with a public domain', () => {
    const spec = variant('apiAccess: [0.0.0.0/0]', 'apiAccess: []', exampleWithDomain);
    expect(apiEndpoint(spec, { internal: 'internal-demo-dev-api-int-1.us-east-1.elb.amazonaws.com' })).toEqual({
      server: 'https://internal-demo-dev-api-int-1.us-east-1.elb.amazonaws.com:443',
      via: 'internal-elb',
      tlsServerName: 'master.dev.kube',
    });
  });
  it('renders a kubeconfig kubectl reads', () => {
    const text = renderKubeconfig({
      clusterName: 'demo-dev',
      server: 'https://m:443',
      caCert: 'CA',
      user: 'kubernetes-admin',
      clientCert: 'C',
      clientKey: 'K',
    });
    const k = parse(text);
    expect(k['current-context']).toBe('kubernetes-admin@demo-dev');
    expect(k.clusters[0].cluster.server).toBe('https://m:443');
    expect(Buffer.from(k.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe('CA');
    expect(Buffer.from(k.users[0].user['client-key-data'], 'base64').toString()).toBe('K');
    expect(k.contexts[0].context).toEqual({ cluster: 'demo-dev', user: 'kubernetes-admin@demo-dev' });
  });
});

/**
 * The kubeadm ClusterConfiguration's apiServer.certSANs a master renders (src/agent/master/kubeadm-config.ts)
 * from the agent configuration `create` puts in the bucket (the master's own private IP left out).
 */
function renderedCertSans(spec: ReturnType<typeof variant>): string[] {
  const templates = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, readFileSync(join(ROOT, 'templates', t), 'utf8')]));
  const g = deriveGraph(spec, { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates });
  const config = parseAgentConfig((g.nodes.find((n) => n.key === 'object/agent/config.json')!.props as { body: string }).body);
  if (config instanceof Error) throw config;
  const ctx = { config, root: '/', identity: { hostname: 'ip-10-0-1-5.ec2.internal', privateIp: '10.0.1.5' } } as unknown as AgentContext;
  const [, cluster] = parseAllDocuments(renderInitConfig(kubeadmInput(ctx, masterSettingsOf(ctx)))).map(
    (d) => d.toJS() as { kind: string; apiServer: { certSANs: string[] } },
  );
  expect(cluster!.kind).toBe('ClusterConfiguration');
  expect(cluster!.apiServer.certSANs).toContain('10.0.1.5');
  return cluster!.apiServer.certSANs.filter((n) => n !== '10.0.1.5');
}

describe('kubeconfig TLS names against the API server certificate', () => {
  // Every DNS combination: public domain or not × public API or not. kubeadm always adds
  // kubernetes, kubernetes.default… and the node's name/IP; the ELB's own DNS name is never there.
  const combos: Array<[string, () => ReturnType<typeof variant>]> = [
    ['publicDomain, apiAccess [0.0.0.0/0]', () => parseSpec(exampleWithDomain, 'v.yaml').spec],
    ['publicDomain, apiAccess []', () => variant('apiAccess: [0.0.0.0/0]', 'apiAccess: []', exampleWithDomain)],
    ['no publicDomain, apiAccess [0.0.0.0/0]', () => parseSpec(example, 'cluster.example.yaml').spec],
    ['no publicDomain, apiAccess []', () => variant('apiAccess: [0.0.0.0/0]', 'apiAccess: []')],
  ];
  it.each(combos)('%s: the name TLS checks is one the rendered certificate carries', (_name, make) => {
    const spec = make();
    const sans = renderedCertSans(spec);
    expect(sans).toContain('master.dev.kube');
    const endpoint = apiEndpoint(spec, {
      public: 'demo-dev-api-1.us-east-1.elb.amazonaws.com',
      internal: 'internal-demo-dev-api-int-1.us-east-1.elb.amazonaws.com',
    });
    const k = parse(
      renderKubeconfig({
        clusterName: 'demo-dev',
        server: endpoint.server,
        tlsServerName: endpoint.tlsServerName,
        caCert: 'CA',
        user: 'u',
        clientCert: 'C',
        clientKey: 'K',
      }),
    );
    const cluster = k.clusters[0].cluster as { server: string; 'tls-server-name'?: string };
    const host = new URL(cluster.server).hostname;
    const checked = cluster['tls-server-name'] ?? host;
    expect(sans, `${cluster.server} verified as ${checked}`).toContain(checked);
    if (/\.elb\.amazonaws\.com$/.test(host)) expect(cluster['tls-server-name']).toBe('master.dev.kube');
    else expect(cluster['tls-server-name']).toBeUndefined();
  });
});
