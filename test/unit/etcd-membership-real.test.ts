/**
 * The etcd membership steps of templates/bootstrap/etcd-membership.sh against REAL etcd (the Debian
 * etcd-server 3.4 on PATH): three TLS members on loopback ports, one killed, the replacement step run
 * (the script's own function, with the stand-in aws around it), then `etcdctl member list` and
 * `endpoint health` checked; the refusal when quorum is gone; and etcd-restore.sh restoring a real
 * snapshot as one member (3.4 has no etcdutl: a stand-in passes it to `etcdctl snapshot restore`,
 * after checking the 3.5+ flags --bump-revision/--mark-compacted were asked for).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSchema } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { TEMPLATE_NAMES, clusterVars, renderBootstrapFiles } from '../../src/model/bootstrap.js';
import { STUB_DIR, Sandbox } from '../helpers/stubs/harness.js';
import { EtcdMembers, HAVE_ETCD, HAVE_OPENSSL, makeEtcdPki } from '../helpers/etcd.js';

if (!HAVE_ETCD) console.warn('etcd/etcdctl are not installed: the real-etcd membership tests are SKIPPED (apt-get install etcd-server etcd-client)');

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]));
const spec = clusterSchema.parse({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: { region: 'us-east-1', zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], kubernetesVersion: '1.31.4', network: { vpcCidr: '10.0.0.0/16' }, controlPlane: { instanceType: 'm5.large' }, nodeGroups: [] },
});
const names = naming(spec);
const BUCKET = names.bucket('123456789012');
const files = renderBootstrapFiles(templates, { ...clusterVars(spec, names, BUCKET), CONTROL_PLANE_COUNT: '3' });

describe.skipIf(!HAVE_ETCD || !HAVE_OPENSSL)('etcd membership against real etcd 3.4', () => {
  let sb: Sandbox;
  let pki: string;
  let shims: string;
  let etcd: EtcdMembers;
  const client: Record<string, string> = {};
  const peer: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const transcript: string[] = [];

  const etcdctl = (endpoints: string, ...args: string[]) => etcd.etcdctl(endpoints, ...args);
  const show = (title: string, endpoints: string, ...args: string[]) => {
    const r = etcdctl(endpoints, ...args);
    transcript.push(`$ etcdctl ${args.join(' ')}   # ${title}\n${r.out.trim()}`);
    return r;
  };
  const startMember = (name: string, cluster: string[], state: 'new' | 'existing') => etcd.start(name, cluster, state);
  const kill = (name: string) => etcd.kill(name);
  const waitHealthy = (names: string[]) => etcd.waitHealthy(names);
  const memberNames = (out: string) => out.trim().split('\n').map((l) => l.split(', ')[2]).sort();
  /** Runs a bash snippet with the bootstrap scripts sourced, real etcdctl, stand-in aws/kubeadm/curl. */
  function script(snippet: string, env: Record<string, string>) {
    const file = path.join(sb.dir, `step-${Date.now()}.sh`);
    fs.writeFileSync(file, `set -euo pipefail\nexport KUBEAZ_DIR="$KUBEAZ_ROOT/opt/kubeaz"\n. "$KUBEAZ_DIR/common.sh"\nset -a\n. "$KUBEAZ_DIR/cluster.env"\nset +a\n. "$KUBEAZ_DIR/etcd-membership.sh"\n${snippet}\n`);
    const r = spawnSync('bash', [file], { encoding: 'utf8', timeout: 120_000, env: { ...sb.env({ KUBEAZ_RETRY_SLEEP: '0.5', ETCD_DIAL_TIMEOUT: '1s', ETCD_COMMAND_TIMEOUT: '3s', ...env }), PATH: `${shims}:${process.env.PATH}` } });
    return { status: r.status, out: r.stdout + r.stderr };
  }
  const record = (group: string, member: string, instanceId: string) =>
    sb.put(`etcd/control-plane/members/${group}.json`, `{\n  "group": "${group}",\n  "memberId": "${ids[member]}",\n  "name": "${member}",\n  "peerURL": "${peer[member]}",\n  "clientURL": "${client[member]}",\n  "instanceId": "${instanceId}",\n  "time": "2026-11-28T10:00:00Z"\n}\n`);

  beforeAll(async () => {
    sb = new Sandbox(BUCKET);
    const kdir = path.join(sb.root, 'opt/kubeaz');
    fs.mkdirSync(kdir, { recursive: true });
    for (const f of files.filter((x) => /^bootstrap\/(common|master)\//.test(x.key))) fs.writeFileSync(path.join(kdir, path.basename(f.key)), f.body, { mode: 0o755 });
    // the etcd CA, a server certificate for 127.0.0.1 and the healthcheck client certificate kubeadm makes
    pki = path.join(sb.root, 'etc/kubernetes/pki/etcd');
    etcd = new EtcdMembers(sb.dir, makeEtcdPki(pki));
    // the stand-ins for everything but etcd and etcdctl (real), and an etcdutl over etcdctl 3.4
    shims = path.join(sb.dir, 'shims');
    fs.mkdirSync(shims);
    for (const c of ['aws', 'kubeadm', 'curl']) fs.writeFileSync(path.join(shims, c), `#!/bin/bash\nexec "${STUB_DIR}/${c}" "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(shims, 'etcdutl'), `#!/bin/bash
# etcdutl (3.5+) over etcdctl 3.4: the 3.5+ restore flags must be asked for, then are dropped
echo "etcdutl $*" >>"${sb.dir}/etcdutl.log"
case "$1 $2" in
  "snapshot status") exec etcdctl snapshot status "$3" ;;
  "snapshot restore")
    file="$3"; shift 3; args=(); bump=""; compact=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --bump-revision) bump="$2"; shift 2 ;;
        --mark-compacted) compact=1; shift ;;
        *) args+=("$1"); shift ;;
      esac
    done
    [ "$bump" = 1000000000 ] && [ -n "$compact" ] || { echo "etcdutl stand-in: --bump-revision 1000000000 --mark-compacted missing" >&2; exit 3; }
    ETCDCTL_API=3 exec etcdctl snapshot restore "$file" "\${args[@]}" ;;
  *) echo "etcdutl stand-in: unsupported $*" >&2; exit 2 ;;
