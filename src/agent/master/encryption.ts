/**
 * Secrets encrypted at rest on a master (spec.encryption; the model renders the configuration at
 * `create`: src/model/encryption.ts). The decisions are PURE and tabled in
 * test/unit/agent/encryption.test.ts: the final EncryptionConfiguration assembled from the rendered
 * one and the aescbc keys under pki/ (the only place the key's bytes ever meet the configuration),
 * the kube-apiserver patch that gives it the file, and the AWS encryption provider's static pod
 * (kms). `writeEncryptionFiles` puts them on the host before kubeadm runs.
 *
 * Why a kubeadm patch and not ClusterConfiguration.apiServer.extraArgs/extraVolumes: a master that
 * JOINS (every master a rollout brings to a cluster of several) never reads our
 * ClusterConfiguration — kubeadm takes the one stored in the cluster's kubeadm-config ConfigMap at
 * the first init, so a cluster made before encryption was on would never get the flag. Patches
 * apply to init and join alike (the IRSA issuer flags travel the same way), and extraArgs' shape
 * differs between v1beta3 (a map) and v1beta4 (a list).
 */
import { parse, stringify } from 'yaml';
import { encryptionKeyRef, KMS_SOCKET, KMS_SOCKET_DIR } from '../../model/encryption.js';
import type { EncryptionSettings } from '../../model/encryption.js';
import { encryptionKeyProblem } from '../../pki/encryption-key.js';
import { parseSecretsRecord, recordTime, renderRecord, secretsRecordKey, type SecretsRecord } from '../../records/etcd.js';
import { getText, putText } from '../bucket.js';
import type { AgentContext } from '../context.js';
import { writeHostFile } from './host.js';
import { PATCHES_DIR } from './paths.js';

/** Where the assembled configuration lives on the master (0600; the API server mounts its directory read-only). */
export const ENCRYPTION_DIR = '/etc/kubernetes/encryption';
export const ENCRYPTION_CONFIG_FILE = `${ENCRYPTION_DIR}/config.yaml`;
/** The API server's patch: after the IRSA one (kubeadm applies a target's patches in their suffixes' order). */
export const APISERVER_ENCRYPTION_PATCH_FILE = 'kube-apiserver1+json.json';
/** Where kubelet finds static pods: the KMS provider's manifest goes there before kubeadm runs. */
export const KMS_PROVIDER_MANIFEST = '/etc/kubernetes/manifests/aws-encryption-provider.yaml';
/** The preflight check that refuses a manifests directory that is not empty (the KMS provider's pod is there on purpose). */
export const PREFLIGHT_MANIFESTS_DIR = 'DirAvailable--etc-kubernetes-manifests';
/** The provider's health port (kube-apiserver's insecure 8080 is not free on every version). */
export const KMS_HEALTH_PORT = 8083;

interface AescbcKey {
  name: string;
  secret: string;
}

/** The aescbc keys a rendered configuration references (their names, in order). */
export function referencedKeys(config: string): string[] {
  const doc = parse(config) as { resources?: Array<{ providers?: Array<{ aescbc?: { keys?: AescbcKey[] } }> }> };
  const out: string[] = [];
  for (const r of doc.resources ?? [])
    for (const p of r.providers ?? []) for (const k of p.aescbc?.keys ?? []) if (k.secret === encryptionKeyRef(k.name)) out.push(k.name);
  return out;
}

/**
 * The configuration the API server reads: each aescbc key's reference replaced by the key's bytes
 * (base64 of 32) from pki/. Throws on a key that is missing or malformed: an API server started
 * without its key could not read a single Secret.
 */
export function assembleEncryptionConfig(config: string, keys: ReadonlyMap<string, string>): string {
  const doc = parse(config) as { resources?: Array<{ providers?: Array<{ aescbc?: { keys?: AescbcKey[] } }> }> };
  for (const r of doc.resources ?? [])
    for (const p of r.providers ?? [])
      for (const k of p.aescbc?.keys ?? []) {
        if (k.secret !== encryptionKeyRef(k.name))
          throw new Error(`aescbc key ${k.name}: the rendered configuration must reference ${encryptionKeyRef(k.name)}`);
        const text = keys.get(k.name);
        if (text === undefined) throw new Error(`${encryptionKeyRef(k.name)} is missing: create makes it (a master never does)`);
        const why = encryptionKeyProblem(text);
        if (why) throw new Error(`${encryptionKeyRef(k.name)} ${why}`);
        k.secret = text.trim();
      }
  return stringify(doc, { lineWidth: 0 });
}

