import { CreateSubnetCommand, DeleteSubnetCommand, paginateDescribeSubnets } from '@aws-sdk/client-ec2';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, change, drain, ignoreNotFound, keyed, toTagList } from './common.js';
import type { ResourceHandler } from './types.js';

interface Observed {
  vpcId: string;
  cidr: string;
  zone: string;
}

export const subnet: ResourceHandler<'subnet', Observed> = {
  calls: {
    observe: ['ec2:DescribeSubnets'],
    create: ['ec2:CreateSubnet'],
    update: ['ec2:CreateTags'],
    delete: ['ec2:DeleteSubnet'],
  },
  kind: 'subnet',
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const subnets = await drain(paginateDescribeSubnets({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }), (p) => p.Subnets);
    return keyed(subnets, (s) => s.Tags, ctx).map(({ item, key, tags }) => ({
      key,
      kind: 'subnet' as const,
      id: item.SubnetId!,
      attrs: {},
      tags,
      observed: { vpcId: item.VpcId ?? '', cidr: item.CidrBlock ?? '', zone: item.AvailabilityZone ?? '' } satisfies Observed,
    }));
  },

  async create(ctx, node) {
    const { vpcId, cidr, zone } = node.props;
    const out = await (
      await ctx.aws.ec2()
    ).send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        AvailabilityZone: zone,
        TagSpecifications: [{ ResourceType: 'subnet', Tags: toTagList(node.tags) }],
      }),
    );
    return {
      key: node.key,
      kind: 'subnet',
      id: out.Subnet!.SubnetId!,
      attrs: {},
      tags: node.tags,
      observed: { vpcId, cidr, zone } satisfies Observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, false));
    if (o.cidr !== node.props.cidr) out.push(change('cidr', o.cidr, node.props.cidr, false));
    if (o.zone !== node.props.zone) out.push(change('zone', o.zone, node.props.zone, false));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  update: (ctx, _node, actual, changes) => applyEc2TagChanges(ctx, actual, changes),

  async delete(ctx, actual) {
    await ignoreNotFound((await ctx.aws.ec2()).send(new DeleteSubnetCommand({ SubnetId: actual.id })));
  },
};
