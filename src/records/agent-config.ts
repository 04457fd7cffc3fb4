/**
 * The node agent's configuration: one typed document per cluster, rendered at `create` by the
 * model (src/model) into the cluster bucket under AGENT_CONFIG_KEY (so plan and drift show it)
 * and fetched by the agent at boot. It holds no secret: every role may read it.
 *
 * The cluster's facts are written here, the master flow's fields under `master`. What differs per
 * group (role, labels, taints, elastic-IP pool) is not: each group's user data passes its own
 * (GroupSettings), so adding or removing a group does not change this document.
 */
import { z } from 'zod';

/** Where the agent's configuration lives in the cluster bucket. */
export const AGENT_CONFIG_KEY = 'agent/config.json';

export const AGENT_ROLES = ['master', 'node', 'loadbalancer'] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

export const taintSchema = z.object({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});
export type AgentTaint = z.infer<typeof taintSchema>;

/**
 * What one group's instances are, passed by its user data (`kubeaz-agent boot --settings JSON`):
 * it travels with the launch template version, so an instance runs with the settings of the
 * version it was launched from, and a group whose removal waits for `--allow-delete` keeps its own.
 */
export const groupSettingsSchema = z.object({
  role: z.enum(AGENT_ROLES),
  /** labels the kubelet registers with (node-role.kubernetes.io/* excluded: NodeRestriction) */
  labels: z.record(z.string(), z.string()),
  taints: z.array(taintSchema),
  /** loadbalancer groups: how many pre-allocated elastic IPs its pool holds (tag kubeaz:eip-pool=<group>) */
  elasticIps: z.number().int().min(0),
});
export type GroupSettings = z.infer<typeof groupSettingsSchema>;

/** A group's settings from their JSON text, or an error saying why they are not. */
export function parseGroupSettings(text: string): GroupSettings | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new Error(`group settings are not JSON: ${(e as Error).message}`);
  }
  const r = groupSettingsSchema.safeParse(raw);
  return r.success
    ? r.data
    : new Error(
        `group settings have the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
}

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
  return r.success
    ? r.data
    : new Error(
        `agent configuration has the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
}
