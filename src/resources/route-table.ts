import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteCommand,
  DeleteRouteTableCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  paginateDescribeRouteTables,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { isAlreadyExists, isDependencyViolation, isNatGatewayNotFound, isNotFound, KubeazError } from '../aws/errors.js';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import { applyEc2TagChanges, change, drain, ignoreNotFound, keyed, sameSet, toTagList } from './common.js';
import { retryWhile } from '../util/async.js';
import { whenVisible } from './common.js';
import { natGatewayFailure } from './nat-waiter.js';
import type { Change, ResourceHandler, RunContext } from './types.js';

export interface RouteEntry {
  destination: string;
  gatewayId?: string;
  natGatewayId?: string;
  /** a target of another type (instance, interface, peering…): never what we want */
  other?: string;
}

export interface Association {
  subnetId: string;
  associationId: string;
}

interface Observed {
  vpcId: string;
  routes: RouteEntry[];
  associations: Association[];
}

/** Fixed key order, absent keys left out: comparable as JSON. */
const route = (r: {
  destination: string;
  gatewayId?: string | undefined;
  natGatewayId?: string | undefined;
  other?: string | undefined;
}): RouteEntry => ({
  destination: r.destination,
  ...(r.gatewayId ? { gatewayId: r.gatewayId } : {}),
  ...(r.natGatewayId ? { natGatewayId: r.natGatewayId } : {}),
  ...(r.other ? { other: r.other } : {}),
});

const LIVE_ASSOCIATION = (state: string | undefined) => state !== 'disassociated' && state !== 'disassociating' && state !== 'failed';

function observedOf(t: RouteTable): Observed {
  const routes: RouteEntry[] = [];
  for (const r of t.Routes ?? []) {
    // IPv4 routes we could have made: not the VPC's local route, not propagated ones, and not the
    // prefix-list routes a gateway endpoint manages.
    if (!r.DestinationCidrBlock || r.GatewayId === 'local' || r.Origin === 'CreateRouteTable' || r.Origin === 'EnableVgwRoutePropagation')
      continue;
    const gw = r.GatewayId?.startsWith('igw-') ? r.GatewayId : undefined;
    const other =
      gw || r.NatGatewayId
        ? undefined
        : (r.GatewayId ??
          r.InstanceId ??
          r.NetworkInterfaceId ??
          r.TransitGatewayId ??
          r.VpcPeeringConnectionId ??
          r.EgressOnlyInternetGatewayId ??
          r.LocalGatewayId ??
          r.CarrierGatewayId ??
          'unknown');
    routes.push(route({ destination: r.DestinationCidrBlock, gatewayId: gw, natGatewayId: r.NatGatewayId, other }));
  }
  const associations = (t.Associations ?? [])
    .filter((a) => !a.Main && a.SubnetId && a.RouteTableAssociationId && LIVE_ASSOCIATION(a.AssociationState?.State))
    .map((a) => ({ subnetId: a.SubnetId!, associationId: a.RouteTableAssociationId! }));
  return { vpcId: t.VpcId ?? '', routes, associations };
}

const desiredRoutes = (
  routes: ReadonlyArray<{ destination: string; gatewayId?: string | undefined; natGatewayId?: string | undefined }>,
): RouteEntry[] => routes.map(route);

