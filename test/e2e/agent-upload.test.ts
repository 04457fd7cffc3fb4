/**
 * `create` uploads the node agent against moto through the real CLI: the bundle npm run build made
 * is in the cluster bucket under agent/kubeaz-agent-<its sha256>.mjs (byte for byte), the agent's
 * configuration is there, every node group's launch template names that key and hash, a second
 * create changes nothing, and destroy leaves nothing under agent/ (nor anything else).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { agentConfigSchema, groupSettingsSchema, type GroupSettings } from '../../src/records/agent-config.js';
import { agentArgsOfUserData } from '../../src/devtools/boot-sim/userdata-args.js';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-west-2';
const ID = 'agentup-dev';
const BUCKET = `kubeaz-${ID}-123456789012`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: agentup, environment: dev }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.34.2"
  network: { vpcCidr: 10.70.0.0/20, nat: none, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: t3.large, minSize: 1, maxSize: 2, desiredCapacity: 1, labels: { tier: apps } }
    - { name: edge, role: loadbalancer, instanceType: t3.medium, minSize: 1, maxSize: 2, desiredCapacity: 1, elasticIps: 2 }
`;

// a story on one cluster: its steps build on each other, so they keep their order under --sequence.shuffle
describe('create uploads the node agent under its content hash', { shuffle: false }, () => {
  const moto = useMoto({ processEnv: true });
  let dir: string;
  let file: string;
  const s3 = () => new S3Client({ region: REGION, forcePathStyle: true });
  const bundle = readFileSync(path.join(ROOT, 'dist', 'agent', 'kubeaz-agent.mjs'));
  const sha = createHash('sha256').update(bundle).digest('hex');
  const key = `agent/kubeaz-agent-${sha}.mjs`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-agentup-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pre-flight refuses an AL2023 image older than the first release carrying nodejs22, naming the release; nothing is made', async () => {
    const ec2 = new EC2Client({ region: REGION });
    const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images!.find(
      (i) => i.Architecture === 'x86_64',
    )!.ImageId!;
    const inst = (await ec2.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, InstanceType: 't3.medium' })))
      .Instances![0]!.InstanceId!;
    const old = (await ec2.send(new CreateImageCommand({ InstanceId: inst, Name: 'al2023-ami-2023.6.20241209.0-kernel-6.1-x86_64' })))
      .ImageId!;
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst] }));
    const oldFile = path.join(dir, 'old-ami.yaml');
    await writeFile(oldFile, spec.replace('  kubernetesVersion:', `  ami: ${old}\n  kubernetesVersion:`));
    const r = await kubeaz(['create', '-f', oldFile, '--yes', '--output', 'json'], moto.env);
    expect(r.code).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.preflight.filter((f) => f.check === 'ami').map((f) => f.message)).toEqual([
      `the image ${old} (al2023-ami-2023.6.20241209.0-kernel-6.1-x86_64) is AL2023 2023.6.20241209, older than 2023.7.20250331, the first release whose repository kubeaz knows to carry nodejs22: its instances could not install Node.js 22 to run the kubeaz agent. Use a newer image (or leave spec.ami unset for the latest AL2023)`,
    ]);
    expect(out.calls.mutating).toBe(0);
  });

  it('create: the bundle byte for byte under agent/kubeaz-agent-<sha256>.mjs, its configuration, user data naming both', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    const listed = ((await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'agent/' }))).Contents ?? [])
      .map((o) => o.Key)
      .sort();
    expect(listed).toEqual(['agent/config.json', key].sort());
    const got = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(
      createHash('sha256')
        .update(await got.Body!.transformToByteArray())
        .digest('hex'),
    ).toBe(sha);
    const cfg = agentConfigSchema.parse(
      JSON.parse(await (await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'agent/config.json' }))).Body!.transformToString()),
    );
    expect(cfg).toMatchObject({ clusterId: ID, bucket: BUCKET, region: REGION, kubernetesVersion: '1.34.2' });

    const ec2 = new EC2Client({ region: REGION });
    const lts =
      (await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).LaunchTemplates ??
      [];
    expect(lts.map((l) => l.LaunchTemplateName).sort()).toEqual([`${ID}-edge`, `${ID}-general`, `${ID}-master`]);
    const settings: Record<string, GroupSettings> = {};
    for (const lt of lts) {
      const v = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.LaunchTemplateId, Versions: ['$Latest'] }));
      const ud = Buffer.from(v.LaunchTemplateVersions![0]!.LaunchTemplateData!.UserData!, 'base64').toString('utf8');
      expect(ud).toContain(`aws s3 cp --only-show-errors 's3://${BUCKET}/${key}'`);
      expect(ud).toContain(`echo '${sha}  '"$dir/kubeaz-agent.mjs" | sha256sum -c --quiet -`);
      expect(ud).toContain(
        `exec 'node-22' "$dir/kubeaz-agent.mjs" boot --bucket '${BUCKET}' --group '${lt.LaunchTemplateName!.slice(ID.length + 1)}'`,
      );
      // the group's own settings travel with its launch template version
      const args = agentArgsOfUserData(ud);
      settings[args[3]!] = groupSettingsSchema.parse(JSON.parse(args[args.indexOf('--settings') + 1]!));
    }
    expect(settings.edge).toEqual({ role: 'loadbalancer', labels: { 'kubeaz.io/role': 'loadbalancer' }, taints: [], elasticIps: 2 });
    expect(settings.general!.labels).toEqual({ 'kubeaz.io/role': 'node', tier: 'apps' });
    expect(settings.master!.role).toBe('master');
  });

  it('a second create changes nothing (no upload of the same agent again)', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ calls: { mutating: number }; actions: Array<{ key: string; action: string }> }>();
    expect(out.actions.filter((a) => a.action !== 'unchanged')).toEqual([]);
    expect(out.calls.mutating).toBe(0);
  });

  it("an older kubeaz's bootstrap scripts and a superseded agent bundle: plan shows them going, create removes them without --allow-delete, nothing else is touched", async () => {
    const put = (Key: string, Body: string) =>
      s3().send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ServerSideEncryption: 'AES256' }));
    const old = [
      'bootstrap/common/common.sh',
      'bootstrap/common/cluster.env',
      'bootstrap/master/master.sh',
      `agent/kubeaz-agent-${'0'.repeat(64)}.mjs`,
    ];
    for (const k of old) await put(k, `# written by an older kubeaz: ${k}\n`);
    await put('notes/mine.txt', 'a file of the user, not under a kubeaz prefix\n');
    const plan = await kubeaz(['plan', '-f', file, '--output', 'json'], moto.env);
    const p = plan.json<{ changes: Array<{ key: string; action: string; retired?: boolean; note?: string }> }>();
    expect(p.changes.map((c) => `${c.action} ${c.key} ${c.retired}`).sort()).toEqual(old.map((k) => `delete object/${k} true`).sort());
    const text = await kubeaz(['plan', '-f', file], moto.env);
    expect(text.stdout + text.stderr).not.toMatch(/needs --allow-delete/);
    expect(text.stdout + text.stderr).toMatch(/kubeaz's own file, no longer used: create removes it/);

    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ deleted: Array<{ key: string }>; calls: { byAction: Record<string, number> } }>();
    expect(out.deleted.map((d) => d.key).sort()).toEqual(old.map((k) => `object/${k}`).sort());
    const left = ((await s3().send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
    for (const k of old) expect(left).not.toContain(k);
    expect(left).toContain('notes/mine.txt');
    expect(left).toContain(key);
    const again = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(again.json<{ calls: { mutating: number } }>().calls.mutating).toBe(0);
    await s3().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'notes/mine.txt' }));
  });

  it('destroy leaves nothing, the agent objects included', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nothing of .* remains/);
    const buckets = ((await s3().send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name);
    expect(buckets).not.toContain(BUCKET);
  });
});
