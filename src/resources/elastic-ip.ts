import {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
  type Address,
} from '@aws-sdk/client-ec2';
import { isNotFound } from '../aws/errors.js';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, ignoreNotFound, keyed, orUndefined, toTagList } from './common.js';
import type { ResourceHandler, RunContext } from './types.js';

interface Observed {
  associationId: string | null;
  instanceId: string | null;
  networkInterfaceId: string | null;
}

const observedOf = (a: Address): Observed => ({
  associationId: a.AssociationId ?? null,
  instanceId: a.InstanceId ?? null,
  networkInterfaceId: a.NetworkInterfaceId ?? null,
});

export const elasticIp: ResourceHandler<'elastic-ip'> = {
  calls: {
    observe: ['ec2:DescribeAddresses', 'ec2:DescribeNetworkInterfaces'],
    create: ['ec2:AllocateAddress'],
    update: ['ec2:CreateTags'],
    delete: ['ec2:DisassociateAddress', 'ec2:ReleaseAddress'],
  },
  kind: 'elastic-ip',
  edges: { waitsFor: [] },

  async observe(ctx) {
    // DescribeAddresses has no pagination: one call answers every address.
    const out = await (await ctx.aws.ec2()).send(new DescribeAddressesCommand({ Filters: [ownerFilter(ctx.clusterId)] }));
    return keyed(out.Addresses ?? [], (a) => a.Tags, ctx)
      .filter(({ item }) => item.AllocationId)
      .map(({ item, key, tags }) => ({
        key,
        kind: 'elastic-ip' as const,
        id: item.AllocationId!,
        attrs: { publicIp: item.PublicIp ?? '' },
        tags,
        observed: observedOf(item),
      }));
  },

  async create(ctx, node) {
    const out = await (
      await ctx.aws.ec2()
    ).send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: toTagList(node.tags) }] }));
    return {
      key: node.key,
      kind: 'elastic-ip',
      id: out.AllocationId!,
      attrs: { publicIp: out.PublicIp ?? '' },
      tags: node.tags,
      observed: { associationId: null, instanceId: null, networkInterfaceId: null } satisfies Observed,
    };
  },

  // Associations are made by others (NAT gateways, instances claiming pool addresses): only tags are ours.
  diff: (node, actual) => tagDiff(node, actual.tags),

  update: (ctx, _node, actual, changes) => applyEc2TagChanges(ctx, actual, changes),

  async delete(ctx, actual) {
    const ec2 = await ctx.aws.ec2();
    // Read it again: an instance may have claimed it since the observation.
    const now = await orUndefined(ec2.send(new DescribeAddressesCommand({ AllocationIds: [actual.id] })));
    const addr = now?.Addresses?.[0];
    if (!addr) return;
    if (addr.AssociationId && (await claimedByInstance(ctx, addr))) {
      await ignoreNotFound(ec2.send(new DisassociateAddressCommand({ AssociationId: addr.AssociationId })));
    }
    // A NAT gateway's address stays in use until the gateway is gone: AWS answers an in-use code
    // (InvalidIPAddress.InUse / AuthFailure.AddressInUse), a dependency error the engine retries.
    await ignoreNotFound(ec2.send(new ReleaseAddressCommand({ AllocationId: actual.id })));
  },
};

/** Associated with an instance, or with a network interface that is not a NAT gateway's. */
async function claimedByInstance(ctx: RunContext, addr: Address): Promise<boolean> {
  if (addr.InstanceId) return true;
  if (!addr.NetworkInterfaceId) return false;
  try {
    const out = await (await ctx.aws.ec2()).send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [addr.NetworkInterfaceId] }));
    const eni = out.NetworkInterfaces?.[0];
    if (!eni) return false;
    // The SDK's enum says natGateway; AWS has been seen answering nat_gateway. The description names it too.
    const natType =
      ['natGateway', 'nat_gateway'].includes(String(eni.InterfaceType)) || /^Interface for NAT Gateway/i.test(eni.Description ?? '');
    return !natType;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
