/**
 * The boot report: what the node agent on one instance did, written by the agent as it goes to
 * `boot/<instance-id>.json` in the cluster bucket and read by `status` and `logs` (from AWS alone,
 * so it works while the Kubernetes API is down). One type for the writer and the readers.
 */
import { z } from 'zod';

/** The bucket prefix of boot reports: kubeaz's own, removed by destroy. */
export const BOOT_PREFIX = 'boot/';

/** `running` while the agent works, `ready` once its role's last phase is done, `failed` when it gave up. */
export const BOOT_RESULTS = ['running', 'ready', 'failed'] as const;
export type BootResult = (typeof BOOT_RESULTS)[number];

/** A report not updated for this long while `running` is stalled (status flags it). */
export const BOOT_STALL_MS = 10 * 60_000;

export const bootPhaseSchema = z.object({
  name: z.string().min(1),
  /** ISO 8601 */
  start: z.string(),
  /** ISO 8601; absent while the phase runs */
  end: z.string().optional(),
});

export const bootErrorSchema = z.object({
  phase: z.string(),
  message: z.string(),
  /** the last lines of the failing program's output, redacted (tokens, certificate keys, pki/) */
  output: z.string().optional(),
});
export type BootError = z.infer<typeof bootErrorSchema>;

export const bootReportSchema = z.object({
  instanceId: z.string().min(1),
  group: z.string().min(1),
  role: z.enum(['master', 'node', 'loadbalancer']),
  result: z.enum(BOOT_RESULTS),
  /** ISO 8601: the last write */
  updatedAt: z.string(),
  phases: z.array(bootPhaseSchema),
  error: bootErrorSchema.optional(),
});
export type BootReport = z.infer<typeof bootReportSchema>;

export const bootReportKey = (instanceId: string): string => `${BOOT_PREFIX}${instanceId}.json`;

/** A report parsed from its JSON text, or an error saying why it is not one. */
export function parseBootReport(text: string): BootReport | Error {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return new Error(`boot report is not JSON: ${(e as Error).message}`);
  }
  const r = bootReportSchema.safeParse(raw);
  return r.success
    ? r.data
    : new Error(
        `boot report has the wrong shape: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
}

/** The phase a report is at: the last one started (the failing one when failed). */
export function currentPhase(r: BootReport): string | undefined {
  if (r.error) return r.error.phase;
  return r.phases.length ? r.phases[r.phases.length - 1]!.name : undefined;
}

/** Whether a running report has not been updated for BOOT_STALL_MS at `now`. */
export function isStalled(r: BootReport, now: Date): boolean {
  return r.result === 'running' && now.getTime() - Date.parse(r.updatedAt) > BOOT_STALL_MS;
}
