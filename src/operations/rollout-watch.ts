/**
 * What rollout reads about the instances a batch launched: their nodes through the Kubernetes API
 * (the admin kubeconfig, as `kubeaz kubeconfig` signs it), and their boot reports from the cluster
 * bucket (written by the node agent: they answer while the API does not, and say where a boot that
 * never ends stands). The judgement is src/operations/rollout-decide.ts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readKubernetes } from '../kube/probe.js';
import { readBootReports } from '../records/boot-store.js';
import { bootEntries, type BootEntry, type LiveInstance } from './boots.js';
import { nodesByInstance } from './rollout-decide.js';

export interface ReadyObservation {
  api: { reachable: true } | { reachable: false; reason: string };
  /** instance id → its node (matched by spec.providerID), when the API answered */
  nodes: Map<string, { name: string; ready: boolean }>;
  boots: Map<string, BootEntry>;
}

/** Reads what is known of these instances' nodes and boots. */
export type ReadyProbe = (instances: readonly LiveInstance[]) => Promise<ReadyObservation>;

export interface ReadyProbeSources {
  /** the admin kubeconfig text, asked for on every read (the caller keeps it while it is valid); a rejection means no API to ask */
  kubeconfig: () => Promise<string>;
  s3: S3Client;
  bucket: string;
  owner?: string;
  now?: () => Date;
  /** bounds for one read of the API (defaults: readKubernetes') */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function readyProbe(src: ReadyProbeSources): ReadyProbe {
  return async (instances) => {
    const [api, stored] = await Promise.all([
      src.kubeconfig().then(
        (text) =>
          readKubernetes(text, {
            ...(src.connectTimeoutMs ? { connectTimeoutMs: src.connectTimeoutMs } : {}),
            ...(src.requestTimeoutMs ? { requestTimeoutMs: src.requestTimeoutMs } : {}),
          }),
        (e: Error) => ({ reachable: false as const, server: '', reason: `no admin kubeconfig: ${e.message}` }),
      ),
      readBootReports(
        src.s3,
        src.bucket,
        instances.map((i) => i.id),
        src.owner,
      ),
    ]);
    const boots = new Map(bootEntries(instances, stored, src.now?.() ?? new Date()).map((b) => [b.instanceId, b]));
    if (!api.reachable)
      return { api: { reachable: false, reason: `${api.server ? `${api.server}: ` : ''}${api.reason}` }, nodes: new Map(), boots };
    return { api: { reachable: true }, nodes: nodesByInstance(api.nodes), boots };
  };
}
