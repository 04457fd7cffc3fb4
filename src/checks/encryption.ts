/**
 * Secrets encrypted at rest on a running cluster (spec.encryption), as `plan` sees it: the rule
 * that refuses a change of providers that would leave Secrets unreadable, and the pre-flight check
 * of a KMS key (it exists, is enabled, encrypts and decrypts with a symmetric key, and is not
 * pending deletion) before `create` changes anything.
 *
 * What the running API servers were given is the master launch template's ENCRYPTION_TAG
 * (model/encryption.ts encryptionProviderTokens): `kms:<key ARN>` and `aescbc:<key name>` tokens,
 * the first encrypts, all of them decrypt. A new configuration is safe when the provider that
 * encrypts now still decrypts afterwards: its Secrets stay readable until a master rollout's
 * add-on step rewrote every one (src/agent/master/encryption.ts), then the old key may go.
 */
import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { ENCRYPTION_TAG } from '../model/encryption.js';
import type { ClusterRule, PreflightCheck } from './types.js';

const tokens = (v: string): string[] => v.split(/\s+/).filter(Boolean);

/** Why `wanted` would leave the Secrets `running` encrypts unreadable (and how to go), or undefined when it would not. PURE. */
export function encryptionSwitchProblem(running: string, wanted: string): string | undefined {
  const writer = tokens(running)[0];
  const want = tokens(wanted);
  if (!writer || want.includes(writer)) return undefined;
  const [kind, name] = [writer.slice(0, writer.indexOf(':')), writer.slice(writer.indexOf(':') + 1)];
  const wantsKms = want[0]?.startsWith('kms:');
  if (kind === 'aescbc') {
    const kept = tokens(running)
      .filter((t) => t.startsWith('aescbc:'))
      .map((t) => t.slice('aescbc:'.length));
    return wantsKms
      ? `the API servers encrypt Secrets with aescbc key ${name} now, and this configuration drops it: every Secret written under it would be unreadable. ` +
          `Keep the aescbc keys beside KMS (spec.encryption.keys: [${kept.join(', ')}] with provider kms — they then only decrypt), run create and rollout ` +
          '(the masters rewrite every Secret under KMS), then remove keys.'
      : `the API servers encrypt Secrets with aescbc key ${name} now, and spec.encryption.keys drops it: every Secret written under it would be unreadable. ` +
          `Keep ${name} after the new first key (keys: [<new>, ${kept.join(', ')}]), run create and rollout (the masters rewrite every Secret under the new key), then remove ${name}.`;
  }
  return (
    `the API servers encrypt Secrets with the KMS key ${name} now, and this configuration drops it: every Secret written under it would be unreadable, ` +
    'and kubeaz keeps no KMS key as a read-only provider. Put provider kms and that keyArn back. To rotate, enable automatic key rotation on the key in KMS ' +
    '(the ARN stays; older key material still decrypts).'
  );
}

/** The rule `plan` refuses on: the running configuration's encrypting provider must stay among the wanted ones. */
export const encryptionSwitch: ClusterRule<{ id: string; running: string; wanted: string }> = {
  name: 'encryption-switch',
  input({ observed, graph }) {
    const lt = observed.get('lt/master');
    const running = lt?.tags[ENCRYPTION_TAG];
    const wanted = graph.nodes.find((n) => n.key === 'lt/master')?.tags[ENCRYPTION_TAG];
    // no tag: a cluster whose masters predate it (its configuration is unknown here)
    return lt && running && wanted !== undefined && running !== wanted ? { id: lt.id, running, wanted } : undefined;
  },
  check({ id, running, wanted }) {
    const reason = encryptionSwitchProblem(running, wanted);
    if (!reason) return undefined;
    return { key: 'lt/master', kind: 'launch-template', id, fields: [{ field: 'encryption', from: running, to: wanted }], reason };
  },
};

/** Why a KMS key cannot encrypt the Secrets, from DescribeKey's answer; undefined when it can. PURE. */
export function kmsKeyProblem(keyArn: string, m: KeyMetadata | undefined): string | undefined {
  if (!m) return `the KMS key ${keyArn} does not exist or is not visible to this account`;
  if (m.KeyState === 'PendingDeletion' || m.KeyState === 'PendingReplicaDeletion')
    return `the KMS key ${keyArn} is pending deletion${m.DeletionDate ? ` (on ${new Date(m.DeletionDate).toISOString()})` : ''}: cancel it (aws kms cancel-key-deletion) and enable the key, or name another`;
  if (m.Enabled === false || (m.KeyState && m.KeyState !== 'Enabled'))
    return `the KMS key ${keyArn} is ${m.KeyState ?? 'disabled'}: enable it (aws kms enable-key), or name another`;
  if (m.KeyUsage && m.KeyUsage !== 'ENCRYPT_DECRYPT')
    return `the KMS key ${keyArn} is for ${m.KeyUsage}, not ENCRYPT_DECRYPT: the API server's provider encrypts and decrypts with it`;
  const spec = m.KeySpec;
  if (spec && spec !== 'SYMMETRIC_DEFAULT')
    return `the KMS key ${keyArn} is ${spec}, not a symmetric key (SYMMETRIC_DEFAULT): the AWS encryption provider encrypts with a symmetric key`;
  return undefined;
}

const isNotFound = (e: unknown): boolean => (e as { name?: string })?.name === 'NotFoundException';

/** spec.encryption provider kms: the key can encrypt and decrypt, checked before any change. */
export const kmsKey: PreflightCheck<{ keyArn: string }> = {
  name: 'kms-key',
  calls: ['kms:DescribeKey'],
  input({ spec }) {
    const e = spec.spec.encryption;
    return e?.provider === 'kms' && e.keyArn ? { keyArn: e.keyArn } : undefined;
  },
  async run(ctx, { keyArn }, _shared, report) {
    let metadata: KeyMetadata | undefined;
    try {
      metadata = (await (await ctx.aws.kms()).send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const problem = kmsKeyProblem(keyArn, metadata);
    if (problem) report(problem);
  },
};
