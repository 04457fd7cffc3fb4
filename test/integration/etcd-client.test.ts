/**
 * src/etcd/client.ts against REAL etcd (Debian's etcd-server 3.4 on PATH; the v3 gRPC API is the
 * one kubeadm's etcd 3.5/3.6 serve): three TLS members with client-certificate auth on loopback.
 * Leader from Maintenance.Status (exactly one member says so), member add then start of a 4th,
 * etcd's refusal of an add while a member is added but not started, member remove under the
 * quorum rules, and a snapshot whose SHA-256 trailer real `etcdctl snapshot restore` accepts.
 * Every answer is checked against real etcdctl, not against the client itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EtcdClient,
  EtcdError,
  anyHealthy,
  findLeader,
  idFromHex,
  isLeader,
  probeAll,
  withEtcd,
  type EtcdClientOptions,
  type EtcdErrorCode,
} from '../../src/etcd/client.js';
import { EtcdMembers, HAVE_ETCD, HAVE_OPENSSL, makeEtcdPki } from '../helpers/etcd.js';

if (!HAVE_ETCD)
  console.warn('etcd/etcdctl are not installed: the real-etcd client tests are SKIPPED (apt-get install etcd-server etcd-client)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` while it fails with one of `codes` (etcd answers "unhealthy cluster" until its peers have been connected for 5 s). */
async function retryOn<T>(codes: EtcdErrorCode[], fn: () => Promise<T>, attempts = 60): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !(e instanceof EtcdError) || !codes.includes(e.code)) throw e;
      await sleep(500);
    }
  }
}

