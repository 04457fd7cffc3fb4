/**
 * The master's day jobs besides backups: the join token (a 48-hour bootstrap token renewed every 12
 * hours, written with the CA hash under join/ — the hash first, the token last: nodes wait for the
 * token) and the node-role labels (a kubelet may not set node-role.kubernetes.io/* on itself, so the
 * master labels each node whose kubelet registered kubeaz.io/role=node|loadbalancer).
 *
 * The token is made HERE (crypto random) and handed to `kubeadm token create <token>`, and the CA
 * hash computed from ca.crt: nothing is read back from kubeadm's text output.
 */
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { caCertHash } from '../../pki/ca.js';
import { JOIN_CA_HASH_KEY, JOIN_TOKEN_KEY } from '../../records/join.js';
import { putText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { check, runChecked } from '../programs.js';
import { ADMIN_KUBECONFIG, PKI_DIR } from './paths.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const pick = (n: number, rnd: (max: number) => number) => Array.from({ length: n }, () => ALPHABET[rnd(ALPHABET.length)]).join('');

/** A kubeadm bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}, from a CSPRNG. */
export const newBootstrapToken = (rnd: (max: number) => number = randomInt): string => `${pick(6, rnd)}.${pick(16, rnd)}`;

export const TOKEN_TTL = '48h';

export async function renewJoinToken(ctx: AgentContext): Promise<void> {
  const token = newBootstrapToken();
  ctx.reporter.redactor.add(token);
  const kubeconfig = hostPath(ctx, ADMIN_KUBECONFIG);
  const args = ['token', 'create', token, '--kubeconfig', kubeconfig, '--ttl', TOKEN_TTL, '--description', 'kubeaz node join'];
  // right after init the API may not take writes yet: retried
  for (let i = 1; ; i++) {
    const r = await ctx.programs.run('kubeadm', args);
    if (r.code === 0) break;
    if (i >= ctx.waits.tokenAttempts) check('kubeadm', args, r);
    ctx.log(`kubeadm token create failed (attempt ${i} of ${ctx.waits.tokenAttempts}); trying again`);
    await ctx.sleep(ctx.waits.tokenRetryMs);
  }
  const hash = caCertHash(await readFile(hostPath(ctx, `${PKI_DIR}/ca.crt`), 'utf8'));
  await putText(ctx.aws, ctx.config.bucket, JOIN_CA_HASH_KEY, `${hash}\n`);
  await putText(ctx.aws, ctx.config.bucket, JOIN_TOKEN_KEY, `${token}\n`);
  ctx.log(`join token renewed (valid ${TOKEN_TTL}) in s3://${ctx.config.bucket}/join/`);
}

export const LABELLED_ROLES = ['node', 'loadbalancer'] as const;

/** The names of the nodes in a `kubectl get nodes -o json` document. */
export function nodeNames(json: string): string[] {
  const doc = JSON.parse(json) as { items?: Array<{ metadata?: { name?: string } }> };
  return (doc.items ?? []).map((i) => i.metadata?.name).filter((n): n is string => typeof n === 'string' && n.length > 0);
}

/** One pass: every node with kubeaz.io/role=<role> and no node-role label gets it. Returns the nodes labelled. */
export async function labelNodeRoles(ctx: AgentContext): Promise<string[]> {
  const kc = ['--kubeconfig', hostPath(ctx, ADMIN_KUBECONFIG)];
  const done: string[] = [];
  for (const role of LABELLED_ROLES) {
    // only nodes that lack the label: a pass over a labelled cluster changes nothing
    const r = await runChecked(ctx.programs, 'kubectl', [
      ...kc,
      'get',
      'nodes',
      '-l',
      `kubeaz.io/role=${role},!node-role.kubernetes.io/${role}`,
      '-o',
      'json',
    ]);
    for (const n of nodeNames(r.stdout)) {
      await runChecked(ctx.programs, 'kubectl', [...kc, 'label', 'node', n, `node-role.kubernetes.io/${role}=`, '--overwrite']);
      ctx.log(`labelled node ${n} node-role.kubernetes.io/${role}`);
      done.push(n);
    }
  }
  return done;
}
