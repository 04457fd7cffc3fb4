/**
 * logs' operation: what an instance's boot did, from AWS alone — its boot report from
 * `boot/<instance-id>.json` and its console output (EC2 GetConsoleOutput) — for one instance of
 * the cluster or every instance of a group. An instance must carry this cluster's tags; a
 * terminated one EC2 no longer lists is read from its report alone.
 */
import { KubeazError } from '../aws/errors.js';
import { bucketName, masterGroups } from '../model/names.js';
import type { BootReport } from '../records/boot.js';
import { BOOT_STORE_CALLS, readBootReports } from '../records/boot-store.js';
import { consoleOutput, groupInstances, instanceById, INSTANCE_CALLS, type ClusterInstance } from '../resources/index.js';
import { UsageError } from '../errors.js';
import type { Session } from './session.js';

/** What `logs` shows of one instance (the JSON's `instances` entries). */
/** The IAM actions logs calls: boot reports and the instances' console output. */
export const LOGS_CALLS: readonly string[] = [...BOOT_STORE_CALLS, ...INSTANCE_CALLS];

export interface InstanceLogs {
  instanceId: string;
  group: string;
  /** EC2's state, or `gone` when EC2 no longer lists it */
  state: string;
  zone?: string;
  boot: BootReport | null;
  /** a report exists but is not one (why) */
  bootInvalid?: string;
  /** the console output, decoded; null when it could not be read (consoleError says why) */
  console: { output: string; timestamp: string | null } | null;
  consoleError?: string;
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** The boot report and console output of `target`: an instance id (i-…) or a group's name. */
export async function instanceLogs(s: Session, target: string): Promise<InstanceLogs[]> {
  const instances = INSTANCE_ID.test(target) ? [await oneInstance(s, target)] : await ofGroup(s, target);
  const stored = await readBootReports(
    await s.aws.s3(),
    bucketName(s.clusterId, s.ctx.accountId),
    instances.map((i) => i.id),
    s.ctx.accountId,
  );
  if (instances.length === 1 && instances[0]!.state === 'gone' && 'none' in (stored.get(instances[0]!.id) ?? { none: true }))
    throw new KubeazError(
      `no instance ${target} in ${s.spec.spec.region} (account ${s.ctx.accountId}), and no boot report of it in s3://${bucketName(s.clusterId, s.ctx.accountId)}/boot/`,
      'NoSuchInstance',
      target,
    );
  const out: InstanceLogs[] = [];
  for (const i of instances) {
    const b = stored.get(i.id) ?? { none: true };
    const entry: InstanceLogs = {
      instanceId: i.id,
      group: i.group || ('report' in b ? b.report.group : ''),
      state: i.state,
      ...(i.zone ? { zone: i.zone } : {}),
      boot: 'report' in b ? b.report : null,
      ...('invalid' in b ? { bootInvalid: b.invalid } : {}),
      console: null,
    };
    if (i.state === 'gone') entry.consoleError = 'EC2 no longer lists the instance (terminated): no console output';
    else {
      try {
        const c = await consoleOutput(s.ctx, i.id);
        entry.console = { output: c.text, timestamp: c.timestamp ? c.timestamp.toISOString() : null };
      } catch (e) {
        entry.consoleError = `GetConsoleOutput: ${(e as Error).message}`;
      }
    }
    out.push(entry);
  }
  return out;
}

/** One instance by id: this cluster's, or refused; a terminated one EC2 forgot is read from its report. */
async function oneInstance(s: Session, id: string): Promise<ClusterInstance> {
  const found = await instanceById(s.ctx, id);
  if ('notMine' in found)
    throw new KubeazError(
      `${id} is not an instance of ${s.clusterId} (${found.notMine}): refusing to read its report or console`,
      'NotThisCluster',
      id,
    );
  if ('gone' in found) return { id, group: '', state: 'gone' };
  return found.mine;
}

/** Every instance EC2 still lists of one of the spec's groups. */
async function ofGroup(s: Session, group: string): Promise<ClusterInstance[]> {
  const groups = [...masterGroups(s.spec).map((m) => m.name), ...s.spec.spec.nodeGroups.map((g) => g.name)];
  if (!groups.includes(group))
    throw new UsageError(`${group}: not an instance id (i-…) nor a group of ${s.clusterId} (groups: ${groups.join(', ')})`);
  const found = await groupInstances(s.ctx, [group]);
  if (!found.length)
    throw new KubeazError(
      `the group ${group} of ${s.clusterId} has no instance (EC2 lists none with its tags)`,
      'NoInstances',
      `asg/${group}`,
    );
  return found;
}
