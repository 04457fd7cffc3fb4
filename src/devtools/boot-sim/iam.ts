/**
 * The agents' AWS calls against their instance roles (moto does not enforce IAM): boot-sim points
 * each agent at a recording proxy of its own (recordingProxy), so every call is known with the
 * instance that made it; `iamRequest` names a recorded call as IAM sees it (action, resource ARNs,
 * the condition keys kubeaz's policies use: s3:prefix, aws:ResourceTag/*), and `allowed` is a small
 * evaluator of identity-policy Allow statements (Action/Resource wildcards; StringEquals and
 * StringLike conditions; an explicit Deny wins). PURE except the proxy.
 */
import { appendFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';

export interface RecordedCall {
  instanceId: string;
  role: string;
  method: string;
  /** path and query as sent */
  url: string;
  /** the signing scope's service (s3, ec2, autoscaling, route53) */
  service: string;
  /** the form body of a query-protocol call (EC2, Auto Scaling) */
  form?: Record<string, string>;
}

/** A loopback proxy to `target` that appends each call, as a RecordedCall JSON line, to `file`. */
export async function recordingProxy(
  target: string,
  file: string,
  who: { instanceId: string; role: string },
): Promise<{ url: string; server: Server }> {
  const t = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const auth = String(req.headers.authorization ?? '');
      const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
      const ctype = String(req.headers['content-type'] ?? '');
      const call: RecordedCall = {
        ...who,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        service,
        ...(ctype.includes('x-www-form-urlencoded') ? { form: Object.fromEntries(new URLSearchParams(body.toString())) } : {}),
      };
      appendFileSync(file, `${JSON.stringify(call)}\n`);
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, server };
}

/** One IAM authorization a call needs: the action on each resource, with the request's condition keys. */
export interface IamRequest {
  action: string;
  resources: string[];
  context: Record<string, string>;
  /** tags of each resource (aws:ResourceTag/* is looked up per resource) */
  resourceTags?: Record<string, Record<string, string>>;
}

export interface IamLookups {
  region: string;
  account: string;
  /** the tags of an auto scaling group (by instance id), an elastic IP (allocation id), an instance */
  asgTagsOfInstance(instanceId: string): Record<string, string>;
  addressTags(allocationId: string): Record<string, string>;
  instanceTags(instanceId: string): Record<string, string>;
}

/** How IAM sees a recorded call; undefined for a call it cannot name (reported by the caller). */
export function iamRequest(c: RecordedCall, l: IamLookups): IamRequest | undefined {
  const u = new URL(c.url, 'http://x');
  if (c.service === 's3') {
    const [bucket, ...rest] = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const key = rest.join('/');
    if (!bucket) return { action: 's3:ListAllMyBuckets', resources: ['*'], context: {} };
    if (!key) {
      if (c.method === 'GET' && (u.searchParams.has('list-type') || u.search === '' || u.searchParams.has('prefix')))
        return {
          action: 's3:ListBucket',
          resources: [`arn:aws:s3:::${bucket}`],
          context: u.searchParams.has('prefix') ? { 's3:prefix': u.searchParams.get('prefix')! } : {},
        };
      return undefined;
    }
    const obj = `arn:aws:s3:::${bucket}/${key}`;
    if (c.method === 'GET' || c.method === 'HEAD') return { action: 's3:GetObject', resources: [obj], context: {} };
    if (c.method === 'PUT') return { action: 's3:PutObject', resources: [obj], context: {} };
    if (c.method === 'DELETE') return { action: 's3:DeleteObject', resources: [obj], context: {} };
    return undefined;
  }
  if (c.service === 'route53') {
    const m = /\/hostedzone\/([^/]+)\/rrset/.exec(u.pathname);
    if (m)
      return {
        action: c.method === 'POST' ? 'route53:ChangeResourceRecordSets' : 'route53:ListResourceRecordSets',
        resources: [`arn:aws:route53:::hostedzone/${m[1]}`],
        context: {},
      };
    if (/\/hostedzonesbyname/.test(u.pathname)) return { action: 'route53:ListHostedZonesByName', resources: ['*'], context: {} };
    if (/\/change\//.test(u.pathname)) return { action: 'route53:GetChange', resources: ['*'], context: {} };
    return undefined;
  }
  const action = c.form?.Action;
  if (!action) return undefined;
  const name = `${c.service}:${action}`;
  if (name === 'autoscaling:SetInstanceHealth') {
    const id = c.form!.InstanceId!;
    const arn = `arn:aws:autoscaling:${l.region}:${l.account}:autoScalingGroup:*:autoScalingGroupName/of-${id}`;
    return { action: name, resources: [arn], context: {}, resourceTags: { [arn]: l.asgTagsOfInstance(id) } };
  }
  if (name === 'ec2:AssociateAddress') {
    const eip = `arn:aws:ec2:${l.region}:${l.account}:elastic-ip/${c.form!.AllocationId}`;
    const inst = `arn:aws:ec2:${l.region}:${l.account}:instance/${c.form!.InstanceId}`;
    return {
      action: name,
      resources: [eip, inst],
      context: {},
      resourceTags: { [eip]: l.addressTags(c.form!.AllocationId!), [inst]: l.instanceTags(c.form!.InstanceId!) },
    };
  }
  return { action: name, resources: ['*'], context: {} };
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** IAM's wildcard match: * any run, ? one character; actions case-insensitively. */
export function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'i' : '',
  );
  return re.test(value);
}

function conditionHolds(cond: PolicyStatement['Condition'], req: IamRequest, resource: string): boolean {
  for (const [op, keys] of Object.entries(cond ?? {})) {
    for (const [key, want] of Object.entries(keys)) {
      const tag = /^aws:ResourceTag\/(.+)$/.exec(key);
      const have = tag ? req.resourceTags?.[resource]?.[tag[1]!] : req.context[key];
      if (have === undefined) return false;
      const ok =
        op === 'StringEquals' ? list(want).includes(have) : op === 'StringLike' ? list(want).some((w) => wildcard(w, have)) : false;
      if (!ok) return false;
    }
  }
  return true;
}

/** Whether the statements allow `req` on every one of its resources (an explicit Deny wins), and by which statement for each. */
export function allowed(statements: readonly PolicyStatement[], req: IamRequest): { ok: boolean; by: string[] } {
  const by: string[] = [];
  for (const r of req.resources) {
    const applies = (s: PolicyStatement) =>
      list(s.Action).some((a) => wildcard(a, req.action, true)) &&
      list(s.Resource).some((p) => p === '*' || wildcard(p, r)) &&
      conditionHolds(s.Condition, req, r);
    if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return { ok: false, by };
    const a = statements.find((s) => s.Effect === 'Allow' && applies(s));
    if (!a) return { ok: false, by };
    // the statement that allowed it: its Sid, or itself as JSON where the role carries none (the master's)
    by.push(a.Sid ?? JSON.stringify(a));
  }
  return { ok: true, by };
}
