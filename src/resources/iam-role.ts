/**
 * IAM roles. Ownership = the cluster's IAM path (`iamPathOf(clusterId)`), set at creation, plus the
 * ownership tags: one ListRoles { PathPrefix } finds them all, and a role of a look-alike name
 * elsewhere is never seen. Inline policies are read per role (IAM has no batch form).
 */
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListInstanceProfilesForRole,
  paginateListRolePolicies,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { isAlreadyExists, isNotFound, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { iamKey, parsePolicy, policyChanges, samePolicy } from '../aws/iam.js';

import type { PolicyDocument, Tags } from '../model/types.js';
import { change, drain, fromTagList, ignoreNotFound, toTagList, whenVisible } from './common.js';
import type { ActualOf, Change, ResourceHandler } from './types.js';
import { iamDetails } from './iam-details.js';

export const assumeRolePolicy = (service: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
});

export interface RoleObserved {
  path: string;
  assumeRolePolicy: unknown;
  policies: Record<string, unknown>;
  /** ARNs of the managed policies attached, sorted */
  managed: string[];
}

/** The trust policy a role's props ask for: an AWS service's, or the one given (IRSA's web identity). */
export function trustOf(props: { assumeService?: string; trust?: PolicyDocument }): PolicyDocument {
  if (props.trust) return props.trust;
  if (props.assumeService) return assumeRolePolicy(props.assumeService);
  throw new KubeazError('an IAM role needs assumeService or trust', 'BadRole', 'iam-role');
}

async function inlinePolicies(iam: IAMClient, roleName: string): Promise<Record<string, unknown>> {
  const names = await drain(paginateListRolePolicies({ client: iam }, { RoleName: roleName }), (p) => p.PolicyNames);
  const docs = await Promise.all(names.map((n) => iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: n }))));
  return Object.fromEntries(docs.map((d, i) => [names[i]!, parsePolicy(d.PolicyDocument)]));
}

const roleActual = (key: string, name: string, arn: string, tags: Tags, observed: RoleObserved): ActualOf<RoleObserved> => ({
  key,
  kind: 'iam-role',
  id: name,
  attrs: { arn, name },
  tags,
  observed,
});

