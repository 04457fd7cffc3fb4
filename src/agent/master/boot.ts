/**
 * A master's boot, as phases reported through the BootReporter:
 *
 *   packages → kernel → pki (CAs from the bucket, the etcd client certificate made here) →
 *   election (the pure decision of decision.ts, conditional writes for init.json and restore claims)
 *   → dns → restore (init/restore only) → init | join → records → day-jobs (units, first join token)
 *   → first-backup and addons (ONLY the master that ran init or restore)
 *
 * A `kubeadm init` that fails is `kubeadm reset -f` and retried (restore included: reset empties the
 * etcd data dir and pki/); after the last try the instance reports `failed` at its init phase and
 * calls SetInstanceHealth Unhealthy on itself, so the auto scaling group replaces it; the other
 * masters then see init.json's instance gone and take the turn through the restore claim (see
 * decision.ts). One file: the flow reads best top to bottom; the steps it calls live beside it.
 */
import { rm } from 'node:fs/promises';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { KubeazFailure } from '../../errors.js';
import { parseJoin, JOIN_CA_HASH_KEY, JOIN_TOKEN_KEY } from '../../records/join.js';
import type { MasterSettings } from '../../model/master-settings.js';
import { parseMasterSettings } from '../../records/master-settings.js';
import { getText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { ProgramError, type RunResult } from '../programs.js';
import { installAddons } from './addon-runner.js';
import { renewJoinToken } from './day-jobs.js';
import { decide, instancesToDescribe, pendingAdd, replacement, type Decision } from './decision.js';
import { registerMasterDns } from './dns.js';
import { clientUrl, peerUrl, type EtcdAccess } from './etcd-access.js';
import { ensureEtcdutl } from './etcd-tools.js';
import { installPackages, installUnits, kernelSettings, writeHostFile, writeKubeletArgs } from './host.js';
import { APISERVER_PATCH_FILE, apiserverIssuerPatch, CRI_SOCKET, renderInitConfig, renderJoinConfig, type MasterKubeadmInput } from './kubeadm-config.js';
import { KUBEADM_INIT_CONFIG, KUBEADM_JOIN_CONFIG, PATCHES_DIR } from './paths.js';
import { ensureEtcdClientCert, fetchPki } from './pki.js';
import { claim, claimKey, INIT_KEY, isoSeconds, memberKey, readRecords, RESTORE_KEY, write, type ControlPlaneRecords } from './records.js';
import { restoreNewest, snapshotTimeIso, takeBackup } from './snapshots.js';
import { ENABLED_UNITS, masterUnits } from './units.js';

/** What the master flow needs besides the context: etcd, and whether the API answers (tests fake both). */
export interface MasterDeps {
  etcd: EtcdAccess;
  apiUp(): Promise<boolean>;
  /** the command the systemd units run: [node, agent file] */
  agentCommand: readonly string[];
}

export type BootAction = { action: 'init' } | { action: 'join' } | { action: 'restore'; lost: string; claimKey: string };

export function masterSettingsOf(ctx: AgentContext): MasterSettings {
  const s = parseMasterSettings(ctx.config.master);
  if (s instanceof Error) throw new KubeazFailure(s.message, 'internal');
  return s;
}

export function kubeadmInput(ctx: AgentContext, ms: MasterSettings): MasterKubeadmInput {
  return {
    kubernetesVersion: ctx.config.kubernetesVersion,
    clusterId: ctx.config.clusterId,
    masterDns: ms.masterDns,
    podCidr: ctx.config.podCidr,
    serviceCidr: ctx.config.serviceCidr,
    apiCertSans: ms.apiCertSans,
    nodeName: ctx.identity.hostname,
    privateIp: ctx.identity.privateIp,
    ...(ms.irsa ? { patchesDir: hostPath(ctx, PATCHES_DIR) } : {}),
  };
}

/** EC2 states of these instances (a filter, not InstanceIds: an instance gone long ago is unknown, not an error). */
export async function instanceStates(ctx: AgentContext, ids: string[]): Promise<Record<string, string>> {
  if (ids.length === 0) return {};
  const ec2 = await ctx.aws.ec2();
  const out: Record<string, string> = {};
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }], NextToken }));
    for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId && ids.includes(i.InstanceId)) out[i.InstanceId] = i.State?.Name ?? 'unknown';
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** The recorded etcd client URL that answers with a leader (none: undefined). Asked with the client certificate. */
async function liveRecordedMember(deps: MasterDeps, records: ControlPlaneRecords, self: string): Promise<string | undefined> {
  const urls = Object.values(records.members)
    .filter((m) => m.instanceId !== self && m.clientURL)
    .map((m) => m.clientURL!);
  if (urls.length === 0) return undefined;
  return (await deps.etcd.probe(urls)).find((p) => p.ok && p.healthy)?.endpoint;
}

