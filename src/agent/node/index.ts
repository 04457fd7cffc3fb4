/** The node and loadbalancer boot (a-node): packages, kernel settings, elastic IP, `kubeadm join`. */
import { KubeazFailure } from '../../errors.js';
import type { AgentContext } from '../context.js';

export async function nodeBoot(ctx: AgentContext): Promise<void> {
  await ctx.reporter.phase('join', async () => {
    throw new KubeazFailure('the node flow is not written yet', 'internal');
  });
}
