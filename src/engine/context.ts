/** Building the RunContext of one run. */
import { createHash, randomBytes } from 'node:crypto';
import type { AwsClients } from '../aws/clients.js';
import type { RunContext, Timing } from '../resources/types.js';
import { silentProgress, type Progress } from './progress.js';

/**
 * Real-AWS timing. Tests and the demo shorten the polls (KUBEAZ_POLL_SECONDS or --poll-interval).
 * Waits poll at this fixed interval (src/aws/wait.ts): 3 s notices a NAT gateway or a group within
 * 3 s of its change while each wait loop costs one Describe per 3 s (README, Performance).
 */
export const DEFAULT_TIMING: Timing = {
  pollSeconds: 3,
  maxWaitSeconds: 20 * 60,
  propagationSeconds: 60,
  dependencySeconds: 15 * 60,
};

export function timingFromEnv(base: Timing = DEFAULT_TIMING): Timing {
  const n = (v: string | undefined) => (v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
  return {
    pollSeconds: n(process.env.KUBEAZ_POLL_SECONDS) ?? base.pollSeconds,
    maxWaitSeconds: n(process.env.KUBEAZ_MAX_WAIT_SECONDS) ?? base.maxWaitSeconds,
    propagationSeconds: n(process.env.KUBEAZ_PROPAGATION_SECONDS) ?? base.propagationSeconds,
    dependencySeconds: n(process.env.KUBEAZ_DEPENDENCY_SECONDS) ?? base.dependencySeconds,
  };
}

export const newGeneration = (): string => randomBytes(6).toString('hex');

/** Deterministic per cluster, key and generation; never reused by a later cluster of the same name. */
export function idempotencyToken(clusterId: string, generation: string, key: string): string {
  return createHash('sha256').update(`${clusterId}\0${generation}\0${key}`).digest('hex').slice(0, 32);
}

export function createRunContext(opts: {
  clusterId: string;
  region: string;
  accountId: string;
  generation: string;
  aws: AwsClients;
  progress?: Progress;
  timing?: Timing;
  signal?: AbortSignal;
  zoneDomains?: string[];
  publicDomain?: string;
  owner?: { name: string; environment: string };
}): RunContext {
  let memo = new Map<string, Promise<unknown>>();
  const perRun = new Map<string, unknown>();
  const sightings: RunContext['sightings'] = [];
  let generation = opts.generation;
  return {
    clusterId: opts.clusterId,
    region: opts.region,
    accountId: opts.accountId,
    // Settable: a run learns the generation from the VPC's tag (or makes a new one) after observing.
    get generation() {
      return generation;
    },
    set generation(v: string) {
      generation = v;
    },
    ...(opts.owner ? { owner: opts.owner } : {}),
    sightings,
    aws: opts.aws,
    progress: opts.progress ?? silentProgress,
    timing: opts.timing ?? timingFromEnv(),
    signal: opts.signal ?? new AbortController().signal,
    zoneDomains: opts.zoneDomains ?? [],
    ...(opts.publicDomain ? { publicDomain: opts.publicDomain } : {}),
    memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
      let p = memo.get(key) as Promise<T> | undefined;
      if (!p) {
        p = fn();
        memo.set(key, p);
        p.catch(() => memo.delete(key));
      }
      return p;
    },
    perRun<T>(key: string, make: () => T): T {
      if (!perRun.has(key)) perRun.set(key, make());
      return perRun.get(key) as T;
    },
    token(key: string) {
      return idempotencyToken(opts.clusterId, generation, key);
    },
    resetMemo() {
      memo = new Map();
      sightings.length = 0;
    },
  };
}
