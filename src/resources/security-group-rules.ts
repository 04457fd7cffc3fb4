/**
 * The ingress rules of one security group, a node of their own (`<group key>/rules`) so that groups
 * referencing each other (master ↔ node) can all exist before any rule names another, and so that
 * destroy can revoke every rule before the groups themselves go.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { errorCode, isAlreadyExists, isNotFound } from '../aws/errors.js';
import { fromTagList } from '../aws/tags.js';
import { KEY_TAG, OWNER_TAG, type Resolved, type SgRule } from '../model/types.js';
import { change, sameSet } from './common.js';
import { describeOwnedGroups } from './security-group.js';
import type { Actual, ResolvedNode, ResourceHandler, RunContext } from './types.js';

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

function norm(protocol: string, fromPort: number | undefined, toPort: number | undefined, peer: Pick<NormRule, 'cidr' | 'sourceGroup' | 'prefixList'>): NormRule {
  const p = proto(protocol);
  // Ports mean nothing for "all protocols": AWS reports none (or -1).
  const all = p === '-1';
  return { protocol: p, fromPort: all ? -1 : (fromPort ?? -1), toPort: all ? -1 : (toPort ?? -1), ...peer };
}

const ruleId = (r: NormRule): string => JSON.stringify([r.protocol, r.fromPort, r.toPort, r.cidr ?? '', r.sourceGroup ?? '', r.prefixList ?? '']);

function uniq<T extends NormRule>(rules: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const r of rules) if (!seen.has(ruleId(r))) seen.set(ruleId(r), r);
  return [...seen.values()];
}

/** AWS's IpPermissions of a group → one normalised rule per CIDR / group / prefix-list pair. */
export function normaliseIngress(perms: readonly IpPermission[] | undefined): NormRule[] {
  const out: NormRule[] = [];
  for (const p of perms ?? []) {
    const n = (peer: Pick<NormRule, 'cidr' | 'sourceGroup' | 'prefixList'>) => norm(p.IpProtocol ?? '-1', p.FromPort, p.ToPort, peer);
    for (const r of p.IpRanges ?? []) if (r.CidrIp) out.push(n({ cidr: r.CidrIp }));
    for (const r of p.Ipv6Ranges ?? []) if (r.CidrIpv6) out.push(n({ cidr: r.CidrIpv6 }));
    for (const g of p.UserIdGroupPairs ?? []) if (g.GroupId) out.push(n({ sourceGroup: g.GroupId }));
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

/** Normalised rules → IpPermissions, one per rule (descriptions travel per range / pair). */
function toPermissions(rules: readonly WithDescription[], withDescriptions: boolean): IpPermission[] {
  return rules.map((r) => {
    const d = withDescriptions && r.description ? { Description: r.description } : {};
    const perm: IpPermission = { IpProtocol: r.protocol, ...(r.protocol === '-1' ? {} : { FromPort: r.fromPort, ToPort: r.toPort }) };
    if (r.sourceGroup) perm.UserIdGroupPairs = [{ GroupId: r.sourceGroup, ...d }];
    else if (r.prefixList) perm.PrefixListIds = [{ PrefixListId: r.prefixList, ...d }];
    else if (r.cidr?.includes(':')) perm.Ipv6Ranges = [{ CidrIpv6: r.cidr, ...d }];
    else perm.IpRanges = [{ CidrIp: r.cidr, ...d }];
    return perm;
  });
}

function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
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
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(batch, true) }));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const have = new Set((await currentRules(ctx, groupId))?.map(ruleId) ?? []);
      for (const r of batch.filter((x) => !have.has(ruleId(x)))) {
        try {
          await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions([r], true) }));
        } catch (e2) {
          if (!isAlreadyExists(e2)) throw e2;
        }
      }
    }
  }
}

/** Revokes rules in batches; a rule (or group) already gone is done. */
async function revoke(ctx: RunContext, groupId: string, rules: readonly NormRule[]): Promise<void> {
  if (!rules.length) return;
  const ec2 = await ctx.aws.ec2();
  for (const batch of chunks(rules, BATCH)) {
    try {
      await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(batch, false) }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (errorCode(e) === GROUP_NOT_FOUND) return;
      // One rule of the batch was already gone: the call is all-or-nothing, so go one by one.
      for (const r of batch) {
        try {
          await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions([r], false) }));
        } catch (e2) {
          if (!isNotFound(e2)) throw e2;
          if (errorCode(e2) === GROUP_NOT_FOUND) return;
        }
      }
    }
  }
}

function rulesActual(ctx: RunContext, group: SecurityGroup, groupKey: string): Actual {
  const key = `${groupKey}/rules`;
  return {
    key,
    kind: 'security-group-rules',
    id: group.GroupId!,
    attrs: {},
    tags: { [OWNER_TAG]: ctx.clusterId, [KEY_TAG]: key },
    observed: normaliseIngress(group.IpPermissions),
  };
}

export const securityGroupRules: ResourceHandler<'security-group-rules'> = {
  kind: 'security-group-rules',

  async observe(ctx) {
    const groups = await describeOwnedGroups(ctx);
    const out: Actual[] = [];
    for (const g of groups) {
      const groupKey = fromTagList(g.Tags)[KEY_TAG];
      if (groupKey && g.GroupId) out.push(rulesActual(ctx, g, groupKey));
    }
    return out;
  },

  async create(ctx, node) {
    const groupId = node.props.groupId;
    const want = desiredRules(node);
    await authorize(ctx, groupId, want);
    return { key: node.key, kind: 'security-group-rules', id: groupId, attrs: {}, tags: { [OWNER_TAG]: ctx.clusterId, [KEY_TAG]: node.key }, observed: want.map(strip) };
  },

  diff(node, actual) {
    const have = (actual.observed as NormRule[] | undefined) ?? [];
    const want = desiredRules(node).map(strip);
    const out = [];
    if (actual.id !== node.props.groupId) out.push(change('groupId', actual.id, node.props.groupId, false));
    if (!sameSet(have.map(ruleId), want.map(ruleId))) out.push(change('ingress', have, want, true));
    return out;
  },

  async update(ctx, node, actual) {
    const have = (actual.observed as NormRule[] | undefined) ?? [];
    const want = desiredRules(node);
    const wantIds = new Set(want.map(ruleId));
    const haveIds = new Set(have.map(ruleId));
    await revoke(ctx, actual.id, have.filter((r) => !wantIds.has(ruleId(r))));
    await authorize(ctx, actual.id, want.filter((r) => !haveIds.has(ruleId(r))));
    return { ...actual, observed: want.map(strip) };
  },

  async delete(ctx, actual) {
    // Read the group afresh: a rule added since the observe would keep a referenced group alive.
    const rules = await currentRules(ctx, actual.id);
    if (rules) await revoke(ctx, actual.id, rules);
  },
};