/** One round of looking: what the decision needs, gathered. */
export async function lookAround(ctx: AgentContext, deps: MasterDeps, ms: MasterSettings): Promise<{ decision: Decision; records: ControlPlaneRecords }> {
  const records = await readRecords(ctx.aws, ctx.config.bucket);
  for (const bad of records.invalid) ctx.log(`ignoring s3://${ctx.config.bucket}/${bad.key}: ${bad.error}`);
  const apiUp = ms.controlPlaneCount > 1 ? await deps.apiUp().catch(() => false) : false;
  const joinTokenExists = !apiUp && !records.init && ms.controlPlaneCount > 1 ? (await getText(ctx.aws, ctx.config.bucket, JOIN_TOKEN_KEY)) !== undefined : false;
  const needsLossCheck = ms.controlPlaneCount > 1 && !apiUp && records.init !== undefined;
  const instances = needsLossCheck ? await instanceStates(ctx, instancesToDescribe(records, ctx.identity.instanceId)) : {};
  const liveMember = needsLossCheck ? await liveRecordedMember(deps, records, ctx.identity.instanceId) : undefined;
  const decision = decide({
    self: { instanceId: ctx.identity.instanceId, group: ctx.identity.group },
    controlPlaneCount: ms.controlPlaneCount,
    apiUp,
    records,
    joinTokenExists,
    instances,
    ...(liveMember ? { liveMember } : {}),
    now: ctx.now(),
    unknownGraceMs: ctx.waits.unknownGraceMs,
  });
  return { decision, records };
}

/** The election: decide, race where the decision says so, wait and look again; an hour at most (waits). */
export async function elect(ctx: AgentContext, deps: MasterDeps, ms: MasterSettings): Promise<BootAction> {
  const n = ctx.waits.electionAttempts;
  let why = '';
  for (let i = 1; i <= n; i++) {
    const { decision: d, records } = await lookAround(ctx, deps, ms);
    why = d.why;
    const lost = records.restore?.by || records.init?.instanceId || '';
    switch (d.action) {
      case 'init':
      case 'join':
        ctx.log(`${d.action}: ${d.why}`);
        return { action: d.action };
      case 'restore':
        ctx.log(`restore: ${d.why}`);
        return { action: 'restore', lost, claimKey: d.key };
      case 'claim-init': {
        const r = await claim(ctx.aws, ctx.config.bucket, INIT_KEY, {
          group: ctx.identity.group,
          instanceId: ctx.identity.instanceId,
          name: ctx.identity.hostname,
          peerURL: peerUrl(ctx.identity.privateIp),
          time: isoSeconds(ctx.now()),
        });
        if (r === 'won') {
          ctx.log(`won s3://${ctx.config.bucket}/${INIT_KEY}: this master (${ctx.identity.group}) runs kubeadm init`);
          return { action: 'init' };
        }
        ctx.log(`another master won ${INIT_KEY} (S3 answered PreconditionFailed); waiting for its API (${i}/${n})`);
        break;
      }
      case 'claim-restore': {
        const r = await claim(ctx.aws, ctx.config.bucket, claimKey(d.key), { by: ctx.identity.instanceId, group: ctx.identity.group, time: isoSeconds(ctx.now()) });
        if (r === 'won') {
          ctx.log(`won s3://${ctx.config.bucket}/${claimKey(d.key)}: this master restores the cluster as one member; the others join it`);
          return { action: 'restore', lost, claimKey: d.key };
        }
        ctx.log(`another master claimed ${claimKey(d.key)} first; looking again (${i}/${n})`);
        continue; // the claim's holder is read on the next round at once
      }
      case 'wait':
        ctx.log(`${d.why} (${i}/${n})`);
        break;
    }
    if (i < n) await ctx.sleep(ctx.waits.electionRetryMs);
  }
  throw new KubeazFailure(`no API at ${ms.masterDns}:443 after ${n} rounds, and no init or restore to take over: ${why}`, 'internal');
}

