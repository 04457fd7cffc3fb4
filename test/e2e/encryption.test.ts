/**
 * Secrets encrypted at rest (spec.encryption) in moto through the real CLI: create generates the
 * aescbc key once under pki/encryption/ (SSE-S3) and renders the EncryptionConfiguration into the
 * masters' settings with the key by reference only; a re-run (and a run after a lost state file)
 * keeps the key and makes no mutating call; neither plan nor the state file nor the user data ever
 * holds the key; a second key is generated beside the first, which stays, and shows in plan as a new
 * master version; a switch to kms that drops the key that encrypts is refused by plan, one that
 * keeps the keys beside KMS is not, and create's pre-flight refuses a missing or disabled KMS key
 * before any change; destroy leaves nothing (no snapshot was taken, so nothing is kept).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { useMoto } from '../helpers/moto.js';
import { PKI_FILES } from '../../src/pki/ca.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-enc-qa-${ACCOUNT}`;
const spec = (encryption = '') => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: enc, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
${encryption}`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number };
  actions: Array<{ key: string; action: string }>;
}
interface PlanJson {
  changes: Array<{ key: string; action: string }>;
}

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('encryption at rest: the aescbc key made once under pki/, never shown', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let before: Inventory;
  const keys: Record<string, string> = {};

  const getText = async (key: string) =>
    await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString('utf8');
  const pkiKeys = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pki/' }))).Contents ?? []).map((o) => o.Key!.slice(4)).sort();
  const create = async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    return { r, out: r.json<CreateJson>() };
  };
  const masterUserData = async () => {
    const v = await new EC2Client({ region: REGION }).send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'enc-qa-master', Versions: ['$Latest'] }),
    );
    return Buffer.from(v.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString();
  };
  /** No text a user or a snapshot of the state sees holds a key's bytes. */
  const expectNoKey = (text: string, what: string) => {
    for (const [name, k] of Object.entries(keys)) expect(text.includes(k), `${what} holds ${name}`).toBe(false);
  };

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-enc-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec());
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    before = await inventory(REGION);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create stores one 32-byte key under pki/encryption/ (SSE-S3) and the configuration that references it', async () => {
    const { out } = await create();
    expect(out.actions.find((a) => a.key === 'pki')?.action).toBe('create');
    expect(await pkiKeys()).toEqual([...PKI_FILES, 'encryption/key1'].sort());
    keys.key1 = (await getText('pki/encryption/key1')).trim();
    expect(Buffer.from(keys.key1, 'base64')).toHaveLength(32);
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'pki/encryption/key1' }));
    expect(h.ServerSideEncryption).toBe('AES256');
    const config = JSON.parse(await getText('agent/config.json')) as { master: { encryption: { provider: string; config: string } } };
    expect(config.master.encryption.provider).toBe('aescbc');
    expect(parse(config.master.encryption.config)).toEqual({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        { resources: ['secrets'], providers: [{ aescbc: { keys: [{ name: 'key1', secret: 'pki/encryption/key1' }] } }, { identity: {} }] },
      ],
    });
    expect(await masterUserData()).toMatch(/# secrets encrypted at rest, configuration [0-9a-f]{16}/);
  });

  it('the key is in no output, state file, agent configuration or user data', async () => {
    const state = await readFile(path.join(dir, '.kubeaz', 'enc-qa.json'), 'utf8');
    expectNoKey(state, 'the state file');
    expect(state).toContain('"pki"');
    expectNoKey(await getText('agent/config.json'), 'agent/config.json');
    expectNoKey(await masterUserData(), "the master's user data");
    for (const args of [
      ['plan', '-f', file],
      ['plan', '-f', file, '--output', 'json'],
      ['status', '-f', file, '--output', 'json'],
    ]) {
      const r = await kubeaz(args, env);
      expect(r.code, r.stderr).toBe(0);
      expectNoKey(r.stdout + r.stderr, args.join(' '));
    }
  });

  it('a second create keeps the key and makes no mutating call', async () => {
    const { r, out } = await create();
    expect(out.calls.mutating).toBe(0);
    expectNoKey(r.stdout + r.stderr, 'create');
    expect((await getText('pki/encryption/key1')).trim()).toBe(keys.key1);
  });

  it('after a lost state file create finds the key again: no new key, no mutating call', async () => {
    await rm(path.join(dir, '.kubeaz', 'enc-qa.json'));
    const { out } = await create();
    expect(out.calls.mutating).toBe(0);
    expect((await getText('pki/encryption/key1')).trim()).toBe(keys.key1);
  });

  it('a second key (rotation, step one): plan shows pki, the configuration and a new master version; create adds key2 and keeps key1', async () => {
    await writeFile(file, spec('  encryption: { provider: aescbc, keys: [key1, key2] }\n'));
    const plan = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(plan.code, plan.stderr).toBe(4);
    const changed = plan.json<PlanJson>().changes.map((c) => `${c.action} ${c.key}`);
    expect(changed).toEqual(expect.arrayContaining(['update pki', 'update object/agent/config.json', 'update lt/master']));
    expect(changed.filter((c) => c.endsWith('lt/general'))).toEqual([]);
    const text = await kubeaz(['plan', '-f', file], env);
    expectNoKey(text.stdout + text.stderr, 'plan');
    const { r, out } = await create();
    expectNoKey(r.stdout + r.stderr, 'create');
    expect(out.actions.find((a) => a.key === 'pki')?.action).toBe('update');
    expect(await pkiKeys()).toEqual([...PKI_FILES, 'encryption/key1', 'encryption/key2'].sort());
    expect((await getText('pki/encryption/key1')).trim()).toBe(keys.key1);
    keys.key2 = (await getText('pki/encryption/key2')).trim();
    expect(keys.key2).not.toBe(keys.key1);
    expectNoKey(await readFile(path.join(dir, '.kubeaz', 'enc-qa.json'), 'utf8'), 'the state file');
    const again = await create();
    expect(again.out.calls.mutating).toBe(0);
  });

  it('switching to kms: plan refuses dropping the aescbc key that encrypts (saying how), accepts keeping the keys beside KMS; create pre-flight refuses a missing or disabled key before any change, takes a usable one', async () => {
    const missing = `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;
    await writeFile(file, spec(`  encryption: { provider: kms, keyArn: '${missing}' }\n`));
    const refused = await kubeaz(['plan', '-f', file, '--detailed-exitcode'], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toMatch(/! lt\/master .*REFUSED/);
    expect(refused.stdout).toMatch(/aescbc key key1 .*spec\.encryption\.keys: \[key1, key2\] with provider kms/);

    await writeFile(file, spec(`  encryption: { provider: kms, keyArn: '${missing}', keys: [key1, key2] }\n`));
    const kept = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(kept.code, kept.stderr).toBe(4);
    expect(kept.json<PlanJson>().changes.filter((c) => c.action === 'refuse')).toEqual([]);

    const noKey = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(
      /pre-flight found 1 problem; nothing was changed:\n {2}- kms-key: the KMS key .*00000000-0000-4000-8000-000000000000 does not exist/,
    );

    const kms = new KMSClient({
      region: REGION,
      endpoint: env.AWS_ENDPOINT_URL!,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    const made = (await kms.send(new CreateKeyCommand({ Description: 'kubeaz e2e: disabled' }))).KeyMetadata!;
    const disabled = made.Arn!;
    // moto 5.2.1 answers DisableKey by ARN with an error page: by key id
    await kms.send(new DisableKeyCommand({ KeyId: made.KeyId! }));
    await writeFile(file, spec(`  encryption: { provider: kms, keyArn: '${disabled}', keys: [key1, key2] }\n`));
    const off = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(off.code).toBe(1);
    expect(off.stderr).toMatch(/- kms-key: the KMS key .* is Disabled: enable it/);

    const usable = (await kms.send(new CreateKeyCommand({ Description: 'kubeaz e2e: secrets' }))).KeyMetadata!.Arn!;
    await writeFile(file, spec(`  encryption: { provider: kms, keyArn: '${usable}', keys: [key1, key2] }\n`));
    const { out } = await create();
    expect(out.actions.filter((a) => a.action !== 'unchanged').map((a) => a.key)).toEqual(
      expect.arrayContaining(['object/agent/config.json', 'lt/master']),
    );
    const config = JSON.parse(await getText('agent/config.json')) as { master: { encryption: { provider: string; config: string } } };
    expect(config.master.encryption.provider).toBe('kms');
    expect(
      (parse(config.master.encryption.config) as { resources: Array<{ providers: object[] }> }).resources[0]!.providers.map(
        (p) => Object.keys(p)[0],
      ),
    ).toEqual(['kms', 'aescbc', 'identity']);
  });

  it('destroy leaves nothing behind (no etcd snapshot: nothing is kept)', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing of .* remains/);
    expectNoKey(r.stdout + r.stderr, 'destroy');
    expect(await inventory(REGION)).toEqual(before);
  });
});