interface HostVolume {
  name: string;
  hostPath: { path: string; type: 'DirectoryOrCreate' };
}

/** The volumes the API server needs: the configuration's directory and, with kms, the provider's socket. */
export function encryptionVolumes(provider: EncryptionSettings['provider']): Array<HostVolume & { mountPath: string; readOnly: boolean }> {
  return [
    { name: 'kubeaz-encryption', hostPath: { path: ENCRYPTION_DIR, type: 'DirectoryOrCreate' }, mountPath: ENCRYPTION_DIR, readOnly: true },
    ...(provider === 'kms'
      ? [
          {
            name: 'kubeaz-kms-socket',
            hostPath: { path: KMS_SOCKET_DIR, type: 'DirectoryOrCreate' as const },
            mountPath: KMS_SOCKET_DIR,
            readOnly: false,
          },
        ]
      : []),
  ];
}

/** kube-apiserver's flag and volumes, as a JSON patch of its static pod (the same for v1beta3 and v1beta4). */
export function apiserverEncryptionPatch(provider: EncryptionSettings['provider']): string {
  const ops: object[] = [
    { op: 'add', path: '/spec/containers/0/command/-', value: `--encryption-provider-config=${ENCRYPTION_CONFIG_FILE}` },
  ];
  for (const v of encryptionVolumes(provider)) {
    ops.push({ op: 'add', path: '/spec/volumes/-', value: { name: v.name, hostPath: v.hostPath } });
    ops.push({
      op: 'add',
      path: '/spec/containers/0/volumeMounts/-',
      value: { name: v.name, mountPath: v.mountPath, readOnly: v.readOnly },
    });
  }
  return `${JSON.stringify(ops, null, 2)}\n`;
}

/**
 * The AWS encryption provider as a static pod beside the API server: the master's instance role
 * (host network, IMDS) may use the spec's key only (model/policies.ts kmsEncryptionStatements).
 */
export function kmsProviderPod(kms: NonNullable<EncryptionSettings['kms']>): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'aws-encryption-provider',
        namespace: 'kube-system',
        labels: { 'app.kubernetes.io/name': 'aws-encryption-provider' },
      },
      spec: {
        hostNetwork: true,
        priorityClassName: 'system-node-critical',
        containers: [
          {
            name: 'aws-encryption-provider',
            image: kms.image,
            command: [
              '/aws-encryption-provider',
              `--key=${kms.keyArn}`,
              `--region=${kms.region}`,
              `--listen=${KMS_SOCKET}`,
              `--health-port=:${KMS_HEALTH_PORT}`,
            ],
            livenessProbe: {
              httpGet: { host: '127.0.0.1', path: '/healthz', port: KMS_HEALTH_PORT },
              initialDelaySeconds: 10,
              periodSeconds: 10,
            },
            volumeMounts: [{ name: 'socket', mountPath: KMS_SOCKET_DIR }],
          },
        ],
        volumes: [{ name: 'socket', hostPath: { path: KMS_SOCKET_DIR, type: 'DirectoryOrCreate' } }],
      },
    },
    { lineWidth: 0 },
  );
}

/** The preflight errors kubeadm must ignore for this encryption (the provider's pod fills the manifests directory). */
export const encryptionPreflightIgnores = (e: Pick<EncryptionSettings, 'provider'>): string[] =>
  e.provider === 'kms' ? [PREFLIGHT_MANIFESTS_DIR] : [];

/**
 * Before kubeadm: the assembled configuration (its keys from pki/, never in a boot report), the API
 * server's patch and, with kms, the provider's static pod.
 */
export async function writeEncryptionFiles(ctx: AgentContext, e: EncryptionSettings): Promise<void> {
  const keys = new Map<string, string>();
  for (const name of referencedKeys(e.config)) {
    const key = encryptionKeyRef(name);
    const text = await getText(ctx.aws, ctx.config.bucket, key);
    if (text === undefined) continue; // assembleEncryptionConfig says it is missing
    ctx.reporter.redactor.add(text.trim());
    keys.set(name, text);
  }
  await writeHostFile(ctx, ENCRYPTION_CONFIG_FILE, assembleEncryptionConfig(e.config, keys), 0o600);
  await writeHostFile(ctx, `${PATCHES_DIR}/${APISERVER_ENCRYPTION_PATCH_FILE}`, apiserverEncryptionPatch(e.provider));
  if (e.kms) await writeHostFile(ctx, KMS_PROVIDER_MANIFEST, kmsProviderPod(e.kms));
}

// ---------------------------------------------------------------------------------------------
// Rewriting every Secret once under a new configuration (turning encryption on, a new key first)

