/**
 * Secrets encrypted at rest (spec.encryption): the schema's accepted and refused specs, the
 * EncryptionConfiguration the model renders (aescbc / kms, never a key in it), the masters' KMS
 * grant scoped to the spec's key, the settings and user data that make a master rollout, and the
 * master agent's pure decisions (the assembled file, the kube-apiserver patch, the provider's static
 * pod, the preflight it needs, the one rewrite of every Secret per configuration).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  apiserverEncryptionPatch,
  assembleEncryptionConfig,
  decideSecretsRewrite,
  ENCRYPTION_CONFIG_FILE,
  encryptionPreflightIgnores,
  kmsProviderPod,
  listsSecrets,
  PREFLIGHT_MANIFESTS_DIR,
  referencedKeys,
  secretsRewriteArgs,
} from '../../src/agent/master/encryption.js';
import { renderInitConfig, renderJoinConfig, type MasterKubeadmInput } from '../../src/agent/master/kubeadm-config.js';
import { deriveGraph, type Facts } from '../../src/model/derive.js';
import {
  ENCRYPTION_TAG,
  encryptionConfiguration,
  encryptionKeyNames,
  encryptionProviderTokens,
  encryptionSettings,
} from '../../src/model/encryption.js';
import { masterSettings } from '../../src/model/master-settings.js';
import { naming } from '../../src/model/names.js';
import type { AnyNode } from '../../src/model/types.js';
import { encryptionKeyProblem, generateEncryptionKey } from '../../src/pki/encryption-key.js';
import { parseMasterSettings } from '../../src/records/master-settings.js';
import { parseSpec, SpecError, type SpecIssue } from '../../src/spec/load.js';
import type { Loose } from '../helpers/loose.js';
import { ENCRYPTION_CONFIG } from '../helpers/agent-master.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BASE = `apiVersion: kubeaz/v1
kind: Cluster
metadata:
  name: demo
  environment: dev
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 10.0.0.0/16
  controlPlane:
    instanceType: m5.large
  nodeGroups:
    - { name: workers, instanceType: m5.large, minSize: 1, maxSize: 2 }
`;
const withEncryption = (yaml: string) => `${BASE}  encryption: ${yaml}\n`;
const specOf = (text: string) => parseSpec(text, 'cluster.yaml', NOW).spec;

function issuesOf(text: string): SpecIssue[] {
  try {
    parseSpec(text, 'cluster.yaml', NOW);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error('expected a SpecError');
}

describe('spec.encryption: accepted specs', () => {
  it.each([
    ['(absent)', BASE, { provider: 'aescbc' }, ['key1']],
    ['aescbc', withEncryption('{ provider: aescbc }'), { provider: 'aescbc' }, ['key1']],
    [
      'aescbc, two keys',
      withEncryption('{ provider: aescbc, keys: [key2, key1] }'),
      { provider: 'aescbc', keys: ['key2', 'key1'] },
      ['key2', 'key1'],
    ],
    ['kms', withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`), { provider: 'kms', keyArn: KEY_ARN }, []],
    [
      'kms keeping the aescbc keys (a switch from aescbc: they only decrypt)',
      withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}', keys: [key1] }`),
      { provider: 'kms', keyArn: KEY_ARN, keys: ['key1'] },
      ['key1'],
    ],
  ])('%s', (_name, text, encryption, keys) => {
    const spec = specOf(text);
    expect(spec.spec.encryption).toEqual(encryption);
    expect(encryptionKeyNames(spec)).toEqual(keys);
  });
});

describe('spec.encryption: refused specs, each at its field with the reason', () => {
  it.each([
    ['an unknown provider', '{ provider: secretbox }', 'spec.encryption.provider', /'aescbc' or 'kms'/],
    ['kms without a key', '{ provider: kms }', 'spec.encryption.keyArn', /needs keyArn/],
    [
      'kms with an alias ARN',
      "{ provider: kms, keyArn: 'arn:aws:kms:us-east-1:123456789012:alias/secrets' }",
      'spec.encryption.keyArn',
      /KMS key ARN/,
    ],
    ['kms with something else', "{ provider: kms, keyArn: 'arn:aws:s3:::bucket' }", 'spec.encryption.keyArn', /KMS key ARN/],
    [
      "kms with another region's key",
      "{ provider: kms, keyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }",
      'spec.encryption.keyArn',
      /key of eu-west-1, but the cluster is in us-east-1/,
    ],
    ['kms, a kept key named twice', `{ provider: kms, keyArn: '${KEY_ARN}', keys: [key1, key1] }`, 'spec.encryption.keys', /named once/],
    ['aescbc with a key ARN', `{ provider: aescbc, keyArn: '${KEY_ARN}' }`, 'spec.encryption.keyArn', /for provider 'kms'/],
    ['aescbc, a key named twice', '{ keys: [key1, key1] }', 'spec.encryption.keys', /named once/],
    ['aescbc, no key', '{ keys: [] }', 'spec.encryption.keys', /at least one key/],
    ['aescbc, a key name that is not a name', "{ keys: ['Key 1'] }", 'spec.encryption.keys[0]', /key names/],
    [
      'an unknown field',
      '{ provider: aescbc, secret: abc }',
      'spec.encryption.secret',
      /unknown field 'secret' in spec.encryption; allowed: provider, keyArn, keys/,
    ],
  ])('%s', (_name, yaml, path, message) => {
    const issues = issuesOf(withEncryption(yaml));
    expect(
      issues.find((i) => i.path === path && message.test(i.message)),
      issues.map((i) => `${i.path}: ${i.message}`).join('\n'),
    ).toBeDefined();
  });
});

describe('the EncryptionConfiguration rendered at create', () => {
  it('aescbc: Secrets only, the keys by reference in order (first writes), identity last', () => {
    const c = encryptionConfiguration(specOf(withEncryption('{ keys: [key2, key1] }')));
    expect(c).toEqual({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        {
          resources: ['secrets'],
          providers: [
            {
              aescbc: {
                keys: [
                  { name: 'key2', secret: 'pki/encryption/key2' },
                  { name: 'key1', secret: 'pki/encryption/key1' },
                ],
              },
            },
            { identity: {} },
          ],
        },
      ],
    });
  });

  it('kms: the AWS encryption provider through its socket (KMS v2), identity last', () => {
    const c = encryptionConfiguration(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`)));
    expect(c.resources).toEqual([
      {
        resources: ['secrets'],
        providers: [
          { kms: { apiVersion: 'v2', name: 'aws-encryption-provider', endpoint: 'unix:///var/run/kmsplugin/socket.sock', timeout: '3s' } },
          { identity: {} },
        ],
      },
    ]);
  });

  it('kms keeping aescbc keys: KMS first (it encrypts), the aescbc keys after it (they only decrypt), identity last', () => {
    const c = encryptionConfiguration(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}', keys: [key2, key1] }`)));
    expect(c.resources[0]!.providers).toEqual([
      { kms: { apiVersion: 'v2', name: 'aws-encryption-provider', endpoint: 'unix:///var/run/kmsplugin/socket.sock', timeout: '3s' } },
      {
        aescbc: {
          keys: [
            { name: 'key2', secret: 'pki/encryption/key2' },
            { name: 'key1', secret: 'pki/encryption/key1' },
          ],
        },
      },
      { identity: {} },
    ]);
  });

  it('the providers the master launch template names (kubeaz:encryption), in order, identity left out', () => {
    expect(encryptionProviderTokens(specOf(BASE))).toEqual(['aescbc:key1']);
    expect(encryptionProviderTokens(specOf(withEncryption('{ keys: [key2, key1] }')))).toEqual(['aescbc:key2', 'aescbc:key1']);
    expect(encryptionProviderTokens(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`)))).toEqual([`kms:${KEY_ARN}`]);
    expect(encryptionProviderTokens(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}', keys: [key1] }`)))).toEqual([
      `kms:${KEY_ARN}`,
      'aescbc:key1',
    ]);
    const lt = deriveGraph(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}', keys: [key1] }`)), {
      accountId: '123456789012',
      images: { x86_64: 'ami-0123456789abcdef0' },
      templates: new Proxy({}, { get: (_t, k) => `# ${String(k)}\n`, has: () => true }) as Record<string, string>,
    }).nodes.find((n) => n.key === 'lt/master')!;
    expect(lt.tags[ENCRYPTION_TAG]).toBe(`kms:${KEY_ARN} aescbc:key1`);
  });

  it('the settings: the rendered YAML, its sha256, the provider pod only with kms; the records schema reads them back', () => {
    const a = encryptionSettings(specOf(BASE));
    expect(parse(a.config)).toEqual(encryptionConfiguration(specOf(BASE)));
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(a.kms).toBeUndefined();
    const k = encryptionSettings(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`)));
    expect(k.kms).toEqual({
      keyArn: KEY_ARN,
      region: 'us-east-1',
      image: expect.stringMatching(/aws-encryption-provider:v\d+\.\d+\.\d+$/),
    });
    expect(k.fingerprint).not.toBe(a.fingerprint);
    // a new key first is a new fingerprint (a master rollout and one rewrite)
    expect(encryptionSettings(specOf(withEncryption('{ keys: [key2, key1] }'))).fingerprint).not.toBe(a.fingerprint);
    const spec = specOf(BASE);
    const ms = masterSettings(spec, naming(spec), '123456789012');
    expect(ms.encryption).toEqual(a);
    expect(parseMasterSettings(JSON.parse(JSON.stringify(ms)))).toEqual(ms);
  });

  it("the agent tests' fixture is the default's rendering, byte for byte", () => {
    expect(encryptionSettings(specOf(BASE)).config).toBe(ENCRYPTION_CONFIG);
  });
});

const facts: Facts = {
  accountId: '123456789012',
  images: { x86_64: 'ami-0123456789abcdef0' },
  templates: new Proxy({}, { get: (_t, k) => `# ${String(k)} {{ENCRYPTION}}\n`, has: () => true }) as Record<string, string>,
};
type St = { Sid?: string; Action: string | string[]; Resource: unknown };
const nodesOf = (text: string) => deriveGraph(specOf(text), facts).nodes;
const statementsOf = (nodes: AnyNode[], role: string): St[] => {
  const r = nodes.find((n): n is Extract<AnyNode, { kind: 'iam-role' }> => n.kind === 'iam-role' && n.key === `role/${role}`)!;
  return Object.values(r.props.policies).flatMap((p) => p.Statement as St[]);
};

describe('the graph: the key by name only, KMS granted on its key only', () => {
  it('aescbc: pki names the keys; no role may use KMS', () => {
    const nodes = nodesOf(withEncryption('{ keys: [key2, key1] }'));
    const pki = nodes.find((n) => n.kind === 'pki')!;
    expect(pki.props).toEqual({ bucket: expect.anything(), encryptionKeys: ['key2', 'key1'] });
    for (const role of ['master', 'node'])
      expect(
        statementsOf(nodes, role)
          .flatMap((s) => ([] as string[]).concat(s.Action))
          .filter((a) => a.startsWith('kms:Encrypt')),
        role,
      ).toEqual([]);
  });

  it('kms: the master role gets Encrypt, Decrypt and DescribeKey on the spec key and nothing else; nodes none', () => {
    const nodes = nodesOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`));
    expect(nodes.find((n) => n.kind === 'pki')!.props).toMatchObject({ encryptionKeys: [] });
    const kms = statementsOf(nodes, 'master').filter((s) =>
      ([] as string[]).concat(s.Action).some((a) => ['kms:Encrypt', 'kms:Decrypt'].includes(a)),
    );
    expect(kms).toEqual([
      // unlabelled: the master's document carries no Sids (IAM's 10,240 characters)
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt'], Resource: [KEY_ARN] },
    ]);
    expect(statementsOf(nodes, 'node').some((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith('kms:Encrypt')))).toBe(false);
  });

  it("the masters' user data names the configuration (a new one is a new version), the nodes' does not", () => {
    const one = nodesOf(BASE);
    const two = nodesOf(withEncryption('{ keys: [key2, key1] }'));
    const userData = (nodes: AnyNode[], key: string) =>
      (nodes.find((n) => n.kind === 'launch-template' && n.key === key)!.props as { userData: string }).userData;
    expect(userData(one, 'lt/master')).toMatch(/# secrets encrypted at rest, configuration [0-9a-f]{16}/);
    expect(userData(one, 'lt/master')).not.toBe(userData(two, 'lt/master'));
    const others = one.filter((n) => n.kind === 'launch-template' && n.key !== 'lt/master');
    expect(others.map((n) => n.key)).toEqual(['lt/workers']);
    for (const n of others) expect((n.props as { userData: string }).userData).not.toMatch(/secrets encrypted/);
    const text = JSON.stringify(one);
    expect(text).not.toMatch(/"secret":"[A-Za-z0-9+/]{43}="/);
  });
});

describe('the key: 32 random bytes, base64', () => {
  it('is generated fresh each time and checked when read', () => {
    const a = generateEncryptionKey();
    expect(Buffer.from(a, 'base64')).toHaveLength(32);
    expect(generateEncryptionKey()).not.toBe(a);
    expect(encryptionKeyProblem(`${a}\n`)).toBeUndefined();
    expect(encryptionKeyProblem('not base64!')).toBe('is not base64');
    expect(encryptionKeyProblem(Buffer.alloc(16).toString('base64'))).toBe('holds 16 bytes, not 32');
  });
});

describe('on the master: the file the API server reads', () => {
  const rendered = encryptionSettings(specOf(withEncryption('{ keys: [key2, key1] }'))).config;
  const k1 = Buffer.alloc(32, 1).toString('base64');
  const k2 = Buffer.alloc(32, 2).toString('base64');

  it('names the keys it references, in order', () => {
    expect(referencedKeys(rendered)).toEqual(['key2', 'key1']);
    expect(referencedKeys(encryptionSettings(specOf(withEncryption(`{ provider: kms, keyArn: '${KEY_ARN}' }`))).config)).toEqual([]);
  });

  it('assembles each reference with its key from pki/, and nothing else changes', () => {
    const out = parse(
      assembleEncryptionConfig(
        rendered,
        new Map([
          ['key1', `${k1}\n`],
          ['key2', k2],
        ]),
      ),
    ) as Loose;
    const expected = parse(rendered) as Loose;
    expected.resources[0].providers[0].aescbc.keys = [
      { name: 'key2', secret: k2 },
      { name: 'key1', secret: k1 },
    ];
    expect(out).toEqual(expected);
  });

  it.each([
    ['a missing key', new Map([['key2', Buffer.alloc(32, 2).toString('base64')]]), /pki\/encryption\/key1 is missing/],
    [
      'a short key',
      new Map([
        ['key1', Buffer.alloc(32, 1).toString('base64')],
        ['key2', 'AAAA'],
      ]),
      /pki\/encryption\/key2 holds 3 bytes, not 32/,
    ],
  ])('refuses %s: an API server without its key reads no Secret', (_n, keys, message) => {
    expect(() => assembleEncryptionConfig(rendered, keys)).toThrow(message);
  });

  it('refuses a secret that is not a reference (a key never travels in the rendered configuration)', () => {
    expect(() => assembleEncryptionConfig(rendered.replace('pki/encryption/key1', k1), new Map([['key2', k2]]))).toThrow(
      /must reference pki\/encryption\/key1/,
    );
  });
});

describe("kube-apiserver's patch and the KMS provider's pod", () => {
  it.each([
    [
      'aescbc',
      [
        { op: 'add', path: '/spec/containers/0/command/-', value: `--encryption-provider-config=${ENCRYPTION_CONFIG_FILE}` },
        {
          op: 'add',
          path: '/spec/volumes/-',
          value: { name: 'kubeaz-encryption', hostPath: { path: '/etc/kubernetes/encryption', type: 'DirectoryOrCreate' } },
        },
        {
          op: 'add',
          path: '/spec/containers/0/volumeMounts/-',
          value: { name: 'kubeaz-encryption', mountPath: '/etc/kubernetes/encryption', readOnly: true },
        },
      ],
    ],
    [
      'kms',
      [
        { op: 'add', path: '/spec/containers/0/command/-', value: `--encryption-provider-config=${ENCRYPTION_CONFIG_FILE}` },
        {
          op: 'add',
          path: '/spec/volumes/-',
          value: { name: 'kubeaz-encryption', hostPath: { path: '/etc/kubernetes/encryption', type: 'DirectoryOrCreate' } },
        },
        {
          op: 'add',
          path: '/spec/containers/0/volumeMounts/-',
          value: { name: 'kubeaz-encryption', mountPath: '/etc/kubernetes/encryption', readOnly: true },
        },
        {
          op: 'add',
          path: '/spec/volumes/-',
          value: { name: 'kubeaz-kms-socket', hostPath: { path: '/var/run/kmsplugin', type: 'DirectoryOrCreate' } },
        },
        {
          op: 'add',
          path: '/spec/containers/0/volumeMounts/-',
          value: { name: 'kubeaz-kms-socket', mountPath: '/var/run/kmsplugin', readOnly: false },
        },
      ],
    ],
  ] as const)('%s: the flag, the configuration directory read-only (and the socket with kms)', (provider, ops) => {
    expect(JSON.parse(apiserverEncryptionPatch(provider))).toEqual(ops);
  });

  it('the provider: host network (the instance role), the spec key and region, the socket the API server reads', () => {
    const pod = parse(
      kmsProviderPod({ keyArn: KEY_ARN, region: 'us-east-1', image: 'registry.k8s.io/kms/aws-encryption-provider:v0.3.0' }),
    ) as Loose;
    expect(pod.metadata).toMatchObject({ name: 'aws-encryption-provider', namespace: 'kube-system' });
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.containers[0].command).toEqual([
      '/aws-encryption-provider',
      `--key=${KEY_ARN}`,
      '--region=us-east-1',
      '--listen=/var/run/kmsplugin/socket.sock',
      '--health-port=:8083',
    ]);
    expect(pod.spec.volumes).toEqual([{ name: 'socket', hostPath: { path: '/var/run/kmsplugin', type: 'DirectoryOrCreate' } }]);
  });

  const input: MasterKubeadmInput = {
    kubernetesVersion: '1.35.0',
    clusterId: 'demo-dev',
    masterDns: 'master.dev.kube',
    podCidr: '100.96.0.0/11',
    serviceCidr: '100.64.0.0/13',
    apiCertSans: ['master.dev.kube'],
    nodeName: 'ip-10-0-1-5.ec2.internal',
    privateIp: '10.0.1.5',
    patchesDir: '/etc/kubernetes/patches',
  };
  it.each([
    ['aescbc', undefined, false, undefined],
    ['kms', [PREFLIGHT_MANIFESTS_DIR], false, [PREFLIGHT_MANIFESTS_DIR]],
    ['kms, restoring', [PREFLIGHT_MANIFESTS_DIR], true, [PREFLIGHT_MANIFESTS_DIR, 'DirAvailable--var-lib-etcd']],
  ] as const)(
    'kubeadm (%s): the patches directory, and the preflight the provider pod needs on init and join',
    (provider, ignore, restoredData, expected) => {
      const p = provider.startsWith('kms') ? 'kms' : 'aescbc';
      expect(encryptionPreflightIgnores({ provider: p })).toEqual(ignore ?? []);
      const i = { ...input, ...(ignore ? { ignorePreflight: [...ignore] } : {}) };
      const [init] = renderInitConfig(i, { restoredData })
        .split('---\n')
        .map((d) => parse(d) as Loose);
      expect(init!.patches).toEqual({ directory: '/etc/kubernetes/patches' });
      expect(init!.nodeRegistration.ignorePreflightErrors).toEqual(expected);
      const [join] = renderJoinConfig(i, 'abcdef.0123456789abcdef', `sha256:${'a'.repeat(64)}`)
        .split('---\n')
        .map((d) => parse(d) as Loose);
      expect(join!.patches).toEqual({ directory: '/etc/kubernetes/patches' });
      expect(join!.nodeRegistration.ignorePreflightErrors).toEqual(ignore);
    },
  );
});

describe('the one rewrite of every Secret per configuration', () => {
  const fp = 'a'.repeat(64);
  const rec = (fingerprint: string) => ({ fingerprint, by: 'i-0123', group: 'master', at: '2026-01-01T00:00:00Z' });
  it.each([
    ['none recorded', undefined, true, /no rewrite of the Secrets is recorded/],
    ['this configuration recorded', rec(fp), false, /rewritten under this configuration \(aaaaaaaaaaaa\) by i-0123/],
    [
      'another configuration recorded',
      rec('b'.repeat(64)),
      true,
      /last rewritten under configuration bbbbbbbbbbbb; this master's is aaaaaaaaaaaa/,
    ],
  ])('%s', (_n, recorded, rewrite, reason) => {
    const d = decideSecretsRewrite(recorded, fp);
    expect(d.rewrite).toBe(rewrite);
    expect(d.reason).toMatch(reason);
  });

  it('reads a namespace as JSON and writes it back from stdin, on the admin kubeconfig', () => {
    expect(secretsRewriteArgs('/etc/kubernetes/admin.conf', 'kube-system')).toEqual({
      get: ['--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'secrets', '--namespace', 'kube-system', '--output', 'json'],
      replace: ['--kubeconfig', '/etc/kubernetes/admin.conf', 'replace', '--filename', '-'],
    });
    expect(listsSecrets('{"kind":"List","items":[]}')).toBe(false);
    expect(listsSecrets('{"kind":"List","items":[{"kind":"Secret"}]}')).toBe(true);
  });
});
