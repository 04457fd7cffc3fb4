/**
 * Talking to the cluster's Kubernetes API from kubeaz itself (rollout's version wait, the
 * acceptance run) through @kubernetes/client-node, with the admin kubeconfig `kubeaz kubeconfig`
 * signs (adminKubeconfig in src/operations/endpoint.ts).
 */
import { KubeazError } from '../aws/errors.js';
import { GROUP_LABEL } from './health.js';
import { readKubernetes } from './probe.js';
import { sleep } from '../util/async.js';

/** A KubeConfig of @kubernetes/client-node loaded from kubeconfig text. */
export async function kubeConfigFrom(text: string) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(text);
  return { k8s, kc };
}

/** The API server's version (gitVersion, e.g. v1.35.0), or a clear error when no API answers. */
export async function apiServerVersion(kubeconfig: string, timeoutMs = 10_000): Promise<string> {
  const { k8s, kc } = await kubeConfigFrom(kubeconfig);
  const server = kc.getCurrentCluster()?.server ?? '?';
  try {
    const api = kc.makeApiClient(k8s.VersionApi);
    const v = await Promise.race([
      api.getCode(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs).unref()),
    ]);
    return v.gitVersion;
  } catch (e) {
    throw new KubeazError(`no Kubernetes API answers at ${server}: ${(e as Error).message}`, 'NoKubernetesApi', 'kubernetes', { cause: e });
  }
}

/** Polls until the API server reports `version` (v-prefix optional), or throws after `maxSeconds`. */
export async function waitForApiVersion(
  kubeconfig: string,
  version: string,
  opts: { pollSeconds: number; maxSeconds: number; onPoll?: (seen: string, seconds: number) => void; signal?: AbortSignal },
): Promise<void> {
  const want = version.replace(/^v/, '');
  const started = Date.now();
  let last = '';
  for (;;) {
    try {
      last = (await apiServerVersion(kubeconfig)).replace(/^v/, '');
      if (last === want) return;
    } catch (e) {
      last = (e as Error).message;
    }
    const seconds = (Date.now() - started) / 1000;
    opts.onPoll?.(last, seconds);
    if (seconds > opts.maxSeconds || opts.signal?.aborted)
      throw new KubeazError(
        `the API server did not report v${want} within ${opts.maxSeconds}s (last: ${last})`,
        'ApiVersionTimeout',
        'kubernetes',
      );
    await sleep(opts.pollSeconds * 1000);
  }
}

/** One GET of an API server path (/readyz/etcd, …) with the kubeconfig's credentials: the HTTP status, or why none came. */
export async function apiGet(
  kubeconfig: string,
  pathName: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string } | { error: string }> {
  const { kc } = await kubeConfigFrom(kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (!server) return { error: 'the kubeconfig names no server' };
  const { request } = await import('node:https');
  const url = new URL(pathName, server);
  const opts: import('node:https').RequestOptions = {
    method: 'GET',
    hostname: url.hostname,
    port: url.port || 443,
    path: url.pathname + url.search,
    timeout: timeoutMs,
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve) => {
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end();
  });
}

/**
 * Polls until a replaced master is back: etcd healthy as the API server sees it (/readyz/etcd),
 * the API server Ready (/readyz), and a Ready node of `group` (kubeaz.io/node-group) created since
 * `since` — the new instance's. Throws after `maxSeconds`.
 */
export async function waitForMasterBack(
  kubeconfig: string,
  group: string,
  since: Date,
  opts: { pollSeconds: number; maxSeconds: number; onPoll?: (missing: string, seconds: number) => void; signal?: AbortSignal },
): Promise<void> {
  const started = Date.now();
  let missing = '';
  for (;;) {
    const etcd = await apiGet(kubeconfig, '/readyz/etcd');
    const ready = await apiGet(kubeconfig, '/readyz');
    if ('error' in etcd) missing = `API server: ${etcd.error}`;
    else if (etcd.status !== 200) missing = `etcd not healthy (/readyz/etcd: HTTP ${etcd.status})`;
    else if ('error' in ready || ready.status !== 200)
      missing = `API server not Ready (/readyz: ${'error' in ready ? ready.error : `HTTP ${ready.status}`})`;
    else {
      const read = await readKubernetes(kubeconfig);
      if (!read.reachable) missing = `nodes not readable: ${read.reason}`;
      else {
        const fresh = read.nodes.filter(
          (n) =>
            n.metadata?.labels?.[GROUP_LABEL] === group && new Date(n.metadata?.creationTimestamp ?? 0).getTime() >= since.getTime() - 1000,
        );
        const isReady = fresh.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        if (isReady) return;
        missing = fresh.length ? `the new node of ${group} is not Ready yet` : `no new node of ${group} registered yet`;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    opts.onPoll?.(missing, seconds);
    if (seconds > opts.maxSeconds || opts.signal?.aborted)
      throw new KubeazError(`${group} is not back after ${opts.maxSeconds}s: ${missing}`, 'ControlPlaneNotBack', 'kubernetes');
    await new Promise((r) => setTimeout(r, opts.pollSeconds * 1000));
  }
}
