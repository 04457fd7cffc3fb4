/**
 * One paginated GetAccountAuthorizationDetails per observe pass gives every role and user with
 * their tags and inline policies: the no-op read of IAM costs one call however many roles and
 * users the cluster has (instead of ListRoles + per role ListRoleTags, ListRolePolicies and
 * GetRolePolicy). It lists the whole account, then keeps what lies under the cluster's IAM path.
 */
import { paginateGetAccountAuthorizationDetails, type RoleDetail, type UserDetail } from '@aws-sdk/client-iam';
import { iamPathOf } from '../model/names.js';
import { drain, fromTagList } from './common.js';
import { claimsGlobal } from './cluster-record.js';
import type { RunContext } from './types.js';

export interface IamDetails {
  roles: RoleDetail[];
  users: UserDetail[];
}

export function iamDetails(ctx: RunContext): Promise<IamDetails> {
  return ctx.memo('iam:GetAccountAuthorizationDetails', async () => {
    const iam = await ctx.aws.iam();
    const path = iamPathOf(ctx.clusterId);
    const pages = await drain(paginateGetAccountAuthorizationDetails({ client: iam }, { Filter: ['Role', 'User'] }), (p) => [p]);
    // Exactly our path (not a path below it), and tags that do not say another cluster or region.
    const mine = async <T extends { Path?: string; Tags?: Array<{ Key?: string; Value?: string }> }>(
      list: T[],
      what: (t: T) => string,
    ): Promise<T[]> => {
      const ok = await Promise.all(
        list.map(async (t) => t.Path === path && (await claimsGlobal(ctx, fromTagList(t.Tags), what(t), false))),
      );
      return list.filter((_, i) => ok[i]);
    };
    return {
      roles: await mine(
        pages.flatMap((p) => p.RoleDetailList ?? []),
        (r) => `iam role ${r.RoleName}`,
      ),
      users: await mine(
        pages.flatMap((p) => p.UserDetailList ?? []),
        (u) => `iam user ${u.UserName}`,
      ),
    };
  });
}
