/**
 * Runs rendered bootstrap scripts in a temp dir with the stand-in commands of this folder first on
 * PATH (see stub.mjs). Host paths go under KUBEAZ_ROOT, the metadata service is IMDS_ENDPOINT.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const STUB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const JOIN_TOKEN = 'abcdef.0123456789abcdef';
export const CA_HASH = `sha256:${'a1'.repeat(32)}`;
export const IMDS_ENDPOINT = 'http://imds.stub';

export interface Call {
  cmd: string;
  args: string[];
}

export class Sandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-boot-'));
  readonly root = path.join(this.dir, 'root');
  readonly s3 = path.join(this.dir, 's3');
  readonly log = path.join(this.dir, 'calls.jsonl');
  readonly ec2 = path.join(this.dir, 'ec2.json');
  readonly imds = path.join(this.dir, 'imds.json');
  readonly dns = path.join(this.dir, 'dns.json');
  readonly failures = path.join(this.dir, 'fail.json');
  readonly nodesFile = path.join(this.dir, 'nodes.json');
  readonly http = path.join(this.dir, 'http');

  constructor(readonly bucket: string) {
    fs.mkdirSync(this.root, { recursive: true });
    fs.mkdirSync(path.join(this.s3, bucket), { recursive: true });
    for (const f of fs.readdirSync(STUB_DIR)) if (!f.endsWith('.ts')) fs.chmodSync(path.join(STUB_DIR, f), 0o755);
    this.setImds({
      'instance-id': 'i-0123456789abcdef0',
      'local-ipv4': '10.0.32.10',
      'local-hostname': 'ip-10-0-32-10.ec2.internal',
      'placement/availability-zone': 'us-east-1b',
    });
    this.setDns({ zoneId: '/hostedzone/Z0PRIVATE', alias: 'internal-demo-dev-api-int-1.us-east-1.elb.amazonaws.com.' });
  }

  setImds(v: Record<string, string>): void {
    fs.writeFileSync(this.imds, JSON.stringify(v));
  }
  setDns(v: { zoneId?: string; alias?: string }): void {
    fs.writeFileSync(this.dns, JSON.stringify(v));
  }
  setEc2(v: { addresses: unknown[]; race?: string[] }): void {
    fs.writeFileSync(this.ec2, JSON.stringify(v));
  }
  /** Calls that fail: the first `times` calls whose "cmd args…" line matches `match` exit 1. */
  setFail(rules: Array<{ match: string; times: number; stderr?: string; putS3?: { key: string; body: string } }>): void {
    fs.writeFileSync(this.failures, JSON.stringify(rules));
  }
  /** The cluster's nodes and their labels, as kubectl get/label nodes see them. */
  setNodes(v: Record<string, Record<string, string>>): void {
    fs.writeFileSync(this.nodesFile, JSON.stringify(v));
  }
  nodes(): Record<string, Record<string, string>> {
    return JSON.parse(fs.readFileSync(this.nodesFile, 'utf8'));
  }
  /** A file curl serves for URL (non-IMDS). */
  serve(url: string, body: string | Buffer): void {
    const u = new URL(url);
    const f = path.join(this.http, u.host, decodeURIComponent(u.pathname));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, body);
  }
  ec2State(): { addresses: Array<Record<string, unknown>> } {
    return JSON.parse(fs.readFileSync(this.ec2, 'utf8'));
  }

  put(key: string, body: string | Buffer, meta: Record<string, string> = {}): void {
    const p = path.join(this.s3, this.bucket, key);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, body);
    fs.writeFileSync(`${p}.__meta.json`, JSON.stringify(meta));
  }
  get(key: string): string | undefined {
    const p = path.join(this.s3, this.bucket, key);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
  }
  keys(prefix: string): string[] {
    const root = path.join(this.s3, this.bucket);
    const out: string[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (!e.name.endsWith('.__meta.json')) out.push(path.relative(root, p).split(path.sep).join('/'));
      }
    };
    walk(root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }
  /** A snapshot object as etcd-backup.sh would have written it (or a corrupt one with a wrong sha256). */
  putSnapshot(key: string, content: string, opts: { corrupt?: boolean } = {}): void {
    const sha = createHash('sha256').update(opts.corrupt ? `${content}-before-bitrot` : content).digest('hex');
    this.put(key, content, { sha256: sha });
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${STUB_DIR}:${process.env.PATH}`,
      HOME: this.dir,
      KUBEAZ_ROOT: this.root,
      IMDS_ENDPOINT,
      KUBEAZ_RETRY_SLEEP: '0',
      STUB_LOG: this.log,
      STUB_S3: this.s3,
      STUB_EC2: this.ec2,
      STUB_IMDS: this.imds,
      STUB_DNS: this.dns,
      STUB_FAIL: this.failures,
      STUB_NODES: this.nodesFile,
      STUB_HTTP: this.http,
      STUB_BUCKET: this.bucket,
      ...extra,
    };
  }

  /** Write a script to the sandbox and run it with bash. */
  run(name: string, body: string, extra: Record<string, string> = {}, argv: string[] = []) {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, body, { mode: 0o755 });
    const r = spawnSync('bash', [file, ...argv], { env: this.env(extra), encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  calls(): Call[] {
    if (!fs.existsSync(this.log)) return [];
    return fs
      .readFileSync(this.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Call);
  }

  file(p: string): string {
    return fs.readFileSync(path.join(this.root, p), 'utf8');
  }
  exists(p: string): boolean {
    return fs.existsSync(path.join(this.root, p));
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export const line = (c: Call): string => [c.cmd, ...c.args].join(' ');

/** Index of the first call at or after `from` matching the predicate, -1 if none. */
export function findCall(calls: Call[], pred: (c: Call) => boolean, from = 0): number {
  for (let i = from; i < calls.length; i++) if (pred(calls[i]!)) return i;
  return -1;
}

/** Asserts the patterns occur in this order (each after the previous); returns their indexes. */
export function expectSequence(calls: Call[], patterns: Array<RegExp | ((c: Call) => boolean)>): number[] {
  const idx: number[] = [];
  let from = 0;
  for (const p of patterns) {
    const pred = typeof p === 'function' ? p : (c: Call) => p.test(line(c));
    const i = findCall(calls, pred, from);
    if (i < 0) {
      throw new Error(`expected a call matching ${String(p)} after call #${from}; calls were:\n${calls.map((c, n) => `${n}: ${line(c)}`).join('\n')}`);
    }
    idx.push(i);
    from = i + 1;
  }
  return idx;
}
