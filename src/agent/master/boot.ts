/**
 * A master's boot, as phases reported through the BootReporter:
 *
 *   packages → kernel → pki (CAs from the bucket, the etcd client certificate made here, the API
 *   server's EncryptionConfiguration assembled with its keys from pki/encryption/) →
 *   election (the pure decision of decision.ts, conditional writes for init.json and restore claims;
 *   the init/restore master claims addons.json) → dns → restore (init/restore only) → init | join →
 *   records → day-jobs (units, first join token) → first-backup (ONLY the master that ran init or
 *   restore) → addons (that master always; a joined one only when addons.json records other
 *   settings than its own and nobody live is installing: decide/addons.ts; after the add-ons, every
 *   Secret rewritten once per EncryptionConfiguration: encryption.ts)
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
import { idToHex } from '../../etcd/ids.js';
import { parseJoin, JOIN_CA_HASH_KEY, JOIN_TOKEN_KEY } from '../../records/join.js';
import type { MasterSettings } from '../../model/master-settings.js';
import { parseMasterSettings } from '../../records/master-settings.js';
import type { AddonsRecord } from '../../records/etcd.js';
import { getText } from '../bucket.js';
import { hostPath, type AgentContext } from '../context.js';
import { ProgramError, type RunResult } from '../programs.js';
import { installAddons } from './addon-runner.js';
import { renewJoinToken } from './day-jobs.js';
import { addonsFingerprint, decideAddons, type InstallerState } from '../decide/addons.js';
import { decideMaster, endpointsToProbe, instancesToDescribe, type InstanceState, type MasterDecision } from '../decide/master.js';
import { healthFromProbes } from '../decide/health.js';
import { afterInitFailure } from '../decide/init-failure.js';
import { registerMasterDns } from './dns.js';
import { clientUrl, peerUrl, type EtcdAccess } from './etcd-access.js';
import { ensureEtcdutl } from './etcd-tools.js';
import { installPackages, installUnits, kernelSettings, writeHostFile, writeKubeletArgs } from './host.js';
import {
  APISERVER_PATCH_FILE,
  apiserverIssuerPatch,
  CRI_SOCKET,
  renderInitConfig,
  renderJoinConfig,
  type MasterKubeadmInput,
} from './kubeadm-config.js';
import { ADMIN_KUBECONFIG, KUBEADM_INIT_CONFIG, KUBEADM_JOIN_CONFIG, PATCHES_DIR } from './paths.js';
import { ensureEtcdClientCert, fetchPki } from './pki.js';
import { encryptionPreflightIgnores, rewriteSecretsOnce, writeEncryptionFiles } from './encryption.js';
import {
  ADDONS_KEY,
  claim,
  CLUSTER_ID_KEY,
  INIT_KEY,
  isoSeconds,
  memberKey,
  putAddonsRecord,
  readAddonsRecord,
  readRecords,
  RESTORE_KEY,
  write,
  type ControlPlaneRecords,
} from './records.js';
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
    // every master has the encryption patch (encryption.ts); IRSA's issuer patch beside it
    patchesDir: hostPath(ctx, PATCHES_DIR),
    ...(encryptionPreflightIgnores(ms.encryption).length ? { ignorePreflight: encryptionPreflightIgnores(ms.encryption) } : {}),
  };
}

/** EC2 states of these instances (a filter, not InstanceIds: an instance gone long ago is unknown, not an error). */
export async function instanceStates(ctx: AgentContext, ids: string[]): Promise<Record<string, { state: InstanceState }>> {
  if (ids.length === 0) return {};
  const ec2 = await ctx.aws.ec2();
  const out: Record<string, { state: InstanceState }> = {};
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }], NextToken }));
    for (const r of page.Reservations ?? [])
      for (const i of r.Instances ?? [])
        if (i.InstanceId && ids.includes(i.InstanceId) && i.State?.Name) out[i.InstanceId] = { state: i.State.Name as InstanceState };
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/**
 * One round of looking: the records, the API, join/, the recorded instances' EC2 states, etcd's
 * MemberList and every member's Status (asked with the client certificate made in the pki phase),
 * then a-etcd's pure decision (src/agent/decide/master.ts).
 */
