/**
 * What the spec names that kubeaz does not make, checked before anything is made: the managed
 * policies the spec's service accounts get (spec.iam.serviceAccounts[].policyArns). A policy that
 * does not exist would otherwise fail AttachRolePolicy half-way through the create, after a minute
 * of NoSuchEntity retries (the role's own eventual consistency looks the same). (The AMIs and the key
 * pair are images.ts', the public zone foreign-holders.ts'.)
 */
import { GetPolicyCommand } from '@aws-sdk/client-iam';
import { errorCode } from '../aws/errors.js';
import type { PreflightCheck } from './types.js';

/** The account an IAM policy ARN belongs to: `aws` for AWS's own managed policies. */
const policyAccount = (arn: string): string | undefined => /^arn:[^:]+:iam::([^:]+):policy\//.exec(arn)?.[1];

/** One policy ARN and who names it (the service accounts, namespace/name). */
export interface NamedPolicy {
  arn: string;
  by: string[];
}

/** The managed policies of the IRSA roles this run makes or changes: each exists and can be attached. */
export const iamPolicies: PreflightCheck<{ policies: NamedPolicy[] }> = {
  name: 'iam-policy',
  calls: ['iam:GetPolicy'],
  input({ graph, touched }) {
    const by = new Map<string, string[]>();
    for (const n of graph.nodes) {
      if (n.kind !== 'iam-role' || !touched.has(n.key) || !n.props.managedPolicyArns) continue;
      const sa = n.tags['kubeaz:service-account'] ?? n.key;
      for (const arn of n.props.managedPolicyArns) by.set(arn, [...(by.get(arn) ?? []), sa]);
    }
    return by.size ? { policies: [...by].map(([arn, names]) => ({ arn, by: names })) } : undefined;
  },
  async run(ctx, { policies }, _shared, report) {
    const iam = await ctx.aws.iam();
    const whose = (p: NamedPolicy) => `(spec.iam.serviceAccounts: ${p.by.join(', ')})`;
    // asked at once, reported in the spec's order
    const found = await Promise.all(
      policies.map(async (p): Promise<string | undefined> => {
        const account = policyAccount(p.arn);
        if (account !== 'aws' && account !== ctx.accountId)
          return `the IAM policy ${p.arn} ${whose(p)} belongs to account ${account}, not this one (${ctx.accountId}): IAM attaches only this account's policies and AWS's own; create the policy in ${ctx.accountId}`;
        try {
          const out = await iam.send(new GetPolicyCommand({ PolicyArn: p.arn }));
          if (out.Policy?.IsAttachable === false)
            return `the IAM policy ${p.arn} ${whose(p)} cannot be attached to a role (IsAttachable is false): name another policy`;
          return undefined;
        } catch (e) {
          if (errorCode(e) !== 'NoSuchEntity') throw e;
          return account === 'aws'
            ? `the IAM policy ${p.arn} ${whose(p)} does not exist: AWS has no managed policy of that name (see the AWS Managed Policy Reference Guide); correct the ARN`
            : `the IAM policy ${p.arn} ${whose(p)} does not exist in account ${ctx.accountId}: create it first (aws iam create-policy) or correct the ARN`;
        }
      }),
    );
    for (const m of found) if (m !== undefined) report(m);
  },
};
