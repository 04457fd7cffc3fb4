/**
 * What every area builder shares: the spec, the names, the facts from outside, and the graph
 * being built. A node's dependencies are the keys its props reference ($ref) plus, listed by hand,
 * only what it needs first without referencing it (`after`) or needs *ready* (`ready`); the graph
 * is checked (every dependency exists, no cycle) when it is built.
 */
import type { ClusterSpec } from '../../spec/schema.js';
import type { AgentBundle } from '../agent.js';
import { GraphError, refsOf, validateGraph } from '../graph.js';
import { baseTags, type Naming } from '../names.js';
import type { Feature } from '../features.js';
import type { ImageRecord } from '../images.js';
import { irsaGrants, settledSwitch, type IrsaSwitch } from '../irsa-switch.js';
import { ref, type AnyNode, type DesiredGraph, type DesiredNode, type Kind, type KindProps, type Ref, type Tags } from '../types.js';

export type Arch = 'x86_64' | 'arm64';

export interface Facts {
  accountId: string;
  /** image id per architecture that the spec needs, as the public AL2023 parameter names it today (ignored when spec.ami is set) */
  images: Partial<Record<Arch, string>>;
  /**
   * The image each group's launch template records (model/images.ts), by group name, as observe
   * found it: a group keeps it (unless `updateImages`). Unset: nothing observed — every group gets `images`.
   */
  recordedImages?: Readonly<Record<string, ImageRecord>>;
  /** create/plan --update-images: every group moves to `images` */
  updateImages?: boolean;
  /** template texts keyed by their path under templates/ */
  templates: Readonly<Record<string, string>>;
  /**
   * The zone the running cluster's `master` group already runs in, when it has more than one
   * master (spec.controlPlane.count > 1): on 1 → 3 it is pinned to that zone and keeps its
   * instance (AWS terminates an instance whose zone leaves its group's subnets). Unset: the first zone.
   */
  masterZone?: string;
  /**
   * Where turning IRSA on or off stands on the running cluster (model/irsa-switch.ts), read from
   * what observe found. Unset (or for the other setting): settled — nothing runs the other setting.
   */
  irsaSwitch?: IrsaSwitch;
  /**
   * The optional features (model/features.ts featuresSeen) observe found on the running cluster —
   * resources of theirs, or the VPC's record of them —: the VPC's `kubeaz:features` tag keeps
   * naming them. Unset: none.
   */
  seenFeatures?: readonly Feature[];
  /** the node agent's bundle (dist/agent/kubeaz-agent.mjs); absent only in unit tests of the model (UNBUILT_AGENT) */
  agent?: AgentBundle;
}

export interface AddOptions {
  /** ordering-only dependencies: keys that must exist first although no prop references them */
  after?: readonly string[];
  /** dependencies that must be ready (DesiredNode.ready), not only made */
  ready?: readonly string[];
  /** tags beside the base ones */
  tags?: Tags;
}

export class GraphBuilder {
  readonly nodes: AnyNode[] = [];
  constructor(private readonly spec: ClusterSpec) {}

  add<K extends Kind>(kind: K, key: string, name: string, props: KindProps[K], opts: AddOptions = {}): Ref {
    const ready = opts.ready ?? [];
    const draft = { key, kind, props, deps: [], tags: {} } as unknown as AnyNode;
    const deps = [...new Set([...refsOf(draft), ...(opts.after ?? []), ...ready])];
    const node: DesiredNode<K> = {
      key,
      kind,
      props,
      deps,
      tags: baseTags(this.spec, key, name, opts.tags ?? {}),
      ...(ready.length ? { ready: [...new Set(ready)] } : {}),
    };
    this.nodes.push(node as unknown as AnyNode);
    return ref(key);
  }

  /**
   * The graph, checked: throws GraphError for a missing dependency or a cycle, and for a node
   * added before something it depends on — the list is in dependency order, the order plan prints.
   */
  build(clusterId: string): DesiredGraph {
    validateGraph(this.nodes);
    const listed = new Set<string>();
    for (const n of this.nodes) {
      const early = n.deps.find((d) => !listed.has(d));
      if (early) throw new GraphError(`${n.key} is added before ${early}, which it depends on`);
      listed.add(n.key);
    }
    return { clusterId, nodes: this.nodes };
  }
}

/** The inputs every area builder reads. */
export interface Area {
  spec: ClusterSpec;
  s: ClusterSpec['spec'];
  id: string;
  names: Naming;
  /** the kubernetes.io/cluster/<id> tag key */
  k8s: string;
  facts: Facts;
  b: GraphBuilder;
}

/** The IRSA grants the graph holds: the spec's setting, kept on both sides while a switch is under way. */
export function irsaGrantsOf({ s, facts }: Pick<Area, 's' | 'facts'>): ReturnType<typeof irsaGrants> & { irsa: boolean } {
  const irsa = s.iam.serviceAccountIssuerDiscovery.enabled;
  const sw = facts.irsaSwitch?.irsa === irsa ? facts.irsaSwitch : settledSwitch(irsa);
  return { irsa, ...irsaGrants(sw) };
}