describe.skipIf(!HAVE_ETCD || !HAVE_OPENSSL)('EtcdClient against real etcd 3.4 (TLS, client certificates)', () => {
  let dir: string;
  let etcd: EtcdMembers;
  let opts: EtcdClientOptions;
  /** etcdctl's view: name → hex id (its table prints ids with %x) */
  const etcdctlMembers = () => {
    const r = etcd.etcdctl(etcd.client.a!, 'member', 'list');
    expect(r.status, r.out).toBe(0);
    return r.out
      .trim()
      .split('\n')
      .map((l) => {
        const [id, state, name, peer] = l.split(', ');
        return { id: id!, state: state!, name: name!, peer: peer! };
      });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-etcd-client-'));
    etcd = new EtcdMembers(dir, makeEtcdPki(path.join(dir, 'pki')));
    await etcd.allocate(['a', 'b', 'c', 'd', 'x', 'y']);
    for (const m of ['a', 'b', 'c']) etcd.start(m, ['a', 'b', 'c'], 'new');
    await etcd.waitHealthy(['a', 'b', 'c']);
    // PEM contents for the CA (a Buffer), paths for the client certificate: both forms are taken
    opts = { tls: { cacert: fs.readFileSync(etcd.pki.ca), cert: etcd.pki.clientCert, key: etcd.pki.clientKey }, callTimeoutMs: 3000 };
  }, 120_000);

  afterAll(async () => {
    await etcd?.killAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Status: exactly one of three members says it is the leader; ids and leader agree with etcdctl', async () => {
    const eps = ['a', 'b', 'c'].map((m) => etcd.client[m]!);
    const probes = await probeAll(eps, opts);
    const statuses = probes.map((p) => (p.ok ? p.status : expect.fail(`${p.endpoint}: ${p.error.message}`)));
    expect(statuses.filter(isLeader)).toHaveLength(1);
    expect(new Set(statuses.map((s) => s.leader)).size).toBe(1);
    expect(new Set(statuses.map((s) => s.clusterId)).size).toBe(1);
    for (const s of statuses) expect(s.version).toMatch(/^3\.\d+\.\d+/);
    // member ids from Status are the ones etcdctl lists (hex), by name
    const byName = Object.fromEntries(etcdctlMembers().map((m) => [m.name, m.id]));
    expect(statuses.map((s) => s.memberId)).toEqual(['a', 'b', 'c'].map((m) => idFromHex(byName[m]!)));
    // etcdctl's own leader flag (3.4 table: column 5) for the member Status names
    const leader = await findLeader(eps, opts);
    expect(leader).toBeDefined();
    const table = etcd.etcdctl(leader!.endpoint, 'endpoint', 'status');
    expect(table.out.split(', ')[4]).toBe('true');
    expect((await anyHealthy(eps, opts))?.endpoint).toBe(leader!.endpoint);
  });

  it('MemberList over gRPC is what etcdctl lists', async () => {
    const ms = await withEtcd(etcd.client.b!, opts, (c) => c.memberList());
    const want = etcdctlMembers().map((m) => ({ idHex: m.id, name: m.name, peerURLs: [m.peer], started: m.state === 'started' }));
    expect(
      ms
        .map((m) => ({ idHex: m.idHex, name: m.name, peerURLs: m.peerURLs, started: m.started }))
        .sort((x, y) => x.name.localeCompare(y.name)),
    ).toEqual(want.sort((x, y) => x.name.localeCompare(y.name)));
    for (const m of ms) expect(m.id).toBe(idFromHex(m.idHex));
  });

  it('member add, then the 4th member starts and joins (what kubeadm join does)', async () => {
    const added = await retryOn(['Unhealthy'], () => withEtcd(etcd.client.a!, opts, (c) => c.memberAdd([etcd.peer.d!])));
    expect(added.member).toMatchObject({ name: '', started: false, peerURLs: [etcd.peer.d] });
    expect(added.members).toHaveLength(4);
    expect(etcdctlMembers().find((m) => m.id === added.member.idHex)?.state).toBe('unstarted');
    etcd.start('d', ['a', 'b', 'c', 'd'], 'existing');
    await etcd.waitHealthy(['d']);
    const ms = await withEtcd(etcd.client.d!, opts, (c) => c.memberList());
    expect(ms.find((m) => m.id === added.member.id)).toMatchObject({ name: 'd', started: true, clientURLs: [etcd.client.d] });
    const s = await withEtcd(etcd.client.d!, opts, (c) => c.status());
    expect(s.memberId).toBe(added.member.id);
  });

  it('a second add is refused while a member is added but not started ("unhealthy cluster"), and goes once it is removed', async () => {
    const x = await retryOn(['Unhealthy'], () => withEtcd(etcd.client.a!, opts, (c) => c.memberAdd([etcd.peer.x!])));
    const refused = await withEtcd(etcd.client.a!, opts, (c) => c.memberAdd([etcd.peer.y!])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EtcdError);
    expect(refused).toMatchObject({ code: 'Unhealthy', retryable: true });
    expect((refused as Error).message).toMatch(/unhealthy cluster/);
    expect(etcdctlMembers().map((m) => m.peer)).not.toContain(etcd.peer.y);
    // the unstarted member is not part of the active quorum: removing it is allowed at once
    const after = await withEtcd(etcd.client.a!, opts, (c) => c.memberRemove(x.member.id));
    expect(after.map((m) => m.name).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(etcdctlMembers().map((m) => m.id)).not.toContain(x.member.idHex);
    await expect(withEtcd(etcd.client.a!, opts, (c) => c.memberRemove(x.member.id))).rejects.toMatchObject({
      code: 'MemberNotFound',
      retryable: false,
    });
    // a peer URL already in use is its own refusal (checked once no member is unstarted)
    const dup = await retryOn(['Unhealthy'], () => withEtcd(etcd.client.a!, opts, (c) => c.memberAdd([etcd.peer.b!]))).catch(
      (e: unknown) => e,
    );
    expect(dup).toMatchObject({ code: 'PeerURLExists', retryable: false });
  });

  it('member remove under the quorum rules: a live member is refused while another is down; a dead member goes', async () => {
    const ms = await withEtcd(etcd.client.a!, opts, (c) => c.memberList());
    const id = (n: string) => ms.find((m) => m.name === n)!.id;
    // 4 members, c and d down: removing the live b would leave a alone of 3 — refused
    await etcd.kill('c');
    await etcd.kill('d');
    const refused = await retryOn(['NoLeader', 'Timeout'], () => withEtcd(etcd.client.a!, opts, (c) => c.memberRemove(id('b')))).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(EtcdError);
    // etcd's own check before it proposes the change: the members still connected, less the one
    // removed, must be a quorum of the members there are
    expect((refused as EtcdError).code).toBe('Unhealthy');
    expect((refused as EtcdError).retryable).toBe(true);
    // c comes back: a, b, c hold the quorum of 4; the dead d may go
    etcd.start('c', ['a', 'b', 'c', 'd'], 'existing');
    await etcd.waitHealthy(['a', 'b', 'c']);
    const left = await retryOn(['Unhealthy', 'NoLeader', 'Timeout'], () => withEtcd(etcd.client.a!, opts, (c) => c.memberRemove(id('d'))));
    expect(left.map((m) => m.name).sort()).toEqual(['a', 'b', 'c']);
    expect(
      etcdctlMembers()
        .map((m) => m.name)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    // b was never removed: its id is still listed
    expect(etcdctlMembers().map((m) => m.id)).toContain(ms.find((m) => m.name === 'b')!.idHex);
  });

  it('snapshot from the leader: the file carries its SHA-256 trailer, real etcdctl restores it and refuses it with one byte flipped', async () => {
    expect(etcd.etcdctl(etcd.client.a!, 'put', '/kubeaz/probe', 'in-the-snapshot').status).toBe(0);
    const leader = await findLeader(
      ['a', 'b', 'c'].map((m) => etcd.client[m]!),
      opts,
    );
    expect(leader).toBeDefined();
    const file = path.join(dir, 'snap.db');
    const snap = await withEtcd(leader!.endpoint, opts, (c) => c.snapshot(file, { timeoutSeconds: 60 }));
    const data = fs.readFileSync(file);
    expect(snap.bytes).toBe(data.length);
    expect(snap.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(data.subarray(data.length - 32).toString('hex')).toBe(
      createHash('sha256')
        .update(data.subarray(0, data.length - 32))
        .digest('hex'),
    );
    expect(snap.dbSha256).toBe(data.subarray(data.length - 32).toString('hex'));
    // real etcdctl checks the trailer on restore; the key is in the restored member
    const restored = path.join(dir, 'restored');
    const r = spawnSync(
      'etcdctl',
      [
        'snapshot',
        'restore',
        file,
        '--data-dir',
        restored,
        '--name',
        'r',
        '--initial-cluster',
        'r=http://127.0.0.1:1',
        '--initial-advertise-peer-urls',
        'http://127.0.0.1:1',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // and a flipped byte is what that check catches
    const bad = path.join(dir, 'bad.db');
    const flipped = Buffer.from(data);
    flipped[4096] = flipped[4096]! ^ 0xff;
    fs.writeFileSync(bad, flipped);
    const rb = spawnSync(
      'etcdctl',
      [
        'snapshot',
        'restore',
        bad,
        '--data-dir',
        path.join(dir, 'restored-bad'),
        '--name',
        'r',
        '--initial-cluster',
        'r=http://127.0.0.1:1',
        '--initial-advertise-peer-urls',
        'http://127.0.0.1:1',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    expect(rb.status, rb.stdout + rb.stderr).not.toBe(0);
  });

  it('without the client certificate etcd answers nothing: the health check must carry one (finding 4)', async () => {
    const probes = await probeAll([etcd.client.a!], { tls: { cacert: etcd.pki.ca }, callTimeoutMs: 3000 });
    expect(probes[0]!.ok).toBe(false);
    const withCert = await probeAll([etcd.client.a!], opts);
    expect(withCert[0]).toMatchObject({ ok: true, healthy: true });
  });

  it('an endpoint where nothing listens is Unavailable, fast', async () => {
    const t0 = Date.now();
    const c = await EtcdClient.connect(etcd.client.y!, opts);
    try {
      await expect(c.status()).rejects.toMatchObject({ code: 'Unavailable' });
    } finally {
      c.close();
    }
    expect(Date.now() - t0).toBeLessThan(3500);
  });
});
