/**
 * The node agent's configuration: one typed document per cluster, rendered at `create` by the
 * model (src/model) into the cluster bucket under AGENT_CONFIG_KEY (so plan and drift show it)
 * and fetched by the agent at boot. It holds no secret: every role may read it.
 *
 * The node side (cluster facts, the groups with their labels, taints and elastic-IP pools) is
 * written here; the master flow's fields live under `master` (a-agent adds them).
 */
import { z } from 'zod';

/** Where the agent's configuration lives in the cluster bucket. */
export const AGENT_CONFIG_KEY = 'agent/config.json';

/** The bucket prefix of the agent's files (the bundle, its configuration): kubeaz's own. */
export const AGENT_PREFIX = 'agent/';

export const AGENT_ROLES = ['master', 'node', 'loadbalancer'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

export const taintSchema = z.object({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});
export type AgentTaint = z.infer<typeof taintSchema>;

export const agentGroupSchema = z.object({
  role: z.enum(AGENT_ROLES),
  /** the auto scaling group's name (an instance without an injected group finds itself by it) */
  asgName: z.string().min(1),
  /** labels the kubelet registers with (node-role.kubernetes.io/* excluded: NodeRestriction) */
  labels: z.record(z.string(), z.string()),
  taints: z.array(taintSchema),
  /** loadbalancer groups: how many pre-allocated elastic IPs its pool holds (tag kubeaz:eip-pool=<group>) */
  elasticIps: z.number().int().min(0),
});
export type AgentGroup = z.infer<typeof agentGroupSchema>;

export const agentConfigSchema = z.object({
  /** the format's version: an agent refuses a document newer than it knows */
  version: z.literal(1),
  clusterId: z.string().min(1),
  region: z.string().min(1),
  bucket: z.string().min(1),
  kubernetesVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  /** the API as nodes reach it: `master.<internal domain>:443` (the internal load balancer) */
  apiEndpoint: z.string().min(1),
  internalDomain: z.string().min(1),
  podCidr: z.string().min(1),
  serviceCidr: z.string().min(1),
  vpcCidr: z.string().min(1),
  /** every group of the cluster, masters included, by group name */
  groups: z.record(z.string(), agentGroupSchema),
  /** the master flow's settings (a-agent): left open here so the node side never depends on them */
  master: z.record(z.string(), z.unknown()).optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** A configuration parsed from its JSON text, or an error saying why it is not one. */
export function parseAgentConfig(text: string): AgentConfig | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new Error(`agent configuration is not JSON: ${(e as Error).message}`);
  }
  const r = agentConfigSchema.safeParse(raw);
  return r.success ? r.data : new Error(`agent configuration has the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

/** The JSON text the model puts in the bucket: keys in a stable order, so an unchanged spec is an unchanged object. */
export function renderAgentConfig(c: AgentConfig): string {
  return `${JSON.stringify(c, stableKeys, 2)}\n`;
}

function stableKeys(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  }
  return v;
}
