/**
 * `status` and `status --wait` read each instance's boot from `boot/<instance-id>.json` (what the
 * node agent writes), from AWS alone: a cluster created in moto (which runs no agent), its reports
 * planted with the SDK as agents would write them — running, ready, failed, stalled — read back
 * in text and JSON. `--wait` means the cluster is up: an API that does not answer is unhealthy
 * (exit 3) with the boots' phase as the reason; with a private API (apiAccess: []) and no
 * --api-endpoint the boot reports are the verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/devtools/moto.js';
import type { BootReport } from '../../src/records/boot.js';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const ID = 'bs-qa';
const BUCKET = `kubeaz-${ID}-${ACCOUNT}`;
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: bs, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.21.0.0/20, nat: single, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 2, maxSize: 2 }
`;

interface BootJson {
  instanceId: string;
  group: string;
  phase: string | null;
  result: 'running' | 'ready' | 'failed' | null;
  error: { phase: string; message: string; output?: string } | null;
  stalled: boolean;
}
interface StatusJson {
  ok: boolean;
  boot: BootJson[];
  bootProblems: string[];
  kubernetes: { checked: boolean; reachable?: boolean; reason: string; required?: boolean; boot?: string };
}

const unwrap = (text: string) => text.replace(/\n {5,7}/g, ' ');
const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();

// a story on one cluster: its steps build on each other, so they keep their order under --sequence.shuffle
describe("status shows every instance's boot from its report in the bucket", { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let master = '';
  let nodes: string[] = [];

  const put = (r: BootReport) =>
    s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `boot/${r.instanceId}.json`,
        Body: JSON.stringify(r),
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
      }),
    );
  const report = (instanceId: string, group: string, over: Partial<BootReport>): BootReport => ({
    instanceId,
    group,
    role: group === 'master' ? 'master' : 'node',
    result: 'running',
    updatedAt: ago(0.5),
    phases: [{ name: 'identity', start: ago(3), end: ago(2.9) }],
    ...over,
  });
  const ready = (id: string, group: string) =>
    report(id, group, {
      result: 'ready',
      phases: [
        { name: 'identity', start: ago(6), end: ago(5.9) },
        { name: group === 'master' ? 'kubeadm-init' : 'kubeadm-join', start: ago(5.9), end: ago(2) },
      ],
    });

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-boot-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    const created = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(created.code, created.stderr).toBe(0);
  }, 200_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('no reports yet (moto runs no agent): every live instance listed as such, and that alone is no failure', async () => {
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = r.json<StatusJson>();
    expect(j.boot.map((b) => [b.group, b.result, b.phase, b.error])).toEqual([
      ['master', null, null, null],
      ['general', null, null, null],
      ['general', null, null, null],
    ]);
    master = j.boot[0]!.instanceId;
    nodes = j.boot.slice(1).map((b) => b.instanceId);
    expect([master, ...nodes].every((i) => /^i-[0-9a-f]+$/.test(i))).toBe(true);
    const t = await kubeaz(['status', '-f', file], env);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("boot: no reports from the 3 instances yet (an older kubeaz's instances write none)");
  });

  it('failed, stalled, running and ready reports: the table, each failure with its output tail, exit 3; JSON boot entries', async () => {
    await put(
      report(master, 'master', {
        result: 'failed',
        updatedAt: ago(1),
        phases: [
          { name: 'identity', start: ago(9), end: ago(8.9) },
          { name: 'kubeadm-init', start: ago(8.9), end: ago(1) },
        ],
        error: {
          phase: 'kubeadm-init',
          message: 'kubeadm init exited 1 after 3 tries',
          output: 'I1205 preflight\n[ERROR CRI]: container runtime is not running\nerror execution phase preflight',
        },
      }),
    );
    await put(report(nodes[0]!, 'general', { result: 'running', updatedAt: ago(14), phases: [{ name: 'kubeadm-join', start: ago(15) }] }));
    await put(ready(nodes[1]!, 'general'));
    // a report of an instance that is gone (terminated): kept in the bucket, not shown by status
    await put(report('i-0deadbeef0000000', 'general', { result: 'failed', error: { phase: 'kubeadm-join', message: 'gone' } }));
    const r = await kubeaz(['status', '-f', file], env);
    console.log(`--- status with a failed master, a stalled node, a ready node (exit ${r.code}):\n${r.stdout}`);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('boot: 1/3 ready, 1 running, 1 stalled, 1 failed');
    expect(r.stdout).toMatch(new RegExp(`^ {2}master +${master} +kubeadm-init +FAILED +1m ago$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ {2}general +${nodes[0]} +kubeadm-join +STALLED +14m ago$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ {2}general +${nodes[1]} +kubeadm-join +ready +\\d+[sm] ago$`, 'm'));
    expect(r.stdout).toContain(
      `  FAIL master ${master} at kubeadm-init: kubeadm init exited 1 after 3 tries\n      | I1205 preflight\n      | [ERROR CRI]: container runtime is not running\n      | error execution phase preflight\n`,
    );
    expect(r.stdout).not.toContain('i-0deadbeef0000000');
    expect(r.stdout).toMatch(/^NOT healthy: .*, 2 instance boots not done$/m);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);

    const j = (await kubeaz(['status', '-f', file, '--output', 'json'], env)).json<StatusJson>();
    expect(j.ok).toBe(false);
    expect(j.boot.map(({ instanceId, group, phase, result, stalled }) => ({ instanceId, group, phase, result, stalled }))).toEqual([
      { instanceId: master, group: 'master', phase: 'kubeadm-init', result: 'failed', stalled: false },
      { instanceId: nodes[0], group: 'general', phase: 'kubeadm-join', result: 'running', stalled: true },
      { instanceId: nodes[1], group: 'general', phase: 'kubeadm-join', result: 'ready', stalled: false },
    ]);
    expect(j.boot[0]!.error).toEqual({
      phase: 'kubeadm-init',
      message: 'kubeadm init exited 1 after 3 tries',
      output: expect.stringContaining('[ERROR CRI]'),
    });
    expect(j.bootProblems).toEqual([
      `master ${master}: boot failed at kubeadm-init: kubeadm init exited 1 after 3 tries`,
      `general ${nodes[0]}: boot stalled at kubeadm-join (no update for 14m)`,
    ]);
  });

  it('a report that is not one is named, not dropped', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `boot/${nodes[1]}.json`, Body: '{"instanceId": "', ServerSideEncryption: 'AES256' }),
    );
    const r = await kubeaz(['status', '-f', file], env);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`  FAIL general ${nodes[1]}: boot report unreadable: boot report is not JSON`);
  });

  it('every instance ready: healthy again (exit 0)', async () => {
    for (const [id, g] of [
      [master, 'master'],
      [nodes[0]!, 'general'],
      [nodes[1]!, 'general'],
    ] as const)
      await put(ready(id, g));
    const r = await kubeaz(['status', '-f', file], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('boot: 3/3 ready');
    expect(r.stdout).toMatch(/^healthy: /m);
  });

  it("--wait --api-endpoint with nothing answering: unhealthy (exit 3), the boots' phase as the reason, progress while it waits", async () => {
    await put(
      report(master, 'master', {
        phases: [
          { name: 'identity', start: ago(2), end: ago(1.9) },
          { name: 'kubeadm-init', start: ago(1.9) },
        ],
      }),
    );
    const port = await freePort(); // nothing listens there
    const api = `https://127.0.0.1:${port}`;
    const r = await kubeaz(['status', '-f', file, '--wait', '3s', '--api-endpoint', api], env);
    console.log(
      `--- status --wait 3s --api-endpoint (nothing there) (exit ${r.code}):\n${r.stderr
        .split('\n')
        .filter((l) => l.startsWith('waiting'))
        .slice(0, 2)
        .join('\n')}\n${r.stdout}`,
    );
    expect(r.code).toBe(3);
    // (a line longer than 100 columns continues on the next, indented)
    expect(unwrap(r.stdout)).toContain(
      `Kubernetes: API ${api} NOT reachable (ECONNREFUSED); boot: 2/3 booted; master ${master} at kubeadm-init (running)`,
    );
    expect(r.stdout).toMatch(/^NOT healthy: .*, Kubernetes API not reachable, 1 instance boot not done$/m);
    expect(r.stderr).toMatch(
      new RegExp(
        `waiting for ${ID} \\(\\d+s left\\): .*API not reachable yet \\(boot: 2/3 booted; master ${master} at kubeadm-init \\(running\\)\\)`,
      ),
    );
    // every boot done, and still nothing answers: the API alone makes it unhealthy
    await put(ready(master, 'master'));
    const again = await kubeaz(['status', '-f', file, '--api-endpoint', api, '--output', 'json'], env);
    expect(again.code).toBe(3);
    expect(again.json<StatusJson>().kubernetes).toMatchObject({
      checked: true,
      reachable: false,
      required: true,
      reason: 'ECONNREFUSED',
      boot: 'all 3 instances booted (ready)',
    });
  });

  it('a private API (apiAccess: []) and no --api-endpoint: --wait judges from the boot reports and says the API was not checked', async () => {
    const ok = await kubeaz(['status', '-f', file, '--wait', '5s'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Kubernetes: not checked: private API (apiAccess: []), no --api-endpoint: judged by the boot reports');
    expect(ok.stdout).toMatch(/^healthy: .*, API not checked$/m);
    // one instance without a report: not up as far as anyone can tell
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `boot/${nodes[0]}.json` }));
    const short = await kubeaz(['status', '-f', file, '--wait', '2s', '--output', 'json'], env);
    expect(short.code).toBe(3);
    const j = short.json<StatusJson>();
    expect(j.kubernetes).toMatchObject({ checked: false });
    expect(j.bootProblems).toEqual([`general ${nodes[0]}: no boot report yet`]);
    // without --wait the same cluster is not judged on a missing report (an older kubeaz writes none)
    expect((await kubeaz(['status', '-f', file], env)).code).toBe(0);
  });
});
