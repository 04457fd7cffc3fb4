/**
 * destroy of a cluster whose bucket holds etcd snapshots keeps the bucket (tagged) with etcd/ and
 * pki/ only and says where the backups are; create adopts that bucket and reuses pki/ untouched
 * (same CA bytes), so a master rebuilt from the snapshots keeps its identity; destroy
 * --delete-backups then leaves nothing at all. Also: the admin kubeconfig of a spec with a public
 * domain (the example with its commented publicDomain switched on) names the public master record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import {
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { bucket as bucketHandler } from '../../src/resources/bucket.js';
import { snapshotKey } from '../../src/etcd/retention.js';
import { PKI_FILES } from '../../src/pki/ca.js';
import { kubeaz } from '../helpers/cli.js';
import { examplePublicDomain } from '../helpers/example.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const BUCKET = `kubeaz-demo-dev-${ACCOUNT}`;

interface CreateJson {
  ok: boolean;
  calls: { total: number; mutating: number };
  actions: Array<{ key: string; action: string }>;
}

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('destroy keeps etcd backups and the PKI; create brings the cluster back with them', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let before: Inventory;
  const pki: Record<string, string> = {};
  const snapKey = snapshotKey(new Date(Date.now() - 120_000));
  const snapBody = randomBytes(4096);

  const getText = async (key: string) =>
    await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString('utf8');
  const versions = async () => {
    const v = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    return [...(v.Versions ?? []), ...(v.DeleteMarkers ?? [])].map((x) => x.Key!);
  };

  /** What the node agent puts in the bucket: its bundle under agent/ (create uploads it) and a boot report per instance under boot/. */
  const AGENT_KEYS = [
    'agent/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0/kubeaz-agent.mjs',
    'boot/i-0123456789abcdef0.json',
  ];
  const plantAgentObjects = async () => {
    for (const Key of AGENT_KEYS)
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key,
          Body: Key.endsWith('.json') ? '{"instanceId":"i-0123456789abcdef0"}' : 'export {};\n',
          ServerSideEncryption: 'AES256',
        }),
      );
  };

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-keep-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, examplePublicDomain()); // the kubeconfig test below needs the public master record
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    before = await inventory(REGION);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("create, then a snapshot lands in etcd/ (as the master's timer would put it)", async () => {
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    for (const f of PKI_FILES) pki[f] = await getText(`pki/${f}`);
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: snapKey,
        Body: snapBody,
        IfNoneMatch: '*',
        ServerSideEncryption: 'AES256',
        Metadata: { sha256: createHash('sha256').update(snapBody).digest('hex') },
      }),
    );
    await plantAgentObjects();
  });

  it('kubeconfig names the public master record when the spec has a public domain and a public API', async () => {
    const out = path.join(dir, 'kc');
    const r = await kubeaz(['kubeconfig', '-f', file, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(parse(await readFile(out, 'utf8')).clusters[0].cluster.server).toBe('https://master.dev.example.com:443');
  });

  it('the bucket kind itself refuses to delete a bucket holding snapshots unless told to delete backups', async () => {
    const ctx = createRunContext({
      clusterId: 'demo-dev',
      region: REGION,
      accountId: ACCOUNT,
      generation: 'g',
      aws: new AwsClients({ region: REGION }),
    });
    const [actual] = await bucketHandler.observe(ctx);
    expect(actual?.id).toBe(BUCKET);
    await expect(bucketHandler.delete(ctx, actual!)).rejects.toThrow(/holds 1 etcd snapshot\(s\): not deleting them/);
    expect(await versions()).toContain(snapKey);
  });

  it('destroy shows what it will delete before it asks (counts per kind, the VPC, the bucket kept with its backups); without a terminal it then refuses', async () => {
    const status = (await kubeaz(['status', '-f', file, '--output', 'json'], env)).json<{
      resources: Array<{ key: string; kind: string; id: string }>;
    }>();
    const vpcId = status.resources.find((r) => r.key === 'vpc')!.id;
    const subnets = status.resources.filter((r) => r.kind === 'subnet').length;
    const r = await kubeaz(['destroy', '-f', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing without a terminal to confirm on; pass --yes/);
    // status lists what the spec names; destroy also deletes what lies under kubeaz's agent/ prefix
    // without being named (the planted bundle of another build)
    const going =
      status.resources.filter((x) => x.kind !== 'bucket' && x.kind !== 'pki').length +
      AGENT_KEYS.filter((k) => k.startsWith('agent/')).length;
    // the preview is destroy's result (stdout, as plan's); the refusal is on stderr
    expect(r.stdout).toContain(`destroy demo-dev in ${REGION} (account ${ACCOUNT}): ${going} resources to delete`);
    expect(r.stdout).toMatch(new RegExp(`(^| ) +${subnets} subnet\\b`, 'm'));
    expect(r.stdout).toContain(`  VPC: ${vpcId}`);
    expect(r.stdout).toContain(`  bucket: ${BUCKET} KEPT with its 1 etcd snapshot(s) and pki/\n    (--delete-backups deletes them too)`);
    // the counts fit 100 columns (the list of every resource below them is as wide as its ids)
    const counts = r.stdout.slice(0, r.stdout.indexOf('  KIND'));
    for (const line of [...counts.split('\n'), ...r.stderr.split('\n')]) expect(line.length, line).toBeLessThanOrEqual(100);
    // the preview is out before the question refuses (which ends the run) and nothing was deleted
    expect(r.stdout).toMatch(/resources to delete/);
    expect((await kubeaz(['status', '-f', file, '--output', 'json'], env)).code).toBe(0);
  });

  it('destroy keeps the bucket with etcd/, pki/ and spec/ only, tagged, and says where the backups are', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`s3://${BUCKET}/etcd/`);
    expect(r.stderr).toMatch(/--delete-backups/);
    expect(r.stderr).not.toMatch(/nothing of demo-dev remains/);
    // everything else is gone: the inventory is the one before create, plus the kept bucket
    expect(await inventory(REGION)).toEqual({ ...before, buckets: [...before.buckets!, BUCKET].sort() });
    // every version of everything but etcd/, pki/ and the stored spec is gone (no bootstrap files, no delete markers)
    const keys = await versions();
    expect(keys.filter((k) => !k.startsWith('etcd/') && !k.startsWith('pki/') && k !== 'spec/cluster.yaml')).toEqual([]);
    for (const k of AGENT_KEYS) expect(keys).not.toContain(k);
    // the aescbc key too: the snapshots' Secrets are encrypted with it; and the spec the cluster was created from
    expect(new Set(keys)).toEqual(new Set([snapKey, ...PKI_FILES.map((f) => `pki/${f}`), 'pki/encryption/key1', 'spec/cluster.yaml']));
    const tags = (await s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET }))).TagSet ?? [];
    expect(tags.find((t) => t.Key === 'kubeaz:cluster')?.Value).toBe('demo-dev');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).toBe('Enabled');
    expect(existsSync(path.join(dir, '.kubeaz', 'demo-dev.json'))).toBe(false);
  });

  it('destroy again is safe: nothing more to delete, the backups stay', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/done: 0 deleted/);
    expect(await versions()).toContain(snapKey);
  });

  it('create adopts the bucket and reuses pki/ untouched: the same CAs and keys, byte for byte', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<CreateJson>();
    expect(out.ok).toBe(true);
    expect(out.actions.find((a) => a.key === 'pki')?.action).toBe('unchanged');
    expect(out.actions.find((a) => a.key === 'bucket')?.action).toBe('unchanged');
    for (const f of PKI_FILES) expect(await getText(`pki/${f}`), f).toBe(pki[f]);
    const snap = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: snapKey }));
    expect(Buffer.from(await snap.Body!.transformToByteArray()).equals(snapBody)).toBe(true);
    // the agent and its configuration are back for the master to boot from (and restore the snapshot)
    const agent = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'agent/' }))).Contents ?? []).map((o) => o.Key!);
    expect(agent).toContain('agent/config.json');
    expect(agent.filter((k) => /^agent\/kubeaz-agent-[a-f0-9]{64}\.mjs$/.test(k))).toHaveLength(1);
    const status = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    expect(status.json<{ etcdBackups: { count: number; newestKey: string } }>().etcdBackups).toMatchObject({
      count: 1,
      newestKey: snapKey,
    });
  });

  it('destroy --delete-backups removes the snapshots and the bucket too: nothing is left', async () => {
    await plantAgentObjects();
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    // boot/ and agent/ are kubeaz's own prefixes: not reported as someone else's objects
    expect(r.stderr).not.toMatch(/not made by kubeaz/);
    expect(r.stderr).toMatch(/nothing of demo-dev remains/);
    // --output json with --yes: the preview is listed, without a question
    const out = r.json<{
      deleted: unknown[];
      preview: {
        total: number;
        byKind: Record<string, number>;
        vpcId: string;
        backupsKept: boolean;
        bucket: { name: string; kept: boolean; etcdSnapshots: number };
      };
    }>();
    expect(out.preview.backupsKept).toBe(false);
    // the snapshot that goes is counted (the preview said "no etcd backups" with --delete-backups)
    expect(out.preview.bucket).toMatchObject({ name: BUCKET, kept: false, etcdSnapshots: 1 });
    expect(out.preview.vpcId).toMatch(/^vpc-/);
    expect(Object.values(out.preview.byKind).reduce((a, b) => a + b, 0)).toBe(out.preview.total);
    expect(out.preview.byKind.bucket).toBe(1);
    expect(out.deleted.length).toBe(out.preview.total);
    expect(await inventory(REGION)).toEqual(before);
  });
});
