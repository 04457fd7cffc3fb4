/**
 * A fault-injecting HTTP proxy between the AWS SDK and moto_server, for the crash and fault tests.
 * Point AWS_ENDPOINT_URL at `proxy.url`. It identifies every call's service (from the SigV4
 * credential scope) and action (Action= of query APIs, X-Amz-Target of JSON APIs, method + path of
 * the REST APIs Route53 and S3), counts calls by `service:Action`, and — seeded, reproducible — can:
 *   - add latency;
 *   - answer a share of calls with throttling, in each protocol's own shape so the SDK raises the
 *     named error (EC2 RequestLimitExceeded/503, query & Route53 Throttling/400, S3 SlowDown/503,
 *     JSON ThrottlingException/400);
 *   - answer a share with a 500 InternalError;
 *   - forward a share of MUTATING calls to moto and then destroy the client's socket before the
 *     answer reaches it ("lost response": applied, but the caller never learns it);
 *   - answer one chosen action with a chosen error (rules), e.g. CreateNatGateway → 403
 *     UnauthorizedOperation.
 * Injected faults are counted separately from calls. `configure({})` injects nothing (counting only).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { motoEnv, startMoto, type Moto } from '../../src/devtools/moto.js';
import { kubeaz, ROOT, type CliResult } from './cli.js';
import { inventory, type Inventory } from './inventory.js';

export type FaultKind = 'throttle' | 'error500' | 'lost' | 'rule';

export interface FaultRule {
  /** `service:Action`, e.g. `ec2:CreateNatGateway` */
  match: string;
  status: number;
  code: string;
  message?: string;
  /** how many times to fire (default: every time) */
  times?: number;
}

export interface FaultConfig {
  seed: number;
  latencyMs: number;
  /** shares in [0, 1] */
  throttle: number;
  error500: number;
  /** share of mutating calls forwarded and then answered with a dropped connection */
  lostMutating: number;
  rules: FaultRule[];
  /** only inject into calls whose `service:Action` passes (default: all) */
  only?: (call: string, mutating: boolean) => boolean;
}

export interface CallInfo {
  service: string;
  action: string;
  mutating: boolean;
}

export interface ProxyCounts {
  /** every call that reached the proxy, by `service:Action` (faulted ones included) */
  calls: Record<string, number>;
  /** injected faults, by `kind service:Action` */
  faults: Record<string, number>;
  total: number;
  mutating: number;
  /** mutating calls only, by `service:Action` */
  mutatingCalls: Record<string, number>;
  /** totals per fault kind */
  injected: Record<FaultKind, number>;
}

/** mulberry32: small, seeded, good enough to pick which calls fail. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same rule as src/aws/clients.ts: reads never change anything. */
export const isMutatingAction = (action: string): boolean => !/^(Describe|List|Get|Head|Lookup|Search)/.test(action);

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function s3Action(method: string, pathname: string, query: URLSearchParams): string {
  const parts = pathname.split('/').filter(Boolean);
  const onObject = parts.length > 1;
  if (!parts.length) return method === 'GET' ? 'ListBuckets' : `${method}Root`;
  const sub = [...query.keys()].find(
    (k) =>
      ![
        'list-type',
        'prefix',
        'delimiter',
        'max-keys',
        'continuation-token',
        'x-id',
        'versionId',
        'encoding-type',
        'start-after',
        'uploadId',
        'partNumber',
        'key-marker',
        'version-id-marker',
      ].includes(k),
  );
  const xid = query.get('x-id');
  if (xid) return xid;
  if (method === 'POST' && sub === 'delete') return 'DeleteObjects';
  if (!onObject) {
    if (query.has('versions')) return 'ListObjectVersions';
    if (!sub) {
      return (
        ({ GET: 'ListObjects', PUT: 'CreateBucket', DELETE: 'DeleteBucket', HEAD: 'HeadBucket' } as Record<string, string>)[method] ??
        `${method}Bucket`
      );
    }
    const name = sub === 'publicAccessBlock' ? 'PublicAccessBlock' : sub === 'versioning' ? 'BucketVersioning' : `Bucket${cap(sub)}`;
    return `${({ GET: 'Get', PUT: 'Put', DELETE: 'Delete', HEAD: 'Head', POST: 'Post' } as Record<string, string>)[method] ?? method}${name}`;
  }
  if (sub === 'tagging') return `${method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : 'Delete'}ObjectTagging`;
  return (
    ({ GET: 'GetObject', PUT: 'PutObject', DELETE: 'DeleteObject', HEAD: 'HeadObject', POST: 'PostObject' } as Record<string, string>)[
      method
    ] ?? `${method}Object`
  );
}

