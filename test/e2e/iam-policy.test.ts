/**
 * `kubeaz iam-policy` (issue 21) against the calls kubeaz really makes: the whole life of a cluster
 * (the example spec with IRSA and a spot split: create, create again, plan, status, logs,
 * kubeconfig, backup-etcd (list, prune, and through SSM), a changed group rolled out, destroy)
 * runs through the real CLI against moto with KUBEAZ_RECORD_CALLS set, which makes every SDK
 * client append the IAM actions of each call it sends (src/aws/clients.ts, aws/iam-actions.ts).
 * Every recorded action must be granted by the policy `iam-policy` printed for that spec before
 * anything existed. (moto enforces no IAM: the policy's resources and conditions are held to
 * AWS's rules in test/unit/iam-policy.test.ts; here, that no call is left out.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { withPublicDomain } from '../helpers/example.js';
import { useMoto } from '../helpers/moto.js';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, unknown>;
}
interface Envelope {
  command: string;
  cluster: string;
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  policy: { Version: string; Statement: Statement[] };
  parts: Array<{ Version: string; Statement: Statement[] }>;
  sources: Array<{ sid: string; why: string; source: string }>;
}

// this process's IAM client makes the policy the service account's role is given (moto holds no AWS managed policy)
const moto = useMoto({ processEnv: true });

describe('iam-policy grants every call of a whole lifecycle', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let record: string;
  let env: Record<string, string>;
  let policy: Envelope;
  const ran: Array<{ args: string[]; code: number; seconds: number }> = [];

  const run = async (args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}) => {
    const start = Date.now();
    const r = await kubeaz([...args, '-f', file], { ...env, ...opts.env }, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
    ran.push({ args, code: r.code, seconds: Math.round((Date.now() - start) / 1000) });
    return r;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-iam-'));
    file = path.join(dir, 'cluster.yaml');
    record = path.join(dir, 'calls.txt');
    // the example with its public domain on: the public zone's and records' calls are recorded too
    const example = withPublicDomain(await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'));
    const spec = example
      .replace(
        '  iam:\n',
        '  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts: [{ name: app, namespace: default, policyArns: [arn:aws:iam::123456789012:policy/app-read] }]\n',
      )
      .replace('      labels: { tier: general }\n', '      labels: { tier: general }\n      spot: { onDemandBase: 1 }\n');
    expect(spec).toContain('serviceAccountIssuerDiscovery');
    expect(spec).toContain('spot:');
    await writeFile(file, spec);
    await new IAMClient({ region: 'us-east-1' }).send(
      new CreatePolicyCommand({
        PolicyName: 'app-read',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    );
    env = { ...moto.env, KUBEAZ_RECORD_CALLS: record };
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the policy with no AWS call: the JSON envelope, and the bare document on stdout', async () => {
    const j = await run(['iam-policy', '--output', 'json']);
    expect(j.code, j.stderr).toBe(0);
    policy = j.json<Envelope>();
    expect(policy).toMatchObject({ command: 'iam-policy', cluster: 'demo-dev', ok: true, calls: { total: 0, mutating: 0, byAction: {} } });
    expect(policy.policy.Version).toBe('2012-10-17');
    const text = await run(['iam-policy']);
    expect(text.code, text.stderr).toBe(0);
    expect(JSON.parse(text.stdout)).toEqual(policy.policy);
    // the parts, one managed policy each, print one by one; one past the last is a usage error
    for (const [i, part] of policy.parts.entries()) {
      const p = await run(['iam-policy', '--part', String(i + 1)]);
      expect(p.code, p.stderr).toBe(0);
      expect(JSON.parse(p.stdout)).toEqual(part);
      expect(p.stdout.replace(/\s+/g, '').length).toBeLessThanOrEqual(6144);
    }
    const beyond = await run(['iam-policy', '--part', String(policy.parts.length + 1)]);
    expect(beyond.code).toBe(2);
    expect(beyond.stdout).toBe('');
    expect(existsSync(record)).toBe(false);
  });

  it('the lifecycle runs through the recording clients', async () => {
    const create = await run(['create', '--yes']);
    expect(create.code, create.stderr).toBe(0);
    const again = await run(['create', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect((await run(['plan'])).code).toBe(0);
    await run(['status']);
    await run(['logs', 'master']);
    const kc = await run(['kubeconfig', '--out', path.join(dir, 'kubeconfig')]);
    expect(kc.code, kc.stderr).toBe(0);
    await run(['backup-etcd', '--list']);
    await run(['backup-etcd', '--prune']);
    // moto runs no Run Command: the backup is sent and then found missing (exit 1); its calls count all the same
    await run(['backup-etcd'], { timeoutMs: 120_000 });
    // a changed group, then rolled out: rollout terminates an instance in its group and waits for the new
    // one's node (no API here, no boot report in moto: it stops after a short wait, exit 1, its calls made)
    await writeFile(file, (await readFile(file, 'utf8')).replace('      instanceType: c5.large', '      instanceType: c5.xlarge'));
    const changed = await run(['create', '--yes']);
    expect(changed.code, changed.stderr).toBe(0);
    await run(['rollout', '--group', 'edge', '--yes', '--api-endpoint', 'https://127.0.0.1:1'], {
      timeoutMs: 90_000,
      env: { KUBEAZ_MAX_WAIT_SECONDS: '3', KUBEAZ_POLL_SECONDS: '0.5' },
    });
    const destroy = await run(['destroy', '--yes', '--delete-backups']);
    expect(destroy.code, destroy.stderr).toBe(0);
  }, 600_000);

  it('every recorded call is granted by the policy', async () => {
    const recorded = new Set((await readFile(record, 'utf8')).split('\n').filter(Boolean));
    // the recording saw the lifecycle: creates, the tag-on-create, the sweep, Run Command, the bucket
    for (const a of [
      'ec2:CreateVpc',
      'autoscaling:CreateAutoScalingGroup',
      'iam:CreateOpenIDConnectProvider',
      's3:GetAccountPublicAccessBlock',
      'ssm:GetParameters',
      'ssm:SendCommand',
      'ec2:GetConsoleOutput',
      'ec2:CreateLaunchTemplateVersion',
      'autoscaling:TerminateInstanceInAutoScalingGroup',
      's3:PutObject',
      'ec2:DeleteVpc',
    ])
      expect(recorded.has(a), `${a} (${JSON.stringify(ran)})`).toBe(true);
    const granted = new Set(policy.policy.Statement.flatMap((s) => s.Action));
    const missing = [...recorded].filter((a) => !granted.has(a)).sort();
    expect(missing, JSON.stringify(ran)).toEqual([]);
    // the parts together grant it all as well
    const inParts = new Set(policy.parts.flatMap((p) => p.Statement.flatMap((s) => s.Action)));
    expect([...recorded].filter((a) => !inParts.has(a))).toEqual([]);
    // and no statement grants a whole service
    for (const a of granted) expect(a).not.toMatch(/\*/);
  });
});
