/**
 * S3 lock objects kubeaz did not write (issue 23, item 3): valid JSON without a string lockId
 * (`{}`, `[]`, `"x"`, `{"lockId":123}`, `null`) or not JSON at all. Each is refused naming the lock
 * and why, with a --force-unlock token the message prints; following that command removes the
 * lock, and the next run proceeds. Against moto, the object planted with the SDK.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const BUCKET = 'team-locks';
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: shapes, environment: qa }
spec:
  region: us-west-2
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
`;

const shapes: Array<[string, string, RegExp]> = [
  ['{}', '{}', /it has no lockId/],
  ['[]', '[]', /it is an array, not a lock object/],
  ['"x"', '"x"', /it is a string, not a lock object/],
  ['{"lockId":123}', '{"lockId":123}', /its lockId is a number, not a string/],
  ['null', 'null', /it is null, not a lock object/],
  ['not JSON', '{"lockId": "abc', /it is not JSON/],
];

describe('S3 locks of a foreign shape', () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;

  beforeAll(async () => {
    env = moto.env;
    s3 = new S3Client({
      region: 'us-west-2',
      forcePathStyle: true,
      endpoint: moto.url,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-s3shapes-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  shapes.forEach(([name, body, why], i) => {
    it(`a lock holding ${name}: named with its reason, removed with the token the message prints, then the next run proceeds`, async () => {
      const prefix = `shape-${i}`;
      const lockKey = `${prefix}/shapes-qa.lock`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: lockKey, Body: body }));
      const args = ['destroy', '--yes', '-f', file, '--state', `s3://${BUCKET}/${prefix}`];

      const refused = await kubeaz(args, env);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`the lock s3://${BUCKET}/${lockKey} is not a lock kubeaz can read`);
      expect(refused.stderr).toMatch(why);
      expect(refused.stderr).not.toMatch(/undefined|TypeError|internal error/i);
      const token = /--force-unlock (\S+?)\.?$/m.exec(refused.stderr)?.[1];
      expect(token, refused.stderr).toMatch(/^(etag|sha256)-[0-9a-f]+$/);

      // a wrong token still refuses, and leaves the lock
      const wrong = await kubeaz([...args, '--force-unlock', 'etag-0000'], env);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/does not name this lock/);
      await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: lockKey }));

      const taken = await kubeaz([...args, '--force-unlock', token!], env);
      expect(taken.code, taken.stderr).toBe(0);
      await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: lockKey }))).rejects.toThrow();

      const next = await kubeaz(args, env);
      expect(next.code, next.stderr).toBe(0);
      await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: lockKey }))).rejects.toThrow();
    });
  });
});