esac
`, { mode: 0o755 });
    await etcd.allocate(['a', 'b', 'c', 'd', 'e']);
    Object.assign(client, etcd.client);
    Object.assign(peer, etcd.peer);
    for (const m of ['a', 'b', 'c']) startMember(m, ['a', 'b', 'c'], 'new');
    await waitHealthy(['a', 'b', 'c']);
    expect(etcdctl(client.a!, 'put', '/kubeaz/probe', 'before-the-snapshot').status).toBe(0);
    const list = show('three members', client.a!, 'member', 'list');
    for (const l of list.out.trim().split('\n')) {
      const [id, , name] = l.split(', ');
      ids[name!] = id!;
    }
    expect(Object.keys(ids).sort()).toEqual(['a', 'b', 'c']);
    record('master', 'a', 'i-a');
    record('master-2', 'b', 'i-b');
    record('master-3', 'c', 'i-c');
  }, 120_000);

  afterAll(async () => {
    await etcd?.killAll();
    console.log(`--- real etcd 3.4 membership transcript ---\n${transcript.join('\n')}\n---`);
    sb?.cleanup();
  });

  it('replaces a killed member: removed while the other two hold quorum, the new member joins in its place, all healthy', async () => {
    await kill('c');
    // master-3's new instance boots: its group record names i-c (member c)
    const r = script('ha_replace_previous_member', { NODE_GROUP: 'master-3', INSTANCE_ID: 'i-c2', PRIVATE_IP: '127.0.0.1' });
    transcript.push(`# ha_replace_previous_member (master-3, new instance i-c2; member c killed)\n${r.out.trim()}`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`removing master-3's previous member ${ids.c} (instance i-c): 2 of the other 2 members are healthy, quorum of 3 is 2`);
    expect(memberNames(show('after the removal', client.a!, 'member', 'list').out)).toEqual(['a', 'b']);
    // what kubeadm join --control-plane does next: member add (retried while etcd answers "unhealthy
    // cluster" — it refuses an add until the members have been connected for a few seconds, and
    // kubeadm retries it the same way), then the new etcd starts
    let add = etcdctl(client.a!, 'member', 'add', 'd', '--peer-urls', peer.d!);
    for (let i = 0; i < 40 && add.status !== 0 && /unhealthy cluster/.test(add.out); i++) {
      await new Promise((r) => setTimeout(r, 500));
      add = etcdctl(client.a!, 'member', 'add', 'd', '--peer-urls', peer.d!);
    }
    expect(add.status, add.out).toBe(0);
    startMember('d', ['a', 'b', 'd'], 'existing');
    await waitHealthy(['a', 'b', 'd']);
    const rec = script('ha_record_member', { NODE_GROUP: 'master-3', INSTANCE_ID: 'i-c2', ETCD_ENDPOINT: client.d!, ETCD_PEER_URL: peer.d!, ETCD_CLIENT_URL: client.d! });
    expect(rec.status, rec.out).toBe(0);
    const list = show('after the join', client.a!, 'member', 'list');
    expect(memberNames(list.out)).toEqual(['a', 'b', 'd']);
    expect(list.out).not.toContain(ids.c!);
    expect(list.out).not.toMatch(/unstarted/);
    const dId = list.out.split('\n').find((l) => l.split(', ')[2] === 'd')!.split(', ')[0];
    ids.d = dId!;
    const health = show('every member', [client.a, client.b, client.d].join(','), 'endpoint', 'health', '--cluster');
    expect(health.status, health.out).toBe(0);
    expect(health.out.match(/is healthy/g)).toHaveLength(3);
    const saved = JSON.parse(sb.get('etcd/control-plane/members/master-3.json')!) as Record<string, string>;
    expect(saved).toMatchObject({ group: 'master-3', memberId: dId, name: 'd', peerURL: peer.d, clientURL: client.d, instanceId: 'i-c2' });
    // the replacement step run again for the same instance changes nothing
    const again = script('ha_replace_previous_member', { NODE_GROUP: 'master-3', INSTANCE_ID: 'i-c2' });
    expect(again.status).toBe(0);
    expect(memberNames(etcdctl(client.a!, 'member', 'list').out)).toEqual(['a', 'b', 'd']);
  }, 180_000);

  it('refuses to remove a member when the others do not hold quorum without it, and removes nothing', async () => {
    record('master-3', 'd', 'i-c2');
    await kill('b');
    await kill('d');
    // master-2's new instance boots while only a is up: removing b would leave a and the dead d
    const r = script('ha_replace_previous_member', { NODE_GROUP: 'master-2', INSTANCE_ID: 'i-b2', KUBEAZ_HA_WAIT_ATTEMPTS: '3' });
    transcript.push(`# ha_replace_previous_member (master-2, new instance i-b2; b and d killed, only a up)\n${r.out.trim()}`);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(new RegExp(`refusing to remove member ${ids.b} yet: only [01] of the other 2 members are healthy and 2 are needed for quorum once it is replaced|no etcd member answers`));
    expect(r.out).toContain(`ERROR: master-2's previous member ${ids.b} was not removed: no quorum without it`);
    // b and d come back: the membership is as it was
    startMember('b', ['a', 'b', 'd'], 'existing');
    startMember('d', ['a', 'b', 'd'], 'existing');
    await waitHealthy(['a', 'b', 'd']);
    const list = show('after the refusal, b and d back', client.a!, 'member', 'list');
    expect(memberNames(list.out)).toEqual(['a', 'b', 'd']);
    expect(list.out).toContain(ids.b!);
  }, 180_000);

  it('members are added one at a time: a join waits while another member is added but not started', async () => {
    // etcd refuses a member add until the members have been connected for a few seconds (b, d restarted)
    let add = etcdctl(client.a!, 'member', 'add', 'x', '--peer-urls', 'https://127.0.0.1:1');
    for (let i = 0; i < 40 && add.status !== 0 && /unhealthy cluster/.test(add.out); i++) {
      await new Promise((r) => setTimeout(r, 500));
      add = etcdctl(client.a!, 'member', 'add', 'x', '--peer-urls', 'https://127.0.0.1:1');
    }
    expect(add.status, add.out).toBe(0);
    const xId = /Member ([0-9a-f]+) added/.exec(add.out)![1]!;
    const r = script('ha_wait_members_started', { NODE_GROUP: 'master-2', INSTANCE_ID: 'i-b', KUBEAZ_HA_GATE_ATTEMPTS: '2' });
    transcript.push(`# ha_wait_members_started (member x added, not started)\n${r.out.trim()}`);
    expect(r.status, r.out).toBe(0);
    expect(r.out.match(/an etcd member is added but not started yet/g)).toHaveLength(2);
    expect(r.out).toContain('members still not all started after 2 attempts; joining anyway');
    expect(etcdctl(client.a!, 'member', 'remove', xId).status).toBe(0);
    const again = script('ha_wait_members_started', { NODE_GROUP: 'master-2', INSTANCE_ID: 'i-b', KUBEAZ_HA_GATE_ATTEMPTS: '2' });
    expect(again.status, again.out).toBe(0);
    expect(again.out).not.toMatch(/not started yet/);
  }, 60_000);

  it('quorum lost: a recorded member that still answers forbids the restore', () => {
    sb.setEc2({ addresses: [], instances: { 'i-a': 'terminated', 'i-b': 'terminated', 'i-c2': 'terminated' } } as never);
    sb.put('etcd/control-plane/init.json', '{\n  "group": "master",\n  "instanceId": "i-a",\n  "time": "2026-11-28T10:00:00Z"\n}\n');
    const r = script('d="$(mktemp -d)"; ha_fetch_records "$d"; if ha_lost_for_good "$d"; then echo LOST; else echo NOT-LOST; fi', { NODE_GROUP: 'master', INSTANCE_ID: 'i-new' });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/not restoring: the etcd member at https:\/\/127\.0\.0\.1:\d+ answers/);
    expect(r.out).toContain('NOT-LOST');
  }, 60_000);

  it('restores the newest valid real snapshot as a one-member cluster (etcd-restore.sh), data intact', async () => {
    const snap = path.join(sb.dir, 'real.db');
    expect(etcdctl(client.a!, 'put', '/kubeaz/probe', 'in-the-snapshot').status).toBe(0);
    expect(etcdctl(client.a!, 'snapshot', 'save', snap).status).toBe(0);
    const data = fs.readFileSync(snap);
    sb.put('etcd/20261128T110000Z.db', data, { sha256: createHash('sha256').update(data).digest('hex') });
    sb.put('etcd/20261128T120000Z.db', Buffer.concat([data, Buffer.from('bitrot')]), { sha256: createHash('sha256').update(data).digest('hex') });
    await etcd.killAll();
    const r = script(`KUBEAZ_RESTORED_FILE="$KUBEAZ_ROOT/restored" "$KUBEAZ_DIR/etcd-restore.sh"`, { NODE_NAME: 'e', PRIVATE_IP: '127.0.0.1' });
    transcript.push(`# etcd-restore.sh (all members gone; newest snapshot corrupt)\n${r.out.trim()}`);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/skipping etcd\/20261128T120000Z\.db: sha256/);
    expect(fs.readFileSync(path.join(sb.root, 'restored'), 'utf8').trim()).toBe('etcd/20261128T110000Z.db');
    expect(fs.readFileSync(path.join(sb.dir, 'etcdutl.log'), 'utf8')).toMatch(/snapshot restore \S+ --data-dir \S+\/var\/lib\/etcd --name e --initial-cluster e=https:\/\/127\.0\.0\.1:2380 --initial-advertise-peer-urls https:\/\/127\.0\.0\.1:2380 --bump-revision 1000000000 --mark-compacted/);
    // etcd on the restored data: one member, the data of the snapshot
    const dir = path.join(sb.root, 'var/lib/etcd');
    const p = spawn('etcd', [
      '--name', 'e', '--data-dir', dir, '--listen-client-urls', client.e!, '--advertise-client-urls', client.e!, '--listen-peer-urls', peer.e!,
      '--cert-file', `${pki}/server.crt`, '--key-file', `${pki}/server.key`, '--client-cert-auth', '--trusted-ca-file', `${pki}/ca.crt`,
      '--peer-cert-file', `${pki}/server.crt`, '--peer-key-file', `${pki}/server.key`, '--peer-client-cert-auth', '--peer-trusted-ca-file', `${pki}/ca.crt`,
    ], { stdio: ['ignore', 'ignore', fs.openSync(path.join(sb.dir, 'etcd-e.log'), 'a')] });
    etcd.adopt('e', p);
    await waitHealthy(['e']);
    const list = show('the restored cluster', client.e!, 'member', 'list');
    expect(list.out.trim().split('\n')).toHaveLength(1);
    expect(list.out).toMatch(/^[0-9a-f]+, started, e, https:\/\/127\.0\.0\.1:2380, https:\/\/127\.0\.0\.1:\d+, false$/m);
    expect(etcdctl(client.e!, 'get', '/kubeaz/probe', '--print-value-only').out.trim()).toBe('in-the-snapshot');
    expect(show('the restored member', client.e!, 'endpoint', 'health').status).toBe(0);
  }, 180_000);
});