export async function lookAround(
  ctx: AgentContext,
  deps: MasterDeps,
  ms: MasterSettings,
  attempt: number,
): Promise<{ decision: MasterDecision; records: ControlPlaneRecords; endpoints: string[] }> {
  const records = await readRecords(ctx.aws, ctx.config.bucket);
  for (const bad of records.invalid) ctx.log(`ignoring s3://${ctx.config.bucket}/${bad.key}: ${bad.error}`);
  const ha = ms.controlPlaneCount > 1;
  const apiUp = ha ? await deps.apiUp().catch(() => false) : false;
  const joinTokenExists = ha && !apiUp && !records.init ? (await getText(ctx.aws, ctx.config.bucket, JOIN_TOKEN_KEY)) !== undefined : false;
  const recorded = endpointsToProbe(records);
  const members = ha && recorded.length ? await deps.etcd.memberList(recorded).catch(() => undefined) : undefined;
  const endpoints = endpointsToProbe(records, members);
  const health = healthFromProbes(ha ? await deps.etcd.probe(endpoints) : []);
  const instances =
    ha && !apiUp && records.init
      ? await instanceStates(
          ctx,
          instancesToDescribe(records).filter((id) => id !== ctx.identity.instanceId),
        )
      : {};
  const decision = decideMaster({
    self: { instanceId: ctx.identity.instanceId, group: ctx.identity.group },
    controlPlaneCount: ms.controlPlaneCount,
    now: ctx.now(),
    apiUp,
    joinTokenExists,
    records,
    instances,
    health,
    ...(members ? { members } : {}),
    attempt,
    limits: {
      waitAttempts: ctx.waits.electionAttempts,
      gateAttempts: ctx.waits.memberAttempts,
      unknownGraceSeconds: ctx.waits.unknownGraceMs / 1000,
    },
  });
  return { decision, records, endpoints };
}

/**
 * The election: decide, act (race for init.json or a restore claim, remove the group's previous
 * member), wait and look again, until the decision is init, join or restore — or give-up.
 */
