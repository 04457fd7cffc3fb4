/**
 * The cluster's identity: the three CAs kubeadm expects (cluster, etcd, front-proxy) and the
 * service-account key pair, made once by `create` and kept in s3://<bucket>/pki/ so a rebuilt
 * master keeps the same identity. Also the admin client certificate of `kubeaz kubeconfig`.
 *
 * X.509 with @peculiar/x509 on node's WebCrypto; keys are RSA 2048 (kubeadm's default), PEM
 * PKCS#8 ("PRIVATE KEY"), which kubeadm and the API server read. Nothing here does I/O.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;

x509.cryptoProvider.set(webcrypto as never);

const RSA: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const subtle = webcrypto.subtle;

/** The files master.sh fetches from pki/, as pairs: a CA's certificate goes with its key. */
export const PKI_PAIRS = [
  { name: 'cluster CA', cert: 'ca.crt', key: 'ca.key', commonName: 'kubernetes' },
  { name: 'etcd CA', cert: 'etcd/ca.crt', key: 'etcd/ca.key', commonName: 'etcd-ca' },
  { name: 'front-proxy CA', cert: 'front-proxy-ca.crt', key: 'front-proxy-ca.key', commonName: 'front-proxy-ca' },
  { name: 'service-account key pair', cert: 'sa.pub', key: 'sa.key', commonName: undefined },
] as const;
export type PkiPair = (typeof PKI_PAIRS)[number];
export const PKI_FILES: readonly string[] = PKI_PAIRS.flatMap((p) => [p.cert, p.key]);

export const CA_YEARS = 10;
export const ADMIN_CERT_DAYS = 365;

/** A positive serial number of 16 random bytes (RFC 5280: at most 20 octets, positive). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

const pem = (label: string, der: ArrayBuffer): string => {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
};

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await subtle.exportKey('pkcs8', key));
}
async function publicPem(key: CryptoKey): Promise<string> {
  return pem('PUBLIC KEY', await subtle.exportKey('spki', key));
}

export interface PemPair {
  cert: string;
  key: string;
}

/** A self-signed CA: basicConstraints CA:TRUE (critical), keyCertSign|cRLSign|digitalSignature (critical), SKI. */
export async function generateCa(commonName: string, now = new Date(), existing?: CryptoKeyPair): Promise<PemPair> {
  const keys = existing ?? (await newKeyPair());
  const notBefore = new Date(now.getTime() - 5 * 60_000); // clock skew
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: RSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await privatePem(keys.privateKey) };
}

/** The service-account signing key pair: sa.key (PKCS#8) and sa.pub (SPKI). */
export async function generateServiceAccountKeys(): Promise<PemPair> {
  const keys = await newKeyPair();
  return { cert: await publicPem(keys.publicKey), key: await privatePem(keys.privateKey) };
}

/** Every file of one pair, freshly generated. */
export async function generatePair(pair: PkiPair, now = new Date()): Promise<PemPair> {
  return pair.commonName ? generateCa(pair.commonName, now) : generateServiceAccountKeys();
}

/**
 * The public half of a pair, made again from its private key (a create killed between writing the
 * key and the certificate leaves only the key). A CA certificate re-issued from the same key and
 * name is trusted by everything the first one signed: trust follows the key and the subject.
 */
export async function completeFromKey(pair: PkiPair, keyPem: string, now = new Date()): Promise<string> {
  const priv = createPrivateKey(keyPem);
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  if (!pair.commonName) return pem('PUBLIC KEY', new Uint8Array(spki).buffer);
  const keys: CryptoKeyPair = {
    privateKey: await subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), RSA, true, ['sign']),
    publicKey: await subtle.importKey('spki', spki, RSA, true, ['verify']),
  };
  return (await generateCa(pair.commonName, now, keys)).cert;
}