export const routeTable: ResourceHandler<'route-table', Observed> = {
  calls: {
    observe: ['ec2:DescribeNatGateways', 'ec2:DescribeRouteTables'],
    create: ['ec2:AssociateRouteTable', 'ec2:CreateRoute', 'ec2:CreateRouteTable'],
    update: ['ec2:CreateTags', 'ec2:ReplaceRoute', 'ec2:ReplaceRouteTableAssociation'],
    delete: ['ec2:DeleteRoute', 'ec2:DeleteRouteTable', 'ec2:DisassociateRouteTable'],
  },
  kind: 'route-table',
  edges: { waitsFor: ['vpc', 'subnet', 'internet-gateway', 'nat-gateway'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const tables = await drain(
      paginateDescribeRouteTables({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }),
      (p) => p.RouteTables,
    );
    return keyed(tables, (t) => t.Tags, ctx).map(({ item, key, tags }) => ({
      key,
      kind: 'route-table' as const,
      id: item.RouteTableId!,
      attrs: {},
      tags,
      observed: observedOf(item),
    }));
  },

  async create(ctx, node) {
    const ec2 = await ctx.aws.ec2();
    const out = await ec2.send(
      new CreateRouteTableCommand({
        VpcId: node.props.vpcId,
        ClientToken: ctx.token(node.key),
        TagSpecifications: [{ ResourceType: 'route-table', Tags: toTagList(node.tags) }],
      }),
    );
    const id = out.RouteTable!.RouteTableId!;
    const routes = desiredRoutes(node.props.routes);
    for (const r of routes) await putRoute(ctx, id, r, 'create');
    const associations = await associate(ctx, id, node.props.subnetIds);
    return {
      key: node.key,
      kind: 'route-table',
      id,
      attrs: {},
      tags: node.tags,
      observed: { vpcId: node.props.vpcId, routes, associations } satisfies Observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, false));
    const want = desiredRoutes(node.props.routes);
    if (!sameSet(o.routes, want)) out.push(change('routes', o.routes, want, true));
    const have = o.associations.map((a) => a.subnetId);
    if (!sameSet(have, node.props.subnetIds)) out.push(change('subnetIds', have, node.props.subnetIds, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const ec2 = await ctx.aws.ec2();
    const o = actual.observed;
    let routes = o.routes;
    let associations = o.associations;
    if (changes.some((c) => c.field === 'routes')) {
      const want = desiredRoutes(node.props.routes);
      const have = new Map(o.routes.map((r) => [r.destination, r]));
      const wanted = new Set(want.map((r) => r.destination));
      for (const r of o.routes) {
        if (!wanted.has(r.destination))
          await ignoreNotFound(ec2.send(new DeleteRouteCommand({ RouteTableId: actual.id, DestinationCidrBlock: r.destination })));
      }
      for (const r of want) {
        const h = have.get(r.destination);
        if (!h) await putRoute(ctx, actual.id, r, 'create');
        else if (JSON.stringify(h) !== JSON.stringify(r)) await putRoute(ctx, actual.id, r, 'replace');
      }
      routes = want;
    }
    if (changes.some((c) => c.field === 'subnetIds')) {
      const wanted = new Set(node.props.subnetIds);
      for (const a of o.associations) {
        if (!wanted.has(a.subnetId)) await ignoreNotFound(ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.associationId })));
      }
      const kept = o.associations.filter((a) => wanted.has(a.subnetId));
      const have = new Set(kept.map((a) => a.subnetId));
      associations = [
        ...kept,
        ...(await associate(
          ctx,
          actual.id,
          node.props.subnetIds.filter((s) => !have.has(s)),
        )),
      ];
    }
    const next = { ...actual, observed: { ...o, routes, associations } satisfies Observed };
    return applyEc2TagChanges(ctx, next, changes);
  },

  async delete(ctx, actual) {
    const ec2 = await ctx.aws.ec2();
    const o = actual.observed;
    const disassociate = (list: Association[]) =>
      Promise.all(list.map((a) => ignoreNotFound(ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.associationId })))));
    await disassociate(o?.associations ?? []);
    try {
      await ec2.send(new DeleteRouteTableCommand({ RouteTableId: actual.id }));
    } catch (e) {
      if (isNotFound(e)) return;
      if (!isDependencyViolation(e)) throw e;
      // A subnet associated since it was observed: read the table again, once.
      const fresh = await drain(paginateDescribeRouteTables({ client: ec2 }, { RouteTableIds: [actual.id] }), (p) => p.RouteTables).catch(
        (e2: unknown) => (isNotFound(e2) ? [] : Promise.reject(e2)),
      );
      if (!fresh[0]) return;
      await disassociate(observedOf(fresh[0]).associations);
      await ignoreNotFound(ec2.send(new DeleteRouteTableCommand({ RouteTableId: actual.id })));
    }
  },
};

