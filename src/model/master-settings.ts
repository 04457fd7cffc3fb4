/**
 * The master flow's part of the agent configuration (AgentConfig.master): what a master needs to
 * init, join, back up and install the add-ons, derived from the spec at `create` (so plan and drift
 * show it). PURE. The zod schema that reads it on the instance is src/records/master-settings.ts.
 */
import type { ClusterSpec } from '../spec/schema.js';
import { helmFor } from '../spec/versions.js';
import { addonVersionSet, type AddonVersionSet } from './addon-versions.js';
import { IRSA_ADDON_ROLES, irsaSettings, roleArnOf, TemplateError } from './bootstrap.js';
import { encryptionSettings, type EncryptionSettings } from './encryption.js';
import { drainQueueUrl, type Naming } from './names.js';

export interface MasterSettings {
  /** masters in the spec (1: the single master, which always initialises) */
  controlPlaneCount: number;
  /** master.<internal domain>: the internal API load balancer's name */
  masterDns: string;
  /** names the API server certificate carries besides each master's private IP */
  apiCertSans: string[];
  backupIntervalMinutes: number;
  backupRetentionDays: number;
  helmVersion: string;
  addons: AddonVersionSet;
  /** Secrets encrypted at rest: the rendered EncryptionConfiguration (no key in it) and its fingerprint */
  encryption: EncryptionSettings;
  /**
   * The node termination handler in queue-processor mode, on the drain queue (model/areas/drain.ts):
   * its URL, and the handler's own role when IRSA is on. Absent without node groups (no queue): IMDS mode.
   */
  nth?: { queueUrl: string; roleArn?: string };
  /** IAM roles for service accounts, when on */
  irsa?: {
    serviceAccountIssuer: string;
    defaultServiceAccountIssuer: string;
    ebsCsiRoleArn: string;
    clusterAutoscalerRoleArn: string;
  };
}

export function masterSettings(spec: ClusterSpec, names: Naming, accountId: string | undefined): MasterSettings {
  const s = spec.spec;
  const masterDns = `master.${names.internalDomain}`;
  const sans = [masterDns];
  if (s.dns.publicDomain && s.network.apiAccess.length > 0) sans.push(`master.${spec.metadata.environment}.${s.dns.publicDomain}`);
  const irsa = irsaSettings(spec, names, accountId);
  return {
    controlPlaneCount: s.controlPlane.count,
    masterDns,
    apiCertSans: sans,
    backupIntervalMinutes: s.etcd.backupIntervalMinutes,
    backupRetentionDays: s.etcd.backupRetentionDays,
    helmVersion: helmFor(s.kubernetesVersion),
    addons: addonVersionSet(s.kubernetesVersion),
    encryption: encryptionSettings(spec),
    ...(s.nodeGroups.length ? { nth: nthSettings(spec, names, accountId, irsa !== undefined) } : {}),
    ...(irsa
      ? {
          irsa: {
            serviceAccountIssuer: irsa.serviceAccountIssuer,
            defaultServiceAccountIssuer: irsa.defaultServiceAccountIssuer,
            ebsCsiRoleArn: irsa.ebsCsiRoleArn,
            clusterAutoscalerRoleArn: irsa.clusterAutoscalerRoleArn,
          },
        }
      : {}),
  };
}

function nthSettings(spec: ClusterSpec, names: Naming, accountId: string | undefined, irsa: boolean): NonNullable<MasterSettings['nth']> {
  if (!accountId) throw new TemplateError("the drain queue's URL needs the account id");
  const { nodeTerminationHandler } = IRSA_ADDON_ROLES;
  return {
    queueUrl: drainQueueUrl(names.clusterId, spec.spec.region, accountId),
    ...(irsa ? { roleArn: roleArnOf(accountId, names, nodeTerminationHandler.role) } : {}),
  };
}
