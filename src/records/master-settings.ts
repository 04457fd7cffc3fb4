/**
 * The schema of AgentConfig.master (the master flow's settings; derived by src/model/master-settings.ts
 * at `create`, read by the master's agent at boot). Its type is the model's, checked here.
 */
import { z } from 'zod';
import type { MasterSettings } from '../model/master-settings.js';

export const masterSettingsSchema = z.object({
  controlPlaneCount: z.number().int().min(1),
  masterDns: z.string().min(1),
  apiCertSans: z.array(z.string().min(1)),
  backupIntervalMinutes: z.number().int().min(1),
  backupRetentionDays: z.number().int().min(1),
  helmVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  addons: z.object({
    cilium: z.string().min(1),
    awsCcmChart: z.string().min(1),
    awsCcmImage: z.string().min(1),
    ebsCsiChart: z.string().min(1),
    clusterAutoscalerChart: z.string().min(1),
    clusterAutoscalerImage: z.string().min(1),
    nthChart: z.string().min(1),
  }),
  encryption: z.object({
    provider: z.enum(['aescbc', 'kms']),
    config: z.string().min(1),
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
    kms: z.object({ keyArn: z.string().startsWith('arn:'), region: z.string().min(1), image: z.string().min(1) }).optional(),
  }),
  nth: z.object({ queueUrl: z.string().url(), roleArn: z.string().startsWith('arn:').optional() }).optional(),
  irsa: z
    .object({
      serviceAccountIssuer: z.string().url(),
      defaultServiceAccountIssuer: z.string().min(1),
      ebsCsiRoleArn: z.string().startsWith('arn:'),
      clusterAutoscalerRoleArn: z.string().startsWith('arn:'),
    })
    .optional(),
});

// the schema reads exactly what the model writes
type Parsed = z.infer<typeof masterSettingsSchema>;
const _sameShape: [Parsed extends MasterSettings ? true : false, MasterSettings extends Parsed ? true : false] = [true, true];
void _sameShape;

/** The master settings of an agent configuration, or an error saying why they are missing or malformed. */
export function parseMasterSettings(raw: unknown): MasterSettings | Error {
  if (raw === undefined) return new Error('the agent configuration has no master settings (made by a kubeaz older than the agent?)');
  const r = masterSettingsSchema.safeParse(raw);
  return r.success
    ? r.data
    : new Error(
        `the agent configuration's master settings have the wrong shape: ${r.error.issues.map((i) => `master.${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
}