/** Imports a PEM private key of any common form (PKCS#1, PKCS#8, SEC1) for signing. */
async function importSigningKey(
  keyPem: string,
): Promise<{ key: CryptoKey; algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; signing: Algorithm }> {
  const k = createPrivateKey(keyPem);
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm, signing: algorithm };
  }
  if (k.asymmetricKeyType === 'ec') {
    const curve = (k.asymmetricKeyDetails?.namedCurve ?? 'prime256v1') as string;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : curve;
    const algorithm = { name: 'ECDSA', namedCurve };
    return {
      key: await subtle.importKey('pkcs8', der, algorithm, false, ['sign']),
      algorithm,
      signing: { name: 'ECDSA', hash: 'SHA-256' } as Algorithm,
    };
  }
  throw new Error(`unsupported CA key type ${k.asymmetricKeyType ?? 'unknown'}`);
}

export interface ClientCert {
  cert: string;
  key: string;
}

/**
 * A client certificate signed by the cluster CA: CN=<user>, O=<groups> (Kubernetes reads the
 * user from CN and the groups from O), clientAuth only, `days` long.
 */
export async function signClientCert(
  caCertPem: string,
  caKeyPem: string,
  user: string,
  groups: string[],
  days = ADMIN_CERT_DAYS,
  now = new Date(),
): Promise<ClientCert> {
  const ca = new x509.X509Certificate(caCertPem);
  const signer = await importSigningKey(caKeyPem);
  // The CA key must be the key of the CA certificate, or the client certificate would not chain.
  const caSpki = Buffer.from(ca.publicKey.rawData);
  const keySpki = createPublicKey(createPrivateKey(caKeyPem)).export({ type: 'spki', format: 'der' });
  if (!caSpki.equals(keySpki)) throw new Error('the CA key does not belong to the CA certificate');
  const keys = await newKeyPair();
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const subject = [{ CN: [user] }, ...groups.map((g) => ({ O: [g] }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name(subject).toString(),
    // the CA's subject as its own DER bytes: a re-encoded name (UTF8String for PrintableString) is another name to Go's verifier
    issuer: ca.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.signing,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await privatePem(keys.privateKey) };
}

/**
 * A serving certificate signed by a CA (the pod-identity webhook's, by the cluster CA): CN and DNS
 * subject alternative names, serverAuth only, `days` long.
 */
export async function signServerCert(
  caCertPem: string,
  caKeyPem: string,
  commonName: string,
  dnsNames: string[],
  days = 3650,
  now = new Date(),
): Promise<ClientCert> {
  const ca = new x509.X509Certificate(caCertPem);
  const signer = await importSigningKey(caKeyPem);
  const caSpki = Buffer.from(ca.publicKey.rawData);
  const keySpki = createPublicKey(createPrivateKey(caKeyPem)).export({ type: 'spki', format: 'der' });
  if (!caSpki.equals(keySpki)) throw new Error('the CA key does not belong to the CA certificate');
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name([{ CN: [commonName] }]).toString(),
    // the CA's subject as its own DER bytes: a re-encoded name (UTF8String for PrintableString) is another name to Go's verifier
    issuer: ca.subjectName,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + days * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.signing,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await privatePem(keys.privateKey) };
}

/**
 * kubeadm's --discovery-token-ca-cert-hash of a CA certificate: sha256 over its DER
 * SubjectPublicKeyInfo, as `sha256:<hex>` (computed, never read from kubeadm's text output).
 */
export function caCertHash(caCertPem: string): string {
  const spki = createPublicKey(caCertPem).export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Whether a certificate is still valid `marginDays` from `now`. */
export function validFor(certPem: string, marginDays: number, now = new Date()): boolean {
  const c = new x509.X509Certificate(certPem);
  return c.notAfter.getTime() > now.getTime() + marginDays * 86_400_000 && c.notBefore.getTime() <= now.getTime();
}

/** Does `certPem` verify under `caPem` (signature, and issuer = CA subject)? */
export async function chainsTo(certPem: string, caPem: string): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  if (cert.issuer !== ca.subject) return false;
  return cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
}

export { x509 };