/** A program's run that must succeed, the result kept for the report. */
async function run(ctx: AgentContext, cmd: string, args: string[]): Promise<RunResult> {
  const r = await ctx.programs.run(cmd, args);
  if (r.code !== 0) throw new ProgramError(cmd, args, r);
  return r;
}

/** `kubeadm reset -f` after a failed init/join; it empties pki/ and the etcd data dir, so both come back. */
async function resetForRetry(ctx: AgentContext): Promise<void> {
  const r = await ctx.programs.run('kubeadm', ['reset', '-f', '--cri-socket', CRI_SOCKET]);
  if (r.code !== 0) ctx.log(`kubeadm reset failed (exit ${r.code}); trying again anyway`);
  await fetchPki(ctx);
  await ensureEtcdClientCert(ctx);
}

/** The instance asks its auto scaling group to replace it (the group's health check would not: EC2 checks pass). */
export async function markUnhealthy(ctx: AgentContext): Promise<void> {
  await (await ctx.aws.autoscaling()).send(new SetInstanceHealthCommand({ InstanceId: ctx.identity.instanceId, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }));
}

export class InitFailed extends KubeazFailure {
  override readonly name = 'InitFailed';
  constructor(
    message: string,
    readonly output: string,
    cause: unknown,
  ) {
    super(message, 'internal', 1, { cause });
  }
}

/** Restore (unless joining) then `kubeadm init`, retried with a reset between; Unhealthy after the last try. */
export async function initWithRetries(ctx: AgentContext, ms: MasterSettings, restore: () => Promise<{ key?: string }>, firstRestore: { key?: string }): Promise<{ key?: string }> {
  let restored = firstRestore;
  const n = ctx.waits.initAttempts;
  for (let i = 1; ; i++) {
    await writeHostFile(ctx, KUBEADM_INIT_CONFIG, renderInitConfig(kubeadmInput(ctx, ms), { restoredData: restored.key !== undefined }), 0o600);
    try {
      await run(ctx, 'kubeadm', ['init', '--config', hostPath(ctx, KUBEADM_INIT_CONFIG)]);
      return restored;
    } catch (e) {
      if (!(e instanceof ProgramError)) throw e;
      if (i >= n) {
        let marked = 'marked itself Unhealthy: its auto scaling group replaces it and another master takes the turn';
        try {
          await markUnhealthy(ctx);
        } catch (h) {
          marked = `could NOT mark itself Unhealthy (${(h as Error).message})`;
        }
        ctx.log(`kubeadm init failed ${n} times; this instance ${marked}`);
        throw new InitFailed(`kubeadm init failed ${n} times (last: exit ${e.result.code}); this instance ${marked}`, e.output, e);
      }
      ctx.log(`kubeadm init failed (exit ${e.result.code}, attempt ${i} of ${n}); kubeadm reset -f and again`);
      await resetForRetry(ctx);
      await ctx.sleep(ctx.waits.initRetryMs);
      restored = await restore();
    }
  }
}

/** Every member's view (started, healthy) through the other masters' recorded endpoints. */
async function memberViews(deps: MasterDeps, endpoints: string[]) {
  const members = await deps.etcd.memberList(endpoints);
  const probes = await deps.etcd.probe(members.flatMap((m) => m.clientURLs.slice(0, 1)));
  return members.map((m) => ({ idHex: m.idHex, started: m.started, healthy: probes.some((p) => p.ok && p.healthy && p.memberIdHex === m.idHex) }));
}

