import {
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  paginateDescribeNetworkAcls,
  type NetworkAcl,
  type NetworkAclEntry,
} from '@aws-sdk/client-ec2';
import { KubeazError, isAlreadyExists, isLostResponse, isNotFound } from '../aws/errors.js';
import { ownerFilter, tagDiff } from '../aws/tags.js';
import type { NaclEntry } from '../model/types.js';
import { applyEc2TagChanges, change, drain, ignoreNotFound, keyed, sameSet, toTagList } from './common.js';
import { sleep } from '../util/async.js';
import { whenVisible } from './common.js';
import type { Change, ResourceHandler, RunContext } from './types.js';

export interface Association {
  subnetId: string;
  associationId: string;
}

interface Observed {
  vpcId: string;
  entries: NaclEntry[];
  associations: Association[];
}

/** The rules every ACL ends with (32767 IPv4, 32768 IPv6): neither ours nor removable. */
const FIRST_DEFAULT_RULE = 32767;
const PROTOCOLS: Record<string, NaclEntry['protocol']> = { tcp: '6', udp: '17', all: '-1', '-1': '-1', '6': '6', '17': '17' };
const hasPorts = (p: string) => p === '6' || p === '17';

/** Fixed key order, ports only for tcp/udp: comparable as JSON. */
function entry(e: {
  ruleNumber: number;
  egress: boolean;
  protocol: string;
  cidr: string;
  fromPort?: number | undefined;
  toPort?: number | undefined;
  action: string;
}): NaclEntry {
  const protocol = (PROTOCOLS[e.protocol.toLowerCase()] ?? e.protocol) as NaclEntry['protocol'];
  return {
    ruleNumber: e.ruleNumber,
    egress: e.egress,
    protocol,
    cidr: e.cidr,
    ...(hasPorts(protocol) && e.fromPort !== undefined ? { fromPort: e.fromPort } : {}),
    ...(hasPorts(protocol) && e.toPort !== undefined ? { toPort: e.toPort } : {}),
    action: e.action.toLowerCase() as NaclEntry['action'],
  };
}

const fromAws = (e: NetworkAclEntry): NaclEntry =>
  entry({
    ruleNumber: e.RuleNumber ?? 0,
    egress: e.Egress ?? false,
    protocol: String(e.Protocol ?? '-1'),
    cidr: e.CidrBlock ?? e.Ipv6CidrBlock ?? '',
    fromPort: e.PortRange?.From,
    toPort: e.PortRange?.To,
    action: e.RuleAction ?? 'deny',
  });

function observedOf(a: NetworkAcl): Observed {
  return {
    vpcId: a.VpcId ?? '',
    entries: (a.Entries ?? []).filter((e) => (e.RuleNumber ?? 0) < FIRST_DEFAULT_RULE).map(fromAws),
    associations: (a.Associations ?? [])
      .filter((x) => x.SubnetId && x.NetworkAclAssociationId)
      .map((x) => ({ subnetId: x.SubnetId!, associationId: x.NetworkAclAssociationId! })),
  };
}

const ruleId = (e: NaclEntry) => `${e.egress ? 'egress' : 'ingress'}/${e.ruleNumber}`;

