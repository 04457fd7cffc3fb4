/**
 * A counting, latency-adding HTTP proxy for loopback use only: it sits between the SDK and
 * moto_server (point AWS_ENDPOINT_URL at it), names every call by service and action, and can
 * delay each one (≈ a real region's round trip). Used by the benchmark; the fault-injecting proxy
 * of the tests builds on the same call naming.
 *
 * With `awsLike` it also plays AWS's clock where moto has none (moto makes a NAT gateway
 * `available` and `deleted` at once, and an auto scaling group vanishes with its instances the
 * moment it is deleted): new NAT gateways are reported `pending` for a set time, deleted ones
 * `deleting` (their subnet and address still in use meanwhile), and a deleted group stays listed
 * `Delete in progress` with its instances running until its deletion is passed on to moto. Every
 * such moment is logged in `events`, so a test can assert the order of what happened.
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

/** AWS's typical times, in seconds: a NAT gateway takes one to a few minutes to become available and about one to be deleted; a group's instances a minute or more to terminate. */
export interface AwsTiming {
  /** a new NAT gateway is `pending` this long (default 90) */
  natPendingSeconds: number;
  /** a deleted NAT gateway is `deleting` this long (default 60); its subnet and address stay in use */
  natDeletingSeconds: number;
  /** a deleted auto scaling group (ForceDelete) stays listed, its instances running, this long (default 60) */
  asgDeletingSeconds: number;
  /** CreateRoute naming a NAT gateway this young answers InvalidNatGatewayID.NotFound (AWS's eventual consistency; default 0) */
  natInvisibleSeconds: number;
  /** the first N CreateRoute calls naming each NAT gateway answer InvalidNatGatewayID.NotFound whatever the clock says (deterministic tests; default 0) */
  natInvisibleRefusals?: number;
}

export const AWS_TYPICAL: AwsTiming = { natPendingSeconds: 90, natDeletingSeconds: 60, asgDeletingSeconds: 60, natInvisibleSeconds: 0 };