/** Joining in place of the group's previous master: remove its member while quorum holds; wait for pending adds. */
export async function prepareJoin(ctx: AgentContext, deps: MasterDeps): Promise<void> {
  const records = await readRecords(ctx.aws, ctx.config.bucket);
  const others = Object.values(records.members)
    .filter((m) => m.group !== ctx.identity.group && m.clientURL)
    .map((m) => m.clientURL!);
  if (others.length === 0) return;
  const previous = records.members[ctx.identity.group];
  const n = ctx.waits.memberAttempts;
  for (let i = 1; ; i++) {
    let why: string;
    try {
      const views = await memberViews(deps, others);
      const r = replacement(previous, ctx.identity.instanceId, views);
      if (r.action === 'none') {
        if (!pendingAdd(views)) return;
        why = 'an etcd member is added but not started yet (another master joining): adding this one after it';
      } else if (r.action === 'remove') {
        ctx.log(`removing ${ctx.identity.group}'s previous member ${r.idHex} (instance ${previous!.instanceId}): ${r.why}`);
        await deps.etcd.memberRemove(others, r.idHex);
        continue;
      } else why = `refusing to remove ${ctx.identity.group}'s previous member yet: ${r.why}`;
    } catch (e) {
      why = `no etcd member answers at ${others.join(', ')}: ${(e as Error).message}`;
    }
    if (i >= n) {
      if (previous && previous.instanceId !== ctx.identity.instanceId && why.startsWith('refusing')) throw new KubeazFailure(`${why}; not joining (it would leave the cluster without quorum)`, 'internal');
      ctx.log(`${why}; joining anyway after ${n} attempts (kubeadm's own member add retries)`);
      return;
    }
    ctx.log(`${why} (${i}/${n})`);
    await ctx.sleep(ctx.waits.memberRetryMs);
  }
}

/** `kubeadm join --control-plane` with the token as it is NOW in join/; a failed try is reset and retried. */
export async function joinControlPlane(ctx: AgentContext, ms: MasterSettings): Promise<void> {
  const n = ctx.waits.masterJoinAttempts;
  for (let i = 1; ; i++) {
    const [token, hash] = await Promise.all([getText(ctx.aws, ctx.config.bucket, JOIN_TOKEN_KEY), getText(ctx.aws, ctx.config.bucket, JOIN_CA_HASH_KEY)]);
    const rec = token !== undefined && hash !== undefined ? parseJoin(token, hash) : new Error(`s3://${ctx.config.bucket}/join/ holds no token yet`);
    let failure: unknown;
    if (rec instanceof Error) failure = rec;
    else {
      ctx.reporter.redactor.add(rec.token);
      await writeHostFile(ctx, KUBEADM_JOIN_CONFIG, renderJoinConfig(kubeadmInput(ctx, ms), rec.token, rec.caCertHash), 0o600);
      try {
        await run(ctx, 'kubeadm', ['join', '--config', hostPath(ctx, KUBEADM_JOIN_CONFIG)]);
        return;
      } catch (e) {
        if (!(e instanceof ProgramError)) throw e;
        failure = e;
      } finally {
        await rm(hostPath(ctx, KUBEADM_JOIN_CONFIG), { force: true });
      }
    }
    if (i >= n) throw failure;
    ctx.log(`control-plane join failed (${(failure as Error).message}; attempt ${i} of ${n}); trying again`);
    if (failure instanceof ProgramError) await resetForRetry(ctx);
    await ctx.sleep(ctx.waits.masterJoinRetryMs);
  }
}

/** members/<group>.json for this master's started member (the peer URL finds it). */
export async function recordMember(ctx: AgentContext, deps: MasterDeps): Promise<void> {
  const own = clientUrl(ctx.identity.privateIp);
  const peer = peerUrl(ctx.identity.privateIp);
  const n = ctx.waits.memberAttempts;
  for (let i = 1; ; i++) {
    const m = await deps.etcd
      .memberList([own])
      .then((ms) => ms.find((x) => x.started && x.peerURLs.includes(peer)))
      .catch(() => undefined);
    if (m) {
      await write(ctx.aws, ctx.config.bucket, memberKey(ctx.identity.group), {
        group: ctx.identity.group,
        memberId: m.idHex,
        name: m.name,
        peerURL: peer,
        clientURL: own,
        instanceId: ctx.identity.instanceId,
        time: isoSeconds(ctx.now()),
      });
      ctx.log(`recorded ${memberKey(ctx.identity.group)} (member ${m.idHex})`);
      return;
    }
    if (i >= n) throw new KubeazFailure(`no started etcd member with peer URL ${peer}; ${memberKey(ctx.identity.group)} not written`, 'internal');
    ctx.log(`waiting for this master's etcd member (${peer}) to start (${i}/${n})`);
    await ctx.sleep(ctx.waits.memberRetryMs);
  }
}