function route53Action(method: string, pathname: string): string {
  const p = pathname.replace(/^\/\d{4}-\d{2}-\d{2}/, '');
  const m = (re: RegExp) => re.test(p);
  if (m(/^\/hostedzone\/?$/)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  if (m(/^\/hostedzonesbyname/)) return 'ListHostedZonesByName';
  if (m(/^\/hostedzonesbyvpc/)) return 'ListHostedZonesByVPC';
  if (m(/^\/hostedzone\/[^/]+\/rrset/)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (m(/^\/hostedzone\/[^/]+\/associatevpc/)) return 'AssociateVPCWithHostedZone';
  if (m(/^\/hostedzone\/[^/]+\/disassociatevpc/)) return 'DisassociateVPCFromHostedZone';
  if (m(/^\/hostedzone\/[^/]+\/?$/))
    return method === 'DELETE' ? 'DeleteHostedZone' : method === 'POST' ? 'UpdateHostedZoneComment' : 'GetHostedZone';
  if (m(/^\/tags\/[^/]+\/?$/)) return 'ListTagsForResources'; // POST with a body of ids: a read
  if (m(/^\/tags\//)) return method === 'POST' ? 'ChangeTagsForResource' : 'ListTagsForResource';
  if (m(/^\/change\//)) return 'GetChange';
  if (m(/^\/hostedzonecount/)) return 'GetHostedZoneCount';
  return `${method}${p.replace(/\/[^/]*$/, '')}`;
}

/** Which service and action a request is, from its headers, path and (form) body. */
export function identify(req: { method?: string; url?: string; headers: IncomingMessage['headers'] }, body: Buffer): CallInfo | undefined {
  const auth = String(req.headers.authorization ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  if (!scope) return undefined; // not an SDK call (moto-api, health checks)
  const service = scope[1]!;
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://proxy');
  const target = req.headers['x-amz-target'];
  let action: string;
  if (target) action = String(target).split('.').pop()!;
  else if (service === 's3') action = s3Action(method, url.pathname, url.searchParams);
  else if (service === 'route53') action = route53Action(method, url.pathname);
  else {
    const form = new URLSearchParams(body.toString('utf8'));
    action = form.get('Action') ?? url.searchParams.get('Action') ?? `${method}${url.pathname}`;
  }
  const mutating =
    service === 's3' || service === 'route53' ? !['GET', 'HEAD'].includes(method) && isMutatingAction(action) : isMutatingAction(action);
  return { service, action, mutating };
}

type Protocol = 'ec2' | 'query' | 'restxml' | 's3' | 'json';
function protocolOf(service: string): Protocol {
  if (service === 'ec2') return 'ec2';
  if (service === 's3') return 's3';
  if (service === 'route53') return 'restxml';
  // the AWS JSON protocols (SQS has spoken JSON since 2023, EventBridge and the Price List API always):
  // an XML error to a JSON client is a deserialization error, never retried — AWS does not send one
  if (['ssm', 'logs', 'kms', 'secretsmanager', 'dynamodb', 'sqs', 'events', 'pricing'].includes(service)) return 'json';
  return 'query'; // iam, sts, elasticloadbalancing, autoscaling
}

/** An error answer in the service's own wire shape, so the SDK raises it by name. */
export function errorAnswer(
  service: string,
  status: number,
  code: string,
  message: string,
): { status: number; headers: Record<string, string>; body: string } {
  const id = `fault-${Math.random().toString(16).slice(2, 10)}`;
  switch (protocolOf(service)) {
    case 'ec2':
      return {
        status,
        headers: { 'content-type': 'text/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`,
      };
    case 's3':
      return {
        status,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${id}</RequestId></Error>`,
      };
    case 'json':
      return {
        status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code },
        body: JSON.stringify({ __type: code, message }),
      };
    default:
      return {
        status,
        headers: { 'content-type': 'text/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`,
      };
  }
}

function throttleAnswer(service: string) {
  switch (protocolOf(service)) {
    case 'ec2':
      return errorAnswer(service, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    case 's3':
      return errorAnswer(service, 503, 'SlowDown', 'Please reduce your request rate.');
    case 'json':
      return errorAnswer(service, 400, 'ThrottlingException', 'Rate exceeded');
    default:
      return errorAnswer(service, 400, 'Throttling', 'Rate exceeded');
  }
}

function internalAnswer(service: string) {
  const p = protocolOf(service);
  return errorAnswer(
    service,
    500,
    p === 'query' || p === 'restxml' ? 'InternalFailure' : p === 'json' ? 'InternalServerError' : 'InternalError',
    'We encountered an internal error. Please try again.',
  );
}

/**
 * Where moto crashes (a Python exception, answered as a 500 HTML page) on a request AWS answers
 * with a proper error, the proxy gives the SDK AWS's answer, so kubeaz is tested against AWS's
 * behaviour. Only cases seen and checked against moto's source are listed:
 *  - ReplaceNetworkAclAssociation with an association id that no longer exists (the retry of a
 *    replace whose first answer was lost): moto's `next()` finds nothing and raises StopIteration;
 *    AWS answers 400 InvalidAssociationID.NotFound.
 */
function awsAnswerFor(call: CallInfo, up: { status: number; body: Buffer }) {
  const html = up.status >= 500 && /^\s*<!doctype html|^\s*<html/i.test(up.body.toString('utf8', 0, 200));
  if (!html) return undefined;
  if (call.service === 'ec2' && call.action === 'ReplaceNetworkAclAssociation') {
    return errorAnswer(
      'ec2',
      400,
      'InvalidAssociationID.NotFound',
      'The association ID does not exist (moto answered 500; AWS answers this)',
    );
  }
  return undefined;
}

export interface FaultProxy {
  url: string;
  port: number;
  configure(cfg: Partial<FaultConfig>): void;
  /** counting only, nothing injected */
  quiet(): void;
  counts(): ProxyCounts;
  resetCounts(): void;
  /** called for every identified call, after it is counted (e.g. kill the CLI after N mutating calls) */
  onCall?: (call: CallInfo, counts: ProxyCounts) => void;
  close(): Promise<void>;
}

const NONE: FaultConfig = { seed: 1, latencyMs: 0, throttle: 0, error500: 0, lostMutating: 0, rules: [] };

export async function startFaultProxy(target: string, initial: Partial<FaultConfig> = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let cfg: FaultConfig = { ...NONE, ...initial };
  let rand = prng(cfg.seed);
  const fired = new Map<FaultRule, number>();
  let counts: ProxyCounts;
  const resetCounts = () => {
    counts = { calls: {}, faults: {}, total: 0, mutating: 0, mutatingCalls: {}, injected: { throttle: 0, error500: 0, lost: 0, rule: 0 } };
  };
  resetCounts();

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, 'content-length': String(body.length) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const proxy: FaultProxy = {
    url: '',
    port: 0,
    configure(next) {
      cfg = { ...NONE, ...next };
      rand = prng(cfg.seed);
      fired.clear();
    },
    quiet() {
      proxy.configure({});
    },
    counts: () => JSON.parse(JSON.stringify(counts)) as ProxyCounts,
    resetCounts,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    // transfer-encoding is re-framed by us; the rest goes through unchanged (the signature covers host)
    delete req.headers['transfer-encoding'];
    const call = identify(req, body);
    const send = (a: { status: number; headers: Record<string, string>; body: string }) => {
      res.writeHead(a.status, { ...a.headers, 'content-length': String(Buffer.byteLength(a.body)) });
      res.end(a.body);
    };
    const fault = (kind: FaultKind) => {
      counts.injected[kind]++;
      const k = `${kind} ${call!.service}:${call!.action}`;
      counts.faults[k] = (counts.faults[k] ?? 0) + 1;
    };
    if (call) {
      const name = `${call.service}:${call.action}`;
      counts.calls[name] = (counts.calls[name] ?? 0) + 1;
      counts.total++;
      if (call.mutating) {
        counts.mutating++;
        counts.mutatingCalls[name] = (counts.mutatingCalls[name] ?? 0) + 1;
      }
      proxy.onCall?.(call, counts);
      if (cfg.latencyMs) await new Promise((r) => setTimeout(r, cfg.latencyMs));
      const eligible = !cfg.only || cfg.only(name, call.mutating);
      const rule = cfg.rules.find((r) => r.match === name && (r.times === undefined || (fired.get(r) ?? 0) < r.times));
      if (rule) {
        fired.set(rule, (fired.get(rule) ?? 0) + 1);
        fault('rule');
        return send(
          errorAnswer(
            call.service,
            rule.status,
            rule.code,
            rule.message ?? `You are not authorized to perform this operation (injected for ${name}).`,
          ),
        );
      }
      // Always draw the same number of values per call, so one share does not shift another's picks.
      const r1 = rand();
      const r2 = rand();
      if (eligible && r1 < cfg.throttle) {
        fault('throttle');
        return send(throttleAnswer(call.service));
      }
      if (eligible && r1 < cfg.throttle + cfg.error500) {
        fault('error500');
        return send(internalAnswer(call.service));
      }
      if (eligible && call.mutating && r2 < cfg.lostMutating) {
        fault('lost');
        try {
          await forward(req, body); // applied by moto …
        } finally {
          req.socket.destroy(); // … but the answer never arrives
        }
        return;
      }
    }
    const up = await forward(req, body);
    const adapted = call ? awsAnswerFor(call, up) : undefined;
    if (adapted) return send(adapted);
    const headers = { ...up.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    headers['content-length'] = String(up.body.length);
    res.writeHead(up.status, headers);
    res.end(up.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((e: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: upstream failed: ${(e as Error).message}`);
        } else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  proxy.port = port;
  proxy.url = `http://127.0.0.1:${port}`;
  return proxy;
}

// ---------------------------------------------------------------------------------------------
// The world of one fault test file: moto, the proxy in front of it, a spec in a temp directory,
// the CLI run through the proxy, and inventories reduced to counts per kind.

export interface FaultWorld {
  moto: Moto;
  proxy: FaultProxy;
  dir: string;
  file: string;
  /** the CLI's environment: every client through the proxy, fast retries and polls */
  env: Record<string, string>;
  /** back to an empty moto (and counting-only proxy); returns the new baseline inventory */
  reset(): Promise<Inventory>;
  close(): Promise<void>;
}

/** A moto, a proxy before it and a folder holding the spec: a copy of `spec` (a file; the example by default) or `{ text }`. */
export async function startFaultWorld(spec: string | { text: string } = path.join(ROOT, 'cluster.example.yaml')): Promise<FaultWorld> {
  const moto = await startMoto();
  // The test's own SDK clients (inventory, planting) talk to moto directly: the proxy counts the CLI only.
  Object.assign(process.env, motoEnv(moto.url));
  delete process.env.AWS_PROFILE;
  const proxy = await startFaultProxy(moto.url);
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-faults-'));
  const file = path.join(dir, 'cluster.yaml');
  if (typeof spec === 'string') await copyFile(spec, file);
  else await writeFile(file, spec.text);
  const env = {
    ...motoEnv(proxy.url),
    KUBEAZ_RETRY_BASE_MS: '5',
    KUBEAZ_POLL_SECONDS: '0.1',
    KUBEAZ_PROPAGATION_SECONDS: '1',
    KUBEAZ_DEPENDENCY_SECONDS: '20',
  };
  return {
    moto,
    proxy,
    dir,
    file,
    env,
    async reset() {
      await moto.reset();
      await rm(path.join(dir, '.kubeaz'), { recursive: true, force: true });
      proxy.quiet();
      proxy.resetCounts();
      proxy.onCall = undefined;
      return inventory();
    },
    async close() {
      await proxy.close();
      await moto.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the run added to moto, per kind: items in `inv` that are not in `baseline`. */
export function addedCounts(inv: Inventory, baseline: Inventory): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, items] of Object.entries(inv)) {
    const before = new Set(baseline[kind] ?? []);
    out[kind] = items.filter((x) => !before.has(x)).length;
  }
  return out;
}

/** What is gone from `baseline` in `inv`, per kind (should stay empty: nothing foreign deleted). */
export function removedItems(inv: Inventory, baseline: Inventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [kind, items] of Object.entries(baseline)) {
    const now = new Set(inv[kind] ?? []);
    const gone = items.filter((x) => !now.has(x));
    if (gone.length) out[kind] = gone;
  }
  return out;
}

export interface Interrupt {
  signal: 'SIGKILL' | 'SIGINT' | 'SIGTERM';
  /** deliver it when the proxy sees this many mutating calls of the run */
  afterMutating?: number;
  /** … or when the proxy sees this call (service:Action), e.g. the pre-flight's first read */
  atCall?: string;
  /** … or after this many milliseconds */
  afterMs?: number;
}

export interface InterruptedRun extends CliResult {
  /** mutating calls the proxy had seen from the run when the signal went out (undefined: never sent) */
  signalledAt?: number;
  pid: number;
}

/** Runs the CLI through the proxy and interrupts it at a chosen moment. */
export async function runInterrupted(
  world: FaultWorld,
  args: string[],
  interrupt: Interrupt,
  env: Record<string, string> = {},
): Promise<InterruptedRun> {
  const start = world.proxy.counts().mutating;
  let pid = 0;
  let signalledAt: number | undefined;
  const fire = () => {
    if (signalledAt !== undefined || !pid) return;
    signalledAt = world.proxy.counts().mutating - start;
    try {
      process.kill(pid, interrupt.signal);
    } catch {
      /* already exited */
    }
  };
  world.proxy.onCall = (call, counts) => {
    if (interrupt.afterMutating !== undefined && call.mutating && counts.mutating - start >= interrupt.afterMutating) fire();
    if (interrupt.atCall !== undefined && `${call.service}:${call.action}` === interrupt.atCall) fire();
  };
  let timer: NodeJS.Timeout | undefined;
  const r = await kubeaz(
    args,
    { ...world.env, ...env },
    {
      onSpawn: (p) => {
        pid = p;
        if (interrupt.afterMs !== undefined) timer = setTimeout(fire, interrupt.afterMs);
      },
    },
  );
  if (timer) clearTimeout(timer);
  world.proxy.onCall = undefined;
  return { ...r, pid, ...(signalledAt !== undefined ? { signalledAt } : {}) };
}

/** One line per scenario for the closing note: what was injected and what came out. */
export function report(scenario: string, data: Record<string, unknown>): void {
  process.stdout.write(`[faults] ${scenario}: ${JSON.stringify(data)}\n`);
}