export interface ProxyEvent {
  /** ms since the proxy started */
  t: number;
  what:
    | 'nat-created'
    | 'nat-available'
    | 'nat-delete-started'
    | 'nat-deleted'
    | 'asg-created'
    | 'asg-delete-started'
    | 'asg-deleted'
    | 'route-created'
    | 'route-refused'
    /** a call AWS would refuse because a deleting NAT gateway or group still holds what it names */
    | 'in-use-refused';
  id: string;
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

const param = (body: Buffer, name: string): string | undefined => new URLSearchParams(body.toString()).get(name) ?? undefined;

/** An EC2-style error answer (the SDK reads the code from it). */
function ec2Error(res: import('node:http').ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>kubeaz-proxy</RequestID></Response>`;
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

/**
 * The AWS clock in front of moto. Keeps what it learnt of NAT gateways (created when, deleted
 * when, in which subnet with which address) and of groups being deleted; rewrites the answers
 * that would show moto's instant state; refuses what AWS refuses while a NAT gateway is deleting.
 */
class AwsClock {
  readonly events: ProxyEvent[] = [];
  private readonly started = Date.now();
  private readonly nats = new Map<string, { created?: number; deleted?: number; subnetId?: string; allocationId?: string; available?: boolean; gone?: boolean }>();
  private readonly groups = new Map<string, { deleting: number; subnets: string[] }>();
  constructor(
    readonly timing: AwsTiming,
    private readonly forwardLater: (ms: number, fn: () => void) => void,
  ) {}

  log(what: ProxyEvent['what'], id: string): void {
    this.events.push({ t: Date.now() - this.started, what, id });
  }

  private natState(id: string, reported: string): string {
    const n = this.nats.get(id);
    const now = Date.now();
    if (!n) return reported;
    if (reported === 'available' && n.created !== undefined && now - n.created < this.timing.natPendingSeconds * 1000) return 'pending';
    if (reported === 'available' && !n.available) {
      n.available = true;
      this.log('nat-available', id);
    }
    if (reported === 'deleted' && n.deleted !== undefined && now - n.deleted < this.timing.natDeletingSeconds * 1000) return 'deleting';
    if (reported === 'deleted' && !n.gone) {
      n.gone = true;
      this.log('nat-deleted', id);
    }
    return reported;
  }

  private deletingNatHolding(pred: (n: { subnetId?: string; allocationId?: string }) => boolean): string | undefined {
    const now = Date.now();
    for (const [id, n] of this.nats) if (n.deleted !== undefined && now - n.deleted < this.timing.natDeletingSeconds * 1000 && pred(n)) return id;
    return undefined;
  }

  /** Before forwarding: true when the proxy answered itself. */
  intercept(action: string, body: Buffer, res: import('node:http').ServerResponse, isQuery: boolean, forwardNow: () => void): boolean {
    const now = Date.now();
    if (action === 'CreateRoute') {
      const nat = param(body, 'NatGatewayId');
      const n = nat ? this.nats.get(nat) : undefined;
      const refusedSoFar = nat ? this.events.filter((e) => e.what === 'route-refused' && e.id === nat).length : 0;
      if (nat && n?.created !== undefined && (now - n.created < this.timing.natInvisibleSeconds * 1000 || refusedSoFar < (this.timing.natInvisibleRefusals ?? 0))) {
        this.log('route-refused', nat);
        ec2Error(res, 400, 'InvalidNatGatewayID.NotFound', `The natGateway ID '${nat}' does not exist`);
        return true;
      }
      if (nat) this.log('route-created', nat);
    }
    if (action === 'DeleteNatGateway') {
      const id = param(body, 'NatGatewayId') ?? '';
      const n = this.nats.get(id) ?? {};
      if (n.deleted === undefined) n.deleted = now;
      this.nats.set(id, n);
      this.log('nat-delete-started', id);
    }
    if (action === 'ReleaseAddress' || action === 'DisassociateAddress') {
      const alloc = param(body, 'AllocationId');
      const holder = alloc ? this.deletingNatHolding((n) => n.allocationId === alloc) : undefined;
      if (holder) {
        this.log('in-use-refused', `${action} ${alloc}`);
        ec2Error(res, 400, 'InvalidIPAddress.InUse', `Address ${alloc} is in use by ${holder}`);
        return true;
      }
    }
    if (action === 'DeleteSubnet') {
      const subnet = param(body, 'SubnetId');
      const holder = subnet ? (this.deletingNatHolding((n) => n.subnetId === subnet) ?? [...this.groups].find(([, g]) => g.subnets.includes(subnet))?.[0]) : undefined;
      if (holder) {
        this.log('in-use-refused', `${action} ${subnet}`);
        ec2Error(res, 400, 'DependencyViolation', `The subnet '${subnet}' has dependencies (${holder}) and cannot be deleted.`);
        return true;
      }
    }
    if (action === 'DeleteAutoScalingGroup' && isQuery) {
      const name = param(body, 'AutoScalingGroupName') ?? '';
      if (!this.groups.has(name)) {
        this.groups.set(name, { deleting: now, subnets: [] });
        this.log('asg-delete-started', name);
        // AWS answers at once; the group and its instances go later.
        this.forwardLater(this.timing.asgDeletingSeconds * 1000, () => {
          forwardNow();
          this.groups.delete(name);
          this.log('asg-deleted', name);
        });
      }
      const xml = '<DeleteAutoScalingGroupResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><ResponseMetadata><RequestId>kubeaz-proxy</RequestId></ResponseMetadata></DeleteAutoScalingGroupResponse>';
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
      return true;
    }
    return false;
  }

  /** Does this answer need rewriting (so it must be buffered)? */
  rewrites(action: string): boolean {
    return action === 'CreateNatGateway' || action === 'DescribeNatGateways' || action === 'DescribeAutoScalingGroups' || action === 'CreateAutoScalingGroup';
  }

  rewrite(action: string, reqBody: Buffer, status: number, text: string): string {
    if (status >= 300) return text;
    if (action === 'CreateAutoScalingGroup') this.log('asg-created', param(reqBody, 'AutoScalingGroupName') ?? '');
    if (action === 'CreateNatGateway') {
      const id = /<natGatewayId>([^<]+)<\/natGatewayId>/.exec(text)?.[1];
      if (id) {
        this.nats.set(id, { created: Date.now(), subnetId: param(reqBody, 'SubnetId'), allocationId: param(reqBody, 'AllocationId') });
        this.log('nat-created', id);
        return text.replace(/<state>[^<]*<\/state>/, '<state>pending</state>');
      }
    }
    if (action === 'DescribeNatGateways') {
      // Each gateway's own <state> follows its <natGatewayId> (moto writes the members in order).
      return text.replace(/(<natGatewayId>([^<]+)<\/natGatewayId>[\s\S]*?<state>)([^<]*)(<\/state>)/g, (_m, head: string, id: string, state: string, tail: string) => `${head}${this.natState(id, state)}${tail}`);
    }
    if (action === 'DescribeAutoScalingGroups' && this.groups.size) {
      // A group being deleted is listed as AWS lists it: Status "Delete in progress"; its subnets are still in use.
      return text.replace(/<AutoScalingGroupName>([^<]+)<\/AutoScalingGroupName>/g, (m, name: string) => {
        const g = this.groups.get(name);
        if (!g) return m;
        const zone = new RegExp(`<AutoScalingGroupName>${name}</AutoScalingGroupName>[\\s\\S]*?<VPCZoneIdentifier>([^<]*)</VPCZoneIdentifier>`).exec(text)?.[1];
        if (zone) g.subnets = zone.split(',').map((x) => x.trim()).filter(Boolean);
        return `${m}<Status>Delete in progress</Status>`;
      });
    }
    return text;
  }
}

export async function startProxy(opts: ProxyOptions): Promise<CountingProxy> {
  const target = new URL(opts.target);
  let latency = opts.latencyMs ?? 0;
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const send = (method: string, path: string, headers: IncomingMessage['headers'], body: Buffer, onDone?: (status: number, buf: Buffer, headers: IncomingMessage['headers']) => void) => {
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
        if (clock && clock.intercept(name.action, body, res, isQuery, () => send(req.method ?? 'POST', req.url ?? '/', req.headers, body))) return;
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
