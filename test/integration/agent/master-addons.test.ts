/**
 * The certificates the master's agent makes itself, checked by the openssl command line (an
 * independent implementation): kubeadm's CA hash, and the pod-identity webhook's serving
 * certificate as the add-on runner signs it (src/agent/master/addon-runner.ts). The rest of the
 * add-ons is test/unit/agent/master-addons.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { webhookDnsNames } from '../../../src/agent/master/addon-runner.js';
import { caCertHash, generateCa, signServerCert } from '../../../src/pki/ca.js';

describe('certificates the master makes', () => {
  it('kubeadm`s CA hash equals what openssl computes from the certificate`s public key', async () => {
    const ca = await generateCa('kubernetes');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cahash-'));
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    const der = execFileSync('sh', [
      '-c',
      `openssl x509 -pubkey -noout -in ${dir}/ca.crt | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`,
    ])
      .toString()
      .trim();
    fs.rmSync(dir, { recursive: true });
    expect(caCertHash(ca.cert)).toBe(`sha256:${der}`);
  });

  it('openssl verifies the webhook`s serving certificate against the cluster CA: every name of its Service, a server certificate', async () => {
    const ca = await generateCa('kubernetes');
    const s = await signServerCert(ca.cert, ca.key, 'pod-identity-webhook.kube-system.svc', webhookDnsNames(), 3650);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-'));
    try {
      const caFile = path.join(dir, 'ca.crt');
      const certFile = path.join(dir, 'served.crt');
      fs.writeFileSync(caFile, ca.cert);
      fs.writeFileSync(certFile, s.cert);
      expect(execFileSync('openssl', ['verify', '-CAfile', caFile, certFile]).toString().trim()).toBe(`${certFile}: OK`);
      const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-text']).toString();
      for (const n of [
        'pod-identity-webhook',
        'pod-identity-webhook.kube-system',
        'pod-identity-webhook.kube-system.svc',
        'pod-identity-webhook.kube-system.svc.cluster.local',
      ])
        expect(text).toContain(`DNS:${n}`);
      expect(text).toContain('TLS Web Server Authentication');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
