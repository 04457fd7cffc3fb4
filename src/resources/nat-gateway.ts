import { CreateNatGatewayCommand, DeleteNatGatewayCommand, paginateDescribeNatGateways, type NatGateway } from '@aws-sdk/client-ec2';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, change, drain, ignoreNotFound, keyed, toTagList } from './common.js';
import { natWaiter as waiter } from './nat-waiter.js';
import type { ResourceHandler } from './types.js';

interface Observed {
  subnetId: string;
  allocationId: string;
}

/** Gone, going, or never made: not a NAT gateway the cluster has. */
const GONE = new Set(['deleted', 'deleting', 'failed']);

const observedOf = (n: NatGateway): Observed => ({
  subnetId: n.SubnetId ?? '',
  allocationId: n.NatGatewayAddresses?.find((a) => a.AllocationId)?.AllocationId ?? '',
});

export const natGateway: ResourceHandler<'nat-gateway', Observed> = {
  calls: {
    observe: ['ec2:DescribeNatGateways'],
    create: ['ec2:CreateNatGateway'],
    update: ['ec2:CreateTags'],
    delete: ['ec2:DeleteNatGateway'],
  },
  kind: 'nat-gateway',
  edges: {
    waitsFor: ['subnet', 'elastic-ip', 'internet-gateway'],
    // A route may name a NAT gateway that is deleting or gone (it becomes a blackhole route), and
    // instances that are terminating in the private subnets need no way out. So the NAT gateways
    // start deleting at once, alongside the auto scaling groups, and their addresses and subnets go
    // once both are gone (elastic-ip and subnet wait for nat-gateway and auto-scaling-group). The
    // internet gateway still waits for them: AWS refuses to detach it while the VPC has mapped
    // public addresses.
    notBlockedBy: ['route-table', 'auto-scaling-group'],
  },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const nats = await drain(paginateDescribeNatGateways({ client: ec2 }, { Filter: [ownerFilter(ctx.clusterId)] }), (p) => p.NatGateways);
    return keyed(
      nats.filter((n) => !GONE.has(n.State ?? '')),
      (n) => n.Tags,
      ctx,
    ).map(({ item, key, tags }) => ({
      key,
      kind: 'nat-gateway' as const,
      id: item.NatGatewayId!,
      attrs: {},
      tags,
      observed: observedOf(item),
      state: item.State ?? 'pending',
    }));
  },

  async create(ctx, node) {
    const { subnetId, allocationId } = node.props;
    const ec2 = await ctx.aws.ec2();
    const send = (token: string) =>
      ec2.send(
        new CreateNatGatewayCommand({
          SubnetId: subnetId,
          AllocationId: allocationId,
          ClientToken: token,
          TagSpecifications: [{ ResourceType: 'natgateway', Tags: toTagList(node.tags) }],
        }),
      );
    let out = await send(ctx.token(node.key));
    // AWS answers a repeated token with the gateway it made for it, even a failed one (observe
    // leaves failed gateways out, so we are here again): salt the token with that gateway's id.
    for (let i = 0; i < 3 && (out.NatGateway?.State === 'failed' || out.NatGateway?.State === 'deleted'); i++) {
      out = await send(ctx.token(`${node.key}#after-${out.NatGateway.NatGatewayId}`));
    }
    const id = out.NatGateway!.NatGatewayId!;
    // Made, not yet available (one to a few minutes on AWS): a route may name it now; what needs it
    // available waits in settle.
    return {
      key: node.key,
      kind: 'nat-gateway',
      id,
      attrs: {},
      tags: node.tags,
      observed: { subnetId, allocationId } satisfies Observed,
      state: out.NatGateway?.State ?? 'pending',
    };
  },

  async settle(ctx, actual) {
    if (actual.state === 'available') return actual;
    await waiter(ctx, 'available').wait(actual.id);
    return { ...actual, state: 'available' };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out = [];
    if (o.subnetId !== node.props.subnetId) out.push(change('subnetId', o.subnetId, node.props.subnetId, false));
    if (o.allocationId !== node.props.allocationId) out.push(change('allocationId', o.allocationId, node.props.allocationId, false));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  update: (ctx, _node, actual, changes) => applyEc2TagChanges(ctx, actual, changes),

  async delete(ctx, actual) {
    await ignoreNotFound((await ctx.aws.ec2()).send(new DeleteNatGatewayCommand({ NatGatewayId: actual.id })));
    // Its elastic IP and its subnet can go only once it is deleted.
    await waiter(ctx, 'deleted').wait(actual.id);
  },

  async health(_ctx, actuals) {
    return actuals.map((a) => ({
      key: a.key,
      ok: a.state === 'available',
      summary: `NAT gateway ${a.id} is ${a.state ?? 'unknown'}`,
      details: { id: a.id, state: a.state, ...a.observed },
    }));
  },
};
