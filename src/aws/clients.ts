/**
 * The AWS clients of one run: created lazily (start-up stays fast), all with the same credentials
 * chain, retry policy and two middlewares: one counts every call by service and action (the
 * no-op-create and benchmark figures come from it), one turns a network failure of a
 * non-idempotent create into a LostResponseError so the SDK never resends it blindly. For the
 * operator policy's test (issue 21), KUBEAZ_RECORD_CALLS=<file> adds a third: every call appends the
 * IAM actions it needs (aws/iam-actions.ts), one a line, to that file.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import { LostResponseError } from './errors.js';
import { iamActionsOf } from './iam-actions.js';
import { DEFAULT_RETRY, PatientRetryStrategy, type RetryOptions } from './retry.js';

export interface CallRecord {
  service: string;
  operation: string;
  mutating: boolean;
}

/** Reads never change anything; everything else counts as mutating. */
export function isMutating(operation: string): boolean {
  return !/^(Describe|List|Get|Head|Lookup|Search)/.test(operation);
}

/** Creates that are unsafe to resend after a lost answer (a second resource could be made). */
export function isNonIdempotentCreate(operation: string): boolean {
  // AddRoleToInstanceProfile: resent after it was applied, IAM answers LimitExceeded (one role per profile).
  return (
    (/^(Create|Allocate|Run|Request|Copy)/.test(operation) && !/^(CreateTags|CreateOrUpdateTags)$/.test(operation)) ||
    operation === 'AddRoleToInstanceProfile'
  );
}

export class CallCounter {
  readonly calls: CallRecord[] = [];
  record(service: string, operation: string): void {
    this.calls.push({ service, operation, mutating: isMutating(operation) });
  }
  get total(): number {
    return this.calls.length;
  }
  get mutating(): number {
    return this.calls.filter((c) => c.mutating).length;
  }
  byAction(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) out[`${c.service}:${c.operation}`] = (out[`${c.service}:${c.operation}`] ?? 0) + 1;
    return out;
  }
  mutatingCalls(): string[] {
    return this.calls.filter((c) => c.mutating).map((c) => `${c.service}:${c.operation}`);
  }
}

/** "N AWS calls (M mutating)": how every command ends its report. */
export function summarizeCalls(c: CallCounter): string {
  return `${c.total} AWS calls (${c.mutating} mutating)`;
}

export interface ClientOptions {
  region: string;
  profile?: string;
  retry?: Partial<RetryOptions>;
  counter?: CallCounter;
  /** tests only: answer requests without a network (odd errors, throttling storms) */
  requestHandler?: unknown;
}

type AnyClient = {
  middlewareStack: {
    add: (mw: unknown, opts: unknown) => void;
    addRelativeTo: (mw: unknown, opts: unknown) => void;
  };
};

/**
 * Test support (test/e2e/iam-policy.test.ts): with KUBEAZ_RECORD_CALLS=<file>, every call of this
 * client appends the IAM actions it needs (aws/iam-actions.ts), one a line, as it is made.
 */
export function recordCalls<C>(client: C, service: string): C {
  const record = process.env.KUBEAZ_RECORD_CALLS;
  if (!record) return client;
  (client as unknown as AnyClient).middlewareStack.add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const actions = iamActionsOf(service, op, (args as { input?: unknown }).input);
      const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
      if (actions.length) fs.appendFileSync(record, actions.map((a) => `${a}\n`).join(''));
      return next(args);
    },
    { step: 'initialize', name: 'kubeazCallRecorder', priority: 'low' },
  );
  return client;
}

function instrument<C>(client: C, service: string, counter: CallCounter): C {
  const stack = (client as unknown as AnyClient).middlewareStack;
  stack.add(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      counter.record(service, op);
      try {
        return await next(args);
      } catch (err) {
        // The final error (after every retry) names the call, so a message can say which one gave up.
        if (typeof err === 'object' && err !== null) (err as { $operation?: string }).$operation ??= `${service}:${op}`;
        throw err;
      }
    },
    { step: 'initialize', name: 'kubeazCallCounter', priority: 'high' },
  );
  recordCalls(client, service);
  stack.addRelativeTo(
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (err) {
        const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const e = err as { $metadata?: { httpStatusCode?: number }; $response?: unknown };
        // No HTTP status means no answer reached us: the request may or may not have been applied.
        if (isNonIdempotentCreate(op) && e?.$metadata?.httpStatusCode === undefined && e?.$response === undefined) {
          throw new LostResponseError(`${service}:${op}`, err);
        }
        throw err;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'kubeazLostResponse' },
  );
  return client;
}

class QuietLogger {
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
}
const QUIET_LOGGER = new QuietLogger();

/**
 * Whether a shared-config profile exists ([profile NAME] in the config file, [NAME] in the
 * credentials file; AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE move them), and where we looked.
 */
export async function profileExists(name: string, env: NodeJS.ProcessEnv = process.env): Promise<{ exists: boolean; files: string[] }> {
  const { readFile } = await import('node:fs/promises');
  const { homedir } = await import('node:os');
  const path = await import('node:path');
  const home = env.HOME ?? homedir();
  const config = env.AWS_CONFIG_FILE ?? path.join(home, '.aws', 'config');
  const credentials = env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, '.aws', 'credentials');
  const sections = async (file: string): Promise<string[]> => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return [...text.matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)].map((m) => m[1]!.replace(/\s+/g, ' '));
  };
  const [inConfig, inCredentials] = await Promise.all([sections(config), sections(credentials)]);
  const exists =
    inConfig.includes(`profile ${name}`) || (name === 'default' && inConfig.includes('default')) || inCredentials.includes(name);
  return { exists, files: [config, credentials] };
}

