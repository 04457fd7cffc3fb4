/**
 * The master's commands of the agent: `boot` for role master, and the day jobs the systemd timers
 * (and the CLI through SSM) run — `backup`, `join-token`, `node-roles`. main.ts dispatches here.
 */
import { readFile } from 'node:fs/promises';
import { hostPath, type AgentContext } from '../context.js';
import { apiAnswers, apiReadyzUrl } from './api.js';
import { masterBootWith, masterSettingsOf, type MasterDeps } from './boot.js';
import { labelNodeRoles, renewJoinToken } from './day-jobs.js';
import { grpcEtcd } from './etcd-grpc.js';
import { PKI_DIR } from './paths.js';
import { etcdTlsFiles, ensureEtcdClientCert } from './pki.js';
import { takeBackup } from './snapshots.js';
import { BACKUP_LEADER_ONLY_ENV } from './units.js';

/** The real dependencies: etcd over gRPC with the agent's client certificate, the API's /readyz, this agent's own command. */
export function realDeps(ctx: AgentContext): MasterDeps {
  const ms = masterSettingsOf(ctx);
  return {
    etcd: grpcEtcd(etcdTlsFiles(ctx)),
    apiUp: async () =>
      apiAnswers(apiReadyzUrl(ms.masterDns), await readFile(hostPath(ctx, `${PKI_DIR}/ca.crt`), 'utf8'), ctx.waits.apiProbeTimeoutMs),
    agentCommand: [process.execPath, process.argv[1] ?? '/opt/kubeaz/kubeaz-agent.mjs'],
  };
}

export async function masterBoot(ctx: AgentContext): Promise<void> {
  await masterBootWith(ctx, realDeps(ctx));
}

/** A snapshot from the leader (or any healthy member), from whichever master runs it. */
export async function backup(ctx: AgentContext, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const ms = masterSettingsOf(ctx);
  await ensureEtcdClientCert(ctx);
  await takeBackup(ctx, realDeps(ctx).etcd, ms.backupRetentionDays, { leaderOnly: env[BACKUP_LEADER_ONLY_ENV] === '1' });
}

export async function joinToken(ctx: AgentContext): Promise<void> {
  await renewJoinToken(ctx);
}

export async function nodeRoles(ctx: AgentContext): Promise<void> {
  await labelNodeRoles(ctx);
}
