/**
 * The restore step against moto's S3: the newest VALID snapshot (its SHA-256 equal to the metadata
 * written at upload, readable by `etcdutl snapshot status`) is restored with `--bump-revision
 * 1000000000 --mark-compacted`; a corrupt newer one is skipped; none at all is a new cluster;
 * snapshots but none valid is a refusal; etcdutl is fetched only when there is something to check.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { restoreNewest, snapshotTimeIso } from '../../src/agent/master/snapshots.js';
import { FakePrograms, fail, testMaster } from '../helpers/agent-master.js';
import { useMoto } from '../helpers/moto.js';

useMoto({ processEnv: true });
const BUCKET = 'kubeaz-restore-123456789012';
let aws: AwsClients;
let s3: S3Client;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const put = (Key: string, body: Buffer, sum?: string) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: body, ...(sum ? { Metadata: { sha256: sum } } : {}) }));

beforeAll(async () => {
  aws = new AwsClients({ region: 'eu-west-1' });
  s3 = await aws.s3();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
});

const master = (programs = new FakePrograms()) =>
  testMaster({
    instanceId: 'i-0000000000000rst',
    group: 'master',
    ip: '10.0.1.5',
    aws,
    bucket: BUCKET,
    sink: { put: async () => {} },
    programs,
  });

describe('restoring the newest valid snapshot', () => {
  it('no snapshot: a new cluster, etcdutl not even fetched', async () => {
    const m = master();
    let fetched = 0;
    expect(await restoreNewest(m.ctx, async () => (fetched++, 'etcdutl'), 'n1')).toEqual({});
    expect(fetched).toBe(0);
  });

  it('skips a newer snapshot whose sha256 does not match and one etcdutl cannot read; restores the next with the flags', async () => {
    const good = Buffer.alloc(4096, 1);
    const unreadable = Buffer.alloc(4096, 2);
    await put('etcd/20261205T100000Z.db', good, sha(good));
    await put('etcd/20261205T110000Z.db', unreadable, sha(unreadable));
    await put('etcd/20261205T120000Z.db', Buffer.alloc(4096, 3), sha(Buffer.from('something else')));
    const programs = new FakePrograms((cmd, args) => {
      if (cmd === '/opt/etcdutl' && args[0] === 'snapshot' && args[1] === 'status') {
        return readFileSync(args[2]!)[0] === 2 ? fail(1, 'snapshot file has wrong format') : undefined;
      }
      // etcdutl makes the data dir it restores into
      if (args[1] === 'restore') mkdirSync(`${args[args.indexOf('--data-dir') + 1]}/member`, { recursive: true });
      return undefined;
    });
    const m = master(programs);
    const r = await restoreNewest(m.ctx, async () => '/opt/etcdutl', 'ip-10-0-1-5.eu-west-1.compute.internal');
    expect(r).toEqual({ key: 'etcd/20261205T100000Z.db' });
    expect(m.logs.some((l) => /skipping etcd\/20261205T120000Z.db: sha256/.test(l))).toBe(true);
    expect(m.logs.some((l) => /skipping etcd\/20261205T110000Z.db: etcdutl cannot read it/.test(l))).toBe(true);
    const restore = programs.calls.find((c) => c.args[1] === 'restore')!;
    expect(restore.cmd).toBe('/opt/etcdutl');
    expect(restore.args).toEqual([
      'snapshot',
      'restore',
      expect.stringMatching(/snapshot\.db$/),
      '--data-dir',
      `${m.ctx.root}/var/lib/etcd`,
      '--name',
      'ip-10-0-1-5.eu-west-1.compute.internal',
      '--initial-cluster',
      'ip-10-0-1-5.eu-west-1.compute.internal=https://10.0.1.5:2380',
      '--initial-advertise-peer-urls',
      'https://10.0.1.5:2380',
      '--bump-revision',
      '1000000000',
      '--mark-compacted',
    ]);
    expect(snapshotTimeIso(r.key)).toBe('2026-12-05T10:00:00Z');
  });

  it('snapshots but none valid: refuses to start an empty cluster over them', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'etcd/20261205T100000Z.db' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'etcd/20261205T110000Z.db' }));
    await expect(restoreNewest(master().ctx, async () => 'etcdutl', 'n1')).rejects.toThrow(/holds snapshots but none is valid/);
  });
});
