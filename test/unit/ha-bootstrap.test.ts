/**
 * Several masters (CONTROL_PLANE_COUNT > 1) booting for real (bash) with the stand-in commands of
 * test/helpers/stubs: several user-data scripts run AT THE SAME TIME on one stand-in bucket, whose
 * `put-object --if-none-match '*'` is atomic, so the init and restore races are real races.
 * The etcd membership steps against real etcd: etcd-membership-real.test.ts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterSchema } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { TEMPLATE_NAMES, clusterVars, renderBootstrapFiles, renderUserData } from '../../src/model/bootstrap.js';
import { CA_HASH, JOIN_TOKEN, Sandbox, expectSequence, findCall, line, type Call } from '../helpers/stubs/harness.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]));

const spec = clusterSchema.parse({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: {
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    kubernetesVersion: '1.31.4',
    network: { vpcCidr: '10.0.0.0/16' },
    controlPlane: { instanceType: 'm6g.large' },
    nodeGroups: [{ name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3 }],
  },
});
const names = naming(spec);
const BUCKET = names.bucket('123456789012');
const API_HOST = 'master.dev.kube';
// cluster.env as the HA model renders it (CONTROL_PLANE_COUNT comes from spec.controlPlane.count)
const vars = { ...clusterVars(spec, names, BUCKET), CONTROL_PLANE_COUNT: '3' };
const files = renderBootstrapFiles(templates, vars);
const CP_LABELS = { 'node-role.kubernetes.io/control-plane': '' };
const CP_TAINTS = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const }];
const userData = (group: string) => renderUserData(templates, vars, 'master', group, CP_LABELS, CP_TAINTS);
const body = (key: string) => files.find((f) => f.key === key)!.body;

const sandboxes: Sandbox[] = [];
afterEach(() => {
  while (sandboxes.length) sandboxes.pop()!.cleanup();
});

function sandbox(): Sandbox {
  const sb = new Sandbox(BUCKET);
  sandboxes.push(sb);
  for (const f of files) sb.put(f.key, f.body);
  for (const f of ['ca.crt', 'ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'sa.key', 'sa.pub']) sb.put(`pki/${f}`, `stub ${f}\n`);
  return sb;
}

interface Master {
  group: string;
  instanceId: string;
  ip: string;
  root: string;
  log: string;
  status: number | null;
  out: string;
  calls(): Call[];
}

/** Boots masters (group, instance id, private IP) at the same time; resolves when all have ended. */
async function boot(sb: Sandbox, masters: Array<[string, string, string]>, extra: Record<string, string> = {}): Promise<Master[]> {
  // EC2 lists the booting instances as running
  const ec2 = fs.existsSync(sb.ec2) ? (JSON.parse(fs.readFileSync(sb.ec2, 'utf8')) as { addresses: unknown[]; instances?: Record<string, string> }) : { addresses: [] };
  for (const [, id] of masters) (ec2.instances ??= {})[id] = 'running';
  fs.writeFileSync(sb.ec2, JSON.stringify(ec2));
  return Promise.all(
    masters.map(([group, instanceId, ip], n) => {
      const root = path.join(sb.dir, `root-${n}`);
      const imds = path.join(sb.dir, `imds-${n}.json`);
      const log = path.join(sb.dir, `calls-${n}.jsonl`);
      fs.mkdirSync(root, { recursive: true });
      const host = `ip-${ip.replaceAll('.', '-')}.ec2.internal`;
      fs.writeFileSync(imds, JSON.stringify({ 'instance-id': instanceId, 'local-ipv4': ip, 'local-hostname': host, 'placement/availability-zone': 'us-east-1a' }));
      const file = path.join(sb.dir, `userdata-${n}.sh`);
      fs.writeFileSync(file, userData(group), { mode: 0o755 });
      const env = sb.env({ KUBEAZ_ROOT: root, STUB_IMDS: imds, STUB_LOG: log, STUB_API_HOST: API_HOST, KUBEAZ_RETRY_SLEEP: '0.2', ...extra });
      return new Promise<Master>((resolve) => {
        const p = spawn('bash', [file], { env });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (out += d));
        p.on('close', (status) =>
          resolve({
            group,
            instanceId,
            ip,
            root,
            log,
            status,
            out,
            calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call) : []),
          }),
        );
      });
    }),
  );
}

const is = (cmd: string, re: RegExp) => (c: Call) => c.cmd === cmd && re.test(c.args.join(' '));
const ran = (m: Master, cmd: string, re: RegExp) => m.calls().filter(is(cmd, re)).length;
const ok = (m: Master) => {
  if (m.status !== 0) throw new Error(`${m.group} failed (${m.status}):\n${m.out}`);
};
const field = (json: string | undefined, k: string) => (json === undefined ? undefined : (JSON.parse(json) as Record<string, string>)[k]);