export const networkAcl: ResourceHandler<'network-acl', Observed> = {
  calls: {
    observe: ['ec2:DescribeNetworkAcls'],
    create: ['ec2:CreateNetworkAcl', 'ec2:CreateNetworkAclEntry'],
    update: ['ec2:CreateTags', 'ec2:ReplaceNetworkAclAssociation', 'ec2:ReplaceNetworkAclEntry'],
    delete: ['ec2:DeleteNetworkAcl', 'ec2:DeleteNetworkAclEntry'],
  },
  kind: 'network-acl',
  edges: { waitsFor: ['vpc', 'subnet'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const acls = await drain(paginateDescribeNetworkAcls({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }), (p) => p.NetworkAcls);
    return keyed(acls, (a) => a.Tags, ctx).map(({ item, key, tags }) => ({
      key,
      kind: 'network-acl' as const,
      id: item.NetworkAclId!,
      attrs: {},
      tags,
      observed: observedOf(item),
    }));
  },

  async create(ctx, node) {
    const ec2 = await ctx.aws.ec2();
    const out = await ec2.send(
      new CreateNetworkAclCommand({
        VpcId: node.props.vpcId,
        ClientToken: ctx.token(node.key),
        TagSpecifications: [{ ResourceType: 'network-acl', Tags: toTagList(node.tags) }],
      }),
    );
    const id = out.NetworkAcl!.NetworkAclId!;
    const entries = node.props.entries.map(entry);
    for (const e of entries) await putEntry(ctx, id, e, 'create');
    const associations = await associate(ctx, id, node.props.subnetIds);
    return {
      key: node.key,
      kind: 'network-acl',
      id,
      attrs: {},
      tags: node.tags,
      observed: { vpcId: node.props.vpcId, entries, associations } satisfies Observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, false));
    const want = node.props.entries.map(entry);
    if (!sameSet(o.entries, want)) out.push(change('entries', o.entries, want, true));
    const have = o.associations.map((a) => a.subnetId);
    if (!sameSet(have, node.props.subnetIds)) out.push(change('subnetIds', have, node.props.subnetIds, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const ec2 = await ctx.aws.ec2();
    const o = actual.observed;
    let entries = o.entries;
    let associations = o.associations;
    if (changes.some((c) => c.field === 'entries')) {
      const want = node.props.entries.map(entry);
      const have = new Map(o.entries.map((e) => [ruleId(e), e]));
      const wanted = new Set(want.map(ruleId));
      for (const e of o.entries) {
        if (!wanted.has(ruleId(e)))
          await ignoreNotFound(
            ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: actual.id, RuleNumber: e.ruleNumber, Egress: e.egress })),
          );
      }
      for (const e of want) {
        const h = have.get(ruleId(e));
        if (!h) await putEntry(ctx, actual.id, e, 'create');
        else if (JSON.stringify(h) !== JSON.stringify(e)) await putEntry(ctx, actual.id, e, 'replace');
      }
      entries = want;
    }
    if (changes.some((c) => c.field === 'subnetIds')) {
      const wanted = new Set(node.props.subnetIds);
      const extra = o.associations.filter((a) => !wanted.has(a.subnetId));
      await toDefaultAcl(ctx, o.vpcId, extra);
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
    const next = { ...actual, observed: { ...o, entries, associations } satisfies Observed };
    return applyEc2TagChanges(ctx, next, changes);
  },

  async delete(ctx, actual) {
    const ec2 = await ctx.aws.ec2();
    // Read it again: association ids change whenever a subnet moves, so observed ones may be stale.
    const fresh = await drain(paginateDescribeNetworkAcls({ client: ec2 }, { NetworkAclIds: [actual.id] }), (p) => p.NetworkAcls).catch(
      (e: unknown) => (isNotFound(e) ? [] : Promise.reject(e)),
    );
    if (!fresh[0]) return;
    const o = observedOf(fresh[0]);
    // A subnet always has an ACL: ours go back to the VPC's default one before ours can go.
    await toDefaultAcl(ctx, o.vpcId, o.associations);
    await ignoreNotFound(ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: actual.id })));
  },
};

async function putEntry(ctx: RunContext, aclId: string, e: NaclEntry, how: 'create' | 'replace'): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  const input = {
    NetworkAclId: aclId,
    RuleNumber: e.ruleNumber,
    Egress: e.egress,
    Protocol: e.protocol,
    RuleAction: e.action,
    CidrBlock: e.cidr,
    ...(hasPorts(e.protocol) ? { PortRange: { From: e.fromPort ?? 0, To: e.toPort ?? 65535 } } : {}),
  };
  if (how === 'replace') {
    await ec2.send(new ReplaceNetworkAclEntryCommand(input));
    return;
  }
  try {
    // The ACL made a moment ago may not be visible yet.
    await whenVisible(ctx, () => ec2.send(new CreateNetworkAclEntryCommand(input)));
  } catch (err) {
    if (isLostResponse(err)) {
      // The entry may or may not have been made: replacing is idempotent; NotFound means it was not.
      try {
        await ec2.send(new ReplaceNetworkAclEntryCommand(input));
      } catch (r) {
        if (!isNotFound(r)) throw r;
        await ec2.send(new CreateNetworkAclEntryCommand(input));
      }
      return;
    }
    if (!isAlreadyExists(err)) throw err;
    await ec2.send(new ReplaceNetworkAclEntryCommand(input));
  }
}

