/**
 * A counting, latency-adding HTTP proxy for loopback use only: it sits between the SDK and
 * moto_server (point AWS_ENDPOINT_URL at it), names every call by service and action, and can
 * delay each one (≈ a real region's round trip). Used by the benchmark; the fault-injecting proxy
 * of the tests builds on the same call naming.
 *
 * With `awsLike` it also plays AWS's clock where moto has none (aws-clock.ts): NAT gateways
 * pending and deleting for a while, deleted groups listed with their instances until they go.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { AWS_TYPICAL, AwsClock, type AwsTiming, type ProxyEvent } from './aws-clock.js';

export interface CallName {
  service: string;
  action: string;
}

/** Names a call from its signature scope and protocol: query (Action=), JSON (X-Amz-Target), REST (path). */
export function nameCall(method: string, url: string, headers: IncomingMessage['headers'], body: Buffer): CallName {
  const auth = String(headers.authorization ?? '');
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return { service, action: target.split('.').pop() ?? target };
  const ctype = String(headers['content-type'] ?? '');
  if (ctype.includes('x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString()).get('Action');
    if (action) return { service, action };
  }
  const q = new URL(url, 'http://x').searchParams.get('Action');
  if (q) return { service, action: q };
  const path = new URL(url, 'http://x').pathname;
  if (service === 'route53') {
    const p = path.replace(/^\/2013-04-01\//, '');
    const kind = p.split('/')[0] ?? '';
    const verb =
      method === 'GET'
        ? /\/rrset$/.test(p)
          ? 'ListResourceRecordSets'
          : `Get/List:${kind}`
        : method === 'POST'
          ? /\/rrset$/.test(p)
            ? 'ChangeResourceRecordSets'
            : `Create/Change:${kind}`
          : `${method}:${kind}`;
    return { service, action: verb };
  }
  if (service === 's3') {
    const segs = path.split('/').filter(Boolean);
    const sub = new URL(url, 'http://x').search.replace(/^\?/, '').split('&')[0]?.split('=')[0] ?? '';
    const what = segs.length <= 1 ? `Bucket${sub ? `?${sub}` : ''}` : 'Object';
    return { service, action: `${method} ${what}` };
  }
  return { service, action: `${method} ${path}` };
}

/** Reads are named Describe/List/Get/Head (REST reads arrive as GET/HEAD). */
export function isReadCall(c: CallName): boolean {
  return /^(Describe|List|Get|Head|GET|HEAD)/.test(c.action);
}

export interface ProxyOptions {
  target: string;
  latencyMs?: number;
  awsLike?: Partial<AwsTiming>;
}

export interface CountingProxy {
  url: string;
  counts: Map<string, number>;
  total(): number;
  mutating(): number;
  reset(): void;
  setLatency(ms: number): void;
  /** the AWS-like moments, in the order they happened (empty unless awsLike) */
  events: ProxyEvent[];
  close(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<CountingProxy> {
  const target = new URL(opts.target);
  let latency = opts.latencyMs ?? 0;
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const send = (
    method: string,
    path: string,
    headers: IncomingMessage['headers'],
    body: Buffer,
    onDone?: (status: number, buf: Buffer, headers: IncomingMessage['headers']) => void,
  ) => {
    const up = request({ host: target.hostname, port: target.port, method, path, headers: { ...headers, host: target.host } }, (r) => {
      const parts: Buffer[] = [];
      r.on('data', (c: Buffer) => parts.push(c));
      r.on('end', () => onDone?.(r.statusCode ?? 502, Buffer.concat(parts), r.headers));
    });
    up.on('error', (e) => onDone?.(502, Buffer.from(String(e)), {}));
    up.end(body);
  };
  const clock = opts.awsLike
    ? new AwsClock({ ...AWS_TYPICAL, ...opts.awsLike }, (ms, after) => {
        // the deferred part of a call AWS finishes in the background (a group's deletion)
        const t = setTimeout(() => {
          timers.delete(t);
          after();
        }, ms);
        timers.add(t);
      })
    : undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const name = nameCall(req.method ?? 'GET', req.url ?? '/', req.headers, body);
      if (!req.url?.startsWith('/moto-api')) {
        const k = `${name.service}:${name.action}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const forward = () => {
        const isQuery = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
        // (a group's deletion is passed on to moto once its deletion time has passed)
        if (clock && clock.intercept(name.action, body, res, isQuery, () => send(req.method ?? 'POST', req.url ?? '/', req.headers, body)))
          return;
        if (clock?.rewrites(name.action)) {
          const headers = { ...req.headers };
          delete headers['accept-encoding'];
          send(req.method ?? 'POST', req.url ?? '/', headers, body, (status, buf, h) => {
            const out = Buffer.from(clock.rewrite(name.action, body, status, buf.toString()));
            const hs = { ...h, 'content-length': String(out.length) };
            delete hs['transfer-encoding'];
            res.writeHead(status, hs);
            res.end(out);
          });
          return;
        }
        const up = request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on('error', (e) => {
          res.writeHead(502);
          res.end(String(e));
        });
        up.end(body);
      };
      if (latency > 0) setTimeout(forward, latency);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const sum = (pred: (k: string) => boolean) => [...counts].filter(([k]) => pred(k)).reduce((n, [, v]) => n + v, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    total: () => sum(() => true),
    mutating: () =>
      sum((k) => {
        const [service, ...rest] = k.split(':');
        return !isReadCall({ service: service ?? '', action: rest.join(':') });
      }),
    reset: () => counts.clear(),
    setLatency: (ms) => {
      latency = ms;
    },
    events: clock?.events ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => resolve());
      }),
  };
}