// several masters boot at once, each through ~100 stand-in calls: minutes on a loaded 2-core machine
describe('first boot of three masters', { timeout: 900_000 }, () => {
  it('exactly one wins init.json and runs kubeadm init; the others wait for the API and join --control-plane', async () => {
    const sb = sandbox();
    const ms = await boot(sb, [
      ['master', 'i-0000000000000000a', '10.0.1.10'],
      ['master-2', 'i-0000000000000000b', '10.0.2.10'],
      ['master-3', 'i-0000000000000000c', '10.0.3.10'],
    ]);
    ms.forEach(ok);
    const inits = ms.filter((m) => ran(m, 'kubeadm', /^init --config /) > 0);
    expect(inits.map((m) => m.group), ms.map((m) => `${m.group}:\n${m.out}`).join('\n')).toHaveLength(1);
    const winner = inits[0]!;
    const joiners = ms.filter((m) => m !== winner);
    // the record names the winner, and only it claimed init.json successfully
    const init = sb.get('etcd/control-plane/init.json');
    expect(field(init, 'instanceId')).toBe(winner.instanceId);
    expect(field(init, 'group')).toBe(winner.group);
    expect(field(init, 'peerURL')).toBe(`https://${winner.ip}:2380`);
    expect(winner.out).toMatch(/won s3:\/\/\S+\/etcd\/control-plane\/init\.json: this master \(\S+\) runs kubeadm init/);
    for (const j of joiners) {
      expect(ran(j, 'kubeadm', /^init --config /)).toBe(0);
      expect(ran(j, 'etcdutl', /^snapshot restore/)).toBe(0);
      expect(j.out).toMatch(/another master won init\.json|the API at master\.dev\.kube:443 answers/);
      const [, join] = expectSequence(j.calls(), [
        is('curl', /https:\/\/master\.dev\.kube:443\/readyz$/),
        is('kubeadm', /^join --config \S+\/etc\/kubernetes\/kubeadm-join\.yaml$/),
        is('etcdctl', /member list/),
        is('aws', /^s3 cp .* s3:\/\/\S+\/etcd\/control-plane\/members\/master(-\d)?\.json$/),
      ]);
      // the join came after the API answered through the load balancer name, with the CAs from pki/
      expect(findCall(j.calls(), is('aws', /pki\/ca\.key /))).toBeLessThan(join!);
      const cfg = fs.readFileSync(path.join(j.root, 'etc/kubernetes/kubeadm-join.yaml'), 'utf8');
      expect(cfg).toContain('kind: JoinConfiguration');
      expect(cfg).toContain('apiServerEndpoint: master.dev.kube:443');
      expect(cfg).toContain(`token: ${JOIN_TOKEN}`);
      expect(cfg).toContain(`      - ${CA_HASH}`);
      expect(cfg).toMatch(/controlPlane:\n {2}localAPIEndpoint:\n {4}advertiseAddress: 10\.0\.\d\.10\n/);
      expect(cfg).toContain(`advertiseAddress: ${j.ip}`);
      expect(cfg).toContain(`name: ip-${j.ip.replaceAll('.', '-')}.ec2.internal`);
      expect(fs.statSync(path.join(j.root, 'etc/kubernetes/kubeadm-join.yaml')).mode & 0o777).toBe(0o600);
    }
    // every master recorded its member, named after its own instance and peer URL
    for (const m of ms) {
      const rec = sb.get(`etcd/control-plane/members/${m.group}.json`);
      expect(field(rec, 'instanceId')).toBe(m.instanceId);
      expect(field(rec, 'peerURL')).toBe(`https://${m.ip}:2380`);
      expect(field(rec, 'clientURL')).toBe(`https://${m.ip}:2379`);
      expect(field(rec, 'memberId')).toMatch(/^[0-9a-f]{16}$/);
      expect(field(rec, 'name')).toBe(`ip-${m.ip.replaceAll('.', '-')}.ec2.internal`);
    }
    expect(sb.get('etcd/control-plane/restore.json')).toBeUndefined();
  });

  it('a cluster made by one master before the count grew (join/ exists, no init.json): never a second init; the first master gets its records', async () => {
    const sb = sandbox();
    sb.put('join/token', `${JOIN_TOKEN}\n`);
    sb.put('join/ca-cert-hash', `${CA_HASH}\n`);
    // the first master is down for the moment: its API does not answer
    const [m] = await boot(sb, [['master-2', 'i-0000000000000000b', '10.0.2.10']], { KUBEAZ_HA_WAIT_ATTEMPTS: '3' });
    expect(m!.status).not.toBe(0);
    expect(m!.out).toMatch(/no init record but a join token exists: the cluster's first master made it; waiting for the API \(3\/3\)/);
    expect(ran(m!, 'kubeadm', /^(init|join) /)).toBe(0);
    expect(ran(m!, 'aws', /put-object .*init\.json/)).toBe(0);
    expect(sb.get('etcd/control-plane/init.json')).toBeUndefined();
    // the first master's API answers: the new one joins it, and records the first master's member
    // (made before masters kept records) from its Node, and init.json naming it
    sb.serve(`https://${API_HOST}/readyz`, 'ok');
    sb.setNodes({ 'ip-10-0-1-5.ec2.internal': { 'kubeaz.io/node-group': 'master', '@providerID': 'aws:///us-east-1a/i-first' } });
    const [m2] = await boot(sb, [['master-3', 'i-0000000000000000c', '10.0.3.10']], {
      STUB_ETCD_MEMBERS: '00000000000000f1, started, ip-10-0-1-5.ec2.internal, https://10.0.1.5:2380, https://10.0.1.5:2379, false\n',
    });
    ok(m2!);
    expect(ran(m2!, 'kubeadm', /^join --config /)).toBe(1);
    expect(ran(m2!, 'kubeadm', /^init --config/)).toBe(0);
    expect(JSON.parse(sb.get('etcd/control-plane/members/master.json')!)).toMatchObject({
      group: 'master', memberId: '00000000000000f1', name: 'ip-10-0-1-5.ec2.internal', peerURL: 'https://10.0.1.5:2380', clientURL: 'https://10.0.1.5:2379', instanceId: 'i-first',
    });
    expect(JSON.parse(sb.get('etcd/control-plane/init.json')!)).toMatchObject({ group: 'master', instanceId: 'i-first', adopted: 'true' });
    expect(field(sb.get('etcd/control-plane/members/master-3.json'), 'instanceId')).toBe('i-0000000000000000c');
    expect(m2!.out).toMatch(/recorded member 00000000000000f1 of the first master \(instance i-first\)/);
  });

  it('a replacement whose group record names another instance checks the membership before it joins', async () => {
    const sb = sandbox();
    sb.put('join/token', `${JOIN_TOKEN}\n`);
    sb.put('join/ca-cert-hash', `${CA_HASH}\n`);
    sb.serve(`https://${API_HOST}/readyz`, 'ok');
    sb.put('etcd/control-plane/members/master-2.json', '{\n  "group": "master-2",\n  "memberId": "00000000000000b1",\n  "instanceId": "i-0ld",\n  "clientURL": "https://10.0.2.99:2379"\n}\n');
    sb.put('etcd/control-plane/members/master.json', '{\n  "group": "master",\n  "memberId": "00000000000000a1",\n  "instanceId": "i-a",\n  "clientURL": "https://10.0.1.10:2379"\n}\n');
    const [m] = await boot(sb, [['master-2', 'i-0000000000000000b', '10.0.2.10']]);
    ok(m!);
    // a client certificate from the etcd CA first, then the other members are asked (not the old one's)
    const [, list] = expectSequence(m!.calls(), [
      is('kubeadm', /^init phase certs etcd-healthcheck-client --config \S+\/kubeadm\.yaml$/),
      is('etcdctl', /--endpoints https:\/\/10\.0\.1\.10:2379 member list$/),
      is('kubeadm', /^join --config /),
    ]);
    expect(line(m!.calls()[list!]!)).not.toContain('10.0.2.99');
    expect(m!.out).toMatch(/master-2's previous member 00000000000000b1 \(instance i-0ld\) is no longer in the cluster/);
    expect(field(sb.get('etcd/control-plane/members/master-2.json'), 'instanceId')).toBe('i-0000000000000000b');
  });
});

describe('quorum lost for good', { timeout: 900_000 }, () => {
  /** A cluster whose three recorded masters are gone; snapshots in the bucket, the newest one corrupt. */
  function lostCluster(instances: Record<string, string>): Sandbox {
    const sb = sandbox();
    const rec = (o: Record<string, string>) => `{\n${Object.entries(o).map(([k, v]) => `  "${k}": "${v}"`).join(',\n')}\n}\n`;
    sb.put('etcd/control-plane/init.json', rec({ group: 'master', instanceId: 'i-old1' }));
    for (const [g, id, ip] of [['master', 'i-old1', '10.0.1.5'], ['master-2', 'i-old2', '10.0.2.5'], ['master-3', 'i-old3', '10.0.3.5']] as const)
      sb.put(`etcd/control-plane/members/${g}.json`, rec({ group: g, memberId: `${id.slice(-1)}`.padStart(16, '0'), instanceId: id, peerURL: `https://${ip}:2380`, clientURL: `https://${ip}:2379` }));
    sb.putSnapshot('etcd/20261125T090000Z.db', 'etcd-snapshot older');
    sb.putSnapshot('etcd/20261125T094500Z.db', 'etcd-snapshot good');
    sb.putSnapshot('etcd/20261125T100000Z.db', 'etcd-snapshot newest-but-corrupt', { corrupt: true });
    sb.setEc2({ addresses: [], instances } as never);
    return sb;
  }

  it('every recorded instance gone, no member answers: one master restores the newest valid snapshot as one member, the others join it', async () => {
    const sb = lostCluster({ 'i-old1': 'terminated', 'i-old2': 'shutting-down' }); // i-old3 unknown to EC2 by now
    const ms = await boot(sb, [
      ['master', 'i-0000000000000000a', '10.0.1.10'],
      ['master-2', 'i-0000000000000000b', '10.0.2.10'],
      ['master-3', 'i-0000000000000000c', '10.0.3.10'],
    ]);
    ms.forEach(ok);
    const restorers = ms.filter((m) => ran(m, 'etcdutl', /^snapshot restore/) > 0);
    expect(restorers).toHaveLength(1);
    const r = restorers[0]!;
    expect(ms.filter((m) => ran(m, 'kubeadm', /^init --config/) > 0)).toEqual([r]);
    expect(r.out).toMatch(/quorum is lost for good: every recorded master instance \(i-old1 i-old2 i-old3\) is gone and no recorded etcd member answers/);
    const calls = r.calls();
    const [, restore] = expectSequence(calls, [
      is('aws', /^s3api put-object --bucket \S+ --key etcd\/control-plane\/restore-claims\/i-old1\.json --body \S+ --if-none-match \*/),
      is('etcdutl', /^snapshot restore \S+ --data-dir \S+\/var\/lib\/etcd --name ip-10-0-\d-10\.ec2\.internal --initial-cluster ip-10-0-\d-10\.ec2\.internal=https:\/\/10\.0\.\d\.10:2380 /),
      is('kubeadm', /^init --config .*--ignore-preflight-errors=DirAvailable--var-lib-etcd/),
      is('aws', /^s3 cp .* s3:\/\/\S+\/etcd\/control-plane\/restore\.json$/),
    ]);
    const args = calls[restore!]!.args;
    expect(args[args.indexOf('--bump-revision') + 1]).toBe('1000000000');
    expect(args).toContain('--mark-compacted');
    expect(fs.readFileSync(path.join(r.root, 'var/lib/etcd/member/restored-from-snapshot'), 'utf8')).toBe('etcd-snapshot good');
    const rj = sb.get('etcd/control-plane/restore.json');
    expect(field(rj, 'snapshot')).toBe('etcd/20261125T094500Z.db');
    expect(field(rj, 'snapshotTime')).toBe('2026-11-25T09:45:00Z');
    expect(field(rj, 'by')).toBe(r.instanceId);
    expect(field(rj, 'lost')).toBe('i-old1');
    expect(field(rj, 'restoredAt')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(field(sb.get('etcd/control-plane/restore-claims/i-old1.json'), 'by')).toBe(r.instanceId);
    for (const j of ms.filter((m) => m !== r)) {
      expect(ran(j, 'kubeadm', /^join --config /)).toBe(1);
      expect(ran(j, 'kubeadm', /^init --config/)).toBe(0);
    }
    // every group now names its new instance
    for (const m of ms) expect(field(sb.get(`etcd/control-plane/members/${m.group}.json`), 'instanceId')).toBe(m.instanceId);
  });

  it('a second loss after a restore is raced for under the restorer\'s name (the old claim does not block it)', async () => {
    const sb = lostCluster({ 'i-old1': 'terminated', 'i-r': 'terminated' });
    sb.put('etcd/control-plane/restore-claims/i-old1.json', '{\n  "by": "i-r"\n}\n');
    sb.put('etcd/control-plane/restore.json', '{\n  "snapshot": "etcd/20261101T000000Z.db",\n  "by": "i-r"\n}\n');
    const [m] = await boot(sb, [['master-3', 'i-0000000000000000c', '10.0.3.10']]);
    ok(m!);
    expect(ran(m!, 'aws', /put-object .*--key etcd\/control-plane\/restore-claims\/i-r\.json /)).toBe(1);
    expect(ran(m!, 'etcdutl', /^snapshot restore/)).toBe(1);
    expect(field(sb.get('etcd/control-plane/restore.json'), 'by')).toBe('i-0000000000000000c');
  });

  it('a restore claimed by a master that died before restoring passes to the next master', async () => {
    const sb = lostCluster({ 'i-old1': 'terminated', 'i-died': 'terminated' });
    sb.put('etcd/control-plane/restore-claims/i-old1.json', '{\n  "by": "i-died",\n  "time": "2026-11-28T10:00:00Z"\n}\n');
    const [m] = await boot(sb, [['master-2', 'i-0000000000000000b', '10.0.2.10']]);
    ok(m!);
    expect(m!.out).toContain('the restore claim on i-old1\'s cluster is held by i-died, which is gone (1): the turn passes to restore-claims/i-died.json');
    expect(ran(m!, 'aws', /put-object .*--key etcd\/control-plane\/restore-claims\/i-died\.json /)).toBe(1);
    expect(ran(m!, 'etcdutl', /^snapshot restore/)).toBe(1);
    expect(field(sb.get('etcd/control-plane/restore.json'), 'by')).toBe('i-0000000000000000b');
    expect(field(sb.get('etcd/control-plane/restore-claims/i-old1.json'), 'by')).toBe('i-died');
  });

  it.each([['running'], ['stopped']])('a recorded instance still %s (a minority of survivors): nobody restores, the masters wait and say why', async (state) => {
    const sb = lostCluster({ 'i-old1': 'terminated', 'i-old2': state, 'i-old3': 'terminated' });
    const booting: Array<[string, string, string]> = [['master', 'i-0000000000000000a', '10.0.1.10']];
    if (state === 'running') booting.push(['master-3', 'i-0000000000000000c', '10.0.3.10']);
    const ms = await boot(sb, booting, { KUBEAZ_HA_WAIT_ATTEMPTS: '3' });
    for (const m of ms) {
      expect(m.status).not.toBe(0);
      expect(m.out).toContain(`not restoring: recorded master instance(s) still exist: i-old2 (${state})`);
      expect(m.out).toMatch(/FATAL: no API at master\.dev\.kube:443 after 3 attempts/);
      expect(ran(m, 'etcdutl', /^snapshot restore/)).toBe(0);
      expect(ran(m, 'kubeadm', /^(init|join) /)).toBe(0);
      expect(ran(m, 'aws', /put-object/)).toBe(0);
    }
    expect(sb.keys('etcd/control-plane/restore')).toEqual([]);
  });
});

describe('backups with several masters', () => {
  function backupSandbox(): Sandbox {
    const sb = sandbox();
    const kdir = path.join(sb.root, 'opt/kubeaz');
    fs.mkdirSync(kdir, { recursive: true });
    for (const f of files.filter((x) => /^bootstrap\/(common|master)\//.test(x.key))) fs.writeFileSync(path.join(kdir, path.basename(f.key)), f.body);
    return sb;
  }
  const now = String(Date.parse('2026-11-25T10:15:07Z') / 1000);

  it('a master whose etcd member is not the leader skips the interval', () => {
    const sb = backupSandbox();
    const r = sb.run('etcd-backup.sh', body('bootstrap/master/etcd-backup.sh'), { KUBEAZ_NOW: now, STUB_ETCD_LEADER: 'false' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not the leader: the leader takes this interval's backup; skipping/);
    expect(findCall(sb.calls(), is('etcdctl', /endpoint status$/))).toBeGreaterThanOrEqual(0);
    expect(findCall(sb.calls(), is('etcdctl', /snapshot save/))).toBe(-1);
    expect(sb.keys('etcd/')).toEqual([]);
  });

  it('the leader takes it', () => {
    const sb = backupSandbox();
    const r = sb.run('etcd-backup.sh', body('bootstrap/master/etcd-backup.sh'), { KUBEAZ_NOW: now, STUB_ETCD_LEADER: 'true' });
    expect(r.status, r.stderr).toBe(0);
    expectSequence(sb.calls(), [is('etcdctl', /--endpoints https:\/\/127\.0\.0\.1:2379 endpoint status$/), is('etcdctl', /snapshot save/), is('aws', /put-object .*--key etcd\/20261125T101507Z\.db .*--if-none-match \*/)]);
    expect(sb.keys('etcd/')).toEqual(['etcd/20261125T101507Z.db']);
  });
});
