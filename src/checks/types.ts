/**
 * Named checks (issue 22): the cluster rules `plan` refuses on and the pre-flight checks `create`
 * runs before its first mutating call. Each check has a name, declares the input it reads (picked
 * from the run's facts by its `input`; undefined: nothing to check, no call) and is held to a table
 * test (test/unit/checks/). The engine runs them through the registries in checks/index.ts and
 * names no key and no kind; what a check knows of particular kinds and keys lives here, beside it.
 *
 * checks/ sits below the engine and above aws/ (docs/architecture.md "Layers"): a check sees AWS through
 * aws/ and its clients, the model, the spec and util, never a kind's handler. Its context and
 * inputs are declared here structurally, so the engine hands in its RunContext and Actuals as
 * they are.
 */
import type { AwsClients } from '../aws/clients.js';
import type { DesiredGraph, Kind, Tags } from '../model/types.js';
import type { ClusterSpec } from '../spec/schema.js';

// ——— cluster rules (plan: pure, no AWS call) ———

/** What exists, as the engine observed it (an Actual, as far as a rule reads it). */
export interface Observed {
  readonly key: string;
  readonly kind: Kind;
  readonly id: string;
  readonly tags: Tags;
}

/** What every cluster rule may read: what exists, what the spec wants, the spec's zones. */
export interface RuleFacts {
  readonly observed: ReadonlyMap<string, Observed>;
  readonly graph: DesiredGraph;
  readonly zones: readonly string[];
}

/** A change no single node's diff sees and AWS (or etcd) cannot make: the plan refuses it. */
export interface Refusal {
  key: string;
  kind: Kind;
  id: string;
  fields: Array<{ field: string; from: unknown; to: unknown }>;
  reason: string;
}

export interface ClusterRule<I> {
  readonly name: string;
  /** the rule's input, read from the facts; undefined when it has nothing to judge */
  input(facts: RuleFacts): I | undefined;
  check(input: I): Refusal | undefined;
}

// ——— pre-flight (create: reads only) ———

/** The names pre-flight failures carry, in the order they are reported. */
export const PREFLIGHT_ORDER = [
  'elastic-ips',
  'vpcs',
  'zones',
  'instance-type',
  'ami',
  'key-pair',
  'public-zone',
  'dns-record',
  'iam-user',
  'iam-policy',
  'public-access',
  'kms-key',
] as const;
export type PreflightName = (typeof PREFLIGHT_ORDER)[number];

export interface PreflightFailure {
  check: PreflightName;
  message: string;
}

/** What every pre-flight check may read of the run: the spec, the graph and what the plan makes. */
export interface PreflightFacts {
  readonly spec: ClusterSpec;
  readonly graph: DesiredGraph;
  /** keys the plan creates */
  readonly creates: ReadonlySet<string>;
  /** keys the plan creates or updates */
  readonly touched: ReadonlySet<string>;
  /** the spec's public zone is the cluster's own (made by it): nobody else's to check */
  readonly publicZoneOwned: boolean;
  /** the public zone the cluster uses already (owned or adopted) */
  readonly publicZoneId?: string;
}

/** Reads two checks share, made once per pre-flight (checks/shared.ts). */
export interface SharedReads {
  /** the zones of the run's region (DescribeAvailabilityZones) */
  regionZones(): Promise<Set<string>>;
  /** the public hosted zones named `domain` (ListHostedZonesByName) */
  publicZones(domain: string): Promise<Array<{ id: string; comment: string }>>;
}

/** What a pre-flight check may use of the run (a RunContext is one). */
export interface CheckContext {
  readonly aws: AwsClients;
  readonly region: string;
  readonly accountId: string;
  readonly clusterId: string;
  readonly owner?: { name: string; environment: string };
}

export interface PreflightCheck<I> {
  /** the name its failures carry */
  readonly name: PreflightName;
  /** the IAM actions `run` calls (aws/iam-actions.ts names; the operator policy is built from them) */
  readonly calls: readonly string[];
  /** the check's input, read from the facts; undefined when there is nothing to check (no call) */
  input(facts: PreflightFacts): I | undefined;
  /** reads AWS and reports every failure it finds; a thrown error is reported as "could not check" */
  run(ctx: CheckContext, input: I, shared: SharedReads, report: (message: string) => void): Promise<void>;
}

/**
 * A registry holds checks of any input (each reads only the input it declares): the methods are
 * bivariant in their input, so a check of any input is one of these.
 */
export type AnyPreflightCheck = PreflightCheck<unknown>;
export type AnyClusterRule = ClusterRule<unknown>;
