/**
 * The ingress rules of one security group, a node of their own (`<group key>/rules`) so that groups
 * referencing each other (master ↔ node) can all exist before any rule names another, and so that
 * destroy can revoke every rule before the groups themselves go.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  paginateDescribeSecurityGroupRules,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { errorCode, isAlreadyExists, isNotFound } from '../aws/errors.js';
import { KEY_TAG, OWNER_TAG, type Resolved, type SgRule } from '../model/types.js';
import { chunks } from '../util/lists.js';
import { change, drain, sameSet, keyed } from './common.js';
import { describeOwnedGroups } from './owned-security-groups.js';
import type { ActualOf, ResolvedNode, ResourceHandler, RunContext } from './types.js';

/** The AWS code of a security group that does not exist (isNotFound also matches it, but so does a missing rule). */
const GROUP_NOT_FOUND = 'InvalidGroup.NotFound';
/** IpPermissions per Authorize/Revoke call. */
const BATCH = 50;

/** One rule as compared: one CIDR or one source group (or a prefix list nobody asked for). Descriptions are not compared. */
export interface NormRule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidr?: string;
  sourceGroup?: string;
  prefixList?: string;
}
type DesiredRule = Resolved<SgRule>;

const PROTOCOLS: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', all: '-1' };
const proto = (p: string | undefined): string => PROTOCOLS[(p ?? '-1').toLowerCase()] ?? (p ?? '-1').toLowerCase();

function norm(
  protocol: string,
  fromPort: number | undefined,
  toPort: number | undefined,
  peer: Pick<NormRule, 'cidr' | 'sourceGroup' | 'prefixList'>,
): NormRule {
  const p = proto(protocol);
  // Ports mean nothing for "all protocols": AWS reports none (or -1).
  const all = p === '-1';
  return { protocol: p, fromPort: all ? -1 : (fromPort ?? -1), toPort: all ? -1 : (toPort ?? -1), ...peer };
}

const ruleId = (r: NormRule): string =>
  JSON.stringify([r.protocol, r.fromPort, r.toPort, r.cidr ?? '', r.sourceGroup ?? '', r.prefixList ?? '']);

function uniq<T extends NormRule>(rules: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const r of rules) if (!seen.has(ruleId(r))) seen.set(ruleId(r), r);
  return [...seen.values()];
}

/** Rules Kubernetes' cloud provider adds for Services (its descriptions start so). */
const K8S_RULE = /^kubernetes\.io\//;

/**
 * AWS's IpPermissions of a group → one normalised rule per CIDR / group / prefix-list pair.
 * With `ownedGroups`, rules that belong to the cluster's Kubernetes rather than to kubeaz are left
 * out: those whose source is a group kubeaz does not own (a Service load balancer's group) and
 * those the cloud provider describes as its own. They are not drift: removing them would break
 * Services of type LoadBalancer.
 */
export function normaliseIngress(perms: readonly IpPermission[] | undefined, ownedGroups?: ReadonlySet<string>): NormRule[] {
  const out: NormRule[] = [];
  const k8s = (d: string | undefined) => ownedGroups !== undefined && K8S_RULE.test(d ?? '');
  for (const p of perms ?? []) {
    const n = (peer: Pick<NormRule, 'cidr' | 'sourceGroup' | 'prefixList'>) => norm(p.IpProtocol ?? '-1', p.FromPort, p.ToPort, peer);
    for (const r of p.IpRanges ?? []) if (r.CidrIp && !k8s(r.Description)) out.push(n({ cidr: r.CidrIp }));
    for (const r of p.Ipv6Ranges ?? []) if (r.CidrIpv6 && !k8s(r.Description)) out.push(n({ cidr: r.CidrIpv6 }));
    for (const g of p.UserIdGroupPairs ?? [])
      if (g.GroupId && !k8s(g.Description) && (!ownedGroups || ownedGroups.has(g.GroupId))) out.push(n({ sourceGroup: g.GroupId }));
    for (const l of p.PrefixListIds ?? []) if (l.PrefixListId) out.push(n({ prefixList: l.PrefixListId }));
  }
  return uniq(out).sort((a, b) => ruleId(a).localeCompare(ruleId(b)));
}

