/**
 * The node and loadbalancer boot: a loadbalancer with an elastic-IP pool claims its address first;
 * then the host (kernel, containerd, pinned Kubernetes packages), the join record a master keeps in
 * join/ (waited for: a new cluster boots every group at once), and `kubeadm join` with a
 * JoinConfiguration rendered from a typed object. A join that fails part-way leaves kubelet.conf,
 * certificates and manifests that fail every later preflight: `kubeadm reset -f` clears them and the
 * next attempt reads join/ again (the token may have been renewed meanwhile).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubeazFailure } from '../../errors.js';
import { JOIN_CA_HASH_KEY, JOIN_TOKEN_KEY, parseJoin, type JoinRecord } from '../../records/join.js';
import { getText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { CRI_SOCKET, installKubernetes, prepareKernel } from '../host.js';
import { ProgramError } from '../programs.js';
import { claimElasticIp } from './eip.js';
import { kubeletLabels, renderJoinConfiguration } from './join-config.js';

/** Where the join configuration lives while kubeadm reads it (it holds the token: 0600, removed after). */
export const JOIN_CONFIG_FILE = '/etc/kubeaz/kubeadm-join.yaml';

/** join/ as it is now, or why not (missing, or not what kubeadm takes). */
export async function readJoin(ctx: AgentContext): Promise<JoinRecord | Error> {
  const b = ctx.config.bucket;
  const [token, hash] = await Promise.all([getText(ctx.aws, b, JOIN_TOKEN_KEY), getText(ctx.aws, b, JOIN_CA_HASH_KEY)]);
  if (token === undefined || hash === undefined) return new Error(`s3://${b}/${JOIN_TOKEN_KEY} or ${JOIN_CA_HASH_KEY} does not exist yet`);
  const j = parseJoin(token, hash);
  if (!(j instanceof Error)) ctx.reporter.redactor.add(j.token);
  return j;
}

/** Waits for the master's join record. */
export async function waitForJoin(ctx: AgentContext): Promise<JoinRecord> {
  let why: unknown;
  for (let i = 1; i <= ctx.waits.joinRecordAttempts; i++) {
    try {
      const j = await readJoin(ctx);
      if (!(j instanceof Error)) return j;
      why = j;
    } catch (e) {
      why = e;
    }
    if (i < ctx.waits.joinRecordAttempts) {
      if (i === 1 || i % 30 === 0)
        ctx.log(`waiting for the join record: ${(why as Error).message} (attempt ${i} of ${ctx.waits.joinRecordAttempts})`);
      await ctx.sleep(ctx.waits.joinRecordRetryMs);
    }
  }
  throw new KubeazFailure(
    `no join record in s3://${ctx.config.bucket}/join/ after ${ctx.waits.joinRecordAttempts} attempts: ${(why as Error)?.message ?? String(why)}`,
    'aws',
  );
}

/** The JoinConfiguration of this node for a join record. */
export function joinConfigFor(ctx: AgentContext, j: JoinRecord): string {
  const g = ctx.identity.settings;
  const { labels } = kubeletLabels(g.labels, {
    'topology.kubernetes.io/zone': ctx.identity.zone,
    'kubeaz.io/node-group': ctx.identity.group,
    'kubeaz.io/role': ctx.identity.role,
  });
  return renderJoinConfiguration({
    kubernetesVersion: ctx.config.kubernetesVersion,
    apiEndpoint: ctx.config.apiEndpoint,
    token: j.token,
    caCertHash: j.caCertHash,
    nodeName: ctx.identity.hostname,
    nodeIp: ctx.identity.privateIp,
    labels,
    taints: g.taints,
  });
}

/** `kubeadm join` until it works: reset and read join/ again between attempts. */
export async function join(ctx: AgentContext, first: JoinRecord): Promise<void> {
  const file = hostPath(ctx, JOIN_CONFIG_FILE);
  await mkdir(path.dirname(file), { recursive: true });
  let record = first;
  let last: ProgramError | undefined;
  try {
    for (let i = 1; i <= ctx.waits.joinAttempts; i++) {
      if (i > 1) {
        ctx.log(`kubeadm join failed (attempt ${i - 1} of ${ctx.waits.joinAttempts}); kubeadm reset -f before the next`);
        const reset = await ctx.programs.run('kubeadm', ['reset', '-f', '--cri-socket', CRI_SOCKET]);
        if (reset.code !== 0) ctx.log('kubeadm reset failed; trying the join anyway');
        await ctx.sleep(ctx.waits.joinRetryMs);
        const again = await readJoin(ctx).catch((e: unknown) => e as Error);
        if (!(again instanceof Error)) record = again;
      }
      await writeFile(file, joinConfigFor(ctx, record), { mode: 0o600 });
      const r = await ctx.programs.run('kubeadm', ['join', '--config', file]);
      if (r.code === 0) {
        ctx.log(`node ${ctx.identity.hostname} joined ${ctx.config.clusterId}`);
        return;
      }
      last = new ProgramError('kubeadm', ['join', '--config', JOIN_CONFIG_FILE], r);
    }
  } finally {
    await rm(file, { force: true });
  }
  throw last!;
}

export async function nodeBoot(ctx: AgentContext): Promise<void> {
  const group = ctx.identity.settings;
  if (ctx.identity.role === 'loadbalancer' && group.elasticIps > 0) await ctx.reporter.phase('elastic-ip', () => claimElasticIp(ctx));
  await ctx.reporter.phase('host', async () => {
    await prepareKernel(ctx);
    await installKubernetes(ctx);
  });
  const record = await ctx.reporter.phase('join-record', () => waitForJoin(ctx));
  await ctx.reporter.phase('join', () => join(ctx, record));
}
