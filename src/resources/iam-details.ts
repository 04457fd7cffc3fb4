/**
 * One paginated GetAccountAuthorizationDetails per observe pass gives every role and user with
 * their tags and inline policies: the no-op read of IAM costs one call however many roles and
 * users the cluster has (instead of ListRoles + per role ListRoleTags, ListRolePolicies and
 * GetRolePolicy). It lists the whole account, then keeps what lies under the cluster's IAM path.
 */
import { paginateGetAccountAuthorizationDetails, type RoleDetail, type UserDetail } from '@aws-sdk/client-iam';
import { iamPathOf } from '../model/names.js';
import { drain } from './common.js';
import type { RunContext } from './types.js';

export interface IamDetails {
  roles: RoleDetail[];
  users: UserDetail[];
}

export function iamDetails(ctx: RunContext): Promise<IamDetails> {
  return ctx.memo('iam:GetAccountAuthorizationDetails', async () => {
    const iam = await ctx.aws.iam();
    const path = iamPathOf(ctx.clusterId);
    // The trailing slash of the path keeps /kubeaz/demo-dev-2/ out of /kubeaz/demo-dev/.
    const pages = await drain(paginateGetAccountAuthorizationDetails({ client: iam }, { Filter: ['Role', 'User'] }), (p) => [p]);
    return {
      roles: pages.flatMap((p) => p.RoleDetailList ?? []).filter((r) => r.Path?.startsWith(path)),
      users: pages.flatMap((p) => p.UserDetailList ?? []).filter((u) => u.Path?.startsWith(path)),
    };
  });
}
