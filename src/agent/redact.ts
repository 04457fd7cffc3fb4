/**
 * What a boot report may show of a program's output: the last lines, with every secret the
 * agent could have seen replaced. Patterns (kubeadm's bootstrap tokens, its certificate keys, PEM
 * blocks, base64 PEM inside kubeconfigs) catch what the agent never read itself; exact values it
 * did read from pki/ (keys, certificates) are added to the redactor as they are read.
 */

const RULES: ReadonlyArray<[RegExp, string]> = [
  // PEM blocks, terminated or cut off by the tail's end
  [/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, '<redacted PEM>'],
  // base64 of "-----BEGIN" (kubeconfig *-data fields, secrets printed by kubectl)
  [/LS0tLS1CRUdJT[A-Za-z0-9+/=]*/g, '<redacted PEM>'],
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}
  [/(?<![A-Za-z0-9])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9])/g, '<redacted token>'],
  // kubeadm --certificate-key (64 hex; a sha256:<hex> CA hash is covered too, harmlessly)
  [/(?<![A-Fa-f0-9])[A-Fa-f0-9]{64}(?![A-Fa-f0-9])/g, '<redacted key>'],
  // `token: …`, `client-key-data: …` and friends in YAML/JSON echoes
  [/((?:token|client-key-data|client-certificate-data|password|secret)["']?\s*[:=]\s*["']?)[^\s"',]+/gi, '$1<redacted>'],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** An exact value never to show (a key or certificate read from pki/, a join token); values under 8 characters are ignored. */
  add(secret: string): void {
    const s = secret.trim();
    if (s.length < 8) return;
    this.secrets.add(s);
    // a multi-line secret is also recognised line by line (a tail may cut it)
    for (const line of s.split('\n')) if (line.trim().length >= 16) this.secrets.add(line.trim());
  }

  redact(text: string): string {
    let out = text;
    // the longest first, so a whole PEM goes before its lines
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('<redacted secret>');
    for (const [re, by] of RULES) out = out.replace(re, by);
    return out;
  }
}

/** The last `lines` lines of a text, redacted, at most `maxChars` long (the end kept). */
export function redactedTail(text: string, redactor: Redactor, lines = 40, maxChars = 4000): string {
  const tail = text.split('\n').slice(-lines).join('\n');
  const r = redactor.redact(tail);
  return r.length > maxChars ? `…${r.slice(r.length - maxChars + 1)}` : r;
}
