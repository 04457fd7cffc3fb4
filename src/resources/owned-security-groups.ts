/**
 * The security groups the cluster owns, read once per observe pass (ctx.memo): the security-group
 * kind and the security-group-rules kind both derive their actuals from this one answer. A shared
 * read, not a kind.
 */
import { paginateDescribeSecurityGroups, type SecurityGroup } from '@aws-sdk/client-ec2';
import { ownerFilter } from '../aws/tags.js';
import { drain } from './common.js';
import type { RunContext } from './types.js';

/**
 * Every security group the cluster owns, read once per observe pass: security-group-rules.ts
 * derives its actuals from the same answer (ctx.memo), so the groups cost one paginated call.
 */
export function describeOwnedGroups(ctx: RunContext): Promise<SecurityGroup[]> {
  return ctx.memo('ec2:DescribeSecurityGroups:owned', async () => {
    const ec2 = await ctx.aws.ec2();
    return drain(paginateDescribeSecurityGroups({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }), (p) => p.SecurityGroups);
  });
}