export class AwsClients {
  readonly counter: CallCounter;
  private readonly cache = new Map<string, unknown>();
  private readonly retry: PatientRetryStrategy;

  constructor(readonly opts: ClientOptions) {
    this.counter = opts.counter ?? new CallCounter();
    const envRetry: Partial<RetryOptions> = {};
    if (process.env.KUBEAZ_MAX_ATTEMPTS) envRetry.maxAttempts = Number(process.env.KUBEAZ_MAX_ATTEMPTS);
    if (process.env.KUBEAZ_RETRY_BASE_MS) envRetry.baseDelayMs = Number(process.env.KUBEAZ_RETRY_BASE_MS);
    this.retry = new PatientRetryStrategy({ ...DEFAULT_RETRY, ...envRetry, ...opts.retry });
    // For the benchmark and tests: every call of this run, by service and action, written at exit.
    const callsFile = process.env.KUBEAZ_CALLS_FILE;
    if (callsFile) {
      process.once('exit', () => {
        const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
        fs.writeFileSync(
          callsFile,
          JSON.stringify({ total: this.counter.total, mutating: this.counter.mutating, byAction: this.counter.byAction() }),
        );
      });
    }
  }

  private common(region: string) {
    return {
      region,
      // The SDK's warnings (e.g. its multi-line notice that AWS_PROFILE and static keys are both
      // set) go to this logger, not to the user's terminal; --profile picks the source explicitly.
      logger: QUIET_LOGGER,
      ...(this.opts.profile ? { profile: this.opts.profile } : {}),
      retryStrategy: this.retry,
      maxAttempts: DEFAULT_RETRY.maxAttempts,
      ...(this.opts.requestHandler ? { requestHandler: this.opts.requestHandler } : {}),
    };
  }

  private async make<C>(
    service: string,
    load: () => Promise<new (cfg: Record<string, unknown>) => C>,
    extra: Record<string, unknown> = {},
    region = this.opts.region,
  ): Promise<C> {
    const key = `${service}@${region}`;
    let c = this.cache.get(key) as C | undefined;
    if (!c) {
      const Ctor = await load();
      c = instrument(new Ctor({ ...this.common(region), ...extra }), service, this.counter);
      this.cache.set(key, c);
    }
    return c;
  }

  ec2(): Promise<EC2Client> {
    return this.make('ec2', async () => (await import('@aws-sdk/client-ec2')).EC2Client);
  }
  autoscaling(): Promise<AutoScalingClient> {
    return this.make('autoscaling', async () => (await import('@aws-sdk/client-auto-scaling')).AutoScalingClient);
  }
  elb(): Promise<ElasticLoadBalancingClient> {
    return this.make('elb', async () => (await import('@aws-sdk/client-elastic-load-balancing')).ElasticLoadBalancingClient);
  }
  /** Network and application load balancers: only Kubernetes makes those (destroy sweeps them). */
  elbv2(): Promise<ElasticLoadBalancingV2Client> {
    return this.make('elbv2', async () => (await import('@aws-sdk/client-elastic-load-balancing-v2')).ElasticLoadBalancingV2Client);
  }
  /** Route53 and IAM are global services, signed in us-east-1. */
  route53(): Promise<Route53Client> {
    return this.make('route53', async () => (await import('@aws-sdk/client-route-53')).Route53Client, {}, 'us-east-1');
  }
  iam(): Promise<IAMClient> {
    return this.make('iam', async () => (await import('@aws-sdk/client-iam')).IAMClient, {}, 'us-east-1');
  }
  s3(): Promise<S3Client> {
    // A custom endpoint (moto, MinIO) cannot take virtual-hosted bucket names.
    const custom = Boolean(process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3);
    return this.make('s3', async () => (await import('@aws-sdk/client-s3')).S3Client, { forcePathStyle: custom });
  }
  /** The drain queue the termination handler reads. */
  sqs(): Promise<SQSClient> {
    return this.make('sqs', async () => (await import('@aws-sdk/client-sqs')).SQSClient);
  }
  /** The rules that send the drain queue what ends an instance. */
  eventbridge(): Promise<EventBridgeClient> {
    return this.make('events', async () => (await import('@aws-sdk/client-eventbridge')).EventBridgeClient);
  }
  /** spec.encryption kms: pre-flight reads the key (DescribeKey) */
  kms(): Promise<KMSClient> {
    return this.make('kms', async () => (await import('@aws-sdk/client-kms')).KMSClient);
  }
  ssm(): Promise<SSMClient> {
    return this.make('ssm', async () => (await import('@aws-sdk/client-ssm')).SSMClient);
  }
  serviceQuotas(): Promise<import('@aws-sdk/client-service-quotas').ServiceQuotasClient> {
    return this.make('servicequotas', async () => (await import('@aws-sdk/client-service-quotas')).ServiceQuotasClient);
  }
  sts(): Promise<STSClient> {
    return this.make('sts', async () => (await import('@aws-sdk/client-sts')).STSClient);
  }
  /**
   * The Price List API (`cost` only): served from us-east-1 for every region's prices. Asked once
   * per price and never vital (the bundled table stands in), so it gets two attempts and short
   * timeouts, not the patient retries of the calls that build a cluster.
   */
  pricing(): Promise<import('@aws-sdk/client-pricing').PricingClient> {
    const quick = {
      retryStrategy: undefined,
      maxAttempts: 2,
      ...(this.opts.requestHandler ? {} : { requestHandler: { connectionTimeout: 5000, requestTimeout: 15000 } }),
    };
    return this.make('pricing', async () => (await import('@aws-sdk/client-pricing')).PricingClient, quick, 'us-east-1');
  }
}