/** Creates (or replaces) one route; a route already there is replaced so it is exactly as wanted. */
async function putRoute(ctx: RunContext, tableId: string, r: RouteEntry, how: 'create' | 'replace'): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  const target = {
    RouteTableId: tableId,
    DestinationCidrBlock: r.destination,
    ...(r.gatewayId ? { GatewayId: r.gatewayId } : {}),
    ...(r.natGatewayId ? { NatGatewayId: r.natGatewayId } : {}),
  };
  if (how === 'replace') {
    await whenNatVisible(ctx, r, () => ec2.send(new ReplaceRouteCommand(target)));
    return;
  }
  try {
    // The table made a moment ago may not be visible yet; nor the NAT gateway (its own budget).
    await whenVisible(ctx, () => whenNatVisible(ctx, r, () => ec2.send(new CreateRouteCommand(target))));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    await ec2.send(new ReplaceRouteCommand(target));
  }
}

/**
 * How long CreateRoute may answer InvalidNatGatewayID.NotFound for a NAT gateway this run made
 * moments ago. AWS accepts a route to a `pending` NAT gateway, but right after CreateNatGateway the
 * id may not be known to CreateRoute yet (the same call succeeds on retry: boto3#779, the reason
 * kops waits before its routes). A gateway that ends `failed` is never found: the retry stops as
 * soon as the NAT gateway's own wait has seen it fail.
 */
export const NAT_VISIBLE_SECONDS = 120;

function whenNatVisible<T>(ctx: RunContext, r: RouteEntry, fn: () => Promise<T>): Promise<T> {
  const nat = r.natGatewayId;
  if (!nat) return fn();
  return retryWhile(
    {
      retryable: (e) => {
        if (!isNatGatewayNotFound(e)) return false;
        const failure = natGatewayFailure(ctx, nat);
        if (failure)
          throw new KubeazError(
            `route ${r.destination} → ${nat}: the NAT gateway will not become available: ${failure}`,
            'NatGatewayFailed',
            nat,
            { cause: e },
          );
        return true;
      },
      seconds: NAT_VISIBLE_SECONDS,
      firstDelayMs: Math.max(50, Math.min(ctx.timing.pollSeconds, 1) * 1000),
      maxDelayMs: 4000,
      signal: ctx.signal,
      // not the table's eventual consistency: whenVisible must not retry this again
      giveUp: (e) =>
        new KubeazError(
          `route ${r.destination} → ${nat}: AWS still does not know the NAT gateway after ${NAT_VISIBLE_SECONDS}s`,
          'NatGatewayNotVisible',
          nat,
          { cause: e },
        ),
    },
    fn,
  );
}

/**
 * Associates subnets with the table. A subnet explicitly associated with another table is moved
 * (ReplaceRouteTableAssociation); one already on this table is left alone. One read finds them all.
 */
async function associate(ctx: RunContext, tableId: string, subnetIds: string[]): Promise<Association[]> {
  if (!subnetIds.length) return [];
  const ec2 = await ctx.aws.ec2();
  const tables = await drain(
    paginateDescribeRouteTables({ client: ec2 }, { Filters: [{ Name: 'association.subnet-id', Values: subnetIds }] }),
    (p) => p.RouteTables,
  );
  const current = new Map<string, { tableId: string; associationId: string }>();
  for (const t of tables) {
    for (const a of t.Associations ?? []) {
      if (
        a.SubnetId &&
        !a.Main &&
        a.RouteTableAssociationId &&
        LIVE_ASSOCIATION(a.AssociationState?.State) &&
        subnetIds.includes(a.SubnetId)
      ) {
        current.set(a.SubnetId, { tableId: t.RouteTableId!, associationId: a.RouteTableAssociationId });
      }
    }
  }
  const out: Association[] = [];
  for (const subnetId of subnetIds) {
    const cur = current.get(subnetId);
    if (cur?.tableId === tableId) out.push({ subnetId, associationId: cur.associationId });
    else if (cur) {
      const r = await ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: cur.associationId, RouteTableId: tableId }));
      out.push({ subnetId, associationId: r.NewAssociationId! });
    } else {
      const r = await whenVisible(ctx, () => ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnetId })));
      out.push({ subnetId, associationId: r.AssociationId! });
    }
  }
  return out;
}