type WithDescription = NormRule & { description?: string };

function desiredRules(node: ResolvedNode<'security-group-rules'>): WithDescription[] {
  const rules = node.props.ingress.map((r: DesiredRule) => ({
    ...norm(r.protocol, r.fromPort, r.toPort, r.sourceGroup ? { sourceGroup: r.sourceGroup } : { cidr: r.cidr ?? '' }),
    description: r.description,
  }));
  return uniq(rules).sort((a, b) => ruleId(a).localeCompare(ruleId(b)));
}

const strip = (r: WithDescription): NormRule => {
  const { description: _d, ...rest } = r;
  return rest;
};

/** Normalised rules → IpPermissions to authorize, one per rule (descriptions travel per range / pair). */
function toPermissions(rules: readonly WithDescription[]): IpPermission[] {
  return rules.map((r) => {
    const d = r.description ? { Description: r.description } : {};
    const perm: IpPermission = { IpProtocol: r.protocol, ...(r.protocol === '-1' ? {} : { FromPort: r.fromPort, ToPort: r.toPort }) };
    if (r.sourceGroup) perm.UserIdGroupPairs = [{ GroupId: r.sourceGroup, ...d }];
    else if (r.prefixList) perm.PrefixListIds = [{ PrefixListId: r.prefixList, ...d }];
    else if (r.cidr?.includes(':')) perm.Ipv6Ranges = [{ CidrIpv6: r.cidr, ...d }];
    else perm.IpRanges = [{ CidrIp: r.cidr, ...d }];
    return perm;
  });
}

async function currentRules(ctx: RunContext, groupId: string): Promise<NormRule[] | undefined> {
  try {
    const out = await (await ctx.aws.ec2()).send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    const g = out.SecurityGroups?.[0];
    return g ? normaliseIngress(g.IpPermissions) : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Authorizes rules in batches. A duplicate (a retried call, a race) makes us re-read and add only what is missing. */
async function authorize(ctx: RunContext, groupId: string, rules: readonly WithDescription[]): Promise<void> {
  if (!rules.length) return;
  const ec2 = await ctx.aws.ec2();
  for (const batch of chunks(rules, BATCH)) {
    try {
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(batch) }));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const have = new Set((await currentRules(ctx, groupId))?.map(ruleId) ?? []);
      for (const r of batch.filter((x) => !have.has(ruleId(x)))) {
        try {
          await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions([r]) }));
        } catch (e2) {
          if (!isAlreadyExists(e2)) throw e2;
        }
      }
    }
  }
}

/** The ingress rules of a group with their rule ids (revoking by id needs no description and no exact re-spelling). */
async function ingressRuleIds(ctx: RunContext, groupId: string): Promise<Array<{ id: string; rule: NormRule }>> {
  const ec2 = await ctx.aws.ec2();
  const rules = await drain(
    paginateDescribeSecurityGroupRules({ client: ec2 }, { Filters: [{ Name: 'group-id', Values: [groupId] }] }),
    (p) => p.SecurityGroupRules,
  );
  return rules
    .filter((r) => !r.IsEgress && r.SecurityGroupRuleId && (r.GroupId ?? groupId) === groupId)
    .map((r) => {
      const peer = r.ReferencedGroupInfo?.GroupId
        ? { sourceGroup: r.ReferencedGroupInfo.GroupId }
        : r.PrefixListId
          ? { prefixList: r.PrefixListId }
          : { cidr: r.CidrIpv4 ?? r.CidrIpv6 ?? '' };
      return { id: r.SecurityGroupRuleId!, rule: norm(r.IpProtocol ?? '-1', r.FromPort, r.ToPort, peer) };
    });
}

