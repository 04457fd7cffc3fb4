/**
 * The cluster's identity on a master: the CAs and service-account keys from s3://<bucket>/pki/ (made
 * once by `create`, never here), and the etcd client certificate the agent makes ITSELF from the etcd
 * CA before any health check (finding 4: the "no recorded member answers" check ran before kubeadm
 * had made a client certificate, so it could never see a live member). kubeadm keeps a valid
 * certificate it finds (same name: healthcheck-client).
 */
import { readFile } from 'node:fs/promises';
import { PKI_FILES, signClientCert, validFor } from '../../pki/ca.js';
import { getText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { writeHostFile } from './host.js';
import { ETCD_CA_CERT, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY, PKI_DIR } from './paths.js';

export const PKI_PREFIX = 'pki/';
/** kubeadm's etcd healthcheck client: its name and a year of life (renewed by the next boot). */
export const ETCD_CLIENT_CN = 'kube-etcd-healthcheck-client';

export async function fetchPki(ctx: AgentContext): Promise<void> {
  for (const f of PKI_FILES) {
    const text = await getText(ctx.aws, ctx.config.bucket, `${PKI_PREFIX}${f}`);
    if (text === undefined)
      throw new Error(`s3://${ctx.config.bucket}/${PKI_PREFIX}${f} is missing: the cluster's CAs must be in the bucket (made by create)`);
    // never shown in a boot report, even if a program echoes it
    if (f.endsWith('.key')) ctx.reporter.redactor.add(text);
    await writeHostFile(ctx, `${PKI_DIR}/${f}`, text, f.endsWith('.key') ? 0o600 : 0o644);
  }
}

export interface EtcdTlsFiles {
  cacert: string;
  cert: string;
  key: string;
}

export const etcdTlsFiles = (ctx: Pick<AgentContext, 'root'>): EtcdTlsFiles => ({
  cacert: hostPath(ctx, ETCD_CA_CERT),
  cert: hostPath(ctx, ETCD_CLIENT_CERT),
  key: hostPath(ctx, ETCD_CLIENT_KEY),
});

/** The etcd client certificate, made from the etcd CA unless a valid one (30 days or more left) is there. */
export async function ensureEtcdClientCert(ctx: AgentContext): Promise<EtcdTlsFiles> {
  const files = etcdTlsFiles(ctx);
  const have = await readFile(files.cert, 'utf8').catch(() => undefined);
  const haveKey = await readFile(files.key, 'utf8').catch(() => undefined);
  if (have && haveKey && validFor(have, 30, ctx.now())) return files;
  const [caCert, caKey] = await Promise.all([readFile(files.cacert, 'utf8'), readFile(hostPath(ctx, `${PKI_DIR}/etcd/ca.key`), 'utf8')]);
  const c = await signClientCert(caCert, caKey, ETCD_CLIENT_CN, [], 365, ctx.now());
  ctx.reporter.redactor.add(c.key);
  await writeHostFile(ctx, ETCD_CLIENT_KEY, c.key, 0o600);
  await writeHostFile(ctx, ETCD_CLIENT_CERT, c.cert, 0o644);
  return files;
}
