/**
 * What a master keeps fresh under `join/` for nodes to join with (the agent's `join-token` timer;
 * masters of an older kubeaz ran join-token.sh): two text objects, the bootstrap token
 * and the CA's public-key hash, in the format `kubeadm join` takes them. Both readers (the node
 * agent, scripts still running during a rollout) read the same two keys.
 */

export const JOIN_TOKEN_KEY = 'join/token';
export const JOIN_CA_HASH_KEY = 'join/ca-cert-hash';

/** kubeadm's bootstrap token format: `[a-z0-9]{6}.[a-z0-9]{16}`. */
export const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
/** `sha256:<64 hex>`, as `--discovery-token-ca-cert-hash` takes it. */
export const CA_CERT_HASH = /^sha256:[a-f0-9]{64}$/;

export interface JoinRecord {
  token: string;
  caCertHash: string;
}

/** The two objects' texts as a record, or an error saying which one is not what kubeadm takes. */
export function parseJoin(tokenText: string, hashText: string): JoinRecord | Error {
  const token = tokenText.trim();
  const caCertHash = hashText.trim();
  // never echo the token itself: the message may end up in a boot report
  if (!BOOTSTRAP_TOKEN.test(token)) return new Error(`${JOIN_TOKEN_KEY} does not hold a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})`);
  if (!CA_CERT_HASH.test(caCertHash)) return new Error(`${JOIN_CA_HASH_KEY} does not hold sha256:<64 hex>`);
  return { token, caCertHash };
}
