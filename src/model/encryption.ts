/**
 * Secrets encrypted at rest (spec.encryption), PURE: kube-apiserver's EncryptionConfiguration as
 * `create` renders it into the masters' settings (agent/config.json, so it shows in plan and drift),
 * the aescbc keys' places under pki/, and what KMS needs beside the API server.
 *
 * The aescbc key never enters the graph, the plan or the state file: the rendered configuration
 * names each key by its object (`secret: pki/encryption/<name>`, not base64 of 32 bytes, so a file
 * that was not assembled is refused by the API server instead of encrypting with a known value), the
 * pki kind generates each named key once (src/resources/pki.ts), and the master's agent assembles the
 * file it gives the API server from the two (src/agent/master/encryption.ts). The masters' role
 * already reads pki/*.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../spec/schema.js';
import { AWS_ENCRYPTION_PROVIDER_IMAGE } from '../spec/versions.js';

/** Where the aescbc keys live, relative to pki/ (pki/encryption/<name>). */
export const ENCRYPTION_KEYS_DIR = 'encryption/';
export const DEFAULT_ENCRYPTION_KEYS: readonly string[] = ['key1'];
/** The KMS plugin's socket on the master (the API server and the provider's static pod mount its directory). */
export const KMS_SOCKET_DIR = '/var/run/kmsplugin';
export const KMS_SOCKET = `${KMS_SOCKET_DIR}/socket.sock`;
/** The KMS provider's name in the EncryptionConfiguration (stored in every encrypted value's prefix: never rename). */
export const KMS_PROVIDER_NAME = 'aws-encryption-provider';

/** The object key (relative to pki/) of an aescbc key. */
export const encryptionKeyFile = (name: string): string => `${ENCRYPTION_KEYS_DIR}${name}`;
/** What the rendered configuration holds in place of an aescbc key's secret: the key's object under the bucket. */
export const encryptionKeyRef = (name: string): string => `pki/${encryptionKeyFile(name)}`;

/**
 * The aescbc key names of a spec: aescbc's keys (the first encrypts), or under kms the aescbc keys
 * kept to read the Secrets written before the switch (none unless listed).
 */
export function encryptionKeyNames(spec: ClusterSpec): string[] {
  const e = spec.spec.encryption;
  return e.provider === 'aescbc' ? [...(e.keys ?? DEFAULT_ENCRYPTION_KEYS)] : [...(e.keys ?? [])];
}

/**
 * The providers of a spec's configuration in order, one token each (`kms:<key ARN>`,
 * `aescbc:<key name>`; identity, always last, left out): the first encrypts, every one decrypts.
 * The masters' launch template carries them (ENCRYPTION_TAG), so `plan` sees what the running API
 * servers were given and refuses a change that would leave Secrets unreadable (checks/encryption.ts).
 */
export function encryptionProviderTokens(spec: Pick<ClusterSpec, 'spec'>): string[] {
  const e = spec.spec.encryption;
  const aescbc = (e.provider === 'aescbc' ? [...(e.keys ?? DEFAULT_ENCRYPTION_KEYS)] : [...(e.keys ?? [])]).map((k) => `aescbc:${k}`);
  return e.provider === 'kms' && e.keyArn ? [`kms:${e.keyArn}`, ...aescbc] : aescbc;
}

/** The master launch template's tag naming its configuration's providers (space-separated tokens). */
export const ENCRYPTION_TAG = 'kubeaz:encryption';

type Provider =
  | { aescbc: { keys: Array<{ name: string; secret: string }> } }
  | { kms: { apiVersion: 'v2'; name: string; endpoint: string; timeout: string } }
  | { identity: Record<string, never> };

export interface EncryptionConfiguration {
  apiVersion: 'apiserver.config.k8s.io/v1';
  kind: 'EncryptionConfiguration';
  resources: Array<{ resources: string[]; providers: Provider[] }>;
}

/**
 * The EncryptionConfiguration of a spec: Secrets only; the first provider writes, every provider
 * reads; identity last, so Secrets written before encryption was on stay readable until rewritten.
 * Under kms, aescbc keys the spec still lists follow the KMS provider: they read what was written
 * before a switch from aescbc (the Kubernetes docs' procedure for changing providers).
 */
export function encryptionConfiguration(spec: ClusterSpec): EncryptionConfiguration {
  const e = spec.spec.encryption;
  const keys = encryptionKeyNames(spec);
  const aescbc: Provider[] = keys.length ? [{ aescbc: { keys: keys.map((name) => ({ name, secret: encryptionKeyRef(name) })) } }] : [];
  // kms: the aescbc keys listed beside it only decrypt (the Secrets written before the switch, until rewritten)
  const providers: Provider[] =
    e.provider === 'aescbc'
      ? aescbc
      : [{ kms: { apiVersion: 'v2', name: KMS_PROVIDER_NAME, endpoint: `unix://${KMS_SOCKET}`, timeout: '3s' } }, ...aescbc];
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [{ resources: ['secrets'], providers: [...providers, { identity: {} }] }],
  };
}

/** The masters' encryption settings (MasterSettings.encryption; src/records/master-settings.ts reads them). */
export interface EncryptionSettings {
  provider: 'aescbc' | 'kms';
  /** the rendered EncryptionConfiguration, aescbc secrets as references (encryptionKeyRef) */
  config: string;
  /** SHA-256 of `config`: a new one makes a new master launch template version and one rewrite of every Secret */
  fingerprint: string;
  /** the AWS encryption provider's static pod (kms only) */
  kms?: { keyArn: string; region: string; image: string };
}

export function encryptionSettings(spec: ClusterSpec): EncryptionSettings {
  const e = spec.spec.encryption;
  const config = stringify(encryptionConfiguration(spec), { lineWidth: 0 });
  return {
    provider: e.provider,
    config,
    fingerprint: createHash('sha256').update(config, 'utf8').digest('hex'),
    ...(e.provider === 'kms' && e.keyArn
      ? { kms: { keyArn: e.keyArn, region: spec.spec.region, image: AWS_ENCRYPTION_PROVIDER_IMAGE } }
      : {}),
  };
}

/** The KMS key the masters encrypt Secrets with (kms only): their role may use this key and no other. */
export function kmsKeyArnOf(spec: Pick<ClusterSpec, 'spec'>): string | undefined {
  const e = spec.spec.encryption;
  return e.provider === 'kms' ? e.keyArn : undefined;
}
