/**
 * What every AWS-touching command shares: load the spec, build clients for the spec's region,
 * learn the account, gather the facts the model needs, derive and check the graph, and handle
 * Ctrl-C (stop starting work, let in-flight calls finish, save state, exit 130).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsClients, profileExists, recordCalls, type CallCounter } from '../aws/clients.js';
import { createRunContext, DEFAULT_TIMING, timingFromEnv } from '../engine/context.js';
import { validateGraph } from '../engine/graph.js';
import { ConsoleProgress, type Progress } from '../engine/progress.js';
import { deriveGraph, imageUpdates, requiredArchs, SSM_IMAGE_PARAMETERS, type Arch, type Facts } from '../model/derive.js';
import type { ImageUpdate } from '../model/images.js';
import { bucketName, discoveryBucketName, naming } from '../model/names.js';
import { agentBundleOf, type AgentBundle } from '../model/agent.js';
import { featuresOfSpec, featuresSeen } from '../model/features.js';
import type { DesiredGraph } from '../model/types.js';
import type { Actual, RunContext } from '../resources/types.js';
import type { Plan } from '../engine/compare.js';
import { observedIrsaSwitch, switchOfPlan } from '../engine/irsa-switch.js';
import { runningZone } from '../resources/auto-scaling-group.js';
import { recordedImages } from '../resources/index.js';
import { loadCheckedSpec, loadTemplates } from './spec.js';
import { clusterIdOf, type ClusterSpec } from '../spec/schema.js';
import { LocalState, type StateBackend } from '../state/local.js';
import { parseS3Url, S3State } from '../state/s3.js';
import { UsageError } from '../errors.js';

export interface GlobalOptions {
  file: string;
  profile?: string;
  concurrency?: string;
  pollInterval?: string;
  verbose?: boolean;
  debug?: boolean;
  /** s3://bucket/prefix: keep the state in S3 (overrides the spec's `state:`) */
  state?: string;
}

/** create/plan --update-images: every group moves to the image the public parameter names (model/images.ts). */
export interface ImageOptions {
  updateImages?: boolean;
}

export interface Session {
  spec: ClusterSpec;
  file: string;
  clusterId: string;
  aws: AwsClients;
  ctx: RunContext;
  state: StateBackend;
  progress: Progress;
  abort: AbortController;
  concurrency: number;
  warnings: string[];
  facts(): Promise<Facts>;
  graph(): Promise<DesiredGraph>;
  /**
   * The graph for what observe found: where turning IRSA on or off stands (which setting the
   * running masters were launched with) decides which grants it keeps (model/irsa-switch.ts).
   * Each group keeps the image its launch template records, unless `updateImages` (model/images.ts).
   * Needs facts() first (graph() gathers them).
   */
  graphFor(observed: ReadonlyMap<string, Actual>, opts?: ImageOptions): DesiredGraph;
  /** The newer image the public parameter names while groups keep theirs (empty: none, or --update-images moves them). */
  imageUpdate(observed: ReadonlyMap<string, Actual>, opts?: ImageOptions): ImageUpdate[];
  /** plan/create: the plan's word on an IRSA switch, set on the plan */
  noteSwitch(plan: Plan, observed: ReadonlyMap<string, Actual>): void;
  dispose(): void;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The node agent's bundle, built by `npm run build` beside this file's folder (dist/agent/). */
export const AGENT_BUNDLE = path.resolve(here, '..', 'agent', 'kubeaz-agent.mjs');

/** The agent bundle create uploads; a checkout that was only compiled (no bundle) is refused with the fix. */
/** The IAM actions a session calls: the public image parameters (STS GetCallerIdentity needs no permission). */
export const SESSION_CALLS: readonly string[] = ['ssm:GetParameters'];

export async function loadAgentBundle(file = AGENT_BUNDLE): Promise<AgentBundle> {
  let body: string;
  try {
    body = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `the node agent bundle ${file} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): run \`npm run build\`, which makes it`,
    );
  }
  return agentBundleOf(body);
}

/** "N AWS calls (M mutating)": how every command ends its report (kept with the counter, in aws/clients.ts). */
export { summarizeCalls } from '../aws/clients.js';

export async function accountIdOf(aws: AwsClients): Promise<string> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const out = await (await aws.sts()).send(new GetCallerIdentityCommand({}));
  if (!out.Account) throw new Error('STS GetCallerIdentity returned no account');
  return out.Account;
}

