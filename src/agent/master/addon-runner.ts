/**
 * Installing the add-ons on one master at a time (the one that ran init or restore, or a joined one
 * whose settings differ from those addons.json records: see boot.ts): helm (fetched as master.sh
 * did, checksum-verified), the manifests rendered at `create` fetched from the bucket (the webhook's
 * caBundle set on the parsed document, its serving certificate signed here by the cluster CA), then
 * each step of addons.ts retried as a whole — a helm release left `pending-*` by a master killed
 * mid-upgrade recovered first (decide/helm.ts). A step that still fails does not stop the others;
 * the phase fails at the end naming them (backups and joins are already running by then).
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { KubeazFailure } from '../../errors.js';
import { POD_IDENTITY_WEBHOOK_KEY, POD_IDENTITY_WEBHOOK_NAME, STORAGE_CLASS_KEY } from '../../model/addon-manifests.js';
import type { MasterSettings } from '../../model/master-settings.js';
import { signServerCert, validFor } from '../../pki/ca.js';
import { getText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { runChecked } from '../programs.js';
import { helmRecovery, isPendingStatus, parseHelmHistory, parseHelmStatus } from '../decide/helm.js';
import {
  addonSteps,
  helmHistory,
  helmRollback,
  helmStatus,
  helmUninstall,
  type AddonStep,
  type HelmRelease,
  type Invocation,
} from './addons.js';
import { goArch } from './etcd-tools.js';
import { writeHostFile } from './host.js';
import { ADDONS_DIR, ADMIN_KUBECONFIG, BIN_DIR, PKI_DIR } from './paths.js';

/** Sets the MutatingWebhookConfiguration's caBundle (the cluster CA) on the manifest rendered at create. */
export function withCaBundle(manifest: string, caPem: string): string {
  const docs = parseAllDocuments(manifest).map((d) => d.toJS() as Record<string, unknown>);
  let set = 0;
  for (const d of docs) {
    if (d.kind !== 'MutatingWebhookConfiguration') continue;
    for (const w of (d.webhooks as Array<{ clientConfig?: Record<string, unknown> }>) ?? []) {
      w.clientConfig = { ...w.clientConfig, caBundle: Buffer.from(caPem).toString('base64') };
      set++;
    }
  }
  if (set === 0) throw new Error('the webhook manifest has no MutatingWebhookConfiguration to carry the caBundle');
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The webhook's serving certificate as a kubernetes.io/tls Secret. */
export function tlsSecret(name: string, namespace: string, cert: string, key: string): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name, namespace },
      data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
    },
    { lineWidth: 0 },
  );
}

export const webhookDnsNames = (name = POD_IDENTITY_WEBHOOK_NAME): string[] => [
  name,
  `${name}.kube-system`,
  `${name}.kube-system.svc`,
  `${name}.kube-system.svc.cluster.local`,
];

