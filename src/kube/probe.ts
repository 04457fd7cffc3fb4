/**
 * Reading the cluster's Kubernetes API with @kubernetes/client-node, through an admin kubeconfig:
 * the server version, the nodes and the kube-system pods. A TCP connection is tried first (a few
 * seconds): an API that cannot be reached (private-only, not up yet) is an answer, not an error,
 * and nothing hangs on it. Every request is bounded by an AbortSignal.
 */
import { connect } from 'node:net';
import type { V1Node, V1Pod } from '@kubernetes/client-node';

export type ApiRead =
  { reachable: true; serverVersion: string; nodes: V1Node[]; pods: V1Pod[] } | { reachable: false; server: string; reason: string };

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (why?: string) => {
      sock.destroy();
      clearTimeout(timer);
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${Math.round(timeoutMs / 1000)}s`), timeoutMs);
    sock.once('connect', () => done());
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ENOTFOUND' ? `${host} does not resolve` : (e.code ?? e.message)));
  });
}

export async function readKubernetes(
  kubeconfig: string,
  opts: { connectTimeoutMs?: number; requestTimeoutMs?: number } = {},
): Promise<ApiRead> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig);
  const server = kc.getCurrentCluster()?.server ?? '';
  const url = new URL(server);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const unreachable = await tcpProbe(url.hostname.replace(/^\[|\]$/g, ''), port, opts.connectTimeoutMs ?? 5000);
  if (unreachable) return { reachable: false, server, reason: unreachable };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.requestTimeoutMs ?? 20_000);
  // bound every request: the generated client takes the signal through a middleware
  const options = {
    middleware: [
      {
        pre: (ctx: import('@kubernetes/client-node').RequestContext) => {
          ctx.setSignal(abort.signal);
          return new k8s.Observable(Promise.resolve(ctx));
        },
        post: (r: import('@kubernetes/client-node').ResponseContext) => new k8s.Observable(Promise.resolve(r)),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  };
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const [version, nodes, pods] = await Promise.all([
      kc.makeApiClient(k8s.VersionApi).getCode(options),
      core.listNode({}, options),
      core.listNamespacedPod({ namespace: 'kube-system' }, options),
    ]);
    return { reachable: true, serverVersion: version.gitVersion, nodes: nodes.items, pods: pods.items };
  } catch (e) {
    const err = e as Error & { code?: number | string; body?: string };
    const reason = abort.signal.aborted
      ? 'no answer in time'
      : typeof err.code === 'number'
        ? `HTTP ${err.code}${/Unauthorized|Forbidden/.test(String(err.body)) ? ' (credentials refused)' : ''}`
        : (err.code ?? err.message).toString().split('\n')[0]!;
    return { reachable: false, server, reason };
  } finally {
    clearTimeout(timer);
  }
}