/** subnet id → its current ACL association, for all the subnets in one read. */
async function currentAssociations(ctx: RunContext, subnetIds: string[]): Promise<Map<string, { aclId: string; associationId: string }>> {
  const ec2 = await ctx.aws.ec2();
  const acls = await drain(
    paginateDescribeNetworkAcls({ client: ec2 }, { Filters: [{ Name: 'association.subnet-id', Values: subnetIds }] }),
    (p) => p.NetworkAcls,
  );
  const out = new Map<string, { aclId: string; associationId: string }>();
  for (const a of acls) {
    for (const x of a.Associations ?? []) {
      if (x.SubnetId && x.NetworkAclAssociationId && subnetIds.includes(x.SubnetId))
        out.set(x.SubnetId, { aclId: a.NetworkAclId!, associationId: x.NetworkAclAssociationId });
    }
  }
  return out;
}

/**
 * Moves subnets to this ACL. Every subnet always has exactly one ACL association (the default
 * ACL's at first), so this is always a ReplaceNetworkAclAssociation of the one found.
 */
async function associate(ctx: RunContext, aclId: string, subnetIds: string[]): Promise<Association[]> {
  if (!subnetIds.length) return [];
  const ec2 = await ctx.aws.ec2();
  let current = await currentAssociations(ctx, subnetIds);
  // A subnet made a moment ago may not show its association yet.
  const deadline = Date.now() + ctx.timing.propagationSeconds * 1000;
  while (subnetIds.some((s) => !current.has(s))) {
    if (Date.now() > deadline || ctx.signal.aborted) {
      const missing = subnetIds.filter((s) => !current.has(s));
      throw new KubeazError(`subnets ${missing.join(', ')} show no network ACL association`, 'InvalidSubnetID.NotFound', missing.join(','));
    }
    await sleep(Math.max(50, Math.min(ctx.timing.pollSeconds, 2) * 1000), ctx.signal);
    current = await currentAssociations(ctx, subnetIds);
  }
  const out: Association[] = [];
  for (const subnetId of subnetIds) {
    const cur = current.get(subnetId)!;
    if (cur.aclId === aclId) out.push({ subnetId, associationId: cur.associationId });
    else {
      try {
        const r = await ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: cur.associationId, NetworkAclId: aclId }));
        out.push({ subnetId, associationId: r.NewAssociationId! });
      } catch (e) {
        // The SDK resent a replace whose answer was lost: the first one already moved the subnet,
        // so the old association id is gone. Where is the subnet now?
        if (!isNotFound(e)) throw e;
        const now = (await currentAssociations(ctx, [subnetId])).get(subnetId);
        if (now?.aclId !== aclId) throw e;
        out.push({ subnetId, associationId: now.associationId });
      }
    }
  }
  return out;
}

/** Moves the given associations back to the VPC's default ACL. */
async function toDefaultAcl(ctx: RunContext, vpcId: string, associations: Association[]): Promise<void> {
  if (!associations.length) return;
  const ec2 = await ctx.aws.ec2();
  const defaults = await drain(
    paginateDescribeNetworkAcls(
      { client: ec2 },
      {
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'default', Values: ['true'] },
        ],
      },
    ),
    (p) => p.NetworkAcls,
  );
  const defaultId = defaults[0]?.NetworkAclId;
  if (!defaultId) return; // the VPC is gone, and its subnets with it
  for (const a of associations)
    await ignoreNotFound(ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: a.associationId, NetworkAclId: defaultId })));
}