export async function elect(ctx: AgentContext, deps: MasterDeps, ms: MasterSettings): Promise<BootAction> {
  for (let attempt = 1; ; attempt++) {
    const { decision: d, endpoints } = await lookAround(ctx, deps, ms, attempt);
    switch (d.action) {
      case 'init':
      case 'join':
        ctx.log(`${d.action}: ${d.reason}`);
        return { action: d.action };
      case 'restore':
        ctx.log(`restore: ${d.reason}`);
        return { action: 'restore', lost: d.lostCreator, claimKey: d.claimKey };
      case 'give-up':
        throw new KubeazFailure(`no API at ${ms.masterDns}:443 and no init or restore to take over: ${d.reason}`, 'internal');
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
        ctx.log(`another master won ${INIT_KEY} (S3 answered PreconditionFailed); waiting for its API (${attempt})`);
        break;
      }
      case 'claim-restore': {
        const r = await claim(ctx.aws, ctx.config.bucket, d.claimKey, {
          by: ctx.identity.instanceId,
          group: ctx.identity.group,
          time: isoSeconds(ctx.now()),
        });
        if (r === 'won') {
          ctx.log(`won s3://${ctx.config.bucket}/${d.claimKey}: this master restores the cluster as one member; the others join it`);
          return { action: 'restore', lost: d.lostCreator, claimKey: d.claimKey };
        }
        ctx.log(`another master claimed ${d.claimKey} first; looking again (${attempt})`);
        continue; // the claim's holder is read on the next round at once
      }
      case 'replace':
        ctx.log(d.reason);
        try {
          await deps.etcd.memberRemove(endpoints, d.previous.memberId);
          continue; // look again at once: joined in its place next
        } catch (e) {
          ctx.log(`member remove ${d.previous.memberIdHex} failed: ${(e as Error).message}; trying again (${attempt})`);
        }
        break;
      case 'wait':
        ctx.log(`${d.reason} (${attempt}/${ctx.waits.electionAttempts})`);
        break;
    }
    await ctx.sleep(ctx.waits.electionRetryMs);
  }
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
  await (
    await ctx.aws.autoscaling()
  ).send(new SetInstanceHealthCommand({ InstanceId: ctx.identity.instanceId, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }));
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
export async function initWithRetries(
  ctx: AgentContext,
  ms: MasterSettings,
  restore: () => Promise<{ key?: string }>,
  firstRestore: { key?: string },
): Promise<{ key?: string }> {
  let restored = firstRestore;
  const n = ctx.waits.initAttempts;
  for (let i = 1; ; i++) {
    await writeHostFile(
      ctx,
      KUBEADM_INIT_CONFIG,
      renderInitConfig(kubeadmInput(ctx, ms), { restoredData: restored.key !== undefined }),
      0o600,
    );
    try {
      await run(ctx, 'kubeadm', ['init', '--config', hostPath(ctx, KUBEADM_INIT_CONFIG)]);
      return restored;
    } catch (e) {
      if (!(e instanceof ProgramError)) throw e;
      const next = afterInitFailure(i, n);
      if (next.action === 'mark-unhealthy') {
        let marked = 'marked itself Unhealthy: its auto scaling group replaces it and another master takes the turn';
        try {
          await markUnhealthy(ctx);
        } catch (h) {
          marked = `could NOT mark itself Unhealthy (${(h as Error).message})`;
        }
        ctx.log(`kubeadm init failed ${n} times; this instance ${marked}`);
        throw new InitFailed(`kubeadm init failed ${n} times (last: exit ${e.result.code}); this instance ${marked}`, e.output, e);
      }
      ctx.log(`${next.reason} (exit ${e.result.code})`);
      await resetForRetry(ctx);
      await ctx.sleep(ctx.waits.initRetryMs);
      restored = await restore();
    }
  }
}

/** `kubeadm join --control-plane` with the token as it is NOW in join/; a failed try is reset and retried. */
export async function joinControlPlane(ctx: AgentContext, ms: MasterSettings): Promise<void> {
  const n = ctx.waits.masterJoinAttempts;
  for (let i = 1; ; i++) {
    const [token, hash] = await Promise.all([
      getText(ctx.aws, ctx.config.bucket, JOIN_TOKEN_KEY),
      getText(ctx.aws, ctx.config.bucket, JOIN_CA_HASH_KEY),
    ]);
    const rec =
      token !== undefined && hash !== undefined ? parseJoin(token, hash) : new Error(`s3://${ctx.config.bucket}/join/ holds no token yet`);
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
      .then((list) => list.find((x) => x.started && x.peerURLs.includes(peer)))
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
    if (i >= n)
      throw new KubeazFailure(`no started etcd member with peer URL ${peer}; ${memberKey(ctx.identity.group)} not written`, 'internal');
    ctx.log(`waiting for this master's etcd member (${peer}) to start (${i}/${n})`);
    await ctx.sleep(ctx.waits.memberRetryMs);
  }
}

/**
 * cluster-id.json after this master's `kubeadm init` (a restore included): the cluster id its own
 * etcd answers in Maintenance.Status, which `backup-etcd --etcd-endpoint` compares with the etcd it
 * reaches. Not fatal: without the record backup-etcd refuses (unless given --etcd-cluster-id), which
 * is the safe side; the boot goes on and the error is in its log.
 */
