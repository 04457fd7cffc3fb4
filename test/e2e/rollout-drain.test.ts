/**
 * `kubeaz rollout` through the real CLI against moto (issue 20): the node group's instance is
 * replaced by terminating it in its group (moto launches the replacement; it runs no lifecycle
 * hook), and rollout goes on only once the new instance is Ready. Nothing boots on moto and no API
 * answers (--api-endpoint points at a closed port of the loopback), so the boot report decides:
 * without one, rollout stops (exit 1) saying so; with a `ready` report written for the new instance
 * while rollout waits, it completes (exit 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { bucketName } from '../../src/model/names.js';
import { kubeaz } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const ID = 'rol-qa';
const ACCOUNT = '123456789012';
const ASG = `${ID}-workers`;
const NOTHING_THERE = 'https://127.0.0.1:1';

const spec = (type: string) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: rol, environment: qa }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.23.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: workers, instanceType: ${type}, minSize: 1, maxSize: 2 }
`;

const moto = useMoto({ processEnv: true });

describe('rollout waits for the new instance to be Ready (moto)', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let asg: AutoScalingClient;
  let s3: S3Client;
  const workers = async () =>
    (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [ASG] }))).AutoScalingGroups![0]!;
  /** a new launch template version for the workers: create with another instance type */
  const bump = async (type: string) => {
    await writeFile(file, spec(type));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    const g = await workers();
    expect(g.Instances!.map((i) => i.LaunchTemplate?.Version)).not.toContain(g.LaunchTemplate!.Version);
    return g;
  };
  const rollout = (extra: Record<string, string> = {}) =>
    kubeaz(['rollout', '-f', file, '--group', 'workers', '--yes', '--api-endpoint', NOTHING_THERE], { ...env, ...extra });

  beforeAll(async () => {
    env = moto.env;
    asg = new AutoScalingClient({ region: REGION });
    s3 = new S3Client({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-rollout-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec('t3.large'));
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a new instance without a boot report is never Ready: rollout stops (exit 1) with that as the reason', async () => {
    const before = await bump('t3.xlarge');
    const old = before.Instances!.map((i) => i.InstanceId!);
    const r = await rollout({ KUBEAZ_MAX_WAIT_SECONDS: '3', KUBEAZ_POLL_SECONDS: '0.5' });
    expect(r.code, r.stderr).toBe(1);
    const after = await workers();
    const fresh = after.Instances!.map((i) => i.InstanceId!).filter((id) => !old.includes(id));
    expect(fresh).toHaveLength(1);
    expect(after.Instances!.map((i) => i.InstanceId)).not.toContain(old[0]);
    expect(r.stderr).toContain(
      `workers: stopped: workers: not Ready after 3s, so nothing more is replaced — ${fresh[0]}: no boot report; Kubernetes API not reachable: ${NOTHING_THERE}: ECONNREFUSED`,
    );
    expect(r.stderr).toContain(`workers: replacing ${old[0]} (1 of 1); the next only once its replacement is Ready`);
  });

  it('with a ready boot report for the new instance, rollout completes (exit 0)', async () => {
    const before = await bump('m5.large');
    const old = new Set(before.Instances!.map((i) => i.InstanceId!));
    const running = rollout({ KUBEAZ_MAX_WAIT_SECONDS: '60', KUBEAZ_POLL_SECONDS: '0.5' });
    // the node agent's part: a report `ready` for whatever instance the group launched
    let reported: string | undefined;
    const deadline = Date.now() + 60_000;
    while (!reported && Date.now() < deadline) {
      const fresh = ((await workers()).Instances ?? []).find((i) => !old.has(i.InstanceId!));
      if (fresh) {
        reported = fresh.InstanceId!;
        const now = new Date().toISOString();
        await s3.send(
          new PutObjectCommand({
            Bucket: bucketName(ID, ACCOUNT),
            Key: `boot/${reported}.json`,
            Body: JSON.stringify({
              instanceId: reported,
              group: 'workers',
              role: 'node',
              result: 'ready',
              updatedAt: now,
              phases: [{ name: 'kubeadm-join', start: now, end: now }],
            }),
          }),
        );
      } else await new Promise((res) => setTimeout(res, 300));
    }
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(reported).toBeDefined();
    expect(r.stderr).toContain('asg/workers  1 replaced, every replacement Ready');
    const g = await workers();
    expect(g.Instances!.map((i) => [i.InstanceId, i.LaunchTemplate?.Version])).toEqual([[reported, g.LaunchTemplate!.Version]]);
  });
});
