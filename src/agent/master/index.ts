/**
 * The master's boot and day jobs (a-agent writes them): election, kubeadm init/join, member
 * replacement, restore, backups, join tokens, node-role labels. Placeholders until then.
 */
import { KubeazFailure } from '../../errors.js';
import type { AgentContext } from '../context.js';

const notYet = (what: string) => async (ctx: AgentContext): Promise<void> => {
  await ctx.reporter.phase(what, async () => {
    throw new KubeazFailure(`the master's ${what} is not written yet`, 'internal');
  });
};

export const masterBoot = notYet('boot');
export const backup = notYet('backup');
export const joinToken = notYet('join-token');
export const nodeRoles = notYet('node-roles');
