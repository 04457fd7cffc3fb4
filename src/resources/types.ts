/**
 * The one small contract every resource kind implements. Adding a kind = one file (its edges
 * included) + registering it in index.ts; the engine knows nothing AWS-specific and no kind.
 */
import type { AwsClients } from '../aws/clients.js';
import type { Timing } from '../aws/wait.js';
import type { Feature } from '../model/features.js';
import type { DesiredNode, Kind, KindProps, Resolved, Tags } from '../model/types.js';

export type { Timing };

/** What a user sees of a run (printed by engine/progress.ts): one event per finished step, waits as they go. */
export type ProgressEvent =
  | { type: 'create' | 'update' | 'delete' | 'adopt' | 'unchanged' | 'skip'; key: string; detail?: string; seconds?: number }
  | { type: 'wait'; what: string; ready: number; total: number; seconds: number }
  | { type: 'info'; message: string }
  | { type: 'warn'; message: string };

export interface Progress {
  emit(e: ProgressEvent): void;
}

export interface Actual {
  key: string;
  kind: Kind;
  /** the AWS id (or name, for kinds identified by name) */
  id: string;
  /** other attributes dependents may reference (arn, dnsName, publicIp, version, name) */
  attrs: Record<string, string>;
  tags: Tags;
  /** kind-specific observed properties, compared by the kind's diff */
  observed?: unknown;
  /** lifecycle state where AWS reports one (NAT: pending/available) */
  state?: string;
}

/**
 * What a kind with observed properties of type O hands out and gets back: every Actual it returns
 * (observe, create, update, settle) carries them, so its other methods read them without a cast.
 * The engine sees plain Actuals (ResourceHandler<K> with O left unknown).
 */
export type ActualOf<O> = unknown extends O ? Actual : Actual & { observed: O };

export interface ResolvedNode<K extends Kind = Kind> {
  key: string;
  kind: K;
  props: Resolved<KindProps[K]>;
  tags: Tags;
}

export interface Change {
  field: string;
  from: unknown;
  to: unknown;
  /** can be applied to the existing resource; otherwise it needs a replacement we refuse to do */
  inPlace: boolean;
}

export interface Health {
  key: string;
  ok: boolean;
  summary: string;
  details?: Record<string, unknown>;
}

/** Something observe found carrying this cluster id that belongs to another cluster (and was left alone). */
export interface Sighting {
  /** what it is: its logical key or name */
  what: string;
  /** the region it lives in, when that is not this run's */
  region?: string;
  /** `name/environment` of the cluster it belongs to, when that is not this spec's */
  cluster?: string;
}

export interface RunContext {
  clusterId: string;
  /** the spec's name and environment: the ownership tags must not say otherwise (absent in some unit tests) */
  owner?: { name: string; environment: string };
  /** filled by observe: what carried this cluster id but proved to be another cluster's; reset with the memo */
  sightings: Sighting[];
  /** logical key → AWS id from the state file, when there is one: where two resources claim a key, the known one is used */
  stateIds?: Record<string, string>;
  region: string;
  accountId: string;
  /** new for every cluster built from nothing; idempotency tokens derive from it */
  generation: string;
  aws: AwsClients;
  progress: Progress;
  timing: Timing;
  signal: AbortSignal;
  /** memoises a read for the rest of the current observe pass (two kinds sharing one describe) */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** starts a new observe pass: forgets the memoised reads and the sightings (the engine calls it, a kind never does) */
  resetMemo(): void;
  /**
   * State that lives as long as the run (not one observe pass): made by `make` on first use of
   * `key`, the same value afterwards — e.g. the coalescing waiter every wait of a kind shares.
   */
  perRun<T>(key: string, make: () => T): T;
  /** the idempotency token of a logical key (ClientToken, CallerReference) */
  token(key: string): string;
  /** DNS domains the cluster may hold records in: the private zone's, and the public one if any */
  zoneDomains: string[];
  /** the spec's public domain: its one existing public zone is adopted (records only), never owned */
  publicDomain?: string;
  /** destroy --delete-backups: the bucket's etcd snapshots (and pki/) go too */
  deleteBackups?: boolean;
  /**
   * The optional features the spec asks for (model/features.ts featuresOfSpec): their resources
   * are read whatever the VPC records (resources/cluster-record.ts mayHave). Unset: only the record.
   */
  features?: ReadonlySet<Feature>;
}

/**
 * Where a kind stands among the others, declared beside its code (as kops' resource listers in
 * pkg/resources/aws declare Blocks/Blocked): the engine derives create's and destroy's orders from
 * these (engine/edges.ts) and keeps no table of kinds.
 */
export interface KindEdges {
  /**
   * The kinds whose resources must exist before one of this kind is made. The desired graph's edges
   * between kinds run only along these (test/unit/kinds-order.test.ts holds every area builder to
   * it). Destroy reverses them: none of these is deleted while a resource of this kind stands.
   */
  readonly waitsFor: readonly Kind[];
  /**
   * Kinds that wait for this one when they are made, but need not be gone before it is deleted: AWS
   * lets it go while they still stand. Destroy drops exactly these reversed edges. Say why.
   */
  readonly notBlockedBy?: readonly Kind[];
}