/** PURE: whether the master that runs the add-on step rewrites every Secret now, and why. */
export function decideSecretsRewrite(recorded: SecretsRecord | undefined, fingerprint: string): { rewrite: boolean; reason: string } {
  if (!recorded)
    return {
      rewrite: true,
      reason: `no rewrite of the Secrets is recorded: rewriting them under configuration ${fingerprint.slice(0, 12)}`,
    };
  if (recorded.fingerprint === fingerprint)
    return {
      rewrite: false,
      reason: `the Secrets were rewritten under this configuration (${fingerprint.slice(0, 12)}) by ${recorded.by} at ${recorded.at}`,
    };
  return {
    rewrite: true,
    reason: `the Secrets were last rewritten under configuration ${recorded.fingerprint.slice(0, 12)}; this master's is ${fingerprint.slice(0, 12)}: rewriting them`,
  };
}

/** PURE: the kubectl invocations of one namespace's rewrite (read every Secret, write each back: the API server encrypts it with the first provider). */
export function secretsRewriteArgs(kubeconfig: string, namespace: string): { get: string[]; replace: string[] } {
  return {
    get: ['--kubeconfig', kubeconfig, 'get', 'secrets', '--namespace', namespace, '--output', 'json'],
    replace: ['--kubeconfig', kubeconfig, 'replace', '--filename', '-'],
  };
}

/** PURE: whether a `kubectl get secrets -o json` answer lists any Secret. */
export function listsSecrets(json: string): boolean {
  const items = (JSON.parse(json) as { items?: unknown[] }).items;
  return Array.isArray(items) && items.length > 0;
}

/** The last characters of a program's stderr (never its stdout: that held the Secrets). */
const why = (stderr: string): string => stderr.trim().slice(-400);

async function rewriteNamespace(ctx: AgentContext, kubeconfig: string, ns: string): Promise<void> {
  const a = secretsRewriteArgs(kubeconfig, ns);
  let last = '';
  // a Secret changed between the read and the write is a conflict: read the namespace again
  for (let attempt = 1; attempt <= 3; attempt++) {
    const got = await ctx.programs.run('kubectl', a.get);
    if (got.code !== 0) throw new Error(`kubectl get secrets --namespace ${ns} exited ${got.code}: ${why(got.stderr)}`);
    if (!listsSecrets(got.stdout)) return;
    const put = await ctx.programs.run('kubectl', a.replace, { input: got.stdout });
    if (put.code === 0) return;
    last = why(put.stderr);
  }
  throw new Error(`kubectl replace of the Secrets of namespace ${ns} kept failing: ${last}`);
}

/**
 * Once per configuration (secrets-encryption.json records which): every Secret of every namespace
 * read and written back, so the ones stored before (in plain text, or under a key now second) are
 * stored under the configuration's first provider. Run by the master that runs the add-on step,
 * after it; `kubectl get secrets --all-namespaces -o json | kubectl replace -f -` by hand does the
 * same (README, Secrets encrypted at rest).
 */
export async function rewriteSecretsOnce(ctx: AgentContext, e: Pick<EncryptionSettings, 'fingerprint'>, kubeconfig: string): Promise<void> {
  const bucket = ctx.config.bucket;
  const key = secretsRecordKey();
  const text = await getText(ctx.aws, bucket, key);
  const parsed = text === undefined ? undefined : parseSecretsRecord(text);
  if (parsed instanceof Error) ctx.log(`ignoring s3://${bucket}/${key}: ${parsed.message}`);
  const d = decideSecretsRewrite(parsed instanceof Error ? undefined : parsed, e.fingerprint);
  ctx.log(`secrets: ${d.reason}`);
  if (!d.rewrite) return;
  const ns = await ctx.programs.run('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'get',
    'namespaces',
    '--output',
    'jsonpath={.items[*].metadata.name}',
  ]);
  if (ns.code !== 0) throw new Error(`kubectl get namespaces exited ${ns.code}: ${why(ns.stderr)}`);
  for (const n of ns.stdout.split(/\s+/).filter(Boolean)) await rewriteNamespace(ctx, kubeconfig, n);
  await putText(
    ctx.aws,
    bucket,
    key,
    renderRecord({ fingerprint: e.fingerprint, by: ctx.identity.instanceId, group: ctx.identity.group, at: recordTime(ctx.now()) }),
    { contentType: 'application/json' },
  );
  ctx.log(`recorded s3://${bucket}/${key}: every Secret rewritten under configuration ${e.fingerprint.slice(0, 12)}`);
}