/** Amazon Linux 2023 from its public SSM parameters: one call for every architecture needed. */
export async function resolveImages(aws: AwsClients, spec: ClusterSpec): Promise<Partial<Record<Arch, string>>> {
  if (spec.spec.ami) return {};
  const archs = requiredArchs(spec);
  const { GetParametersCommand } = await import('@aws-sdk/client-ssm');
  const out = await (await aws.ssm()).send(new GetParametersCommand({ Names: archs.map((a) => SSM_IMAGE_PARAMETERS[a]) }));
  const images: Partial<Record<Arch, string>> = {};
  for (const a of archs) {
    const p = out.Parameters?.find((x) => x.Name === SSM_IMAGE_PARAMETERS[a]);
    if (!p?.Value) throw new Error(`the image parameter ${SSM_IMAGE_PARAMETERS[a]} does not exist in ${spec.spec.region}; set spec.ami`);
    images[a] = p.Value;
  }
  return images;
}

/**
 * Ctrl-C (or SIGTERM) once: start no new work, let calls in flight finish and save state; twice:
 * quit at once. Returns what stops listening.
 */
function interruptOnSignals(progress: Progress, abort: AbortController): () => void {
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.emit({
        type: 'warn',
        message: 'interrupted: starting no new work, letting calls in flight finish and saving state (Ctrl-C again to quit at once)',
      });
      abort.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  };
}

/**
 * With more than one master, the zone the running cluster's `master` group is in (1 → 3 keeps it
 * there with its instance); one call, made only for an HA spec.
 */
async function runningMasterZone(ctx: RunContext, spec: ClusterSpec): Promise<string | undefined> {
  if (spec.spec.controlPlane.count <= 1) return undefined;
  return runningZone(ctx, naming(spec).asg('master'));
}

/** Told as soon as the session knows its cluster and has its AWS clients (the JSON envelope's run record). */
export interface SessionWatch {
  /** once with the cluster id (the spec read), again with the call counter (the clients made) */
  opened(clusterId: string, counter?: CallCounter): void;
}

export async function openSession(
  opts: GlobalOptions,
  progress: Progress = new ConsoleProgress(process.stderr, { verbose: Boolean(opts.verbose) }),
  watch?: SessionWatch,
): Promise<Session> {
  const { spec, warnings, file } = await loadCheckedSpec(opts.file);
  for (const w of warnings) progress.emit({ type: 'warn', message: w });
  const clusterId = clusterIdOf(spec);
  watch?.opened(clusterId);
  // Before any AWS call: a bad --state is a usage error that must cost nothing.
  const state = stateBackend(opts.state ?? spec.spec.state, file, clusterId, spec.spec.region, opts.profile);
  if (opts.profile) {
    const found = await profileExists(opts.profile);
    if (!found.exists)
      throw new UsageError(
        `--profile ${opts.profile}: the AWS profile '${opts.profile}' does not exist (looked in ${found.files.join(' and ')})`,
      );
  }
  const aws = new AwsClients({ region: spec.spec.region, ...(opts.profile ? { profile: opts.profile } : {}) });
  watch?.opened(clusterId, aws.counter);
  const accountId = await accountIdOf(aws);
  // Before any lock or write: state inside a bucket this cluster owns is deleted by destroy with it.
  refuseOwnBucket(opts.state !== undefined ? '--state' : 'spec.state', opts.state ?? spec.spec.state, clusterId, accountId);
  const abort = new AbortController();
  const timing = timingFromEnv(DEFAULT_TIMING);
  if (opts.pollInterval) timing.pollSeconds = Number(opts.pollInterval);
  const names = naming(spec);
  const ctx = createRunContext({
    clusterId,
    owner: { name: spec.metadata.name, environment: spec.metadata.environment },
    region: spec.spec.region,
    accountId,
    generation: 'unknown',
    aws,
    progress,
    timing,
    signal: abort.signal,
    zoneDomains: [names.internalDomain, ...(spec.spec.dns.publicDomain ? [spec.spec.dns.publicDomain] : [])],
    ...(spec.spec.dns.publicDomain ? { publicDomain: spec.spec.dns.publicDomain } : {}),
  });
  // what the spec asks for is read whatever the VPC records (resources/cluster-record.ts mayHave)
  ctx.features = new Set(featuresOfSpec(spec.spec));
  let facts: Facts | undefined;
  const stopListening = interruptOnSignals(progress, abort);
  const session: Session = {
    spec,
    file,
    clusterId,
    aws,
    ctx: ctx as Session['ctx'],
    state,
    progress,
    abort,
    concurrency: opts.concurrency ? Math.max(1, Number(opts.concurrency)) : 12,
    warnings,
    async facts() {
      if (!facts) {
        const [images, templates, masterZone, agent] = await Promise.all([
          resolveImages(aws, spec),
          loadTemplates(),
          runningMasterZone(ctx as RunContext, spec),
          loadAgentBundle(),
        ]);
        facts = { accountId, images, templates, agent, ...(masterZone ? { masterZone } : {}) };
      }
      return facts;
    },
    async graph() {
      const g = deriveGraph(spec, await session.facts());
      validateGraph(g.nodes);
      return g;
    },
    graphFor(observed, opts = {}) {
      if (!facts) throw new Error('graphFor() before facts()');
      const irsaSwitch = observedIrsaSwitch(spec.spec.iam.serviceAccountIssuerDiscovery.enabled, observed);
      const g = deriveGraph(spec, { ...facts, ...imagesOf(observed, opts), irsaSwitch, seenFeatures: featuresSeen(observed.values()) });
      validateGraph(g.nodes);
      return g;
    },
    imageUpdate(observed, opts = {}) {
      if (!facts) throw new Error('imageUpdate() before facts()');
      return imageUpdates(spec, { ...facts, ...imagesOf(observed, opts) });
    },
    noteSwitch(plan, observed) {
      const sw = switchOfPlan(observedIrsaSwitch(spec.spec.iam.serviceAccountIssuerDiscovery.enabled, observed), plan);
      if (sw) plan.irsaSwitch = sw;
    },
    dispose() {
      stopListening();
    },
  };
  return session;
}

