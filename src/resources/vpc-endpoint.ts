import {
  CreateVpcEndpointCommand,
  DeleteVpcEndpointsCommand,
  ModifyVpcEndpointCommand,
  paginateDescribeVpcEndpoints,
} from '@aws-sdk/client-ec2';
import { isNotFound } from '../aws/errors.js';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, change, drain, keyed, sameSet, toTagList } from './common.js';
import type { Change, ResourceHandler } from './types.js';

interface Observed {
  vpcId: string;
  serviceName: string;
  routeTableIds: string[];
}

const GONE = new Set(['deleted', 'deleting']);

export const vpcEndpoint: ResourceHandler<'vpc-endpoint', Observed> = {
  calls: {
    observe: ['ec2:DescribeVpcEndpoints'],
    create: ['ec2:CreateVpcEndpoint'],
    update: ['ec2:CreateTags', 'ec2:ModifyVpcEndpoint'],
    delete: ['ec2:DeleteVpcEndpoints'],
  },
  kind: 'vpc-endpoint',
  edges: { waitsFor: ['vpc', 'route-table'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const eps = await drain(
      paginateDescribeVpcEndpoints({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }),
      (p) => p.VpcEndpoints,
    );
    return keyed(
      eps.filter((e) => !GONE.has((e.State ?? '').toLowerCase())),
      (e) => e.Tags,
      ctx,
    ).map(({ item, key, tags }) => ({
      key,
      kind: 'vpc-endpoint' as const,
      id: item.VpcEndpointId!,
      attrs: {},
      tags,
      observed: {
        vpcId: item.VpcId ?? '',
        serviceName: item.ServiceName ?? '',
        routeTableIds: [...(item.RouteTableIds ?? [])],
      } satisfies Observed,
      ...(item.State ? { state: item.State } : {}),
    }));
  },

  async create(ctx, node) {
    const { vpcId, serviceName, routeTableIds } = node.props;
    const out = await (
      await ctx.aws.ec2()
    ).send(
      new CreateVpcEndpointCommand({
        VpcEndpointType: 'Gateway',
        VpcId: vpcId,
        ServiceName: serviceName,
        RouteTableIds: routeTableIds,
        ClientToken: ctx.token(node.key),
        TagSpecifications: [{ ResourceType: 'vpc-endpoint', Tags: toTagList(node.tags) }],
      }),
    );
    const ep = out.VpcEndpoint!;
    return {
      key: node.key,
      kind: 'vpc-endpoint',
      id: ep.VpcEndpointId!,
      attrs: {},
      tags: node.tags,
      observed: { vpcId, serviceName, routeTableIds: [...routeTableIds] } satisfies Observed,
      ...(ep.State ? { state: ep.State } : {}),
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, false));
    if (o.serviceName !== node.props.serviceName) out.push(change('serviceName', o.serviceName, node.props.serviceName, false));
    if (!sameSet(o.routeTableIds, node.props.routeTableIds))
      out.push(change('routeTableIds', o.routeTableIds, node.props.routeTableIds, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const o = actual.observed;
    let next = actual;
    if (changes.some((c) => c.field === 'routeTableIds')) {
      const add = node.props.routeTableIds.filter((id) => !o.routeTableIds.includes(id));
      const remove = o.routeTableIds.filter((id) => !node.props.routeTableIds.includes(id));
      if (add.length || remove.length) {
        await (
          await ctx.aws.ec2()
        ).send(
          new ModifyVpcEndpointCommand({
            VpcEndpointId: actual.id,
            ...(add.length ? { AddRouteTableIds: add } : {}),
            ...(remove.length ? { RemoveRouteTableIds: remove } : {}),
          }),
        );
      }
      next = { ...next, observed: { ...o, routeTableIds: [...node.props.routeTableIds] } satisfies Observed };
    }
    return applyEc2TagChanges(ctx, next, changes);
  },

  async delete(ctx, actual) {
    let out;
    try {
      out = await (await ctx.aws.ec2()).send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [actual.id] }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    // Failures come back as items, not as an error.
    const failed = out.Unsuccessful?.find((u) => u.ResourceId === actual.id || !u.ResourceId);
    if (failed?.Error) {
      const err = Object.assign(new Error(`DeleteVpcEndpoints ${actual.id}: ${failed.Error.Message ?? failed.Error.Code}`), {
        name: failed.Error.Code ?? 'Unknown',
      });
      if (!isNotFound(err)) throw err;
    }
  },
};