export async function recordClusterId(ctx: AgentContext, deps: MasterDeps, restoredKey: string | undefined): Promise<void> {
  const own = clientUrl(ctx.identity.privateIp);
  const n = Math.min(ctx.waits.memberAttempts, 6);
  for (let i = 1; i <= n; i++) {
    const [p] = await deps.etcd.probe([own]);
    if (p?.ok && p.status.clusterId !== '0') {
      const clusterId = idToHex(p.status.clusterId);
      await write(ctx.aws, ctx.config.bucket, CLUSTER_ID_KEY, {
        clusterId,
        after: restoredKey !== undefined ? 'restore' : 'init',
        ...(restoredKey !== undefined ? { snapshot: restoredKey } : {}),
        by: ctx.identity.instanceId,
        group: ctx.identity.group,
        at: isoSeconds(ctx.now()),
      });
      ctx.log(`recorded ${CLUSTER_ID_KEY} (etcd cluster ${clusterId})`);
      return;
    }
    if (i < n) await ctx.sleep(ctx.waits.memberRetryMs);
  }
  ctx.log(
    `ERROR: etcd at ${own} did not answer Status: ${CLUSTER_ID_KEY} not written (backup-etcd --etcd-endpoint will ask for --etcd-cluster-id)`,
  );
}

/**
 * A cluster grown from one master (1 -> 3: no init.json) has a member its first master made before
 * masters kept records. A joiner records it from its Node — the kubeaz.io/node-group label its
 * kubelet set, the instance in spec.providerID — as members/master.json and an init.json naming it
 * (adopted), both conditional writes: a record a master wrote itself is never overwritten.
 */
