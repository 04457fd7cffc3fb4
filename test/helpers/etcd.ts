/**
 * Real etcd members on loopback for tests (Debian's etcd-server 3.4 speaks the same v3 gRPC API as
 * the etcd kubeadm runs): a CA, a server certificate for 127.0.0.1 and the healthcheck client
 * certificate kubeadm makes (openssl), free ports, members started and killed as processes, and
 * `etcdctl` for checks that must not depend on the code under test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const HAVE_ETCD = spawnSync('etcd', ['--version']).status === 0 && spawnSync('etcdctl', ['version']).status === 0;
export const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface EtcdPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** the client certificate kubeadm makes for etcd's health checks */
  clientCert: string;
  clientKey: string;
}

/** An etcd CA, a server certificate (127.0.0.1, localhost; server and client auth) and a client certificate, in `dir`. */
export function makeEtcdPki(dir: string): EtcdPki {
  fs.mkdirSync(dir, { recursive: true });
  const gen = spawnSync(
    'bash',
    [
      '-euc',
      `
    cd "${dir}"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca.key; openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=etcd-ca
    for c in server healthcheck-client; do
      key $c.key; openssl req -new -key $c.key -out $c.csr -subj /CN=$c
      if [ $c = server ]; then printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth,clientAuth\\n' >ext; else printf 'extendedKeyUsage=clientAuth\\n' >ext; fi
      openssl x509 -req -in $c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $c.crt -days 2 -extfile ext 2>/dev/null
    done`,
    ],
    { encoding: 'utf8' },
  );
  if (gen.status !== 0) throw new Error(`making the etcd test PKI failed: ${gen.stderr}`);
  return {
    dir,
    ca: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'healthcheck-client.crt'),
    clientKey: path.join(dir, 'healthcheck-client.key'),
  };
}

/** TLS members named by the caller, each with a client and a peer URL on a free loopback port; data and logs under `dir`. */
export class EtcdMembers {
  readonly client: Record<string, string> = {};
  readonly peer: Record<string, string> = {};
  private readonly procs = new Map<string, ChildProcess>();

  constructor(
    readonly dir: string,
    readonly pki: EtcdPki,
  ) {}

  /** Ports for these member names (call before start). */
  async allocate(names: string[]): Promise<void> {
    const ports = await freePorts(2 * names.length);
    names.forEach((m, i) => {
      this.client[m] = `https://127.0.0.1:${ports[2 * i]}`;
      this.peer[m] = `https://127.0.0.1:${ports[2 * i + 1]}`;
    });
  }

  dataDir(name: string): string {
    return path.join(this.dir, `etcd-${name}`);
  }

  logOf(name: string): string {
    const f = path.join(this.dir, `etcd-${name}.log`);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  running(): string[] {
    return [...this.procs.keys()];
  }

  /** Starts member NAME; `cluster` lists the members of its initial cluster (a new or an existing one). */
  start(name: string, cluster: string[], state: 'new' | 'existing', extra: string[] = []): void {
    const { pki } = this;
    const p = spawn(
      'etcd',
      [
        '--name',
        name,
        '--data-dir',
        this.dataDir(name),
        '--listen-client-urls',
        this.client[name]!,
        '--advertise-client-urls',
        this.client[name]!,
        '--listen-peer-urls',
        this.peer[name]!,
        '--initial-advertise-peer-urls',
        this.peer[name]!,
        '--initial-cluster',
        cluster.map((m) => `${m}=${this.peer[m]}`).join(','),
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        'kubeaz-test',
        '--cert-file',
        pki.serverCert,
        '--key-file',
        pki.serverKey,
        '--client-cert-auth',
        '--trusted-ca-file',
        pki.ca,
        '--peer-cert-file',
        pki.serverCert,
        '--peer-key-file',
        pki.serverKey,
        '--peer-client-cert-auth',
        '--peer-trusted-ca-file',
        pki.ca,
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        ...extra,
      ],
      { stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, `etcd-${name}.log`), 'a')] },
    );
    this.procs.set(name, p);
  }

  /** Adopts a process started by the caller (e.g. etcd on restored data) so killAll stops it. */
  adopt(name: string, p: ChildProcess): void {
    this.procs.set(name, p);
  }

  kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    this.procs.delete(name);
    if (!p || p.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  async killAll(): Promise<void> {
    for (const n of this.running()) await this.kill(n);
  }

  /** Real etcdctl (v3 API) with the client certificate. */
  etcdctl(endpoints: string, ...args: string[]): { status: number | null; out: string } {
    const { pki } = this;
    const r = spawnSync(
      'etcdctl',
      [
        '--endpoints',
        endpoints,
        '--cacert',
        pki.ca,
        '--cert',
        pki.clientCert,
        '--key',
        pki.clientKey,
        '--dial-timeout',
        '2s',
        '--command-timeout',
        '5s',
        ...args,
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    return { status: r.status, out: r.stdout + r.stderr };
  }

  async waitHealthy(names: string[]): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (names.every((n) => this.etcdctl(this.client[n]!, 'endpoint', 'health').status === 0)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`etcd members ${names.join(',')} never became healthy: ${this.logOf(names[0]!).slice(-2000)}`);
  }
}

/**
 * The etcd cluster id (hex, as kubeaz's records keep it) of the etcd at `url`, read with etcdctl's
 * `fields` output (its JSON output prints the uint64 as a number, which JSON.parse would round).
 */
export function etcdClusterIdHex(url: string, tls?: EtcdPki): string {
  const certs = tls ? ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey] : [];
  const out = spawnSync('etcdctl', ['--endpoints', url, ...certs, '--command-timeout', '5s', 'endpoint', 'status', '--write-out=fields'], {
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  const m = /"ClusterID"\s*:\s*(\d+)/.exec(out.stdout ?? '');
  if (out.status !== 0 || !m) throw new Error(`etcdctl endpoint status at ${url} failed: ${out.stderr}`);
  return BigInt(m[1]!).toString(16);
}
