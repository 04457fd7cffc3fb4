/**
 * One JSON envelope for every command (issue 21), through the real CLI against moto: validate,
 * plan, create, destroy, status, rollout, kubeconfig, logs, backup-etcd, version and schema, each
 * run in text and in JSON, succeeding and failing. Under --output json stdout is one object with
 * `command`, `cluster`, `ok`, `calls: { total, mutating, byAction }` (and `error: { code, message }`
 * when not ok) — an error too, with the same exit code —, `ok` is true exactly when the exit code
 * is 0, and no output of any run contains "undefined" or "[object Object]". Also: destroy --dry-run
 * lists every resource (kind, id, name), needs no --yes, takes no lock and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ROOT } from '../helpers/cli.js';
import { envelopeChecks } from '../helpers/envelope.js';
import { inventory, type Inventory } from '../helpers/inventory.js';
import { useMoto } from '../helpers/moto.js';

const REGION = 'us-east-1';
const CLUSTER = 'demo-dev';
const COMMANDS = [
  'validate',
  'plan',
  'create',
  'destroy',
  'status',
  'rollout',
  'kubeconfig',
  'logs',
  'backup-etcd',
  'version',
  'schema',
] as const;
type Name = (typeof COMMANDS)[number];

const moto = useMoto({ processEnv: true });

describe('the JSON envelope of every command, and destroy --dry-run', { shuffle: false, timeout: 600_000 }, () => {
  let dir: string;
  let file: string;
  let bad: string;
  let before: Inventory;
  const { run, envelope, coverage } = envelopeChecks<Name>(() => moto.env);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-envelope-'));
    file = path.join(dir, 'cluster.yaml');
    bad = path.join(dir, 'bad.yaml');
    const example = await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
    await writeFile(file, example);
    await writeFile(bad, example.replace(/nat: \w+/, 'nat: sometimes'));
    before = await inventory(REGION);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the commands without AWS: validate, version, schema — success and error, text and JSON', async () => {
    const v = envelope(await run('validate', ['-f', file, '--output', 'json']), 'validate', CLUSTER);
    expect(v).toMatchObject({ valid: true, issues: [], calls: { total: 0, mutating: 0, byAction: {} } });
    const invalid = await run('validate', ['-f', bad, '-o', 'json']);
    expect(invalid.code).toBe(2);
    expect(envelope(invalid, 'validate', null)).toMatchObject({
      valid: false,
      error: { code: 'invalid-spec' },
      issues: [expect.objectContaining({ path: 'spec.network.nat' })],
    });
    expect((await run('validate', ['-f', file])).code).toBe(0);
    expect((await run('validate', ['-f', bad])).code).toBe(2);

    const version = await run('version', ['--output', 'json']);
    const ver = envelope(version, 'version', null);
    expect(ver.version).toMatch(/^\d+\.\d+\.\d+/);
    // the pod identity webhook has no chart, only an image: named by its image
    const pins = Object.values(ver.addons as Record<string, Record<string, string>>).flatMap((row) => Object.values(row));
    for (const p of pins) expect(p).not.toMatch(/undefined/);
    expect(pins.filter((p) => p.startsWith('image '))).not.toEqual([]);
    expect((await run('version', [])).code).toBe(0);
    const badVersion = await run('version', ['-o', 'json', '--bogus']);
    expect(badVersion.code).toBe(2);
    expect(envelope(badVersion, 'version', null).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/--bogus/) });
    expect((await run('version', ['--bogus'])).code).toBe(2);

    const schema = envelope(await run('schema', ['--output', 'json']), 'schema', null);
    expect(schema.schema).toMatchObject({ type: 'object' });
    const text = await run('schema', []);
    expect(JSON.parse(text.stdout)).toEqual(schema.schema);
    const badSchema = await run('schema', ['--output', 'json', '--bogus']);
    expect(badSchema.code).toBe(2);
    envelope(badSchema, 'schema', null);
    expect((await run('schema', ['--bogus'])).code).toBe(2);
  });

  it('before the cluster exists: plan, status, destroy --dry-run; a spec that is not there is a JSON error', async () => {
    const p = await run('plan', ['-f', file, '--output', 'json']);
    expect(p.code, p.stderr).toBe(0);
    const plan = envelope(p, 'plan', CLUSTER);
    expect(plan.version).toBe(1);
    expect(plan.calls.mutating).toBe(0);
    // what each create sets rides on its change (JSON) and under its line (text)
    const changes = plan.changes as Array<{ key: string; action: string; about?: string }>;
    expect(changes.find((c) => c.key === 'subnet/public/us-east-1a')?.about).toMatch(/^10\.\d+\.\d+\.\d+\/\d+ in us-east-1a, public$/);
    expect(changes.find((c) => c.key === 'asg/workers')?.about).toMatch(/min \d+ \/ desired \d+ \/ max \d+/);
    const text = await run('plan', ['-f', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\+ subnet\/public\/us-east-1a \(subnet\)\n {4}10\.\S+ in us-east-1a, public$/m);
    const missing = await run('plan', ['-f', path.join(dir, 'nope.yaml'), '-o', 'json']);
    expect(missing.code).toBe(2);
    expect(envelope(missing, 'plan', null).error!.code).toBe('invalid-spec');
    expect((await run('plan', ['-f', path.join(dir, 'nope.yaml')])).code).toBe(2);

    const s = await run('status', ['-f', file, '--output', 'json']);
    expect(s.code).toBe(3);
    expect(envelope(s, 'status', CLUSTER)).toMatchObject({ found: false, error: { code: 'not-found' } });
    const badWait = await run('status', ['-f', file, '--wait', 'soon', '--output', 'json']);
    expect(badWait.code).toBe(2);
    expect(envelope(badWait, 'status', null).error!.code).toBe('usage');

    const dry = await run('destroy', ['-f', file, '--dry-run', '--output', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(envelope(dry, 'destroy', CLUSTER)).toMatchObject({ found: false, resources: [] });
  });

  it('create: without --yes and a terminal a JSON error naming the cluster and the calls made; then create', async () => {
    const refused = await run('create', ['-f', file, '--output', 'json']);
    expect(refused.code).toBe(2);
    const e = envelope(refused, 'create', CLUSTER);
    expect(e.error).toMatchObject({ code: 'usage', message: expect.stringMatching(/pass --yes/) });
    expect(e.calls.total).toBeGreaterThan(0);
    expect(e.calls.mutating).toBe(0);
    expect((await run('create', ['-f', file])).code).toBe(2);

    const made = await run('create', ['-f', file, '--yes', '--output', 'json']);
    expect(made.code, made.stderr).toBe(0);
    const c = envelope(made, 'create', CLUSTER);
    expect(c.calls.byAction['ec2:CreateVpc']).toBe(1);
    expect(c.calls.mutating).toBeGreaterThan(0);
    // a create in text: the plan is its result (stdout) — nothing to do now —, the progress on stderr
    const again = await run('create', ['-f', file, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/done: nothing to do/);
    const dry = envelope(await run('create', ['-f', file, '--dry-run', '-o', 'json']), 'create', CLUSTER);
    expect(dry).toMatchObject({ dryRun: true, version: 1, changes: [] });
  });

  it('with the cluster: status (and its drift), logs, backup-etcd, kubeconfig, rollout — success and error', async () => {
    const s = await run('status', ['-f', file, '--output', 'json']);
    const st = envelope(s, 'status', CLUSTER);
    // `calls` is the envelope's object now (it was a number)
    expect(st.calls.total).toBeGreaterThan(0);
    expect(Array.isArray(st.resources)).toBe(true);
    await run('status', ['-f', file]);

    const logs = await run('logs', ['-f', file, 'master', '--output', 'json']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(envelope(logs, 'logs', CLUSTER)).toMatchObject({ target: 'master', instances: expect.any(Array) });
    expect((await run('logs', ['-f', file, 'master'])).code).toBe(0);
    const noGroup = await run('logs', ['-f', file, 'nosuchgroup', '-o', 'json']);
    expect(noGroup.code).toBe(2);
    expect(envelope(noGroup, 'logs', CLUSTER).calls.total).toBeGreaterThan(0);
    expect((await run('logs', ['-f', file, 'nosuchgroup'])).code).toBe(2);

    const list = await run('backup-etcd', ['-f', file, '--list', '--output', 'json']);
    expect(list.code, list.stderr).toBe(0);
    expect(envelope(list, 'backup-etcd', CLUSTER)).toMatchObject({ snapshots: [] });
    expect((await run('backup-etcd', ['-f', file, '--list'])).code).toBe(0);
    const both = await run('backup-etcd', ['-f', file, '--list', '--prune', '--output', 'json']);
    expect(both.code).toBe(2);
    expect(envelope(both, 'backup-etcd', null).error!.code).toBe('usage');
    expect((await run('backup-etcd', ['-f', file, '--list', '--prune'])).code).toBe(2);

    const kc = await run('kubeconfig', ['-f', file, '--out', '-', '--output', 'json']);
    expect(kc.code, kc.stderr).toBe(0);
    const k = envelope(kc, 'kubeconfig', CLUSTER);
    expect(k).toMatchObject({ mode: 'stdout', context: CLUSTER, file: null });
    expect(k.kubeconfig).toMatch(/^apiVersion: v1/m);
    const out = path.join(dir, 'kubeconfig');
    expect((await run('kubeconfig', ['-f', file, '--out', out])).code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const tooLong = await run('kubeconfig', ['-f', file, '--out', '-', '--admin', '999h', '-o', 'json']);
    expect(tooLong.code).toBe(2);
    expect(envelope(tooLong, 'kubeconfig', null).error!.message).toMatch(/168h/);
    expect((await run('kubeconfig', ['-f', file, '--out', '-', '--admin', '999h'])).code).toBe(2);

    const ro = await run('rollout', ['-f', file, '--yes', '--output', 'json']);
    expect(ro.code, ro.stderr).toBe(0);
    expect(envelope(ro, 'rollout', CLUSTER)).toMatchObject({ nothingToDo: true, steps: [] });
    expect((await run('rollout', ['-f', file, '--yes'])).code).toBe(0);
    const badMin = await run('rollout', ['-f', file, '--min-healthy-percentage', '500', '--output', 'json']);
    expect(badMin.code).toBe(2);
    expect(envelope(badMin, 'rollout', null).error!.code).toBe('usage');
    expect((await run('rollout', ['-f', file, '--min-healthy-percentage', '500'])).code).toBe(2);
  });

  it('a drifted resource: status names the field and both values, never "undefined"', async () => {
    const asg = new AutoScalingClient({ region: REGION });
    await asg.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: `${CLUSTER}-workers`, MaxSize: 9 }));
    const text = await run('status', ['-f', file]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/drift: asg\/workers: maxSize: 9 → \d+/);
    const j = envelope(await run('status', ['-f', file, '-o', 'json']), 'status', CLUSTER);
    expect(j.error!.code).toBe('not-ready');
    // back to the spec
    expect((await run('create', ['-f', file, '--yes'])).code).toBe(0);
  });

  it('destroy --dry-run: every resource by kind, id and name; no --yes, no lock, nothing changed', async () => {
    const made = await inventory(REGION);
    // another run holds the lock: a real destroy would refuse, the dry run does not take it
    const lock = path.join(dir, '.kubeaz', `${CLUSTER}.lock`);
    await mkdir(path.dirname(lock), { recursive: true });
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), command: 'create', startedAt: new Date().toISOString() }));

    const text = await run('destroy', ['-f', file, '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^destroy demo-dev in us-east-1 \(account \d+\): \d+ resources to delete$/m);
    expect(text.stdout).toMatch(/^ {2}KIND +ID +NAME$/m);
    expect(text.stdout).toMatch(/^ {2}vpc +vpc-\w+ +\S+$/m);
    expect(text.stdout).toMatch(/^ {2}subnet +subnet-\w+ +\S+$/m);
    expect(text.stderr).toMatch(/dry run: nothing was deleted/);

    const j = await run('destroy', ['-f', file, '--dry-run', '--output', 'json']);
    expect(j.code, j.stderr).toBe(0);
    const e = envelope(j, 'destroy', CLUSTER);
    expect(e.dryRun).toBe(true);
    expect(e.calls.mutating).toBe(0);
    const resources = e.resources as Array<{ key: string; kind: string; id: string; name: string }>;
    const preview = e.preview as { total: number; byKind: Record<string, number> };
    expect(resources.length).toBe(preview.total);
    for (const r of resources) expect(Object.keys(r).sort()).toEqual(['id', 'key', 'kind', 'name']);
    for (const [kind, n] of Object.entries(preview.byKind)) expect(resources.filter((r) => r.kind === kind).length, kind).toBe(n);
    expect(resources.find((r) => r.key === 'vpc')).toMatchObject({ kind: 'vpc', id: expect.stringMatching(/^vpc-/) });
    for (const r of resources) expect(text.stdout, r.key).toContain(r.id);

    // nothing changed, and the lock is still the other run's
    expect(await inventory(REGION)).toEqual(made);
    expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid, command: 'create' });
    const held = await run('destroy', ['-f', file, '--yes', '--output', 'json']);
    expect(held.code).toBe(1);
    expect(envelope(held, 'destroy', CLUSTER).error!.code).toBe('lock-held');
    expect((await run('destroy', ['-f', file, '--yes'])).code).toBe(1);
    expect(await inventory(REGION)).toEqual(made);
    await rm(lock);
  });

  it('destroy: the calls by action, nothing left', async () => {
    const r = await run('destroy', ['-f', file, '--yes', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const e = envelope(r, 'destroy', CLUSTER);
    expect(e.calls.byAction['ec2:DeleteVpc']).toBe(1);
    expect((e.deleted as unknown[]).length).toBe((e.resources as unknown[]).length);
    expect(await inventory(REGION)).toEqual(before);
    const again = await run('destroy', ['-f', file, '--yes']);
    expect(again.code).toBe(0);
  });

  it('every command ran in text and in JSON, succeeding and failing', () => {
    coverage(COMMANDS);
  });
});
