/**
 * Images change only when asked (issue 20 §2), against moto through the real CLI: after `create`,
 * AWS publishes a newer Amazon Linux 2023 image (the public SSM parameter gets a new value — the
 * launcher stands in for AWS there: src/devtools/moto_server.py). Then `plan` is clean with the
 * note (exit 0 under --detailed-exitcode), a re-run of `create` makes no mutating call, `status`
 * shows the note, a group added meanwhile gets the current image while the others keep theirs,
 * `plan --update-images` shows the move and `create --update-images` makes a new launch template
 * version with the new image for every group that ran the old one; a group added after that gets
 * the current image too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import type { Plan } from '../../src/engine/compare.js';
import type { ImageUpdate } from '../../src/model/images.js';

const REGION = 'us-east-1';
const ID = 'img-t';
const PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

const spec = (groups: string[]) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: img, environment: t }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  controlPlane: { instanceType: m5.large }
  nodeGroups:
${groups.map((g) => `    - { name: ${g}, instanceType: m5.large, minSize: 1, maxSize: 2 }`).join('\n')}
`;

type Calls = { total: number; mutating: number; byAction: Record<string, number> };
type PlanJson = Plan & { calls: Calls };

// The tests of this suite are the steps of one story on one cluster, each building on the one
// before: declared in order, so a shuffled run keeps it.
describe('images change only when asked', { shuffle: false }, () => {
  const moto = useMoto({ processEnv: true });
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let before: string;
  let newer: string;

  /** Each launch template of the cluster: its default version and that version's image. */
  async function templates(): Promise<Record<string, { version: number; latest: number; image: string }>> {
    const lts = (await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] })))
      .LaunchTemplates!;
    const out: Record<string, { version: number; latest: number; image: string }> = {};
    for (const lt of lts) {
      const v = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.LaunchTemplateId, Versions: [String(lt.DefaultVersionNumber)] }),
      );
      out[lt.LaunchTemplateName!.replace(`${ID}-`, '')] = {
        version: lt.DefaultVersionNumber!,
        latest: lt.LatestVersionNumber!,
        image: v.LaunchTemplateVersions![0]!.LaunchTemplateData!.ImageId!,
      };
    }
    return out;
  }
  const plan = async (...args: string[]) => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json', ...args], env);
    return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
  };
  const create = async (...args: string[]) => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return r.json<{ calls: Calls; plan: Plan | null }>();
  };

  beforeAll(async () => {
    env = moto.env;
    ec2 = new EC2Client({ region: REGION });
    ssm = new SSMClient({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-images-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec(['workers']));
    before = (await ssm.send(new GetParameterCommand({ Name: PARAMETER }))).Parameter!.Value!;
    // another AL2023 x86_64 image moto knows (DescribeImages finds it, as pre-flight asks)
    const al2023 = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-x86_64'] }] }));
    newer = al2023.Images!.map((i) => i.ImageId!).find((i) => i !== before)!;
    expect(newer).toMatch(/^ami-/);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create: every launch template runs the image the public parameter names', async () => {
    await create();
    const lts = await templates();
    expect(Object.keys(lts).sort()).toEqual(['master', 'workers']);
    for (const lt of Object.values(lts)) expect(lt).toEqual({ version: 1, latest: 1, image: before });
    const { code, p } = await plan();
    expect(code).toBe(0);
    expect(p.imageUpdate).toBeUndefined();
  });

  it('AWS publishes a newer image: plan is clean with the note, exit 0 under --detailed-exitcode', async () => {
    await ssm.send(new PutParameterCommand({ Name: PARAMETER, Value: newer, Overwrite: true }));
    expect((await ssm.send(new GetParameterCommand({ Name: PARAMETER }))).Parameter!.Value).toBe(newer);
    const { code, p, stderr } = await plan();
    expect(code, stderr).toBe(0);
    expect(p.changes).toEqual([]);
    expect(p.calls.mutating).toBe(0);
    expect(p.imageUpdate).toHaveLength(1);
    const u = p.imageUpdate![0]! satisfies ImageUpdate;
    expect({ arch: u.arch, current: u.current, available: u.available, groups: u.groups }).toEqual({
      arch: 'x86_64',
      current: before,
      available: newer,
      groups: ['master', 'workers'],
    });
    expect(u.text).toContain(`a newer Amazon Linux 2023 image is available: ${newer}`);
    const text = await kubeaz(['plan', '-f', file, '--detailed-exitcode'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`note: a newer Amazon Linux 2023 image is available: ${newer}`);
    expect(text.stdout).toMatch(/nothing to do/);
  });

  it('a re-run of create makes no mutating call, reads no launch template version, and says the note', async () => {
    const callsFile = path.join(dir, 'calls.json');
    const r = await kubeaz(['create', '-f', file, '--yes'], { ...env, KUBEAZ_CALLS_FILE: callsFile });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`a newer Amazon Linux 2023 image is available: ${newer}`);
    const calls = JSON.parse(await readFile(callsFile, 'utf8')) as Calls;
    expect(calls.mutating).toBe(0);
    // no read of a launch template version: the record is on the template
    expect(calls.byAction['ec2:DescribeLaunchTemplateVersions'] ?? 0).toBe(0);
    for (const lt of Object.values(await templates())) expect(lt).toEqual({ version: 1, latest: 1, image: before });
  });

  it('status shows the note; the launch templates are not drifted', async () => {
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const s = r.json<{ imageUpdate?: ImageUpdate[]; resources: Array<{ key: string; status: string }> }>();
    expect(s.imageUpdate?.map((u) => [u.current, u.available, u.groups])).toEqual([[before, newer, ['master', 'workers']]]);
    expect(s.resources.filter((x) => x.key.startsWith('lt/')).map((x) => x.status)).toEqual(['present', 'present']);
    const text = await kubeaz(['status', '-f', file], env);
    expect(text.stdout).toContain(`note: a newer Amazon Linux 2023 image is available: ${newer}`);
  });

  it('a template made before records were kept: its version is read for the image once, the record written alone', async () => {
    const master = (await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [`${ID}-master`] }))).LaunchTemplates![0]!;
    await ec2.send(new DeleteTagsCommand({ Resources: [master.LaunchTemplateId!], Tags: [{ Key: 'kubeaz:image' }] }));
    const { code, p } = await plan();
    expect(code).toBe(4);
    expect(p.calls.byAction['ec2:DescribeLaunchTemplateVersions']).toBe(1);
    expect(p.changes.map((c) => [c.key, c.action, c.fields])).toEqual([
      ['lt/master', 'update', [{ field: 'imageRecord', from: null, to: `${before}@x86_64` }]],
    ]);
    // the image it runs stays; the note still names the newer one
    expect(p.imageUpdate?.map((u) => u.groups)).toEqual([['master', 'workers']]);
    const out = await create();
    expect(out.calls.byAction).toMatchObject({ 'ec2:CreateTags': 1 });
    expect(out.calls.mutating).toBe(1);
    expect((await templates()).master).toEqual({ version: 1, latest: 1, image: before });
    const after = await plan();
    expect(after.code).toBe(0);
    expect(after.p.calls.byAction['ec2:DescribeLaunchTemplateVersions'] ?? 0).toBe(0);
  });

  it('a group added meanwhile gets the current image; the others keep theirs', async () => {
    await writeFile(file, spec(['workers', 'late']));
    const out = await create();
    // the new group's template is made; no other template changes
    expect(out.plan!.changes.filter((c) => c.kind === 'launch-template').map((c) => [c.key, c.action])).toEqual([['lt/late', 'create']]);
    const lts = await templates();
    expect(lts.late).toEqual({ version: 1, latest: 1, image: newer });
    expect(lts.master).toEqual({ version: 1, latest: 1, image: before });
    expect(lts.workers).toEqual({ version: 1, latest: 1, image: before });
  });

  it('plan --update-images shows the move first (exit 4), changing nothing', async () => {
    const { code, p } = await plan('--update-images');
    expect(code).toBe(4);
    expect(p.calls.mutating).toBe(0);
    expect(p.imageUpdate).toBeUndefined();
    const lts = p.changes.filter((c) => c.kind === 'launch-template');
    expect(lts.map((c) => [c.key, c.action]).sort()).toEqual([
      ['lt/master', 'update'],
      ['lt/workers', 'update'],
    ]);
    for (const c of lts) expect(c.fields).toContainEqual({ field: 'imageId', from: before, to: newer });
    const dry = await kubeaz(['create', '-f', file, '--dry-run', '--update-images', '--output', 'json'], env);
    expect(dry.json<PlanJson>().summary).toEqual(p.summary);
  });

  it('create --update-images moves every launch template to the new image (a new version each)', async () => {
    const out = await create('--update-images');
    expect(out.calls.mutating).toBeGreaterThan(0);
    const lts = await templates();
    expect(lts.master).toEqual({ version: 2, latest: 2, image: newer });
    expect(lts.workers).toEqual({ version: 2, latest: 2, image: newer });
    expect(lts.late).toEqual({ version: 1, latest: 1, image: newer });
    const { code, p } = await plan();
    expect(code).toBe(0);
    expect(p.changes).toEqual([]);
    expect(p.imageUpdate).toBeUndefined();
  });

  it('a group added after that gets the current image', async () => {
    await writeFile(file, spec(['workers', 'late', 'later']));
    await create();
    const lts = await templates();
    expect(lts.later).toEqual({ version: 1, latest: 1, image: newer });
    expect(Object.values(lts).map((x) => x.image)).toEqual(Object.values(lts).map(() => newer));
  });
});