export async function adoptFirstMaster(ctx: AgentContext, deps: MasterDeps): Promise<string[]> {
  const records = await readRecords(ctx.aws, ctx.config.bucket);
  if (records.init) return [];
  const peer = peerUrl(ctx.identity.privateIp);
  const known = new Set(Object.values(records.members).map((m) => m.memberId));
  const members = await deps.etcd.memberList([clientUrl(ctx.identity.privateIp)]);
  const adopted: string[] = [];
  for (const m of members) {
    if (!m.started || m.peerURLs.includes(peer) || known.has(m.idHex)) continue;
    const r = await ctx.programs.run('kubectl', ['--kubeconfig', hostPath(ctx, ADMIN_KUBECONFIG), 'get', 'node', m.name, '-o', 'json']);
    if (r.code !== 0) continue;
    let node: { metadata?: { labels?: Record<string, string> }; spec?: { providerID?: string } };
    try {
      node = JSON.parse(r.stdout) as typeof node;
    } catch {
      continue;
    }
    const group = node.metadata?.labels?.['kubeaz.io/node-group'];
    const instanceId = node.spec?.providerID?.split('/').pop();
    if (group !== 'master' || !instanceId || !/^i-[0-9a-zA-Z]+$/.test(instanceId)) continue;
    const time = isoSeconds(ctx.now());
    const peerURL = m.peerURLs[0];
    const clientURL = m.clientURLs[0];
    if (
      (await claim(ctx.aws, ctx.config.bucket, memberKey('master'), {
        group: 'master',
        memberId: m.idHex,
        name: m.name,
        ...(peerURL ? { peerURL } : {}),
        ...(clientURL ? { clientURL } : {}),
        instanceId,
        time,
      })) === 'won'
    )
      ctx.log(`recorded member ${m.idHex} of the first master (instance ${instanceId}), made before masters kept records`);
    if (
      (await claim(ctx.aws, ctx.config.bucket, INIT_KEY, {
        group: 'master',
        instanceId,
        name: m.name,
        ...(peerURL ? { peerURL } : {}),
        adopted: 'true',
        time,
      })) === 'won'
    )
      ctx.log(`recorded init.json for the first master (instance ${instanceId}): the cluster grew from one master`);
    adopted.push(instanceId);
  }
  return adopted;
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

/**
 * The add-on install a master holds: the settings it installs with (their fingerprint and the
 * versions, which addons.json records for plan and status) and its claim's ETag (what its
 * `installed` write names).
 */
export interface AddonsTurn {
  fingerprint: string;
  versions: MasterSettings['addons'];
  etag?: string;
}

const addonsRecord = (
  ctx: AgentContext,
  turn: Pick<AddonsTurn, 'fingerprint' | 'versions'>,
  state: AddonsRecord['state'],
): AddonsRecord => ({
  fingerprint: turn.fingerprint,
  by: ctx.identity.instanceId,
  group: ctx.identity.group,
  state,
  at: isoSeconds(ctx.now()),
  ...turn.versions,
});

/**
 * The init/restore master claims addons.json (`installing`) as soon as it has won the election —
 * before its `kubeadm init`, so before any master can join it: a joiner reaching its addons phase
 * while this one is still at first-backup sees a live installer and skips, rather than finding no
 * record and installing alongside (helm races). Unconditional: this master is the only one of its
 * cluster, and whatever an earlier cluster recorded is no longer true.
 */
export async function takeAddonsTurn(ctx: AgentContext, ms: MasterSettings): Promise<AddonsTurn> {
  const mine = { fingerprint: addonsFingerprint(ms, ctx.config.kubernetesVersion), versions: ms.addons };
  const w = await putAddonsRecord(ctx.aws, ctx.config.bucket, addonsRecord(ctx, mine, 'installing'), { unconditional: true });
  return { ...mine, ...(w.result === 'won' && w.etag ? { etag: w.etag } : {}) };
}

/**
 * Every add-on went in: addons.json says `installed` with these settings — only over this master's
 * own claim (IfMatch its ETag): a master that took a stale claim over meanwhile keeps its record.
 */
export async function recordAddonsInstalled(ctx: AgentContext, turn: AddonsTurn): Promise<void> {
  // no ETag (S3 always gives one; a stand-in may not): nothing to compare, written as is
  const w = await putAddonsRecord(
    ctx.aws,
    ctx.config.bucket,
    addonsRecord(ctx, turn, 'installed'),
    turn.etag ? { ifMatch: turn.etag } : { unconditional: true },
  );
  if (w.result === 'won')
    ctx.log(`recorded s3://${ctx.config.bucket}/${ADDONS_KEY}: add-ons installed with settings ${turn.fingerprint.slice(0, 12)}`);
  else
    ctx.log(
      `s3://${ctx.config.bucket}/${ADDONS_KEY} changed while this master installed (another master took the install over): leaving its record`,
    );
}

/**
 * A joined master's add-on phase: read addons.json, ask EC2 about an installer still `installing`,
 * decide (decide/addons.ts), and to install claim the record with a conditional write over exactly
 * what was read (IfMatch its ETag, or IfNoneMatch '*' when there was none): of masters racing, one
 * wins and the others, answered PreconditionFailed, skip.
 *
 * A failed install fails this phase as it does the init master's (boot.ts' rule for add-ons: the
 * boot report says `failed` at `addons`, naming the add-ons; the join, the member record and the
 * day jobs are done by then and stay). addons.json stays `installing` by this instance, so a later
 * master takes the install over once addonsStaleMs has passed.
 */
export async function addonsAfterJoin(ctx: AgentContext, ms: MasterSettings): Promise<'installed' | 'skipped'> {
  const bucket = ctx.config.bucket;
  const fingerprint = addonsFingerprint(ms, ctx.config.kubernetesVersion);
  const read = await readAddonsRecord(ctx.aws, bucket);
  if (read.invalid) ctx.log(`ignoring s3://${bucket}/${ADDONS_KEY}: ${read.invalid}`);
  const r = read.record;
  let installer: InstallerState | undefined;
  if (r?.state === 'installing' && r.by !== ctx.identity.instanceId) {
    installer = await instanceStates(ctx, [r.by]).then(
      (st): InstallerState => st[r.by]?.state ?? 'unlisted',
      (e: unknown): InstallerState => {
        ctx.log(`EC2 could not say whether ${r.by} still runs (${(e as Error).message}): counting it alive`);
        return 'unknown';
      },
    );
  }
  const d = decideAddons({
    self: { instanceId: ctx.identity.instanceId },
    fingerprint,
    ...(r ? { record: r } : {}),
    ...(installer ? { installer } : {}),
    now: ctx.now(),
    limits: { staleSeconds: ctx.waits.addonsStaleMs / 1000, unknownGraceSeconds: ctx.waits.unknownGraceMs / 1000 },
  });
  ctx.log(`add-ons: ${d.reason}`);
  if (d.action === 'skip') return 'skipped';
  if (read.exists && !read.etag) {
    // a conditional replace needs the ETag read; S3 always gives one, so this is a stand-in's gap
    ctx.log(`s3://${bucket}/${ADDONS_KEY} came without an ETag: not claiming it blind; the add-ons stay as they are`);
    return 'skipped';
  }
  const w = await putAddonsRecord(
    ctx.aws,
    bucket,
    addonsRecord(ctx, { fingerprint, versions: ms.addons }, 'installing'),
    read.etag ? { ifMatch: read.etag } : { create: true },
  );
  if (w.result === 'lost') {
    ctx.log(`another master claimed s3://${bucket}/${ADDONS_KEY} first (S3 answered PreconditionFailed): it installs the add-ons`);
    return 'skipped';
  }
  ctx.log(`claimed s3://${bucket}/${ADDONS_KEY}: this master installs the add-ons with settings ${fingerprint.slice(0, 12)}`);
  await installAddons(ctx, ms);
  await rewriteSecretsOnce(ctx, ms.encryption, hostPath(ctx, ADMIN_KUBECONFIG));
  await recordAddonsInstalled(ctx, { fingerprint, versions: ms.addons, ...(w.etag ? { etag: w.etag } : {}) });
  return 'installed';
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
    // the API server's EncryptionConfiguration, assembled with its keys from pki/ (encryption.ts)
    await writeEncryptionFiles(ctx, ms.encryption);
  });
  let turn: AddonsTurn | undefined;
  const action = await phase('election', async () => {
    const a = await elect(ctx, deps, ms);
    if (a.action !== 'join') turn = await takeAddonsTurn(ctx, ms);
    return a;
  });
  await phase('dns', () => registerMasterDns(ctx, ms.masterDns));
  await writeKubeletArgs(ctx);
  if (ms.irsa)
    await writeHostFile(
      ctx,
      `${PATCHES_DIR}/${APISERVER_PATCH_FILE}`,
      apiserverIssuerPatch(ms.irsa.serviceAccountIssuer, ms.irsa.defaultServiceAccountIssuer),
    );
  let restored: { key?: string } = {};
  if (action.action === 'join') {
    // the group's previous member was removed and pending adds waited for in the election
    await phase('join', () => joinControlPlane(ctx, ms));
  } else {
    let etcdutl: string | undefined;
    const restore = async () => restoreNewest(ctx, async () => (etcdutl ??= await ensureEtcdutl(ctx)), ctx.identity.hostname);
    restored = await phase('restore', restore);
    restored = await phase('init', async () => {
      const r = await initWithRetries(ctx, ms, restore, restored);
      await recordClusterId(ctx, deps, r.key);
      return r;
    });
  }
  if (ha) {
    await phase('records', async () => {
      await recordMember(ctx, deps);
      if (action.action === 'join')
        await adoptFirstMaster(ctx, deps).catch((e: unknown) =>
          ctx.log(`ERROR: the first master's member could not be recorded: ${(e as Error).message}`),
        );
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
    await installUnits(
      ctx,
      masterUnits({
        clusterId: ctx.config.clusterId,
        bucket: ctx.config.bucket,
        backupIntervalMinutes: ms.backupIntervalMinutes,
        agent: deps.agentCommand,
      }),
      ENABLED_UNITS,
    );
    await renewJoinToken(ctx);
  });
  if (turn) {
    // ONE master takes the first snapshot and installs the add-ons at once: the one that ran init or restore
    await phase('first-backup', () => firstBackup(ctx, deps, ms));
    const held = turn;
    await phase('addons', async () => {
      await installAddons(ctx, ms);
      // before addons.json says installed: a failed rewrite leaves the claim for a later master to take over
      await rewriteSecretsOnce(ctx, ms.encryption, hostPath(ctx, ADMIN_KUBECONFIG));
      await recordAddonsInstalled(ctx, held);
    });
  } else {
    // a joined master installs only when the recorded settings are not its own (a rollout replaces
    // every master by joining ones); a failure fails the phase as above (addonsAfterJoin)
    await phase('addons', () => addonsAfterJoin(ctx, ms));
  }
  return action;
}
