/**
 * The cluster PKI (src/pki/ca.ts) checked by an independent verifier, the openssl command line; what
 * the certificates say is test/unit/pki.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, signClientCert, type PemPair } from '../../src/pki/ca.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

describe('PKI', () => {
  let ca: PemPair;
  let dir: string;
  beforeAll(async () => {
    ca = await generateCa('kubernetes');
    dir = mkdtempSync(join(tmpdir(), 'kubeaz-pki-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.runIf(hasOpenssl)(
    'the admin client certificate chains to the CA for openssl as a client certificate (openssl verify -purpose sslclient)',
    async () => {
      const client = await signClientCert(ca.cert, ca.key, 'kubernetes-admin', ['system:masters']);
      writeFileSync(join(dir, 'ca.crt'), ca.cert);
      writeFileSync(join(dir, 'admin.crt'), client.cert);
      expect(
        execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.crt'), join(dir, 'admin.crt')]).toString(),
      ).toMatch(/OK/);
    },
  );
});