export const iamRole: ResourceHandler<'iam-role', RoleObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:ListAttachedRolePolicies',
      'iam:ListInstanceProfilesForRole',
      'iam:ListRolePolicies',
      's3:GetBucketLocation',
    ],
    create: ['iam:AttachRolePolicy', 'iam:CreateRole', 'iam:PutRolePolicy', 'iam:TagRole'],
    update: ['iam:UpdateAssumeRolePolicy'],
    delete: ['iam:DeleteRole', 'iam:DeleteRolePolicy', 'iam:DetachRolePolicy', 'iam:RemoveRoleFromInstanceProfile'],
  },
  kind: 'iam-role',
  edges: {
    // oidc-provider: IRSA roles trust the OIDC provider (its ARN in their trust policy)
    waitsFor: ['hosted-zone', 'bucket', 'oidc-provider'],
  },

  async observe(ctx) {
    const { roles } = await iamDetails(ctx);
    return roles.map((r) => {
      const name = r.RoleName!;
      const tags = fromTagList(r.Tags);
      const policies = Object.fromEntries((r.RolePolicyList ?? []).map((p) => [p.PolicyName!, parsePolicy(p.PolicyDocument)]));
      const managed = (r.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn!).sort();
      return roleActual(iamKey('role', ctx.clusterId, name, tags), name, r.Arn!, tags, {
        path: r.Path!,
        assumeRolePolicy: parsePolicy(r.AssumeRolePolicyDocument),
        policies,
        managed,
      });
    });
  },

  async create(ctx, node) {
    const iam = await ctx.aws.iam();
    const { name, path } = node.props;
    const assume = trustOf(node.props);
    let arn: string;
    let observed: RoleObserved = { path, assumeRolePolicy: assume, policies: {}, managed: [] };
    let tags = node.tags;
    try {
      const out = await iam.send(
        new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: JSON.stringify(assume), Tags: toTagList(node.tags) }),
      );
      arn = out.Role!.Arn!;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A retried create or a race: adopt it only if it lives under our path (that is the proof).
      const got = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role!;
      if (got.Path !== path)
        throw new KubeazError(
          `IAM role ${name} already exists outside ${path} (path ${got.Path}): not ours, refusing to adopt it`,
          'RefusedAdopt',
          name,
          { cause: e, source: 'user' },
        );
      arn = got.Arn!;
      tags = fromTagList(got.Tags);
      const managed = await drain(paginateListAttachedRolePolicies({ client: iam }, { RoleName: name }), (p) => p.AttachedPolicies);
      observed = {
        path,
        assumeRolePolicy: parsePolicy(got.AssumeRolePolicyDocument),
        policies: await inlinePolicies(iam, name),
        managed: managed.map((p) => p.PolicyArn!).sort(),
      };
    }
    const actual = roleActual(node.key, name, arn, tags, observed);
    return whenVisible(ctx, () => iamRole.update!(ctx, node, actual, iamRole.diff(node, actual)));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.path !== node.props.path) out.push(change('path', o.path, node.props.path, false));
    const assume = trustOf(node.props);
    if (!samePolicy(o.assumeRolePolicy, assume)) out.push(change('assumeRolePolicy', o.assumeRolePolicy, assume, true));
    out.push(...policyChanges(node.props.policies, o.policies));
    // Managed policies are kubeaz's to set only where the spec lists them (IRSA service accounts).
    const want = node.props.managedPolicyArns;
    if (want !== undefined) {
      const have = o.managed ?? [];
      for (const arn of [...want].sort()) if (!have.includes(arn)) out.push(change(`managed:${arn}`, undefined, 'attached', true));
      for (const arn of have) if (!want.includes(arn)) out.push(change(`managed:${arn}`, 'attached', undefined, true));
    }
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, _node, actual, changes) {
    const iam = await ctx.aws.iam();
    const RoleName = actual.id;
    const o = actual.observed;
    const policies = { ...o.policies };
    const managed = new Set(o.managed ?? []);
    let { assumeRolePolicy: assume } = o;
    let tags = actual.tags;
    for (const c of changes) {
      if (c.field === 'assumeRolePolicy') {
        await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: JSON.stringify(c.to) }));
        assume = c.to;
      } else if (c.field.startsWith('policy:')) {
        const PolicyName = c.field.slice('policy:'.length);
        if (c.to === undefined) {
          await ignoreNotFound(iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
          delete policies[PolicyName];
        } else {
          await iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: JSON.stringify(c.to) }));
          policies[PolicyName] = c.to;
        }
      } else if (c.field.startsWith('managed:')) {
        const PolicyArn = c.field.slice('managed:'.length);
        if (c.to === undefined) {
          await ignoreNotFound(iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn })));
          managed.delete(PolicyArn);
        } else {
          await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn }));
          managed.add(PolicyArn);
        }
      } else if (c.field === 'tags') {
        await iam.send(new TagRoleCommand({ RoleName, Tags: toTagList(c.to as Tags) }));
        tags = { ...tags, ...(c.to as Tags) };
      }
    }
    return { ...actual, tags, observed: { ...o, assumeRolePolicy: assume, policies, managed: [...managed].sort() } satisfies RoleObserved };
  },

  async foreignContents(ctx, actual) {
    // kubeaz writes inline policies only — except on the roles of the spec's service accounts
    // (IRSA: web-identity trust, managed policies from the spec): elsewhere a managed policy
    // attached to the role was attached by hand.
    if (actual.key.startsWith('role/sa-')) return [];
    const iam = await ctx.aws.iam();
    const attached = await drain(
      paginateListAttachedRolePolicies({ client: iam }, { RoleName: actual.id }),
      (p) => p.AttachedPolicies,
    ).catch((e: unknown) => {
      if (isNotFound(e)) return [];
      throw e;
    });
    return attached.map((p) => `managed policy ${p.PolicyArn} attached to role ${actual.id}`);
  },

  async delete(ctx, actual) {
    const iam = await ctx.aws.iam();
    const RoleName = actual.id;
    try {
      const [attached, inline, profiles] = await Promise.all([
        drain(paginateListAttachedRolePolicies({ client: iam }, { RoleName }), (p) => p.AttachedPolicies),
        drain(paginateListRolePolicies({ client: iam }, { RoleName }), (p) => p.PolicyNames),
        drain(paginateListInstanceProfilesForRole({ client: iam }, { RoleName }), (p) => p.InstanceProfiles),
      ]);
      for (const p of attached) await ignoreNotFound(iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: p.PolicyArn! })));
      for (const PolicyName of inline) await ignoreNotFound(iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })));
      for (const p of profiles)
        await ignoreNotFound(iam.send(new RemoveRoleFromInstanceProfileCommand({ RoleName, InstanceProfileName: p.InstanceProfileName! })));
      await iam.send(new DeleteRoleCommand({ RoleName }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e; // DeleteConflict: something was attached meanwhile; the engine retries
    }
  },
};
