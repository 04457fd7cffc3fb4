/**
 * A local HTTPS server answering the three Kubernetes API reads status makes (/version, the
 * NodeList, kube-system's PodList) from fixtures — no API server runs here. Its certificate is
 * signed by the given CA for 127.0.0.1, and it requires a client certificate from that same CA,
 * as an API server does.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { x509 } from '../../src/pki/ca.js';

export interface FakeApi {
  url: string;
  /** what the next requests get */
  serve(f: { nodes: unknown; pods: unknown; version: unknown; readyz?: Record<string, number> }): void;
  requests: string[];
  stop(): Promise<void>;
}

async function serverCert(caCertPem: string, caKeyPem: string): Promise<{ cert: string; key: string }> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const caKey = await webcrypto.subtle.importKey('pkcs8', der(caKeyPem), alg, false, ['sign']);
  const ca = new x509.X509Certificate(caCertPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    cert: cert.toString('pem'),
    key: `-----BEGIN PRIVATE KEY-----\n${key.replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`,
  };
}

export async function startFakeApi(caCertPem: string, caKeyPem: string): Promise<FakeApi> {
  const { cert, key } = await serverCert(caCertPem, caKeyPem);
  let fixtures: { nodes: unknown; pods: unknown; version: unknown; readyz?: Record<string, number> } = { nodes: {}, pods: {}, version: {} };
  const requests: string[] = [];
  const server: Server = createServer({ cert, key, ca: caCertPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    requests.push(path!);
    // /readyz, /readyz/etcd: the HTTP status given (the API server answers 'ok' or the failed checks)
    const readyz = fixtures.readyz?.[path!];
    if (readyz !== undefined) {
      res.writeHead(readyz, { 'content-type': 'text/plain' });
      res.end(readyz === 200 ? 'ok' : `[-]${path!.split('/').pop()} failed: reason withheld\nreadyz check failed`);
      return;
    }
    const body =
      path === '/version'
        ? fixtures.version
        : path === '/api/v1/nodes'
          ? fixtures.nodes
          : path === '/api/v1/namespaces/kube-system/pods'
            ? fixtures.pods
            : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the server could not find the requested resource',
          reason: 'NotFound',
          details: {},
          code: 404,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    serve: (f) => (fixtures = f),
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
