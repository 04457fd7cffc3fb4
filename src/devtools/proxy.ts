/**
 * A counting, latency-adding HTTP proxy for loopback use only: it sits between the SDK and
 * moto_server (point AWS_ENDPOINT_URL at it), names every call by service and action, and can
 * delay each one (≈ a real region's round trip). Used by the benchmark; the fault-injecting proxy
 * of the tests builds on the same call naming.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

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
    const verb = method === 'GET' ? (/\/rrset$/.test(p) ? 'ListResourceRecordSets' : `Get/List:${kind}`) : method === 'POST' ? (/\/rrset$/.test(p) ? 'ChangeResourceRecordSets' : `Create/Change:${kind}`) : `${method}:${kind}`;
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
}

export interface CountingProxy {
  url: string;
  counts: Map<string, number>;
  total(): number;
  mutating(): number;
  reset(): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<CountingProxy> {
  const target = new URL(opts.target);
  let latency = opts.latencyMs ?? 0;
  const counts = new Map<string, number>();
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
