/**
 * The master flow's edge cases with a fake Programs and aws-sdk-client-mock (given / when / then):
 * a kubeadm init that fails on every try is reset and retried, then the instance reports `failed` at
 * its init phase and calls SetInstanceHealth Unhealthy on itself; a conditional write that loses is
 * S3's typed PreconditionFailed, any other error is not a lost race; a failed control-plane join is
 * reset and retried with join/ read again; the join token is made by the agent; node roles; which
 * master installs the add-ons after a rollout (addons.json, over a bucket that keeps ETags).
 */
import { readFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { AutoScalingClient, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkMock } from '../../helpers/sdk-mock.js';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentAws } from '../../../src/agent/context.js';
import { addonsFingerprint } from '../../../src/agent/decide/addons.js';
import {
  addonsAfterJoin,
  adoptFirstMaster,
  InitFailed,
  initWithRetries,
  joinControlPlane,
  masterSettingsOf,
  recordAddonsInstalled,
  takeAddonsTurn,
} from '../../../src/agent/master/boot.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { labelNodeRoles, newBootstrapToken, nodeNames, renewJoinToken } from '../../../src/agent/master/day-jobs.js';
import { claim } from '../../../src/agent/master/records.js';
import { ReportedFailure } from '../../../src/agent/report.js';
import { caCertHash, generatePair, PKI_PAIRS } from '../../../src/pki/ca.js';
import { generateEncryptionKey } from '../../../src/pki/encryption-key.js';
import { podIdentityWebhookManifest, POD_IDENTITY_WEBHOOK_KEY, STORAGE_CLASS_KEY } from '../../../src/model/addon-manifests.js';
import { parseBootReport } from '../../../src/records/boot.js';
import { parseAddonsRecord, renderRecord, type AddonsRecord } from '../../../src/records/etcd.js';
import { fail, FakeEtcd, FakePrograms, MASTER_SETTINGS, ok, testMaster } from '../../helpers/agent-master.js';

const s3 = sdkMock(S3Client);
const asg = sdkMock(AutoScalingClient);
const ec2 = sdkMock(EC2Client);
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
  // the aescbc key of Secrets at rest (spec.encryption's default), made by create beside the CAs
  pki['pki/encryption/key1'] = generateEncryptionKey();
});
beforeEach(() => {
  s3.reset();
  asg.reset();
  ec2.reset();
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
    const programs = new FakePrograms((cmd, args) =>
      cmd === 'kubeadm' && args[0] === 'init'
        ? fail(1, `[preflight] bootstrap token abcdef.0123456789abcdef\nerror execution phase wait-control-plane: timed out`)
        : undefined,
    );
    const r = reports();
    const m = testMaster({
      instanceId: 'i-0123456789abcdef0',
      group: 'master',
      ip: '10.0.1.5',
      aws,
      bucket: 'b',
      sink: r.sink,
      programs,
      waits: { initAttempts: 3 },
    });
    const ms = masterSettingsOf(m.ctx);
    const restores: number[] = [];
    const restore = async () => (restores.push(1), {});
    await expect(m.reporter.phase('init', () => initWithRetries(m.ctx, ms, restore, {}))).rejects.toBeInstanceOf(ReportedFailure);

    // three inits, a reset after each of the first two (then pki and the restore again), never after the last
    expect(programs.commands().filter((c) => c.startsWith('kubeadm'))).toEqual([
      'kubeadm init --config',
      'kubeadm reset -f',
      'kubeadm init --config',
      'kubeadm reset -f',
      'kubeadm init --config',
    ]);
    expect(restores).toHaveLength(2);
    expect(s3.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === 'pki/ca.key')).toHaveLength(2);
    // the group is asked to replace this instance, without waiting for its grace period
    expect(asg.commandCalls(SetInstanceHealthCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceId: 'i-0123456789abcdef0', HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false },
    ]);
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
    const m = testMaster({
      instanceId: 'i-0123456789abcdef1',
      group: 'master',
      ip: '10.0.1.6',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
      waits: { initAttempts: 1 },
    });
    const e = await initWithRetries(m.ctx, masterSettingsOf(m.ctx), async () => ({}), {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InitFailed);
    expect((e as Error).message).toMatch(/could NOT mark itself Unhealthy \(AccessDenied\)/);
  });

  it('a second try that works needs no Unhealthy; a restored data dir passes the etcd-dir preflight', async () => {
    let n = 0;
    const programs = new FakePrograms((cmd, args) => (cmd === 'kubeadm' && args[0] === 'init' && ++n === 1 ? fail(1, 'flake') : undefined));
    const m = testMaster({
      instanceId: 'i-0123456789abcdef2',
      group: 'master',
      ip: '10.0.1.7',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
    });
    await initWithRetries(m.ctx, masterSettingsOf(m.ctx), async () => ({ key: 'etcd/20261205T100000Z.db' }), {
      key: 'etcd/20261205T100000Z.db',
    });
    expect(asg.commandCalls(SetInstanceHealthCommand)).toHaveLength(0);
    const cfg = readFileSync(`${m.ctx.root}/etc/kubernetes/kubeadm.yaml`, 'utf8');
    expect(cfg).toContain('DirAvailable--var-lib-etcd');
    expect(statSync(`${m.ctx.root}/etc/kubernetes/kubeadm.yaml`).mode & 0o777).toBe(0o600);
  });
});

