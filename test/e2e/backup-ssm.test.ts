/**
 * `backup-etcd` through SSM, its success path: moto's SendCommand runs nothing, so a small proxy in
 * front of moto plays the master's agent — on SendCommand it puts a snapshot under etcd/ (as
 * `kubeaz-agent backup` would) before moto answers. The CLI must send the agent's command to a
 * running master and find the new object; a master that answers Success without one is not enough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { snapshotKey } from '../../src/etcd/retention.js';
import { motoEnv } from '../../src/devtools/moto.js';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const BUCKET = `kubeaz-bk-qa-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: bk, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.23.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 1 }
`;

// a story on one cluster: its steps build on each other, so they keep their order under --sequence.shuffle
describe('backup-etcd through SSM: sent to a running master, verified in S3', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let proxy: Server;
  let env: Record<string, string>;
  const sent: Array<{ instanceIds: string[]; commands: string[] }> = [];
  let agentWrites = true;

  beforeAll(async () => {
    Object.assign(process.env, moto.env);
    delete process.env.AWS_PROFILE;
    const s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const target = new URL(moto.url);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        if (req.headers['x-amz-target'] === 'AmazonSSM.SendCommand') {
          const b = JSON.parse(body.toString()) as { InstanceIds: string[]; Parameters: { commands: string[] } };
          sent.push({ instanceIds: b.InstanceIds, commands: b.Parameters.commands });
          if (agentWrites) {
            const snap = randomBytes(2048);
            await s3.send(
              new PutObjectCommand({
                Bucket: BUCKET,
                Key: snapshotKey(new Date()),
                Body: snap,
                IfNoneMatch: '*',
                ServerSideEncryption: 'AES256',
                Metadata: { sha256: createHash('sha256').update(snap).digest('hex') },
              }),
            );
          }
        }
        const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        });
        fwd.on('error', () => res.destroy());
        fwd.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    env = motoEnv(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-bk-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    const c = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(c.code, c.stderr).toBe(0);
  }, 200_000);
  afterAll(async () => {
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the agent's backup command goes to the running master and the new snapshot is found and named", async () => {
    const r = await kubeaz(['backup-etcd', '-f', file, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<{ key: string; instanceId: string; sha256: string | null; tried: string[] }>();
    expect(j.key).toMatch(/^etcd\/\d{8}T\d{6}Z\.db$/);
    expect(j.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(j.tried).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.instanceIds).toEqual([j.instanceId]);
    expect(sent[0]!.commands).toEqual([
      'if [ -f /opt/kubeaz/kubeaz-agent.mjs ]; then exec node-22 /opt/kubeaz/kubeaz-agent.mjs backup; else systemctl start kubeaz-etcd-backup.service; fi',
    ]);
  });

  it('Success without a new object is not a backup: exit 1, naming the master', async () => {
    agentWrites = false;
    const r = await kubeaz(['backup-etcd', '-f', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /after asking every running master: i-[0-9a-f]+: reported the backup command \S+ done, but no new snapshot appeared/,
    );
  });
});
