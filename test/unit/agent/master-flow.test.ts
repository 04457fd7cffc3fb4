/**
 * The master flow's edge cases with a fake Programs and aws-sdk-client-mock (given / when / then):
 * a kubeadm init that fails on every try is reset and retried, then the instance reports `failed` at
 * its init phase and calls SetInstanceHealth Unhealthy on itself; a conditional write that loses is
 * S3's typed PreconditionFailed, any other error is not a lost race; a failed control-plane join is
 * reset and retried with join/ read again; the join token is made by the agent; node roles.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { AutoScalingClient, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentAws } from '../../../src/agent/context.js';
import { adoptFirstMaster, InitFailed, initWithRetries, joinControlPlane, masterSettingsOf } from '../../../src/agent/master/boot.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { labelNodeRoles, newBootstrapToken, nodeNames, renewJoinToken } from '../../../src/agent/master/day-jobs.js';
import { claim } from '../../../src/agent/master/records.js';
import { ReportedFailure } from '../../../src/agent/report.js';
import { caCertHash, generatePair, PKI_PAIRS } from '../../../src/pki/ca.js';
import { parseBootReport } from '../../../src/records/boot.js';
import { fail, FakeEtcd, FakePrograms, ok, testMaster } from '../../helpers/agent-master.js';

const s3 = mockClient(S3Client);
const asg = mockClient(AutoScalingClient);
const aws: AgentAws = {
  s3: async () => new S3Client({ region: 'eu-west-1' }),
  ec2: async () => new EC2Client({ region: 'eu-west-1' }),
  autoscaling: async () => new AutoScalingClient({ region: 'eu-west-1' }),
  route53: async () => new Route53Client({ region: 'eu-west-1' }),
};
const pki: Record<string, string> = {};
const body = (text: string) => ({ Body: { transformToString: async () => text } }) as never;
const puts = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);

beforeAll(async () => {
  for (const p of PKI_PAIRS) {
    const pair = await generatePair(p);
    pki[`pki/${p.cert}`] = pair.cert;
    pki[`pki/${p.key}`] = pair.key;
  }
});
beforeEach(() => {
  s3.reset();
  asg.reset();
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    if (pki[input.Key] !== undefined) return body(pki[input.Key]!);
    throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'no such key' });
  });
  s3.on(PutObjectCommand).resolves({});
  asg.on(SetInstanceHealthCommand).resolves({});
});

const reports = () => {
  const written: string[] = [];
  return { written, sink: { put: async (_k: string, b: string) => void written.push(b) } };
};

describe('kubeadm init that fails on every try', () => {
  it('is reset and retried, then the instance reports failed at init and marks itself Unhealthy', async () => {
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubeadm' && args[0] === 'init' ? fail(1, `[preflight] bootstrap token abcdef.0123456789abcdef\nerror execution phase wait-control-plane: timed out`) : undefined));
    const r = reports();
    const m = testMaster({ instanceId: 'i-0123456789abcdef0', group: 'master', ip: '10.0.1.5', aws, bucket: 'b', sink: r.sink, programs, waits: { initAttempts: 3 } });
    const ms = masterSettingsOf(m.ctx);
    const restores: number[] = [];
    const restore = async () => (restores.push(1), {});
    await expect(m.reporter.phase('init', () => initWithRetries(m.ctx, ms, restore, {}))).rejects.toBeInstanceOf(ReportedFailure);

    // three inits, a reset after each of the first two (then pki and the restore again), never after the last
    expect(programs.commands().filter((c) => c.startsWith('kubeadm'))).toEqual(['kubeadm init --config', 'kubeadm reset -f', 'kubeadm init --config', 'kubeadm reset -f', 'kubeadm init --config']);
    expect(restores).toHaveLength(2);
    expect(s3.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === 'pki/ca.key')).toHaveLength(2);
    // the group is asked to replace this instance, without waiting for its grace period
    expect(asg.commandCalls(SetInstanceHealthCommand).map((c) => c.args[0].input)).toEqual([{ InstanceId: 'i-0123456789abcdef0', HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }]);
    // the report: failed at init, the program's last lines, the token redacted
    const last = parseBootReport(r.written[r.written.length - 1]!);
    if (last instanceof Error) throw last;
    expect(last.result).toBe('failed');
    expect(last.error).toMatchObject({ phase: 'init' });
    expect(last.error!.message).toMatch(/kubeadm init failed 3 times \(last: exit 1\); this instance marked itself Unhealthy/);
    expect(last.error!.output).toContain('timed out');
    expect(last.error!.output).not.toContain('abcdef.0123456789abcdef');
  });

  it('says so when SetInstanceHealth itself fails (the init failure stays the error)', async () => {
    asg.on(SetInstanceHealthCommand).rejects(new Error('AccessDenied'));
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubeadm' && args[0] === 'init' ? fail(1, 'boom') : undefined));
    const m = testMaster({ instanceId: 'i-0123456789abcdef1', group: 'master', ip: '10.0.1.6', aws, bucket: 'b', sink: reports().sink, programs, waits: { initAttempts: 1 } });
    const e = await initWithRetries(m.ctx, masterSettingsOf(m.ctx), async () => ({}), {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InitFailed);
    expect((e as Error).message).toMatch(/could NOT mark itself Unhealthy \(AccessDenied\)/);
  });

  it('a second try that works needs no Unhealthy; a restored data dir passes the etcd-dir preflight', async () => {
    let n = 0;
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubeadm' && args[0] === 'init' && ++n === 1 ? fail(1, 'flake') : undefined));
    const m = testMaster({ instanceId: 'i-0123456789abcdef2', group: 'master', ip: '10.0.1.7', aws, bucket: 'b', sink: reports().sink, programs });
    await initWithRetries(m.ctx, masterSettingsOf(m.ctx), async () => ({ key: 'etcd/20261205T100000Z.db' }), { key: 'etcd/20261205T100000Z.db' });
    expect(asg.commandCalls(SetInstanceHealthCommand)).toHaveLength(0);
    const cfg = readFileSync(`${m.ctx.root}/etc/kubernetes/kubeadm.yaml`, 'utf8');
    expect(cfg).toContain('DirAvailable--var-lib-etcd');
    expect(statSync(`${m.ctx.root}/etc/kubernetes/kubeadm.yaml`).mode & 0o777).toBe(0o600);
  });
});

describe('conditional writes', () => {
  it('PreconditionFailed (412) is a lost race; the body is the scripts` flat JSON with IfNoneMatch *', async () => {
    s3.on(PutObjectCommand).rejectsOnce(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' })).resolves({});
    expect(await claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).toBe('lost');
    expect(await claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).toBe('won');
    const p = puts()[1]!;
    expect(p.IfNoneMatch).toBe('*');
    expect(p.Body).toBe('{\n  "group": "master",\n  "instanceId": "i-1"\n}\n');
  });

  it('any other failure is not a lost race: it is thrown', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }));
    await expect(claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).rejects.toThrow(/denied/);
  });
});

describe('joining the control plane', () => {
  it('reads join/ each try; a failed join is reset (pki fetched again) and retried; the config (0600, token inside) is removed after', async () => {
    const token = 'abcdef.0123456789abcdef';
    const hash = caCertHash(pki['pki/ca.crt'] ?? '') ;
    s3.on(GetObjectCommand, { Key: 'join/token' }).resolves(body(`${token}\n`));
    s3.on(GetObjectCommand, { Key: 'join/ca-cert-hash' }).resolves(body(`${hash}\n`));
    let n = 0;
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubeadm' && args[0] === 'join' && ++n === 1 ? fail(1, `could not join with ${token}`) : undefined));
    const m = testMaster({ instanceId: 'i-0123456789abcdef3', group: 'master-2', ip: '10.0.2.5', aws, bucket: 'b', sink: reports().sink, programs });
    await joinControlPlane(m.ctx, masterSettingsOf(m.ctx));
    expect(programs.commands().filter((c) => c.startsWith('kubeadm'))).toEqual(['kubeadm join --config', 'kubeadm reset -f', 'kubeadm join --config']);
    expect(s3.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === 'join/token')).toHaveLength(2);
    expect(existsSync(`${m.ctx.root}/etc/kubernetes/kubeadm-join.yaml`)).toBe(false);
    expect(m.logs.join('\n')).not.toContain(token);
  });

  it('waits for join/ while it is empty, then fails with the reason after the last try', async () => {
    const programs = new FakePrograms();
    const m = testMaster({ instanceId: 'i-0123456789abcdef4', group: 'master-2', ip: '10.0.2.6', aws, bucket: 'b', sink: reports().sink, programs, waits: { masterJoinAttempts: 2 } });
    await expect(joinControlPlane(m.ctx, masterSettingsOf(m.ctx))).rejects.toThrow(/join\/ holds no token yet/);
    expect(programs.calls.filter((c) => c.cmd === 'kubeadm')).toHaveLength(0);
  });
});

describe('day jobs', () => {
  it('the join token is made by the agent, handed to kubeadm, written after the CA hash', async () => {
    const programs = new FakePrograms();
    const m = testMaster({ instanceId: 'i-0123456789abcdef5', group: 'master', ip: '10.0.1.5', aws, bucket: 'b', sink: reports().sink, programs });
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(`${m.ctx.root}/etc/kubernetes/pki`, { recursive: true });
    writeFileSync(`${m.ctx.root}/etc/kubernetes/pki/ca.crt`, pki['pki/ca.crt']!);
    await renewJoinToken(m.ctx);
    const create = programs.calls.find((c) => c.cmd === 'kubeadm')!;
    expect(create.args.slice(0, 2)).toEqual(['token', 'create']);
    expect(create.args[2]).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(create.args).toEqual(expect.arrayContaining(['--ttl', '48h']));
    expect(puts().map((p) => [p.Key, String(p.Body).trim()])).toEqual([
      ['join/ca-cert-hash', caCertHash(pki['pki/ca.crt']!)],
      ['join/token', create.args[2]],
    ]);
    expect(newBootstrapToken(() => 0)).toBe('aaaaaa.aaaaaaaaaaaaaaaa');
  });

  it('node roles: only the nodes the selector returns are labelled, from kubectl`s JSON', async () => {
    const nodes = (names: string[]) => ok(JSON.stringify({ kind: 'List', items: names.map((name) => ({ metadata: { name } })) }));
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubectl' && args.includes('get') ? (args.some((a) => a.startsWith('kubeaz.io/role=node,')) ? nodes(['w1', 'w2']) : nodes([])) : undefined));
    const m = testMaster({ instanceId: 'i-0123456789abcdef6', group: 'master', ip: '10.0.1.5', aws, bucket: 'b', sink: reports().sink, programs });
    expect(await labelNodeRoles(m.ctx)).toEqual(['w1', 'w2']);
    expect(programs.calls.filter((c) => c.args.includes('label')).map((c) => c.args.slice(2))).toEqual([
      ['label', 'node', 'w1', 'node-role.kubernetes.io/node=', '--overwrite'],
      ['label', 'node', 'w2', 'node-role.kubernetes.io/node=', '--overwrite'],
    ]);
    expect(programs.calls.filter((c) => c.args.includes('get')).map((c) => c.args[5])).toEqual(['kubeaz.io/role=node,!node-role.kubernetes.io/node', 'kubeaz.io/role=loadbalancer,!node-role.kubernetes.io/loadbalancer']);
    expect(nodeNames('{"items":[]}')).toEqual([]);
  });
});

describe('a cluster grown from one master (no init.json)', () => {
  it('a joiner records the first master`s member and an adopted init.json from its Node, both conditional writes', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    const etcd = new FakeEtcd();
    const first = etcd.add('10.0.1.4', 'ip-10-0-1-4.eu-west-1.compute.internal');
    etcd.add('10.0.2.5', 'ip-10-0-2-5.eu-west-1.compute.internal');
    const node = { metadata: { labels: { 'kubeaz.io/node-group': 'master' } }, spec: { providerID: 'aws:///eu-west-1a/i-0firstmaster000001' } };
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubectl' && args.includes(first.name) ? ok(JSON.stringify(node)) : cmd === 'kubectl' ? fail(1, 'NotFound') : undefined));
    const m = testMaster({ instanceId: 'i-0123456789abcdef7', group: 'master-2', ip: '10.0.2.5', aws, bucket: 'b', sink: reports().sink, programs });
    expect(await adoptFirstMaster(m.ctx, { etcd, apiUp: async () => true, agentCommand: [] })).toEqual(['i-0firstmaster000001']);
    const writes = puts().map((p) => ({ key: p.Key, ifNoneMatch: p.IfNoneMatch, body: JSON.parse(String(p.Body)) as Record<string, string> }));
    expect(writes.map((w) => [w.key, w.ifNoneMatch])).toEqual([
      ['etcd/control-plane/members/master.json', '*'],
      ['etcd/control-plane/init.json', '*'],
    ]);
    expect(writes[0]!.body).toMatchObject({ group: 'master', memberId: first.idHex, instanceId: 'i-0firstmaster000001', clientURL: 'https://10.0.1.4:2379' });
    expect(writes[1]!.body).toMatchObject({ group: 'master', instanceId: 'i-0firstmaster000001', adopted: 'true' });
  });

  it('nothing when init.json exists', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'etcd/control-plane/init.json' }] });
    s3.on(GetObjectCommand, { Key: 'etcd/control-plane/init.json' }).resolves(body('{"group":"master","instanceId":"i-0abc"}'));
    const m = testMaster({ instanceId: 'i-0123456789abcdef8', group: 'master-2', ip: '10.0.2.6', aws, bucket: 'b', sink: reports().sink, programs: new FakePrograms() });
    expect(await adoptFirstMaster(m.ctx, { etcd: new FakeEtcd(), apiUp: async () => true, agentCommand: [] })).toEqual([]);
    expect(puts()).toHaveLength(0);
  });
});
