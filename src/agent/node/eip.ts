/**
 * A loadbalancer instance claims one of its group's pre-allocated elastic IPs (tagged
 * kubeaz:cluster=<id>, kubeaz:eip-pool=<group>), so public DNS never has to change — what
 * claim-eip.sh did, through the SDK. AllowReassociation=false: an address another instance holds is
 * never taken; a lost race is EC2's typed Resource.AlreadyAssociated, and the next free one is tried.
 */
import { AssociateAddressCommand, DescribeAddressesCommand, type Address } from '@aws-sdk/client-ec2';
import { errorCode } from '../../aws/errors.js';
import { KubeazFailure } from '../../errors.js';
import type { AgentContext } from '../context.js';

export const EIP_POOL_TAG = 'kubeaz:eip-pool';
export const CLUSTER_TAG = 'kubeaz:cluster';

/** EC2's answer when the address is already associated and reassociation was not allowed: someone else won. */
export const isAddressTaken = (err: unknown): boolean =>
  ['Resource.AlreadyAssociated', 'InvalidIPAddress.InUse', 'AuthFailure.AddressInUse'].includes(errorCode(err));

const tagOf = (a: Address, k: string): string | undefined => a.Tags?.find((t) => t.Key === k)?.Value;

/** The pool's addresses, ownership checked on what comes back (an emulator or an old API may ignore filters). */
export async function poolAddresses(ctx: AgentContext): Promise<Address[]> {
  const ec2 = await ctx.aws.ec2();
  const out = await ec2.send(
    new DescribeAddressesCommand({
      Filters: [
        { Name: `tag:${CLUSTER_TAG}`, Values: [ctx.config.clusterId] },
        { Name: `tag:${EIP_POOL_TAG}`, Values: [ctx.identity.group] },
      ],
    }),
  );
  return (out.Addresses ?? []).filter(
    (a) => tagOf(a, CLUSTER_TAG) === ctx.config.clusterId && tagOf(a, EIP_POOL_TAG) === ctx.identity.group && a.AllocationId,
  );
}

/** Claims a free address of the pool (or finds the one already ours); the allocation id. */
export async function claimElasticIp(ctx: AgentContext): Promise<string> {
  const me = ctx.identity.instanceId;
  const pool = ctx.identity.group;
  for (let round = 1; round <= ctx.waits.eipRounds; round++) {
    const addrs = await poolAddresses(ctx);
    const mine = addrs.find((a) => a.InstanceId === me);
    if (mine) {
      ctx.log(`elastic IP ${mine.PublicIp} (${mine.AllocationId}) is already ours`);
      return mine.AllocationId!;
    }
    const free = addrs
      .filter((a) => !a.AssociationId && !a.InstanceId && !a.NetworkInterfaceId)
      .sort((a, b) => a.AllocationId!.localeCompare(b.AllocationId!));
    if (!free.length) {
      throw new KubeazFailure(
        `no free elastic IP in pool ${pool} of ${ctx.config.clusterId} (${addrs.length} in the pool, all held): the group has more instances than elasticIps`,
        'aws',
      );
    }
    // start at a different address per instance: several booting at once mostly do not collide
    const start = parseInt(me.replace(/\D/g, '').slice(-6) || '0', 10) % free.length;
    const order = [...free.slice(start), ...free.slice(0, start)];
    for (const a of order) {
      try {
        await (
          await ctx.aws.ec2()
        ).send(new AssociateAddressCommand({ AllocationId: a.AllocationId, InstanceId: me, AllowReassociation: false }));
        ctx.log(`claimed elastic IP ${a.PublicIp} (${a.AllocationId})`);
        return a.AllocationId!;
      } catch (e) {
        if (!isAddressTaken(e)) throw e;
        ctx.log(`${a.AllocationId} was taken by another instance; trying the next`);
      }
    }
    if (round < ctx.waits.eipRounds) {
      ctx.log(`every free address of pool ${pool} was taken meanwhile (round ${round} of ${ctx.waits.eipRounds}); listing again`);
      await ctx.sleep(ctx.waits.eipRetryMs);
    }
  }
  throw new KubeazFailure(`could not claim an elastic IP of pool ${pool} in ${ctx.waits.eipRounds} rounds`, 'aws');
}
