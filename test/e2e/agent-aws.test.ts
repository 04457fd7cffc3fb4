/**
 * The node agent's AWS side against moto (no mocks): several loadbalancer instances claiming their
 * pool's elastic IPs at once each end with a different address, and the boot reporter's
 * boot/<instance-id>.json is in the bucket as the readers parse it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '../../src/aws/clients.js';
import { putText } from '../../src/agent/bucket.js';
import { claimElasticIp } from '../../src/agent/node/eip.js';
import { waitForJoin } from '../../src/agent/node/index.js';
import { BootReporter } from '../../src/agent/report.js';
import { parseBootReport } from '../../src/records/boot.js';
import { testConfig, testContext } from '../helpers/agent.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const BUCKET = 'kubeaz-demo-dev-123456789012';

describe('the agent against moto', () => {
  useMoto({ processEnv: true });
  let ec2: EC2Client;
  let s3: S3Client;
  const instances: string[] = [];
  beforeAll(async () => {
    ec2 = new EC2Client({ region: REGION });
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const image = (await ec2.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
    const run = await ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 4, MaxCount: 4, InstanceType: 't3.medium' }));
    instances.push(...run.Instances!.map((i) => i.InstanceId!));
    const tags = (pool: string, cluster = 'demo-dev') => [
      {
        ResourceType: 'elastic-ip' as const,
        Tags: [
          { Key: 'kubeaz:cluster', Value: cluster },
          { Key: 'kubeaz:eip-pool', Value: pool },
        ],
      },
    ];
    for (let i = 0; i < 3; i++) await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tags('edge') }));
    // another pool and another cluster's pool of the same name: never taken
    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tags('other') }));
    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tags('edge', 'another-cluster') }));
  });

  const ctxFor = (instanceId: string) =>
    testContext({
      identity: { group: 'edge', instanceId },
      config: testConfig({ bucket: BUCKET }),
      aws: new AwsClients({ region: REGION }),
      waits: { eipRounds: 5 },
    });

  it('three loadbalancer instances claiming at once each get a different address of their pool; a fourth finds none free', async () => {
    const got = await Promise.all(instances.slice(0, 3).map((id) => claimElasticIp(ctxFor(id))));
    expect(new Set(got).size).toBe(3);
    const addrs = (await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? [];
    const pool = addrs.filter(
      (a) =>
        a.Tags?.some((t) => t.Key === 'kubeaz:eip-pool' && t.Value === 'edge') &&
        a.Tags?.some((t) => t.Key === 'kubeaz:cluster' && t.Value === 'demo-dev'),
    );
    expect(pool.map((a) => a.InstanceId).sort()).toEqual(instances.slice(0, 3).sort());
    expect(addrs.filter((a) => !pool.includes(a)).every((a) => !a.InstanceId)).toBe(true);
    // a rebooted agent keeps its own
    expect(await claimElasticIp(ctxFor(instances[1]!))).toBe(got[1]);
    await expect(claimElasticIp(ctxFor(instances[3]!))).rejects.toThrow(
      /no free elastic IP in pool edge of demo-dev \(3 in the pool, all held\)/,
    );
  });

  it('reads join/ from the bucket once a master wrote it', async () => {
    const token = 'abcdef.0123456789abcdef';
    const hash = `sha256:${'b'.repeat(64)}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'join/token', Body: `${token}\n` }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'join/ca-cert-hash', Body: `${hash}\n` }));
    expect(await waitForJoin(ctxFor(instances[0]!))).toEqual({ token, caCertHash: hash });
  });

  it('writes boot/<instance-id>.json at each phase, readable by status and logs, failure redacted', async () => {
    const aws = new AwsClients({ region: REGION });
    const id = instances[0]!;
    const rep = new BootReporter({
      instanceId: id,
      group: 'edge',
      role: 'loadbalancer',
      sink: { put: (key, body) => putText(aws, BUCKET, key, body) },
      log: () => {},
      now: () => new Date(),
    });
    await rep.phase('elastic-ip', async () => {});
    await rep
      .phase('join', async () =>
        Promise.reject(
          Object.assign(new Error('kubeadm join exited 1'), { output: 'using token abcdef.0123456789abcdef\nconnection refused' }),
        ),
      )
      .catch(() => {});
    await rep.flush();
    const text = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `boot/${id}.json` }))).Body!.transformToString();
    const r = parseBootReport(text);
    if (r instanceof Error) throw r;
    expect(r).toMatchObject({
      instanceId: id,
      group: 'edge',
      role: 'loadbalancer',
      result: 'failed',
      error: { phase: 'join', message: 'kubeadm join exited 1', output: 'using token <redacted token>\nconnection refused' },
    });
    expect(r.phases.map((p) => p.name)).toEqual(['elastic-ip', 'join']);
  });
});