describe('conditional writes', () => {
  it('PreconditionFailed (412) is a lost race; the body is the scripts` flat JSON with IfNoneMatch *', async () => {
    s3.on(PutObjectCommand)
      .rejectsOnce(
        new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
          message: 'At least one of the pre-conditions you specified did not hold',
        }),
      )
      .resolves({});
    expect(await claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).toBe('lost');
    expect(await claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).toBe('won');
    const p = puts()[1]!;
    expect(p.IfNoneMatch).toBe('*');
    expect(p.Body).toBe('{\n  "group": "master",\n  "instanceId": "i-1"\n}\n');
  });

  it('any other failure is not a lost race: it is thrown', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'denied' }),
    );
    await expect(claim(aws, 'b', 'etcd/control-plane/init.json', { group: 'master', instanceId: 'i-1' })).rejects.toThrow(/denied/);
  });
});

describe('joining the control plane', () => {
  it('reads join/ each try; a failed join is reset (pki fetched again) and retried; the config (0600, token inside) is removed after', async () => {
    const token = 'abcdef.0123456789abcdef';
    const hash = caCertHash(pki['pki/ca.crt'] ?? '');
    s3.on(GetObjectCommand, { Key: 'join/token' }).resolves(body(`${token}\n`));
    s3.on(GetObjectCommand, { Key: 'join/ca-cert-hash' }).resolves(body(`${hash}\n`));
    let n = 0;
    const programs = new FakePrograms((cmd, args) =>
      cmd === 'kubeadm' && args[0] === 'join' && ++n === 1 ? fail(1, `could not join with ${token}`) : undefined,
    );
    const m = testMaster({
      instanceId: 'i-0123456789abcdef3',
      group: 'master-2',
      ip: '10.0.2.5',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
    });
    await joinControlPlane(m.ctx, masterSettingsOf(m.ctx));
    expect(programs.commands().filter((c) => c.startsWith('kubeadm'))).toEqual([
      'kubeadm join --config',
      'kubeadm reset -f',
      'kubeadm join --config',
    ]);
    expect(s3.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === 'join/token')).toHaveLength(2);
    expect(existsSync(`${m.ctx.root}/etc/kubernetes/kubeadm-join.yaml`)).toBe(false);
    expect(m.logs.join('\n')).not.toContain(token);
  });

  it('waits for join/ while it is empty, then fails with the reason after the last try', async () => {
    const programs = new FakePrograms();
    const m = testMaster({
      instanceId: 'i-0123456789abcdef4',
      group: 'master-2',
      ip: '10.0.2.6',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
      waits: { masterJoinAttempts: 2 },
    });
    await expect(joinControlPlane(m.ctx, masterSettingsOf(m.ctx))).rejects.toThrow(/join\/ holds no token yet/);
    expect(programs.calls.filter((c) => c.cmd === 'kubeadm')).toHaveLength(0);
  });
});

