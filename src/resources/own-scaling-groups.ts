/**
 * The auto scaling groups carrying the cluster's ownership tag, read once per observe pass
 * (ctx.memo): the auto-scaling-group kind derives its actuals from this answer, and the
 * lifecycle-hook kind finds the node groups whose hooks it reads in it. A shared read, not a kind.
 */
import { paginateDescribeAutoScalingGroups, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { OWNER_TAG } from '../model/types.js';
import { drain } from './common.js';
import type { RunContext } from './types.js';

/** A group being deleted is gone for every purpose (its Status while DeleteAutoScalingGroup runs). */
export const DELETING = 'Delete in progress';

/** Every group filtered server-side on the ownership tag, those being deleted left out; the proof (claims) is the caller's. */
export function describeOwnedScalingGroups(ctx: RunContext): Promise<AutoScalingGroup[]> {
  return ctx.memo('autoscaling:DescribeAutoScalingGroups:owned', async () => {
    const asg = await ctx.aws.autoscaling();
    const groups = await drain(
      paginateDescribeAutoScalingGroups({ client: asg }, { Filters: [{ Name: `tag:${OWNER_TAG}`, Values: [ctx.clusterId] }] }),
      (p) => p.AutoScalingGroups,
    );
    return groups.filter((g) => g.Status !== DELETING);
  });
}
