import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DetachInternetGatewayCommand,
  paginateDescribeInternetGateways,
  type InternetGateway,
} from '@aws-sdk/client-ec2';
import { errorCode, isNotFound } from '../aws/errors.js';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, change, drain, keyed, toTagList, whenVisible } from './common.js';
import type { ResourceHandler, RunContext } from './types.js';

/** Detaching a gateway that is not attached to that VPC (AWS code; not in aws/errors.ts yet). */
const GATEWAY_NOT_ATTACHED = 'Gateway.NotAttached';

interface Observed {
  /** the VPC it is attached to, null when detached */
  vpcId: string | null;
}

const attachedVpc = (g: InternetGateway): string | null =>
  (g.Attachments ?? []).find((a) => a.VpcId && a.State !== 'detached' && a.State !== 'detaching')?.VpcId ?? null;

export const internetGateway: ResourceHandler<'internet-gateway', Observed> = {
  calls: {
    observe: ['ec2:DescribeInternetGateways'],
    create: ['ec2:AttachInternetGateway', 'ec2:CreateInternetGateway'],
    update: ['ec2:CreateTags'],
    delete: ['ec2:DeleteInternetGateway', 'ec2:DetachInternetGateway'],
  },
  kind: 'internet-gateway',
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const gws = await drain(
      paginateDescribeInternetGateways({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }),
      (p) => p.InternetGateways,
    );
    return keyed(gws, (g) => g.Tags, ctx).map(({ item, key, tags }) => ({
      key,
      kind: 'internet-gateway' as const,
      id: item.InternetGatewayId!,
      attrs: {},
      tags,
      observed: { vpcId: attachedVpc(item) } satisfies Observed,
    }));
  },

  async create(ctx, node) {
    const ec2 = await ctx.aws.ec2();
    const out = await ec2.send(
      new CreateInternetGatewayCommand({ TagSpecifications: [{ ResourceType: 'internet-gateway', Tags: toTagList(node.tags) }] }),
    );
    const id = out.InternetGateway!.InternetGatewayId!;
    // A just-created gateway may not be visible to the attach call yet (eventual consistency).
    try {
      await whenVisible(ctx, () => ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: node.props.vpcId })));
    } catch (e) {
      // The SDK resent an attach whose answer was lost: attached to our VPC already is done.
      if (errorCode(e) !== 'Resource.AlreadyAssociated') throw e;
      const { DescribeInternetGatewaysCommand } = await import('@aws-sdk/client-ec2');
      const g = (await ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] }))).InternetGateways?.[0];
      if (!g?.Attachments?.some((a) => a.VpcId === node.props.vpcId)) throw e;
    }
    return {
      key: node.key,
      kind: 'internet-gateway',
      id,
      attrs: {},
      tags: node.tags,
      observed: { vpcId: node.props.vpcId } satisfies Observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const ec2 = await ctx.aws.ec2();
    const o = actual.observed;
    let next = actual;
    if (changes.some((c) => c.field === 'vpcId')) {
      if (o.vpcId && o.vpcId !== node.props.vpcId) await detach(ctx, actual.id, o.vpcId);
      await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: actual.id, VpcId: node.props.vpcId }));
      next = { ...next, observed: { vpcId: node.props.vpcId } satisfies Observed };
    }
    return applyEc2TagChanges(ctx, next, changes);
  },

  async delete(ctx, actual) {
    const ec2 = await ctx.aws.ec2();
    const o = actual.observed;
    // A public address still mapped in the VPC makes the detach fail with DependencyViolation: retried.
    if (o?.vpcId) await detach(ctx, actual.id, o.vpcId);
    try {
      await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: actual.id }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};

async function detach(ctx: RunContext, id: string, vpcId: string): Promise<void> {
  try {
    await (await ctx.aws.ec2()).send(new DetachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId }));
  } catch (e) {
    if (!isNotFound(e) && errorCode(e) !== GATEWAY_NOT_ATTACHED) throw e;
  }
}
