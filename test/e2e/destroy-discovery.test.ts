/**
 * destroy with IRSA on names what kubeaz did not make in the discovery bucket (issue 23 #8), as it
 * does for the private bucket: that bucket is unversioned, so an object someone put there is gone
 * for good once destroy empties it. The preview (before the question) and the summary (after) list
 * it; the issuer's two documents, kubeaz's own, are not listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const ID = 'dd-qa';
const BUCKET = `kubeaz-${ID}-${ACCOUNT}`;
const DISCOVERY = `${BUCKET}-oidc`;
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/uploader-s3`;

const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: dd, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
    serviceAccounts:
      - { namespace: apps, name: uploader, policyArns: [${POLICY_ARN}] }
`;

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('destroy names the objects kubeaz did not make in the discovery bucket (issue 23 #8)', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  const FOREIGN = 'notes/keep-me.txt';
  const FOREIGN_PRIVATE = 'team/readme.txt';

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-dd-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const iam = new IAMClient({ region: 'us-east-1' });
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'uploader-s3',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    );
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    await s3.send(new PutObjectCommand({ Bucket: DISCOVERY, Key: FOREIGN, Body: 'twelve bytes' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: FOREIGN_PRIVATE, Body: 'hello' }));
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the preview lists the foreign object of the discovery bucket (and of the private one), not the issuer documents; nothing is deleted without an answer', async () => {
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: DISCOVERY }))).Contents!.map((o) => o.Key).sort();
    expect(keys).toEqual(['.well-known/openid-configuration', FOREIGN, 'openid/v1/jwks']);
    const r = await kubeaz(['destroy', '-f', file], env);
    expect(r.code, r.stderr).toBe(2); // no terminal to confirm on
    const warned = r.stderr.split('\n').filter((l) => /not made by kubeaz, goes with its container/.test(l));
    expect(
      warned.some((l) =>
        l.includes(`object s3://${DISCOVERY}/${FOREIGN} (12 bytes) in the cluster's discovery bucket (unversioned: no copy stays)`),
      ),
      r.stderr,
    ).toBe(true);
    expect(
      warned.some((l) => l.includes(`object s3://${BUCKET}/${FOREIGN_PRIVATE} (5 bytes) in the cluster's bucket`)),
      r.stderr,
    ).toBe(true);
    expect(warned.filter((l) => l.includes(DISCOVERY))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/openid-configuration|openid\/v1\/jwks/);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: DISCOVERY }))).Contents!.map((o) => o.Key).sort()).toEqual(keys);
  }, 240_000);

  it('the summary lists it once it is gone (text), as JSON does in `foreign`', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], env);
    expect(r.code, r.stderr).toBe(0);
    const summary = r.stderr.split('\n').find((l) => l.includes('deleted with their containers, not made by kubeaz:'));
    expect(summary, r.stderr).toBeDefined();
    expect(summary).toContain(`object s3://${DISCOVERY}/${FOREIGN} (12 bytes) in the cluster's discovery bucket`);
    expect(summary).toContain(`object s3://${BUCKET}/${FOREIGN_PRIVATE} (5 bytes)`);
    const inv = await inventory(REGION);
    expect(inv.buckets).toEqual([]);
    expect(inv.oidcProviders).toEqual([]);
    expect(inv.roles).toEqual([]);
  }, 240_000);

  it('JSON: the foreign object of the discovery bucket is in `foreign`', async () => {
    const created = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(created.code, created.stderr).toBe(0);
    await s3.send(new PutObjectCommand({ Bucket: DISCOVERY, Key: FOREIGN, Body: 'twelve bytes' }));
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ foreign: string[] }>().foreign).toEqual([
      `object s3://${DISCOVERY}/${FOREIGN} (12 bytes) in the cluster's discovery bucket (unversioned: no copy stays)`,
    ]);
  }, 300_000);
});