describe('day jobs', () => {
  it('the join token is made by the agent, handed to kubeadm, written after the CA hash', async () => {
    const programs = new FakePrograms();
    const m = testMaster({
      instanceId: 'i-0123456789abcdef5',
      group: 'master',
      ip: '10.0.1.5',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
    });
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
    const programs = new FakePrograms((cmd, args) =>
      cmd === 'kubectl' && args.includes('get')
        ? args.some((a) => a.startsWith('kubeaz.io/role=node,'))
          ? nodes(['w1', 'w2'])
          : nodes([])
        : undefined,
    );
    const m = testMaster({
      instanceId: 'i-0123456789abcdef6',
      group: 'master',
      ip: '10.0.1.5',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
    });
    expect(await labelNodeRoles(m.ctx)).toEqual(['w1', 'w2']);
    expect(programs.calls.filter((c) => c.args.includes('label')).map((c) => c.args.slice(2))).toEqual([
      ['label', 'node', 'w1', 'node-role.kubernetes.io/node=', '--overwrite'],
      ['label', 'node', 'w2', 'node-role.kubernetes.io/node=', '--overwrite'],
    ]);
    expect(programs.calls.filter((c) => c.args.includes('get')).map((c) => c.args[5])).toEqual([
      'kubeaz.io/role=node,!node-role.kubernetes.io/node',
      'kubeaz.io/role=loadbalancer,!node-role.kubernetes.io/loadbalancer',
    ]);
    expect(nodeNames('{"items":[]}')).toEqual([]);
  });
});

describe('a cluster grown from one master (no init.json)', () => {
  it('a joiner records the first master`s member and an adopted init.json from its Node, both conditional writes', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    const etcd = new FakeEtcd();
    const first = etcd.add('10.0.1.4', 'ip-10-0-1-4.eu-west-1.compute.internal');
    etcd.add('10.0.2.5', 'ip-10-0-2-5.eu-west-1.compute.internal');
    const node = {
      metadata: { labels: { 'kubeaz.io/node-group': 'master' } },
      spec: { providerID: 'aws:///eu-west-1a/i-0firstmaster000001' },
    };
    const programs = new FakePrograms((cmd, args) =>
      cmd === 'kubectl' && args.includes(first.name) ? ok(JSON.stringify(node)) : cmd === 'kubectl' ? fail(1, 'NotFound') : undefined,
    );
    const m = testMaster({
      instanceId: 'i-0123456789abcdef7',
      group: 'master-2',
      ip: '10.0.2.5',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs,
    });
    expect(await adoptFirstMaster(m.ctx, { etcd, apiUp: async () => true, agentCommand: [] })).toEqual(['i-0firstmaster000001']);
    const writes = puts().map((p) => ({
      key: p.Key,
      ifNoneMatch: p.IfNoneMatch,
      body: JSON.parse(String(p.Body)) as Record<string, string>,
    }));
    expect(writes.map((w) => [w.key, w.ifNoneMatch])).toEqual([
      ['etcd/control-plane/members/master.json', '*'],
      ['etcd/control-plane/init.json', '*'],
    ]);
    expect(writes[0]!.body).toMatchObject({
      group: 'master',
      memberId: first.idHex,
      instanceId: 'i-0firstmaster000001',
      clientURL: 'https://10.0.1.4:2379',
    });
    expect(writes[1]!.body).toMatchObject({ group: 'master', instanceId: 'i-0firstmaster000001', adopted: 'true' });
  });

  it('nothing when init.json exists', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'etcd/control-plane/init.json' }] });
    s3.on(GetObjectCommand, { Key: 'etcd/control-plane/init.json' }).resolves(body('{"group":"master","instanceId":"i-0abc"}'));
    const m = testMaster({
      instanceId: 'i-0123456789abcdef8',
      group: 'master-2',
      ip: '10.0.2.6',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs: new FakePrograms(),
    });
    expect(await adoptFirstMaster(m.ctx, { etcd: new FakeEtcd(), apiUp: async () => true, agentCommand: [] })).toEqual([]);
    expect(puts()).toHaveLength(0);
  });
});