/**
 * The IAM actions (`ec2:DescribeVpcs`, `s3:ListBucket`: aws/iam-actions.ts names them) a kind's
 * methods call, its shared modules and aws/ helpers included, grouped by the verb that mostly uses
 * them. The operator's policy (operations/iam-policy.ts, `kubeaz iam-policy`) is assembled from
 * these; test/unit/iam-policy.test.ts holds each kind to the SDK commands its file and the shared
 * modules it imports send, and test/e2e/iam-policy.test.ts records a whole lifecycle's calls.
 */
export interface KindCalls {
  /** observe, health, plan details, name and holder lookups: reads */
  readonly observe: readonly string[];
  readonly create: readonly string[];
  readonly update?: readonly string[];
  readonly delete: readonly string[];
}

/** The contract of kind K; O is the type of its Actuals' `observed` (ActualOf). */
export interface ResourceHandler<K extends Kind = Kind, O = unknown> {
  readonly kind: K;
  /** the IAM actions it calls (KindCalls): the operator policy is built from these */
  readonly calls: KindCalls;
  /** what it waits for when made, and so what it blocks from deletion (KindEdges) */
  readonly edges: KindEdges;
  /** Every resource of this kind the cluster owns, found by its ownership proof. One batched read. */
  observe(ctx: RunContext): Promise<ActualOf<O>[]>;
  create(ctx: RunContext, node: ResolvedNode<K>): Promise<ActualOf<O>>;
  /** Differences between desired and actual; empty when they match. */
  diff(node: ResolvedNode<K>, actual: ActualOf<O>): Change[];
  /** Apply in-place changes; only called with changes whose inPlace is true. */
  update?(ctx: RunContext, node: ResolvedNode<K>, actual: ActualOf<O>, changes: Change[]): Promise<ActualOf<O>>;
  /**
   * Waits until a resource (made by this run, or found still in the making) is ready for the
   * dependents that need it ready (DesiredNode.ready) — a NAT gateway `available`; throws when it
   * ends failed. Without it a resource is ready once `create` returns. Makes no call when the
   * resource is ready already.
   */
  settle?(ctx: RunContext, actual: ActualOf<O>): Promise<ActualOf<O>>;
  /** Idempotent: NotFound is done. DependencyViolation is thrown for the engine to retry. */
  delete(ctx: RunContext, actual: ActualOf<O>): Promise<void>;
  health?(ctx: RunContext, actuals: ActualOf<O>[]): Promise<Health[]>;
  /**
   * What lives inside this resource that kubeaz did not put there (objects in the bucket, access
   * keys of a user, managed policies attached by hand): destroy names it before asking, since it
   * goes only because its container goes. Read at destroy only.
   */
  foreignContents?(ctx: RunContext, actual: ActualOf<O>): Promise<string[]>;
  /**
   * The plan's word on an in-place update of this kind (the engine knows no kind): a note for the
   * user and, where the update changes what dependents see (a launch template's next version), the
   * resource as it will be afterwards. Pure.
   */
  planUpdate?(node: ResolvedNode<K>, actual: ActualOf<O>, changes: Change[]): { note?: string; after?: Actual };
  /** The plan's note beside a deletion of this kind (a group goes with its instances). */
  readonly deleteNote?: string;
  /**
   * A deletion that needs no --allow-delete: a file of kubeaz's own that nothing the spec names uses
   * any longer (a superseded agent bundle, the bootstrap scripts of an older kubeaz). `create`
   * removes it once everything else is applied (every group launches the current version by then).
   */
  retired?(actual: ActualOf<O>): boolean;
  /**
   * Field-level detail of a planned update, read from AWS (no mutating call; a failed read leaves
   * the plan's own fields): a launch template compared by hash names the fields that differ.
   */
  planDetail?(
    ctx: RunContext,
    node: ResolvedNode<K>,
    actual: ActualOf<O>,
    changes: Change[],
  ): Promise<Array<{ field: string; from: unknown; to: unknown }>>;
  /**
   * For kinds whose names are unique per account and region but derived from more than the
   * cluster id (`<id>-<group>`): what already carries any of these names, with its tags, whoever
   * made it. Names are compared here, on what came back. plan/create refuse a name held by another
   * cluster before any mutating call.
   */
  nameHolders?(ctx: RunContext, names: readonly string[]): Promise<Array<{ name: string; tags: Tags }>>;
  /**
   * For kinds whose identity is account-wide and fixed by the spec alone (an IAM OIDC provider is
   * its issuer URL: one per URL and account): what already stands where these nodes, which the
   * cluster does not own, would be made — its id and its tags, whoever made it. plan lists each as
   * refused (naming the id), so create applies nothing instead of failing half-way. Asked only
   * about nodes not observed as ours: a run with nothing to create makes no extra call. Each names
   * what stands there (`what`), why it is in the way (`why`) and what the user can do (`remedy`):
   * the plan's reason is "<what> already exists and belongs to <holder>: <why>; kubeaz will not
   * adopt or replace it. <remedy>".
   */
  heldBy?(
    ctx: RunContext,
    nodes: ReadonlyArray<DesiredNode<K>>,
  ): Promise<Array<{ key: string; id: string; tags: Tags; what: string; why: string; remedy: string }>>;
}
