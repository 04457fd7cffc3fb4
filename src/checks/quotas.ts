/**
 * Quotas a create would run into half-way: elastic IPs and VPCs per region, against what the
 * account holds already plus what this create still makes.
 */
import { DescribeAccountAttributesCommand, DescribeAddressesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import type { CheckContext, PreflightCheck } from './types.js';

export const EIP_QUOTA_CODE = 'L-0263D0A3';
export const VPC_QUOTA_CODE = 'L-F678F1CE';
/** AWS's default VPCs per region, when Service Quotas cannot tell */
export const DEFAULT_VPC_QUOTA = 5;

/** The applied quota value from Service Quotas, or undefined when it does not know (or may not be asked). */
async function serviceQuota(ctx: CheckContext, quotaCode: string): Promise<number | undefined> {
  try {
    const { GetServiceQuotaCommand } = await import('@aws-sdk/client-service-quotas');
    const out = await (await ctx.aws.serviceQuotas()).send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quotaCode }));
    return out.Quota?.Value;
  } catch {
    return undefined;
  }
}

/** Service Quotas L-0263D0A3, else EC2's vpc-max-elastic-ips account attribute, else AWS's default 5. */
async function eipQuota(ctx: CheckContext): Promise<{ value: number; source: string }> {
  const q = await serviceQuota(ctx, EIP_QUOTA_CODE);
  if (q !== undefined) return { value: q, source: `Service Quotas ${EIP_QUOTA_CODE}` };
  const out = await (await ctx.aws.ec2()).send(new DescribeAccountAttributesCommand({}));
  const v = out.AccountAttributes?.find((a) => a.AttributeName === 'vpc-max-elastic-ips')?.AttributeValues?.[0]?.AttributeValue;
  return {
    value: v !== undefined ? Number(v) : 5,
    source: v !== undefined ? 'EC2 account attribute vpc-max-elastic-ips' : 'the AWS default',
  };
}

/** Elastic IPs: what the account holds in the region (ours included) plus what is still to make. */
export const elasticIps: PreflightCheck<{ needed: number; region: string }> = {
  name: 'elastic-ips',
  calls: ['servicequotas:GetServiceQuota', 'ec2:DescribeAccountAttributes', 'ec2:DescribeAddresses'],
  input({ graph, creates, spec }) {
    const needed = graph.nodes.filter((n) => n.kind === 'elastic-ip' && creates.has(n.key)).length;
    return needed ? { needed, region: spec.spec.region } : undefined;
  },
  async run(ctx, { needed, region }, _shared, report) {
    const ec2 = await ctx.aws.ec2();
    const [quota, held] = await Promise.all([
      eipQuota(ctx),
      ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] })),
    ]);
    const used = held.Addresses?.length ?? 0;
    if (used + needed > quota.value)
      report(
        `this create needs ${needed} more elastic IP${needed === 1 ? '' : 's'} (NAT gateways and loadbalancer groups) but the account holds ${used} of its ${quota.value} in ${region} (${quota.source}): ${used + needed} > ${quota.value}. Ask for a higher quota, release unused addresses, or use nat: single.`,
      );
  },
};

/** VPCs per region, when the cluster's is still to make. */
export const vpcs: PreflightCheck<{ region: string }> = {
  name: 'vpcs',
  calls: ['servicequotas:GetServiceQuota', 'ec2:DescribeAccountAttributes', 'ec2:DescribeVpcs'],
  input: ({ creates, spec }) => (creates.has('vpc') ? { region: spec.spec.region } : undefined),
  async run(ctx, { region }, _shared, report) {
    const ec2 = await ctx.aws.ec2();
    const [q, out] = await Promise.all([serviceQuota(ctx, VPC_QUOTA_CODE), ec2.send(new DescribeVpcsCommand({}))]);
    const quota = q ?? DEFAULT_VPC_QUOTA;
    const used = out.Vpcs?.length ?? 0;
    if (used + 1 > quota)
      report(
        `the account has ${used} VPCs in ${region} and its quota is ${quota}${q === undefined ? ' (AWS default)' : ''}: no room for the cluster's VPC`,
      );
  },
};
