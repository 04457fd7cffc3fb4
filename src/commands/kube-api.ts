/**
 * Talking to the cluster's Kubernetes API from kubeaz itself (rollout's version wait, the
 * acceptance run) through @kubernetes/client-node, with the admin kubeconfig `kubeaz kubeconfig`
 * signs (adminKubeconfig in ./kubeconfig.ts).
 */
import { KubeazError } from '../aws/errors.js';
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
export async function waitForApiVersion(kubeconfig: string, version: string, opts: { pollSeconds: number; maxSeconds: number; onPoll?: (seen: string, seconds: number) => void; signal?: AbortSignal }): Promise<void> {
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
      throw new KubeazError(`the API server did not report v${want} within ${opts.maxSeconds}s (last: ${last})`, 'ApiVersionTimeout', 'kubernetes');
    await sleep(opts.pollSeconds * 1000);
  }
}
