/**
 * Secrets encrypted at rest on a running cluster (src/checks/encryption.ts): the rule that refuses
 * a configuration dropping the provider or key that encrypts now (from the master launch template's
 * kubeaz:encryption tag), and the KMS key's pre-flight (DescribeKey: missing, disabled, not a
 * symmetric ENCRYPT_DECRYPT key, pending deletion), each as a table.
 */
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { encryptionSwitch, encryptionSwitchProblem, kmsKey, kmsKeyProblem } from '../../../src/checks/encryption.js';
import { sharedReads } from '../../../src/checks/shared.js';
import type { Observed, PreflightFacts, RuleFacts } from '../../../src/checks/types.js';
import { ENCRYPTION_TAG } from '../../../src/model/encryption.js';
import type { AnyNode } from '../../../src/model/types.js';
import type { ClusterSpec } from '../../../src/spec/schema.js';
import { restoreSdkMocks, sdkMock } from '../../helpers/sdk-mock.js';

const A = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const B = 'arn:aws:kms:us-east-1:123456789012:key/4321abcd-12ab-34cd-56ef-1234567890ba';

describe('encryptionSwitchProblem: the provider that encrypts now must still decrypt', () => {
  it.each([
    ['aescbc, the same keys', 'aescbc:key1', 'aescbc:key1', undefined],
    ['a new key added behind the current one', 'aescbc:key1', 'aescbc:key1 aescbc:key2', undefined],
    ['the new key first, the current one kept behind it', 'aescbc:key1 aescbc:key2', 'aescbc:key2 aescbc:key1', undefined],
    ['the old key dropped once the new one encrypts', 'aescbc:key2 aescbc:key1', 'aescbc:key2', undefined],
    ['aescbc → kms keeping the aescbc keys', 'aescbc:key1', `kms:${A} aescbc:key1`, undefined],
    ['kms, the aescbc keys dropped afterwards', `kms:${A} aescbc:key1`, `kms:${A}`, undefined],
    [
      'aescbc → kms dropping the keys',
      'aescbc:key2 aescbc:key1',
      `kms:${A}`,
      /aescbc key key2 .*spec\.encryption\.keys: \[key2, key1\] with provider kms/,
    ],
    [
      'a rotation that drops the key that encrypts',
      'aescbc:key1',
      'aescbc:key2',
      /aescbc key key1 .*keys: \[<new>, key1\].*then remove key1/,
    ],
    ['kms → aescbc', `kms:${A}`, 'aescbc:key1', /KMS key .*key\/1234abcd.*Put provider kms and that keyArn back/],
    ['kms → another key', `kms:${A}`, `kms:${B}`, /no KMS key as a read-only provider.*automatic key rotation/],
  ])('%s', (_name, running, wanted, reason) => {
    const p = encryptionSwitchProblem(running, wanted);
    if (reason === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(reason);
  });
});

describe('the encryption-switch rule reads the master launch template', () => {
  const seen = (tags: Record<string, string>): Observed => ({ key: 'lt/master', kind: 'launch-template', id: 'lt-1', tags });
  const want = (tags: Record<string, string>): AnyNode =>
    ({ key: 'lt/master', kind: 'launch-template', props: {}, deps: [], tags }) as unknown as AnyNode;
  const facts = (observed: Observed[], nodes: AnyNode[]): RuleFacts => ({
    observed: new Map(observed.map((o) => [o.key, o])),
    graph: { clusterId: 'c-dev', nodes },
    zones: [],
  });
  const judge = (f: RuleFacts) => {
    const i = encryptionSwitch.input(f);
    return i === undefined ? undefined : encryptionSwitch.check(i);
  };
  it.each([
    ['a new cluster: nothing running', [], [want({ [ENCRYPTION_TAG]: `kms:${A}` })]],
    ['masters that predate the tag: unknown, not judged', [seen({})], [want({ [ENCRYPTION_TAG]: `kms:${A}` })]],
    ['unchanged', [seen({ [ENCRYPTION_TAG]: 'aescbc:key1' })], [want({ [ENCRYPTION_TAG]: 'aescbc:key1' })]],
    ['a safe change', [seen({ [ENCRYPTION_TAG]: 'aescbc:key1' })], [want({ [ENCRYPTION_TAG]: `kms:${A} aescbc:key1` })]],
  ])('no refusal: %s', (_name, observed, nodes) => {
    expect(judge(facts(observed, nodes))).toBeUndefined();
  });
  it('aescbc → kms without the keys: refused on lt/master, the field from → to', () => {
    expect(judge(facts([seen({ [ENCRYPTION_TAG]: 'aescbc:key1' })], [want({ [ENCRYPTION_TAG]: `kms:${A}` })]))).toMatchObject({
      key: 'lt/master',
      kind: 'launch-template',
      id: 'lt-1',
      fields: [{ field: 'encryption', from: 'aescbc:key1', to: `kms:${A}` }],
      reason: expect.stringMatching(/keys: \[key1\] with provider kms/),
    });
  });
});

describe('kmsKeyProblem: what DescribeKey says of the key', () => {
  const ok = { KeyId: 'k', Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' } as const;
  it.each([
    ['an enabled symmetric ENCRYPT_DECRYPT key', ok, undefined],
    ['no such key', undefined, /does not exist or is not visible/],
    ['disabled', { ...ok, Enabled: false, KeyState: 'Disabled' }, /is Disabled: enable it/],
    [
      'pending deletion',
      { ...ok, Enabled: false, KeyState: 'PendingDeletion', DeletionDate: new Date('2027-01-01T00:00:00Z') },
      /pending deletion \(on 2027-01-01T00:00:00.000Z\): cancel it/,
    ],
    ['pending import', { ...ok, Enabled: false, KeyState: 'PendingImport' }, /is PendingImport/],
    ['a signing key', { ...ok, KeyUsage: 'SIGN_VERIFY', KeySpec: 'RSA_2048' }, /is for SIGN_VERIFY, not ENCRYPT_DECRYPT/],
    ['an asymmetric encryption key', { ...ok, KeySpec: 'RSA_4096' }, /is RSA_4096, not a symmetric key/],
  ] as const)('%s', (_name, metadata, problem) => {
    const p = kmsKeyProblem(A, metadata as never);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(problem);
  });
});

describe('the kms-key pre-flight check', () => {
  afterEach(() => restoreSdkMocks());
  const factsOf = (encryption: object): PreflightFacts =>
    ({
      spec: { spec: { region: 'us-east-1', encryption } } as unknown as ClusterSpec,
      graph: { clusterId: 'c-dev', nodes: [] },
      creates: new Set(),
      touched: new Set(),
      publicZoneOwned: false,
    }) as PreflightFacts;
  const ctxOf = () => {
    const aws = new AwsClients({ region: 'us-east-1' });
    return { aws, region: 'us-east-1', accountId: '123456789012', clusterId: 'c-dev' };
  };
  const runIt = async (facts: PreflightFacts) => {
    const input = kmsKey.input(facts);
    const failures: string[] = [];
    const ctx = ctxOf();
    if (input) await kmsKey.run(ctx, input, sharedReads(ctx, 'us-east-1'), (m) => failures.push(m));
    return { input, failures };
  };

  it('aescbc: nothing to check, no call', async () => {
    const kms = sdkMock(KMSClient);
    expect(await runIt(factsOf({ provider: 'aescbc' }))).toEqual({ input: undefined, failures: [] });
    expect(kms.calls()).toHaveLength(0);
  });

  it('kms: one DescribeKey of the spec key; an enabled symmetric key passes', async () => {
    const kms = sdkMock(KMSClient);
    kms.onAnyCommand().resolves({
      KeyMetadata: { KeyId: 'k', Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' },
    });
    const r = await runIt(factsOf({ provider: 'kms', keyArn: A }));
    expect(r).toEqual({ input: { keyArn: A }, failures: [] });
    expect(kms.commandCalls(DescribeKeyCommand).map((c) => c.args[0].input)).toEqual([{ KeyId: A }]);
    expect(kms.calls()).toHaveLength(1);
  });

  it('kms: a missing key (NotFoundException) is a failure with its reason', async () => {
    const kms = sdkMock(KMSClient);
    kms.onAnyCommand().rejects(Object.assign(new Error('Key not found'), { name: 'NotFoundException' }));
    expect((await runIt(factsOf({ provider: 'kms', keyArn: A }))).failures).toEqual([
      `the KMS key ${A} does not exist or is not visible to this account`,
    ]);
  });

  it('kms: a disabled key is a failure; another error is thrown (the runner says "could not check")', async () => {
    const kms = sdkMock(KMSClient);
    kms.onAnyCommand().resolves({ KeyMetadata: { KeyId: 'k', Enabled: false, KeyState: 'Disabled', KeyUsage: 'ENCRYPT_DECRYPT' } });
    expect((await runIt(factsOf({ provider: 'kms', keyArn: A }))).failures).toEqual([expect.stringMatching(/is Disabled/)]);
    kms.onAnyCommand().rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(runIt(factsOf({ provider: 'kms', keyArn: A }))).rejects.toThrow(/denied/);
  });
});
