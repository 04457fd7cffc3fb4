import { CreateVpcCommand, DeleteVpcCommand, DescribeVpcAttributeCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2';
import { tagDiff } from '../aws/tags.js';
import { GENERATION_TAG } from '../model/types.js';
import { ownVpcs } from './cluster-record.js';
import { applyEc2TagChanges, change, ignoreNotFound, toTagList } from './common.js';
import type { ResourceHandler } from './types.js';

interface Observed {
  cidr: string;
  tenancy: string;
  dnsSupport: boolean;
  dnsHostnames: boolean;
}

export const vpc: ResourceHandler<'vpc', Observed> = {
  calls: {
    observe: ['ec2:DescribeVpcAttribute', 'ec2:DescribeVpcs', 's3:GetBucketLocation'],
    create: ['ec2:CreateVpc'],
    update: ['ec2:CreateTags', 'ec2:ModifyVpcAttribute'],
    delete: ['ec2:DeleteVpc'],
  },
  kind: 'vpc',
  edges: {
    waitsFor: [],
    // The discovery bucket waits for the VPC only so that the VPC records IRSA before the bucket is
    // made (model/features.ts); a bucket holds nothing of the VPC, which may go first.
    notBlockedBy: ['discovery-bucket'],
  },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    // The one DescribeVpcs of the pass, shared with what reads the cluster's record on its VPC.
    return Promise.all(
      (await ownVpcs(ctx)).map(async ({ item, key, tags }) => {
        const [support, hostnames] = await Promise.all([
          ec2.send(new DescribeVpcAttributeCommand({ VpcId: item.VpcId!, Attribute: 'enableDnsSupport' })),
          ec2.send(new DescribeVpcAttributeCommand({ VpcId: item.VpcId!, Attribute: 'enableDnsHostnames' })),
        ]);
        const observed: Observed = {
          cidr: item.CidrBlock ?? '',
          tenancy: item.InstanceTenancy ?? 'default',
          dnsSupport: support.EnableDnsSupport?.Value ?? false,
          dnsHostnames: hostnames.EnableDnsHostnames?.Value ?? false,
        };
        return { key, kind: 'vpc' as const, id: item.VpcId!, attrs: {}, tags, observed, ...(item.State ? { state: item.State } : {}) };
      }),
    );
  },

  async create(ctx, node) {
    const ec2 = await ctx.aws.ec2();
    const tags = { ...node.tags, [GENERATION_TAG]: ctx.generation };
    const out = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: node.props.cidr,
        InstanceTenancy: node.props.tenancy,
        TagSpecifications: [{ ResourceType: 'vpc', Tags: toTagList(tags) }],
      }),
    );
    const id = out.Vpc!.VpcId!;
    await enableDns(ctx, id, { dnsSupport: false, dnsHostnames: false });
    return {
      key: node.key,
      kind: 'vpc',
      id,
      attrs: {},
      tags,
      observed: { cidr: node.props.cidr, tenancy: node.props.tenancy, dnsSupport: true, dnsHostnames: true },
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out = [];
    if (o.cidr !== node.props.cidr) out.push(change('cidr', o.cidr, node.props.cidr, false));
    if (o.tenancy !== node.props.tenancy) out.push(change('tenancy', o.tenancy, node.props.tenancy, false));
    if (!o.dnsSupport) out.push(change('enableDnsSupport', false, true, true));
    if (!o.dnsHostnames) out.push(change('enableDnsHostnames', false, true, true));
    out.push(...tagDiff(node, actual.tags, [GENERATION_TAG]));
    return out;
  },

  async update(ctx, node, actual, changes) {
    await enableDns(ctx, actual.id, actual.observed);
    const next = await applyEc2TagChanges(ctx, actual, changes);
    return { ...next, observed: { ...actual.observed, dnsSupport: true, dnsHostnames: true } };
  },

  async delete(ctx, actual) {
    await ignoreNotFound((await ctx.aws.ec2()).send(new DeleteVpcCommand({ VpcId: actual.id })));
  },
};

async function enableDns(
  ctx: Parameters<typeof vpc.observe>[0],
  id: string,
  o: Pick<Observed, 'dnsSupport' | 'dnsHostnames'>,
): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  // One attribute per call (the API's rule); support before hostnames.
  if (!o.dnsSupport) await ec2.send(new ModifyVpcAttributeCommand({ VpcId: id, EnableDnsSupport: { Value: true } }));
  if (!o.dnsHostnames) await ec2.send(new ModifyVpcAttributeCommand({ VpcId: id, EnableDnsHostnames: { Value: true } }));
}