/** The model's image facts from what observe found: each group's recorded image, and --update-images. */
const imagesOf = (observed: ReadonlyMap<string, Actual>, opts: ImageOptions): Pick<Facts, 'recordedImages' | 'updateImages'> => ({
  recordedImages: recordedImages(observed),
  ...(opts.updateImages ? { updateImages: true } : {}),
});

/**
 * State kept in one of the cluster's own buckets (the private bucket or IRSA's discovery bucket) would
 * be deleted by `destroy` with everything else, and every later run would fail on NoSuchBucket:
 * refused as a usage error, before the lock is taken or anything written.
 */
export function refuseOwnBucket(source: string, url: string | undefined, clusterId: string, accountId: string): void {
  const loc = url ? parseS3Url(url) : undefined;
  if (!loc) return;
  const own = [bucketName(clusterId, accountId), discoveryBucketName(clusterId, accountId)];
  if (!own.includes(loc.bucket)) return;
  throw new UsageError(
    `${source} ${url}: s3://${loc.bucket} is this cluster's own bucket, which destroy deletes with the cluster (the state would go with it and every later run fail). ` +
      `Keep the state in a bucket the cluster does not own (e.g. s3://<a team bucket>/kubeaz), or leave ${source} out to keep it in .kubeaz/ beside the spec.`,
  );
}

/**
 * The state backend: the local file beside the spec, or an S3 object (`--state s3://…` or the spec's
 * `state:`). The S3 client of the state is separate from the cluster's: its calls are bookkeeping,
 * not changes to the cluster, and are not counted among the run's AWS calls; it follows a bucket
 * in another region.
 */
export function stateBackend(url: string | undefined, file: string, clusterId: string, region: string, profile?: string): StateBackend {
  if (!url) return new LocalState(file, clusterId);
  const loc = parseS3Url(url);
  if (!loc) throw new UsageError(`--state ${url}: expected s3://bucket/prefix`);
  let client: Promise<import('@aws-sdk/client-s3').S3Client> | undefined;
  return new S3State(
    () =>
      (client ??= import('@aws-sdk/client-s3').then(({ S3Client }) =>
        recordCalls(
          new S3Client({
            region,
            followRegionRedirects: true,
            forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3),
            ...(profile ? { profile } : {}),
          }),
          's3',
        ),
      )),
    loc,
    clusterId,
  );
}

export { UsageError };
