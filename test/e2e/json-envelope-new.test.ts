/**
 * The one JSON envelope (issue 21) of the commands json-envelope.test.ts does not run: list,
 * get-spec, cost, iam-policy and ssh, through the real CLI against moto, each in text and in JSON,
 * succeeding and failing, with the checks both files share (test/helpers/envelope.ts): one object
 * on stdout under --output json — an error too, with the same exit code —, `ok` true exactly when
 * the exit code is 0, `error: { code, message }` when not, and no output containing "undefined" or
 * "[object Object]". ssh under --output json opens no session (a stand-in `aws` on PATH records
 * whether it ran, as in ssh.test.ts): it prints the instance and the command a session would run.
 * And every command of the CLI but completion takes --output json, and is checked in one file or
 * the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { kubeaz } from '../helpers/cli.js';
import { envelopeChecks } from '../helpers/envelope.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'eu-west-1';
const CLUSTER = 'env-qa';
const SPEC = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: env, environment: qa }
spec:
  region: ${REGION}
  zones: [eu-west-1a, eu-west-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.70.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: workers, instanceType: m5.large, minSize: 2, maxSize: 3 }
`;
/** checked here */
const COMMANDS = ['list', 'get-spec', 'cost', 'iam-policy', 'ssh'] as const;
/** checked by json-envelope.test.ts */
const OLDER = ['validate', 'plan', 'create', 'destroy', 'status', 'rollout', 'kubeconfig', 'logs', 'backup-etcd', 'version', 'schema'];
type Name = (typeof COMMANDS)[number];

const moto = useMoto({ processEnv: true });

