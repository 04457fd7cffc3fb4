/**
 * The node agent in the cluster bucket, pure: its bundle under a content-addressed key and its
 * configuration document (the shape of src/records/agent-config.ts — the model sits below records/,
 * so it renders the same fields itself; test/unit/agent/model.test.ts parses every rendering with
 * the records' schema). Both live under `agent/`, a prefix only kubeaz writes.
 */
import { createHash } from 'node:crypto';
import type { ClusterSpec } from '../spec/schema.js';
import { clusterIdOf } from '../spec/schema.js';
import { POD_CIDR, SERVICE_CIDR } from '../spec/cidr.js';
import type { Naming } from './names.js';

/** The bundle the CLI uploads at `create` (dist/agent/kubeaz-agent.mjs). */
export interface AgentBundle {
  body: string;
  /** hex SHA-256 of body */
  sha256: string;
}

export const AGENT_PREFIX = 'agent/';
/** = records/agent-config.ts AGENT_CONFIG_KEY (a unit test holds them equal) */
export const AGENT_CONFIG_OBJECT = 'agent/config.json';

export const agentBundleKey = (sha256: string): string => `${AGENT_PREFIX}kubeaz-agent-${sha256}.mjs`;

/** The bundle of a text (its hash computed here). */
export function agentBundleOf(body: string): AgentBundle {
  return { body, sha256: createHash('sha256').update(body, 'utf8').digest('hex') };
}

/**
 * Stands in for the bundle where a caller derives a graph without one (unit tests of the model):
 * the CLI always passes the built file (operations/session.ts), and refuses to run without it.
 */
export const UNBUILT_AGENT: AgentBundle = agentBundleOf('// kubeaz-agent: not built (a model test without dist/agent/kubeaz-agent.mjs)\n');

/** One group's settings (records/agent-config.ts GroupSettings): its user data passes them to the agent. */
export interface GroupSettingsDoc {
  role: 'master' | 'node' | 'loadbalancer';
  labels: Record<string, string>;
  taints: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  elasticIps: number;
}

export function groupSettingsDoc(
  role: GroupSettingsDoc['role'],
  labels: Record<string, string>,
  taints: ReadonlyArray<GroupSettingsDoc['taints'][number]>,
  elasticIps: number,
): GroupSettingsDoc {
  return {
    role,
    labels: { ...labels },
    taints: taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
    elasticIps,
  };
}

/** The agent configuration of a spec (records/agent-config.ts AgentConfig, version 1): the cluster's facts, the masters' settings. */
export function agentConfigDoc(spec: ClusterSpec, names: Naming, bucket: string, master?: object): Record<string, unknown> {
  const s = spec.spec;
  return {
    version: 1,
    clusterId: clusterIdOf(spec),
    region: s.region,
    bucket,
    kubernetesVersion: s.kubernetesVersion,
    apiEndpoint: `master.${names.internalDomain}:443`,
    internalDomain: names.internalDomain,
    podCidr: POD_CIDR,
    serviceCidr: SERVICE_CIDR,
    vpcCidr: s.network.vpcCidr,
    // the master flow's settings (src/model/master-settings.ts, given by the caller; read by src/records/master-settings.ts)
    ...(master ? { master } : {}),
  };
}

/** A value with every object's keys in sorted order (arrays keep theirs). */
const sortedKeys = (v: unknown): unknown =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
      )
    : Array.isArray(v)
      ? v.map(sortedKeys)
      : v;

/** JSON with keys in a stable order: an unchanged spec is an unchanged object (no drift, no upload). */
export function renderAgentConfig(doc: Record<string, unknown>): string {
  return `${JSON.stringify(sortedKeys(doc), null, 2)}\n`;
}

/** Compact JSON with keys in a stable order: one line of user data. */
export function renderGroupSettings(doc: GroupSettingsDoc): string {
  return JSON.stringify(sortedKeys(doc));
}
