/**
 * The service-account issuer's public documents, PURE: the JWKS made from pki/sa.pub exactly as
 * kube-apiserver serves it at /openid/v1/jwks, and the OpenID discovery document of
 * /.well-known/openid-configuration. STS fetches both from the issuer URL when a pod presents a
 * projected token; the token's `kid` must name a key of the JWKS, and the discovery document's
 * `issuer` must equal the token's `iss` (= --service-account-issuer) byte for byte.
 */
import { createHash, createPublicKey } from 'node:crypto';

/** Where kube-apiserver itself serves the two documents; the discovery bucket uses the same keys. */
export const DISCOVERY_KEY = '.well-known/openid-configuration';
export const JWKS_KEY = 'openid/v1/jwks';

/**
 * kube-apiserver's key id (pkg/serviceaccount/jwt.go keyIDFromPublicKey): the unpadded base64url
 * of the SHA-256 of the key's PKIX (SubjectPublicKeyInfo) DER encoding.
 */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url');
}

export interface Jwk {
  use: 'sig';
  kty: 'RSA';
  kid: string;
  alg: 'RS256';
  n: string;
  e: string;
}

/** The JWKS of the service-account public key(s), as kube-apiserver renders it (member order included). */
export function jwksOf(publicKeyPems: readonly string[]): string {
  const keys: Jwk[] = publicKeyPems.map((pem) => {
    const jwk = createPublicKey(pem).export({ format: 'jwk' }) as { kty?: string; n?: string; e?: string };
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e)
      throw new Error('the service-account key is not an RSA key: kubeaz publishes RS256 keys only');
    return { use: 'sig', kty: 'RSA', kid: keyIdOf(pem), alg: 'RS256', n: jwk.n, e: jwk.e };
  });
  return JSON.stringify({ keys });
}

/** The OpenID discovery document of an issuer (what kube-apiserver serves, with the published JWKS's URL). */
export function discoveryDocument(issuer: string): string {
  return JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/${JWKS_KEY}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  });
}