/** The first snapshot as soon as the control plane has formed (the leader may take a moment to be known). */
export async function firstBackup(ctx: AgentContext, deps: MasterDeps, ms: MasterSettings): Promise<void> {
  const n = ctx.waits.backupAttempts;
  for (let i = 1; ; i++) {
    try {
      await takeBackup(ctx, deps.etcd, ms.backupRetentionDays);
      return;
    } catch (e) {
      if (i >= n) throw e;
      ctx.log(`first etcd snapshot not taken yet (${(e as Error).message}; ${i}/${n})`);
      await ctx.sleep(ctx.waits.backupRetryMs);
    }
  }
}

export async function masterBootWith(ctx: AgentContext, deps: MasterDeps): Promise<BootAction> {
  const ms = masterSettingsOf(ctx);
  const phase = <T>(name: string, fn: () => Promise<T>) => ctx.reporter.phase(name, fn);
  const ha = ms.controlPlaneCount > 1;
  await phase('packages', () => installPackages(ctx));
  await phase('kernel', () => kernelSettings(ctx));
  await phase('pki', async () => {
    await fetchPki(ctx);
    // before any health check: the "no recorded member answers" rule needs a certificate etcd accepts
    await ensureEtcdClientCert(ctx);
  });
  const action = await phase('election', () => elect(ctx, deps, ms));
  await phase('dns', () => registerMasterDns(ctx, ms.masterDns));
  await writeKubeletArgs(ctx);
  if (ms.irsa) await writeHostFile(ctx, `${PATCHES_DIR}/${APISERVER_PATCH_FILE}`, apiserverIssuerPatch(ms.irsa.serviceAccountIssuer, ms.irsa.defaultServiceAccountIssuer));
  let restored: { key?: string } = {};
  if (action.action === 'join') {
    await phase('join', async () => {
      await prepareJoin(ctx, deps);
      await joinControlPlane(ctx, ms);
    });
  } else {
    let etcdutl: string | undefined;
    const restore = async () => restoreNewest(ctx, async () => (etcdutl ??= await ensureEtcdutl(ctx)), ctx.identity.hostname);
    restored = await phase('restore', restore);
    restored = await phase('init', () => initWithRetries(ctx, ms, restore, restored));
  }
  if (ha) {
    await phase('records', async () => {
      await recordMember(ctx, deps);
      if (action.action === 'restore') {
        const t = snapshotTimeIso(restored.key);
        await write(ctx.aws, ctx.config.bucket, RESTORE_KEY, {
          snapshot: restored.key ?? 'none',
          ...(t ? { snapshotTime: t } : {}),
          restoredAt: isoSeconds(ctx.now()),
          by: ctx.identity.instanceId,
          group: ctx.identity.group,
          lost: action.lost,
        });
      }
    });
  }
  // right after the control plane is there, before any add-on can fail: backups, tokens, node roles
  await phase('day-jobs', async () => {
    await installUnits(ctx, masterUnits({ clusterId: ctx.config.clusterId, bucket: ctx.config.bucket, backupIntervalMinutes: ms.backupIntervalMinutes, agent: deps.agentCommand }), ENABLED_UNITS);
    await renewJoinToken(ctx);
  });
  if (action.action !== 'join') {
    // ONE master installs the add-ons and takes the first snapshot: the one that ran init or restore
    await phase('first-backup', () => firstBackup(ctx, deps, ms));
    await phase('addons', () => installAddons(ctx, ms));
  }
  return action;
}