describe('the add-ons after a rollout (etcd/control-plane/addons.json)', () => {
  const KEY = 'etcd/control-plane/addons.json';
  const MINE = addonsFingerprint(MASTER_SETTINGS, '1.34.2');
  const s3Error = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

  /**
   * The bucket as S3 keeps it: objects with ETags, PutObject honouring IfNoneMatch '*' and IfMatch
   * (412 when it changed, 404 when it is gone). `raceReads`: that many reads of addons.json are held
   * until all have arrived, so racing masters surely read the same state.
   */
  function bucket(objects: Record<string, string>, raceReads = 0) {
    const store = new Map<string, { body: string; etag: string }>();
    /** every ETag addons.json had, in order */
    const etags: string[] = [];
    let n = 0;
    const put = (k: string, body: string) => {
      const etag = `"etag-${++n}"`;
      store.set(k, { body, etag });
      if (k === KEY) etags.push(etag);
      return etag;
    };
    for (const [k, v] of Object.entries({ ...pki, [STORAGE_CLASS_KEY]: 'kind: StorageClass\n', ...objects })) put(k, v);
    let waiting: Array<() => void> = [];
    s3.on(GetObjectCommand).callsFake(async (i: { Key: string }) => {
      if (i.Key === KEY && raceReads > 0) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === raceReads) {
            for (const w of waiting) w();
            waiting = [];
            raceReads = 0;
          }
        });
      }
      const o = store.get(i.Key);
      if (!o) throw s3Error('NoSuchKey', 404);
      return { Body: { transformToString: async () => o.body }, ETag: o.etag } as never;
    });
    s3.on(PutObjectCommand).callsFake((i: { Key: string; Body: string; IfNoneMatch?: string; IfMatch?: string }) => {
      const cur = store.get(i.Key);
      if (i.IfNoneMatch === '*' && cur) throw s3Error('PreconditionFailed', 412);
      if (i.IfMatch !== undefined && !cur) throw s3Error('NoSuchKey', 404);
      if (i.IfMatch !== undefined && cur!.etag !== i.IfMatch) throw s3Error('PreconditionFailed', 412);
      return { ETag: put(i.Key, String(i.Body)) };
    });
    return {
      etags,
      record: () => {
        const o = store.get(KEY);
        const r = o ? parseAddonsRecord(o.body) : undefined;
        if (r instanceof Error) throw r;
        return r;
      },
      addonsPuts: () =>
        puts()
          .filter((p) => p.Key === KEY)
          .map((p) => ({ IfMatch: p.IfMatch, IfNoneMatch: p.IfNoneMatch, state: (JSON.parse(String(p.Body)) as AddonsRecord).state })),
    };
  }
  const record = (over: Partial<AddonsRecord>): string =>
    renderRecord({
      fingerprint: MINE,
      by: 'i-0000000000000old1',
      group: 'master',
      state: 'installed',
      at: '2026-11-28T10:00:00Z',
      ...over,
    });
  const joiner = (n: number, waits = {}) =>
    testMaster({
      instanceId: `i-00000000000000j${n}`,
      group: `master-${n}`,
      ip: `10.0.${n}.5`,
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs: new FakePrograms(),
      waits,
    });
  const helmUpgrades = (m: ReturnType<typeof joiner>) =>
    m.programs.calls.filter((c) => c.cmd === 'helm' && c.args.includes('upgrade')).map((c) => c.args[c.args.indexOf('--install') + 1]);
  const ALL = ['cilium', 'aws-cloud-controller-manager', 'aws-ebs-csi-driver', 'cluster-autoscaler', 'aws-node-termination-handler'];

  it('a joined master whose settings differ from the recorded ones claims the record (IfMatch what it read), installs, and records installed', async () => {
    const b = bucket({ [KEY]: record({ fingerprint: 'f'.repeat(64) }) });
    const m = joiner(2);
    expect(await addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))).toBe('installed');
    expect(helmUpgrades(m)).toEqual(ALL);
    // the claim replaces exactly what was read; installed replaces exactly the claim
    expect(b.addonsPuts()).toEqual([
      { IfMatch: b.etags[0], IfNoneMatch: undefined, state: 'installing' },
      { IfMatch: b.etags[1], IfNoneMatch: undefined, state: 'installed' },
    ]);
    expect(b.record()).toMatchObject({ fingerprint: MINE, by: m.ctx.identity.instanceId, group: 'master-2', state: 'installed' });
    expect(m.logs.join('\n')).toMatch(/installed with other settings \(ffffffffffff, this master's are [0-9a-f]{12}\)/);
  });

  it('… and skips when they are the same: no helm, no write', async () => {
    const b = bucket({ [KEY]: record({}) });
    const m = joiner(2);
    expect(await addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))).toBe('skipped');
    expect(m.programs.calls.filter((c) => c.cmd === 'helm')).toEqual([]);
    expect(b.addonsPuts()).toEqual([]);
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('IRSA switched on is other settings too: the webhook goes in, the controllers get their roles', async () => {
    const b = bucket({
      [KEY]: record({}),
      [POD_IDENTITY_WEBHOOK_KEY]: podIdentityWebhookManifest('public.ecr.aws/eks/amazon-eks-pod-identity-webhook:3a28f52', 'eu-west-1'),
    });
    const irsa = {
      serviceAccountIssuer: 'https://oidc.example.com',
      defaultServiceAccountIssuer: 'https://kubernetes.default.svc',
      ebsCsiRoleArn: 'arn:aws:iam::1:role/ebs',
      clusterAutoscalerRoleArn: 'arn:aws:iam::1:role/ca',
    };
    const m = testMaster({
      instanceId: 'i-00000000000000j3',
      group: 'master-3',
      ip: '10.0.3.5',
      aws,
      bucket: 'b',
      sink: reports().sink,
      programs: new FakePrograms(),
      master: { ...MASTER_SETTINGS, irsa },
    });
    // a joined master has the cluster CA on disk (kubeadm join --control-plane fetched it): the webhook's certificate is signed with it
    mkdirSync(`${m.ctx.root}/etc/kubernetes/pki`, { recursive: true });
    writeFileSync(`${m.ctx.root}/etc/kubernetes/pki/ca.crt`, pki['pki/ca.crt']!);
    writeFileSync(`${m.ctx.root}/etc/kubernetes/pki/ca.key`, pki['pki/ca.key']!);
    expect(await addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))).toBe('installed');
    expect(m.programs.calls.some((c) => c.cmd === 'kubectl' && c.args.includes('deployment/pod-identity-webhook'))).toBe(true);
    expect(b.record()).toMatchObject({ fingerprint: addonsFingerprint({ ...MASTER_SETTINGS, irsa }, '1.34.2'), state: 'installed' });
    expect(b.record()!.fingerprint).not.toBe(MINE);
  });

  it('another master installing right now (running per EC2, claimed recently): skip', async () => {
    const b = bucket({
      [KEY]: record({
        state: 'installing',
        by: 'i-0000000000000liv1',
        at: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      }),
    });
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000liv1', State: { Name: 'running' } }] }] });
    const m = joiner(2);
    expect(await addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))).toBe('skipped');
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'instance-id', Values: ['i-0000000000000liv1'] },
    ]);
    expect(helmUpgrades(m)).toEqual([]);
    expect(b.addonsPuts()).toEqual([]);
  });

  it('… but its instance terminated: the install is taken over', async () => {
    const b = bucket({
      [KEY]: record({ state: 'installing', by: 'i-0000000000000dead', at: new Date(Date.now() - 60_000).toISOString() }),
    });
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000dead', State: { Name: 'terminated' } }] }] });
    const m = joiner(2);
    expect(await addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))).toBe('installed');
    expect(helmUpgrades(m)).toEqual(ALL);
    expect(b.record()).toMatchObject({ by: m.ctx.identity.instanceId, state: 'installed' });
    // a joined master records the versions it installed, for plan and status (model/addon-versions.ts)
    expect(b.record()).toMatchObject(masterSettingsOf(m.ctx).addons);
  });

  it('two masters racing on an absent record: exactly one installs, the other loses IfNoneMatch and skips', async () => {
    const b = bucket({}, 2);
    const [m2, m3] = [joiner(2), joiner(3)];
    const results = await Promise.all([m2, m3].map((m) => addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))));
    expect([...results].sort()).toEqual(['installed', 'skipped']);
    const [winner, loser] = results[0] === 'installed' ? [m2, m3] : [m3, m2];
    expect(helmUpgrades(winner)).toEqual(ALL);
    expect(loser.programs.calls.filter((c) => c.cmd === 'helm')).toEqual([]);
    expect(loser.logs.join('\n')).toMatch(
      /another master claimed s3:\/\/b\/etcd\/control-plane\/addons.json first \(S3 answered PreconditionFailed\)/,
    );
    // both tried to create it; the winner then wrote installed over its own claim
    expect(b.addonsPuts().filter((p) => p.IfNoneMatch === '*')).toHaveLength(2);
    expect(b.record()).toMatchObject({ by: winner.ctx.identity.instanceId, state: 'installed', fingerprint: MINE });
  });

  it('two masters racing on a record with other settings: exactly one wins IfMatch', async () => {
    const b = bucket({ [KEY]: record({ fingerprint: 'f'.repeat(64) }) }, 2);
    const [m2, m3] = [joiner(2), joiner(3)];
    const results = await Promise.all([m2, m3].map((m) => addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx))));
    expect([...results].sort()).toEqual(['installed', 'skipped']);
    expect(helmUpgrades(m2).length + helmUpgrades(m3).length).toBe(ALL.length);
    expect(
      b
        .addonsPuts()
        .filter((p) => p.state === 'installing')
        .map((p) => p.IfMatch),
    ).toEqual([b.etags[0], b.etags[0]]);
  });

  it('a failed install fails the phase (as on the init master) and leaves the claim installing for a later master', async () => {
    const b = bucket({ [KEY]: record({ fingerprint: 'f'.repeat(64) }) });
    const programs = new FakePrograms((cmd, args) =>
      cmd === 'helm' && args.includes('upgrade') && args.includes('cilium') ? fail(1, 'Error: cilium chart not found') : undefined,
    );
    const r = reports();
    const m = testMaster({
      instanceId: 'i-00000000000000j2',
      group: 'master-2',
      ip: '10.0.2.5',
      aws,
      bucket: 'b',
      sink: r.sink,
      programs,
      waits: { addonAttempts: 1 },
    });
    await expect(m.reporter.phase('addons', () => addonsAfterJoin(m.ctx, masterSettingsOf(m.ctx)))).rejects.toBeInstanceOf(ReportedFailure);
    const last = parseBootReport(r.written[r.written.length - 1]!);
    if (last instanceof Error) throw last;
    expect(last.error).toMatchObject({ phase: 'addons' });
    expect(last.error!.message).toMatch(/1 add-on\(s\) of demo-dev FAILED: cilium/);
    expect(b.record()).toMatchObject({ by: 'i-00000000000000j2', state: 'installing', fingerprint: MINE });
  });

  it('the init/restore master claims unconditionally before its init, and records installed over its own claim only', async () => {
    const b = bucket({ [KEY]: record({ fingerprint: 'f'.repeat(64), by: 'i-0000000000000prev', state: 'installing' }) });
    const m = joiner(1);
    const turn = await takeAddonsTurn(m.ctx, masterSettingsOf(m.ctx));
    expect(turn.fingerprint).toBe(MINE);
    expect(b.record()).toMatchObject({ by: m.ctx.identity.instanceId, state: 'installing', fingerprint: MINE });
    // the versions being installed, for plan and status (model/addon-versions.ts), in either state
    expect(turn.versions).toEqual(masterSettingsOf(m.ctx).addons);
    expect(b.record()).toMatchObject(masterSettingsOf(m.ctx).addons);
    await recordAddonsInstalled(m.ctx, turn);
    expect(b.addonsPuts()).toEqual([
      { IfMatch: undefined, IfNoneMatch: undefined, state: 'installing' },
      { IfMatch: turn.etag, IfNoneMatch: undefined, state: 'installed' },
    ]);
    expect(b.record()).toMatchObject({ by: m.ctx.identity.instanceId, state: 'installed', ...masterSettingsOf(m.ctx).addons });

    // another master took a (stale) claim over meanwhile: its record stays
    const again = await takeAddonsTurn(m.ctx, masterSettingsOf(m.ctx));
    const other = joiner(3);
    await takeAddonsTurn(other.ctx, masterSettingsOf(other.ctx));
    await recordAddonsInstalled(m.ctx, again);
    expect(b.record()).toMatchObject({ by: other.ctx.identity.instanceId, state: 'installing' });
    expect(m.logs.join('\n')).toMatch(/changed while this master installed .*leaving its record/);
  });
});
