/**
 * `kubeaz logs INSTANCE-ID|GROUP`: an instance's boot report (planted with the SDK as the agent
 * writes it) and its console output (moto's GetConsoleOutput answers a fixed text, base64 like
 * AWS), for one instance or a group, text and JSON; an instance of another cluster (or of none) is
 * refused; a terminated instance EC2 forgot is read from its report alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { BootReport } from '../../src/records/boot.js';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const ID = 'lg-qa';
const BUCKET = `kubeaz-${ID}-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: lg, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.22.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 2, maxSize: 2 }
`;

interface LogsJson {
  cluster: string;
  target: string;
  instances: Array<{
    instanceId: string;
    group: string;
    state: string;
    boot: BootReport | null;
    console: { output: string; timestamp: string | null } | null;
    consoleError?: string;
  }>;
}

const at = (minAgo: number) => new Date(Date.now() - minAgo * 60_000).toISOString();
const CONSOLE = 'Linux version 2.6.16-xenU'; // the first line of moto's fixed console output

describe('kubeaz logs: boot report and console output, from AWS alone', () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let ec2: EC2Client;
  let master = '';
  let nodes: string[] = [];

  const put = (r: BootReport) =>
    s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `boot/${r.instanceId}.json`, Body: JSON.stringify(r), ServerSideEncryption: 'AES256' }),
    );
  const idsOf = async (group: string) =>
    (
      (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:kubeaz:cluster', Values: [ID] },
              { Name: 'tag:kubeaz:node-group', Values: [group] },
            ],
          }),
        )
      ).Reservations ?? []
    )
      .flatMap((r) => r.Instances ?? [])
      .map((i) => i.InstanceId!)
      .sort();

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-logs-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    ec2 = new EC2Client({ region: REGION });
    const created = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(created.code, created.stderr).toBe(0);
    master = (await idsOf('master'))[0] ?? '';
    nodes = await idsOf('general');
    expect(master).toMatch(/^i-/);
    expect(nodes).toHaveLength(2);
    await put({
      instanceId: master!,
      group: 'master',
      role: 'master',
      result: 'failed',
      updatedAt: at(1),
      phases: [
        { name: 'identity', start: at(8), end: at(7.99) },
        { name: 'packages', start: at(7.99), end: at(6) },
        { name: 'kubeadm-init', start: at(6), end: at(1) },
      ],
      error: {
        phase: 'kubeadm-init',
        message: 'kubeadm init exited 1 after 3 tries',
        output: '[preflight] Running pre-flight checks\n[ERROR CRI]: container runtime is not running\n[bootstrap-token] <redacted>',
      },
    });
    await put({
      instanceId: nodes[0]!,
      group: 'general',
      role: 'node',
      result: 'running',
      updatedAt: at(0.2),
      phases: [
        { name: 'identity', start: at(2), end: at(1.9) },
        { name: 'kubeadm-join', start: at(1.9) },
      ],
    });
  }, 200_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('one instance: its phases with durations, the error with its output, and its console output decoded', async () => {
    const r = await kubeaz(['logs', '-f', file, master], env);
    console.log(`--- kubeaz logs ${master} (exit ${r.code}):\n${r.stdout}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^== ${master} \\(master, us-west-2[ab], running\\) ==$`, 'm'));
    expect(r.stdout).toMatch(/^boot report: failed, role master, updated \S+ \(1m ago\)$/m);
    expect(r.stdout).toMatch(/^ {2}packages +\S+ +1m59s$/m);
    expect(r.stdout).toMatch(/^ {2}kubeadm-init +\S+ +5m$/m);
    expect(r.stdout).toContain(
      'error at kubeadm-init: kubeadm init exited 1 after 3 tries\n  | [preflight] Running pre-flight checks\n  | [ERROR CRI]: container runtime is not running\n',
    );
    expect(r.stdout).toMatch(/^console output \(as of \d{4}-\d\d-\d\dT[\d:.]+Z\):$/m);
    expect(r.stdout).toContain(`  ${CONSOLE}`);
  });

  it('a group: every instance of it, JSON; one without a report says so', async () => {
    const r = await kubeaz(['logs', '-f', file, 'general', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<LogsJson>();
    expect(j).toMatchObject({ cluster: ID, target: 'general' });
    expect(j.instances.map((i) => i.instanceId).sort()).toEqual(nodes);
    const withReport = j.instances.find((i) => i.instanceId === nodes[0])!;
    expect(withReport).toMatchObject({
      group: 'general',
      state: 'running',
      boot: { result: 'running', phases: [{ name: 'identity' }, { name: 'kubeadm-join' }] },
    });
    expect(withReport.console?.output).toContain(CONSOLE);
    expect(j.instances.find((i) => i.instanceId === nodes[1])!.boot).toBeNull();
    const text = await kubeaz(['logs', '-f', file, 'general'], env);
    expect(text.stdout).toContain(`== ${nodes[1]} (general, `);
    expect(text.stdout).toMatch(/^boot report: none \(the agent has not written one/m);
    expect(text.stdout).toMatch(/^ {2}kubeadm-join +\S+ +\S+ \(running\)$/m);
  });

  it('an instance of another cluster, or of none, is refused (exit 1), nothing of it read', async () => {
    const image = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [master] }))).Reservations![0]!.Instances![0]!.ImageId!;
    const run = async (tags: Array<{ Key: string; Value: string }>) =>
      (
        await ec2.send(
          new RunInstancesCommand({
            ImageId: image,
            InstanceType: 't3.micro',
            MinCount: 1,
            MaxCount: 1,
            ...(tags.length ? { TagSpecifications: [{ ResourceType: 'instance', Tags: tags }] } : {}),
          }),
        )
      ).Instances![0]!.InstanceId!;
    const other = await run([
      { Key: 'kubeaz:cluster', Value: 'other-qa' },
      { Key: 'kubeaz:node-group', Value: 'master' },
    ]);
    const r = await kubeaz(['logs', '-f', file, other], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: ${other} is not an instance of ${ID} (it belongs to other-qa): refusing to read its report or console`,
    );
    expect(r.stdout).toBe('');
    const none = await run([]);
    const n = await kubeaz(['logs', '-f', file, none], env);
    expect(n.code).toBe(1);
    expect(n.stderr).toContain(`${none} is not an instance of ${ID} (it carries no kubeaz:cluster tag)`);
    // and the group of another cluster's instance does not pull it in
    const g = (await kubeaz(['logs', '-f', file, 'master', '--output', 'json'], env)).json<LogsJson>();
    expect(g.instances.map((i) => i.instanceId)).toEqual([master]);
  });

  it('a terminated instance EC2 no longer lists: its report stays readable (until destroy); an unknown id with no report is an error', async () => {
    const gone = 'i-0aaaabbbbccccdddd';
    await put({
      instanceId: gone,
      group: 'general',
      role: 'node',
      result: 'failed',
      updatedAt: at(90),
      phases: [{ name: 'kubeadm-join', start: at(95), end: at(90) }],
      error: { phase: 'kubeadm-join', message: 'etcd member add timed out' },
    });
    const r = await kubeaz(['logs', '-f', file, gone], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`== ${gone} (general, gone) ==`);
    expect(r.stdout).toContain('error at kubeadm-join: etcd member add timed out');
    expect(r.stdout).toContain('console output: EC2 no longer lists the instance (terminated): no console output');
    const unknown = await kubeaz(['logs', '-f', file, 'i-0eeeeffff00001111'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /no instance i-0eeeeffff00001111 in us-west-2 \(account 123456789012\), and no boot report of it in s3:\/\/kubeaz-lg-qa-123456789012\/boot\//,
    );
  });

  it('usage: a name that is neither an instance id nor a group is exit 2 naming the groups; --help explains, exit 0', async () => {
    const r = await kubeaz(['logs', '-f', file, 'workers'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: workers: not an instance id (i-…) nor a group of ${ID} (groups: master, general); see 'kubeaz logs --help'`,
    );
    const h = await kubeaz(['logs', '--help'], {});
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Usage: kubeaz logs \[options\] <instance-id\|group>/);
    expect(h.stdout).toContain('GetConsoleOutput');
    expect(h.stdout).toContain('Reports of terminated instances stay readable until destroy');
  });
});
