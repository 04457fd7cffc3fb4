/**
 * The acceptance run's AWS part against moto (AWS_ENDPOINT_URL): it refuses without the
 * acknowledgement flag; with it, it gets through spec, create and kubeconfig, then refuses clearly
 * at the first step that needs a Kubernetes API ("no Kubernetes API answers at …"), skips the other
 * Kubernetes steps, still destroys, finds nothing left, and writes its JSON report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useMoto } from '../helpers/moto.js';
import type { AcceptanceReport } from '../../src/devtools/acceptance.js';
import { ROOT } from '../helpers/cli.js';

function acceptance(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'devtools', 'acceptance.js'), ...args], {
      env: { ...process.env, KUBEAZ_POLL_SECONDS: '0.2', KUBEAZ_PROPAGATION_SECONDS: '2', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 400_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stderr });
    });
  });
}

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('npm run acceptance (its AWS part, against moto)', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-acceptance-e2e-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses without the flag that acknowledges billable resources', async () => {
    const r = await acceptance(['--region', 'us-west-2'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to start.*billable AWS resources/s);
    expect(r.stderr).toMatch(/--i-understand-this-costs-money/);
  });

  it('with it: create, kubeconfig, then a clear refusal where a Kubernetes API is needed; destroys anyway and reports', async () => {
    const report = path.join(dir, 'report.json');
    const r = await acceptance(['--region', 'us-west-2', '--i-understand-this-costs-money', '--report', report, '--api-timeout', '3'], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/no Kubernetes API answers at https:\/\/\S+\.elb\.amazonaws\.com:443/);
    const rep = JSON.parse(await readFile(report, 'utf8')) as AcceptanceReport;
    expect(rep.ok).toBe(false);
    expect(rep.region).toBe('us-west-2');
    expect(rep.steps.map((s) => [s.name, s.status])).toEqual([
      ['spec', 'pass'],
      ['create', 'pass'],
      ['kubeconfig', 'pass'],
      ['nodes-ready', 'fail'],
      // runs whatever came before: here it reads the instances' boot reports through `kubeaz logs`
      ['boot-phases', 'pass'],
      ['pvc-pod-loadbalancer', 'skipped'],
      ['configmap', 'skipped'],
      ['backup-etcd', 'skipped'],
      ['master-rebuilt', 'skipped'],
      ['delete-test-objects', 'skipped'],
      ['destroy', 'pass'],
      ['nothing-left', 'pass'],
    ]);
    const nodes = rep.steps.find((s) => s.name === 'nodes-ready')!;
    expect(nodes.detail).toMatch(/^no Kubernetes API answers at https:\/\/\S+: AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ is an emulator/);
    // the kubeconfig kubeaz exported names the public ELB and verifies TLS as master.<internalDomain>
    expect(rep.steps.find((s) => s.name === 'kubeconfig')!.detail).toMatch(/elb\.amazonaws\.com:443 \(TLS name master\.acc\.kube\)/);
    expect(rep.steps.find((s) => s.name === 'spec')!.detail).toMatch(/us-west-2a, us-west-2b/);
    // moto launches instances but boots none: no agent wrote a report, so no instance is timed
    expect(rep.steps.find((s) => s.name === 'boot-phases')!.detail).toMatch(/^0 of 0 instances ready; slowest phases: $/);
    expect(rep.boot).toEqual({ instances: [], phases: [] });
    for (const s of rep.steps) expect(typeof s.seconds).toBe('number');
    expect(rep.finishedAt).toBeTruthy();
  });
});