describe('the JSON envelope of list, get-spec, cost, iam-policy and ssh', { shuffle: false, timeout: 600_000 }, () => {
  let dir: string;
  let file: string;
  let bad: string;
  /** PATH with a stand-in aws (recording its arguments) and session-manager-plugin; PATH with neither */
  let both: string;
  let neither: string;
  let argsFile: string;
  const { run, envelope, coverage } = envelopeChecks<Name>(() => moto.env);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-envelope-new-'));
    file = path.join(dir, 'cluster.yaml');
    bad = path.join(dir, 'bad.yaml');
    argsFile = path.join(dir, 'aws-args');
    await writeFile(file, SPEC);
    await writeFile(bad, SPEC.replace('nat: single', 'nat: sometimes'));
    both = path.join(dir, 'bin-both');
    neither = path.join(dir, 'bin-none');
    await mkdir(both, { recursive: true });
    await mkdir(neither, { recursive: true });
    await writeFile(path.join(both, 'aws'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "$AWS_ARGS_FILE"\n`);
    await writeFile(path.join(both, 'session-manager-plugin'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(both, 'aws'), 0o755);
    await chmod(path.join(both, 'session-manager-plugin'), 0o755);
    const r = await kubeaz(['create', '-f', file, '--yes'], moto.env, { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every command of the CLI but completion takes --output json, and one of the two envelope tests runs it', () => {
    const program = buildProgram();
    const names = program.commands.map((c) => c.name()).filter((n) => n !== 'completion');
    expect([...names].sort()).toEqual([...COMMANDS, ...OLDER].sort());
    for (const c of program.commands.filter((x) => x.name() !== 'completion')) {
      const output = c.options.find((o) => o.long === '--output');
      expect(output?.short, c.name()).toBe('-o');
      expect(output?.argChoices, c.name()).toEqual(['text', 'json']);
    }
  });

  it('cost: the estimate; a bad spec is an invalid-spec error, in JSON on stdout too', async () => {
    const ok = await run('cost', ['-f', file, '--output', 'json']);
    expect(ok.code, ok.stderr).toBe(0);
    const e = envelope(ok, 'cost', CLUSTER);
    expect(e).toMatchObject({ region: REGION, monthly: { total: expect.any(Number), currency: 'USD' } });
    expect(e.calls.mutating).toBe(0);
    const text = await run('cost', ['-f', file]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Estimated monthly cost of ${CLUSTER} in ${REGION} `));

    const invalid = await run('cost', ['-f', bad, '-o', 'json']);
    expect(invalid.code).toBe(2);
    expect(envelope(invalid, 'cost', null).error!.code).toBe('invalid-spec');
    expect((await run('cost', ['-f', bad])).code).toBe(2);
  });

  it('iam-policy: the policy, no AWS call; a part past the last is a usage error naming the cluster', async () => {
    const ok = await run('iam-policy', ['-f', file, '--output', 'json']);
    expect(ok.code, ok.stderr).toBe(0);
    const e = envelope(ok, 'iam-policy', CLUSTER);
    expect(e.calls).toEqual({ total: 0, mutating: 0, byAction: {} });
    const policy = e.policy as { Version: string; Statement: unknown[] };
    expect(policy.Statement.length).toBeGreaterThan(0);
    expect((e.parts as unknown[]).length).toBeGreaterThan(0);
    const text = await run('iam-policy', ['-f', file]);
    expect(text.code, text.stderr).toBe(0);
    expect(JSON.parse(text.stdout)).toEqual(policy);

    const past = await run('iam-policy', ['-f', file, '--part', '20', '-o', 'json']);
    expect(past.code).toBe(2);
    expect(envelope(past, 'iam-policy', CLUSTER).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/^--part 20: /) });
    expect((await run('iam-policy', ['-f', file, '--part', '20'])).code).toBe(2);
    const invalid = await run('iam-policy', ['-f', bad, '-o', 'json']);
    expect(invalid.code).toBe(2);
    expect(envelope(invalid, 'iam-policy', null).error!.code).toBe('invalid-spec');
  });

  it('list: the cluster, under no one cluster; a region that is not one is a usage error', async () => {
    const ok = await run('list', ['--region', REGION, '--output', 'json']);
    expect(ok.code, ok.stderr).toBe(0);
    const e = envelope(ok, 'list', null);
    expect(e.regions).toEqual([REGION]);
    expect(e.clusters).toEqual([expect.objectContaining({ id: CLUSTER, name: 'env', environment: 'qa', region: REGION, masters: 1 })]);
    expect(e.calls.total).toBeGreaterThan(0);
    expect(e.calls.mutating).toBe(0);
    const text = await run('list', ['--region', REGION]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^env +qa +${REGION} `, 'm'));

    const nowhere = await run('list', ['--region', 'nowhere', '-o', 'json']);
    expect(nowhere.code).toBe(2);
    expect(envelope(nowhere, 'list', null).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/--region nowhere/) });
    expect((await run('list', ['--region', 'nowhere'])).code).toBe(2);
  });

  it('get-spec: the spec create kept; a cluster that does not exist is an error naming it, with the calls made', async () => {
    const ok = await run('get-spec', [CLUSTER, '--region', REGION, '--output', 'json']);
    expect(ok.code, ok.stderr).toBe(0);
    const e = envelope(ok, 'get-spec', CLUSTER);
    expect(e).toMatchObject({
      region: REGION,
      location: expect.stringMatching(/^s3:\/\//),
      spec: { metadata: { name: 'env', environment: 'qa' } },
    });
    expect(e.calls.mutating).toBe(0);
    const text = await run('get-spec', [CLUSTER]);
    expect(text.code, text.stderr).toBe(0);
    expect(parse(text.stdout)).toEqual(e.spec);

    const missing = await run('get-spec', ['nope-qa', '-o', 'json']);
    expect(missing.code).toBe(1);
    const m = envelope(missing, 'get-spec', 'nope-qa');
    expect(m.error!.message).toMatch(/no spec is kept for nope-qa/);
    expect(m.calls.total).toBeGreaterThan(0);
    expect((await run('get-spec', ['nope-qa'])).code).toBe(1);
  });

  it('ssh --output json: the instance and the command a session would run, none started; errors in JSON too', async () => {
    const env = { PATH: both, AWS_ARGS_FILE: argsFile };
    const j = await run('ssh', ['-f', file, 'workers', '--output', 'json'], { env });
    expect(j.code, j.stderr).toBe(0);
    const e = envelope(j, 'ssh', CLUSTER);
    const id = e.instanceId as string;
    expect(id).toMatch(/^i-/);
    expect(e).toMatchObject({ region: REGION, target: 'workers', group: 'workers', index: 0, missingPrograms: [], started: false });
    expect(e.argv).toEqual(['aws', 'ssm', 'start-session', '--target', id, '--region', REGION]);
    expect((e.candidates as Array<{ id: string }>).map((c) => c.id)).toContain(id);
    expect(existsSync(argsFile)).toBe(false);
    // without the programs it still answers, and says which are missing
    const lacking = envelope(await run('ssh', ['-f', file, 'workers', '-o', 'json'], { env: { PATH: neither } }), 'ssh', CLUSTER);
    expect(lacking.missingPrograms).toEqual([
      expect.stringMatching(/^the AWS CLI \(aws\)/),
      expect.stringMatching(/^the Session Manager plugin/),
    ]);

    // in text, the session (the stand-in) runs what the JSON said
    const text = await run('ssh', ['-f', file, 'workers'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(['aws', ...(await readFile(argsFile, 'utf8')).split('\n').filter(Boolean)]).toEqual(e.argv);

    const noGroup = await run('ssh', ['-f', file, 'nosuchgroup', '-o', 'json'], { env });
    expect(noGroup.code).toBe(2);
    const n = envelope(noGroup, 'ssh', CLUSTER);
    expect(n.error).toMatchObject({ code: 'usage', message: expect.stringMatching(/^nosuchgroup: not an instance id/) });
    expect(n.calls.total).toBeGreaterThan(0);
    expect((await run('ssh', ['-f', file, 'nosuchgroup'], { env })).code).toBe(2);
    expect((await run('ssh', ['-f', file, 'workers'], { env: { PATH: neither } })).code).toBe(1);
  });

  it('each of them ran in text and in JSON, succeeding and failing', () => {
    coverage(COMMANDS);
  });
});