/** Revokes rules (all ingress rules when `rules` is undefined), by rule id, in batches; what is already gone is done. */
async function revoke(ctx: RunContext, groupId: string, rules: readonly NormRule[] | undefined): Promise<void> {
  if (rules && !rules.length) return;
  const wanted = rules ? new Set(rules.map(ruleId)) : undefined;
  let existing: Array<{ id: string; rule: NormRule }>;
  try {
    existing = await ingressRuleIds(ctx, groupId);
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  const ids = existing.filter((r) => !wanted || wanted.has(ruleId(r.rule))).map((r) => r.id);
  const ec2 = await ctx.aws.ec2();
  for (const batch of chunks(ids, BATCH)) {
    try {
      await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: batch }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (errorCode(e) === GROUP_NOT_FOUND) return;
      // One rule of the batch went meanwhile: the call is all-or-nothing, so go one by one.
      for (const id of batch) {
        try {
          await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [id] }));
        } catch (e2) {
          if (!isNotFound(e2)) throw e2;
          if (errorCode(e2) === GROUP_NOT_FOUND) return;
        }
      }
    }
  }
}

function rulesActual(ctx: RunContext, group: SecurityGroup, groupKey: string, ownedGroups: ReadonlySet<string>): ActualOf<NormRule[]> {
  const key = `${groupKey}/rules`;
  return {
    key,
    kind: 'security-group-rules',
    id: group.GroupId!,
    attrs: {},
    tags: { [OWNER_TAG]: ctx.clusterId, [KEY_TAG]: key },
    observed: normaliseIngress(group.IpPermissions, ownedGroups),
  };
}

export const securityGroupRules: ResourceHandler<'security-group-rules', NormRule[]> = {
  calls: {
    observe: ['ec2:DescribeSecurityGroupRules', 'ec2:DescribeSecurityGroups'],
    create: ['ec2:AuthorizeSecurityGroupIngress'],
    delete: ['ec2:RevokeSecurityGroupIngress'],
  },
  kind: 'security-group-rules',
  edges: { waitsFor: ['security-group'] },

  async observe(ctx) {
    const groups = await describeOwnedGroups(ctx);
    const out: ActualOf<NormRule[]>[] = [];
    const owned = new Set(groups.map((g) => g.GroupId).filter((id): id is string => Boolean(id)));
    // The groups' ownership proof (keyed), not only the server's tag filter.
    for (const { item: g, key: groupKey } of keyed(groups, (x) => x.Tags, ctx)) {
      if (g.GroupId) out.push(rulesActual(ctx, g, groupKey, owned));
    }
    return out;
  },

  async create(ctx, node) {
    const groupId = node.props.groupId;
    const want = desiredRules(node);
    await authorize(ctx, groupId, want);
    return {
      key: node.key,
      kind: 'security-group-rules',
      id: groupId,
      attrs: {},
      tags: { [OWNER_TAG]: ctx.clusterId, [KEY_TAG]: node.key },
      observed: want.map(strip),
    };
  },

  diff(node, actual) {
    const have = actual.observed;
    const want = desiredRules(node).map(strip);
    const out = [];
    if (actual.id !== node.props.groupId) out.push(change('groupId', actual.id, node.props.groupId, false));
    if (!sameSet(have.map(ruleId), want.map(ruleId))) out.push(change('ingress', have, want, true));
    return out;
  },

  async update(ctx, node, actual) {
    const have = actual.observed;
    const want = desiredRules(node);
    const wantIds = new Set(want.map(ruleId));
    const haveIds = new Set(have.map(ruleId));
    await revoke(
      ctx,
      actual.id,
      have.filter((r) => !wantIds.has(ruleId(r))),
    );
    await authorize(
      ctx,
      actual.id,
      want.filter((r) => !haveIds.has(ruleId(r))),
    );
    return { ...actual, observed: want.map(strip) };
  },

  async delete(ctx, actual) {
    // Every ingress rule as it is now (read afresh: a rule added since the observe would keep a
    // referenced group alive). The default egress rule stays; it goes with the group.
    await revoke(ctx, actual.id, undefined);
  },
};