/** helm on PATH, or the pinned release from get.helm.sh checked against its published sha256. */
export async function ensureHelm(ctx: AgentContext, version: string): Promise<void> {
  const have = await ctx.programs.run('helm', ['version', '--short']).catch(() => undefined);
  if (have?.code === 0) return;
  const a = goArch();
  const url = `https://get.helm.sh/helm-v${version}-linux-${a}.tar.gz`;
  const work = await mkdtemp(path.join(tmpdir(), 'kubeaz-helm-'));
  try {
    await runChecked(ctx.programs, 'curl', ['-fsSL', '--retry', '5', '-o', path.join(work, 'sum'), `${url}.sha256sum`]);
    const want = (await readFile(path.join(work, 'sum'), 'utf8')).trim().split(/\s+/)[0];
    await runChecked(ctx.programs, 'curl', ['-fsSL', '--retry', '5', '-o', path.join(work, 'helm.tgz'), url]);
    const got = createHash('sha256')
      .update(await readFile(path.join(work, 'helm.tgz')))
      .digest('hex');
    if (!want || got !== want) throw new Error(`checksum mismatch for ${url}: ${got}, published ${want ?? 'nothing'}`);
    await runChecked(ctx.programs, 'tar', ['-xzf', path.join(work, 'helm.tgz'), '-C', work]);
    await mkdir(hostPath(ctx, BIN_DIR), { recursive: true });
    await copyFile(path.join(work, `linux-${a}`, 'helm'), hostPath(ctx, `${BIN_DIR}/helm`));
    await chmod(hostPath(ctx, `${BIN_DIR}/helm`), 0o755);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fetchManifest(ctx: AgentContext, key: string): Promise<string> {
  const text = await getText(ctx.aws, ctx.config.bucket, key);
  if (text === undefined) throw new Error(`s3://${ctx.config.bucket}/${key} is missing (rendered by create)`);
  return text;
}

const runInvocation = (ctx: AgentContext, r: Invocation) =>
  runChecked(ctx.programs, r.cmd, r.args, r.input !== undefined ? { input: r.input } : {});

/**
 * A release another helm run left `pending-*` is rolled back (or, never deployed, uninstalled) so
 * the upgrade can go on; anything else is left to the upgrade. `helm status` failing is an absent
 * release as far as this goes (helm says "not found" only in text, which is not read): the upgrade
 * installs it, or fails with helm's own message.
 */
export async function recoverRelease(ctx: AgentContext, release: HelmRelease): Promise<void> {
  const st = helmStatus(release);
  const r = await ctx.programs.run(st.cmd, st.args);
  let status: string | undefined;
  if (r.code === 0) {
    const parsed = parseHelmStatus(r.stdout);
    if (parsed instanceof Error) ctx.log(`add-on ${release.name}: ${parsed.message}; going on with the upgrade`);
    else status = parsed;
  }
  let history: ReturnType<typeof parseHelmHistory> = [];
  if (isPendingStatus(status)) {
    const h = helmHistory(release);
    history = parseHelmHistory((await runInvocation(ctx, h)).stdout);
    // a pending release whose history cannot be read: neither roll back nor uninstall on a guess
    if (history instanceof Error) throw new Error(`${release.name} is ${status} but its history is unreadable: ${history.message}`);
  }
  const d = helmRecovery(release.name, status, history);
  if (d.action === 'none') return;
  ctx.log(`add-on ${d.reason}`);
  await runInvocation(ctx, d.action === 'rollback' ? helmRollback(release, d.revision) : helmUninstall(release));
}

/** Every step, retried; returns the names of those that still failed. */
export async function runSteps(ctx: AgentContext, steps: readonly AddonStep[]): Promise<string[]> {
  const failed: string[] = [];
  for (const s of steps) {
    let ok = false;
    for (let i = 1; i <= ctx.waits.addonAttempts && !ok; i++) {
      try {
        // each try: the previous one may itself have been cut off mid-upgrade (its timeout)
        if (s.release) await recoverRelease(ctx, s.release);
        for (const r of s.run) await runInvocation(ctx, r);
        ok = true;
      } catch (e) {
        ctx.log(`add-on ${s.name}: ${(e as Error).message} (attempt ${i} of ${ctx.waits.addonAttempts})`);
        if (i < ctx.waits.addonAttempts) await ctx.sleep(ctx.waits.addonRetryMs);
      }
    }
    if (ok) ctx.log(`add-on ${s.name} installed`);
    else {
      ctx.log(`ERROR: add-on ${s.name} FAILED after ${ctx.waits.addonAttempts} attempts; the cluster runs without it`);
      failed.push(s.name);
    }
  }
  return failed;
}

export async function installAddons(ctx: AgentContext, ms: MasterSettings): Promise<void> {
  await ensureHelm(ctx, ms.helmVersion);
  const storageClassFile = await writeHostFile(ctx, `${ADDONS_DIR}/storageclass.yaml`, await fetchManifest(ctx, STORAGE_CLASS_KEY));
  let irsa;
  if (ms.irsa) {
    const [caCert, caKey] = await Promise.all([
      readFile(hostPath(ctx, `${PKI_DIR}/ca.crt`), 'utf8'),
      readFile(hostPath(ctx, `${PKI_DIR}/ca.key`), 'utf8'),
    ]);
    const certFile = hostPath(ctx, `${ADDONS_DIR}/${POD_IDENTITY_WEBHOOK_NAME}/tls.crt`);
    const keyFile = `${ADDONS_DIR}/${POD_IDENTITY_WEBHOOK_NAME}/tls.key`;
    let cert = await readFile(certFile, 'utf8').catch(() => undefined);
    let key = await readFile(hostPath(ctx, keyFile), 'utf8').catch(() => undefined);
    if (!cert || !key || !validFor(cert, 30, ctx.now())) {
      const c = await signServerCert(caCert, caKey, `${POD_IDENTITY_WEBHOOK_NAME}.kube-system.svc`, webhookDnsNames(), 3650, ctx.now());
      cert = c.cert;
      key = c.key;
      await writeHostFile(ctx, keyFile, key, 0o600);
      await writeHostFile(ctx, `${ADDONS_DIR}/${POD_IDENTITY_WEBHOOK_NAME}/tls.crt`, cert);
    }
    ctx.reporter.redactor.add(key);
    irsa = {
      webhookSecretFile: await writeHostFile(
        ctx,
        `${ADDONS_DIR}/${POD_IDENTITY_WEBHOOK_NAME}/secret.yaml`,
        tlsSecret(`${POD_IDENTITY_WEBHOOK_NAME}-cert`, 'kube-system', cert, key),
        0o600,
      ),
      webhookManifestFile: await writeHostFile(
        ctx,
        `${ADDONS_DIR}/${POD_IDENTITY_WEBHOOK_NAME}/manifests.yaml`,
        withCaBundle(await fetchManifest(ctx, POD_IDENTITY_WEBHOOK_KEY), caCert),
      ),
      ebsCsiRoleArn: ms.irsa.ebsCsiRoleArn,
      clusterAutoscalerRoleArn: ms.irsa.clusterAutoscalerRoleArn,
    };
  }
  const steps = addonSteps({
    clusterId: ctx.config.clusterId,
    region: ctx.config.region,
    masterDns: ms.masterDns,
    adminKubeconfig: hostPath(ctx, ADMIN_KUBECONFIG),
    versions: ms.addons,
    storageClassFile,
    ...(ms.nth ? { nth: ms.nth } : {}),
    ...(irsa ? { irsa } : {}),
  });
  const failed = await runSteps(ctx, steps);
  if (failed.length)
    throw new KubeazFailure(
      `${failed.length} add-on(s) of ${ctx.config.clusterId} FAILED: ${failed.join(', ')} (the control plane, backups and node joins run)`,
      'internal',
    );
}
