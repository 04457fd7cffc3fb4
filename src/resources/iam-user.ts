/**
 * IAM users (etcd-backup access and the like). Ownership = the cluster's IAM path, set at creation,
 * plus tags. kubeaz never creates access keys; delete removes whatever a person added so that
 * DeleteUser can succeed and nothing is left behind.
 */
import {
  CreateUserCommand,
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  TagUserCommand,
  paginateListAccessKeys,
  paginateListAttachedUserPolicies,
  paginateListGroupsForUser,
  paginateListMFADevices,
  paginateListUserPolicies,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { isAlreadyExists, isNotFound, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { parsePolicy, policyChanges } from '../aws/iam.js';

import type { Tags } from '../model/types.js';
import { change, drain, fromTagList, ignoreNotFound, toTagList, whenVisible } from './common.js';
import type { ActualOf, Change, ResourceHandler } from './types.js';
import { iamDetails } from './iam-details.js';

export interface UserObserved {
  path: string;
  policies: Record<string, unknown>;
}

async function inlinePolicies(iam: IAMClient, UserName: string): Promise<Record<string, unknown>> {
  const names = await drain(paginateListUserPolicies({ client: iam }, { UserName }), (p) => p.PolicyNames);
  const docs = await Promise.all(names.map((PolicyName) => iam.send(new GetUserPolicyCommand({ UserName, PolicyName }))));
  return Object.fromEntries(docs.map((d, i) => [names[i]!, parsePolicy(d.PolicyDocument)]));
}

const userActual = (key: string, name: string, arn: string, tags: Tags, observed: UserObserved): ActualOf<UserObserved> => ({
  key,
  kind: 'iam-user',
  id: name,
  attrs: { arn, name },
  tags,
  observed,
});

export const iamUser: ResourceHandler<'iam-user', UserObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetUser',
      'iam:GetUserPolicy',
      'iam:ListAccessKeys',
      'iam:ListAttachedUserPolicies',
      'iam:ListGroupsForUser',
      'iam:ListMFADevices',
      'iam:ListUserPolicies',
      's3:GetBucketLocation',
    ],
    create: ['iam:CreateUser', 'iam:PutUserPolicy', 'iam:TagUser'],
    delete: [
      'iam:DeactivateMFADevice',
      'iam:DeleteAccessKey',
      'iam:DeleteLoginProfile',
      'iam:DeleteUser',
      'iam:DeleteUserPolicy',
      'iam:DeleteVirtualMFADevice',
      'iam:DetachUserPolicy',
      'iam:RemoveUserFromGroup',
    ],
  },
  kind: 'iam-user',
  edges: { waitsFor: ['bucket'] },

  async observe(ctx) {
    const { users } = await iamDetails(ctx);
    // Users keep the names the spec gives them: key = user/<UserName>.
    return users.map((u) => {
      const name = u.UserName!;
      const policies = Object.fromEntries((u.UserPolicyList ?? []).map((p) => [p.PolicyName!, parsePolicy(p.PolicyDocument)]));
      return userActual(`user/${name}`, name, u.Arn!, fromTagList(u.Tags), { path: u.Path ?? '', policies });
    });
  },

  async create(ctx, node) {
    const iam = await ctx.aws.iam();
    const { name, path } = node.props;
    let arn: string;
    let tags = node.tags;
    let observed: UserObserved = { path, policies: {} };
    try {
      arn = (await iam.send(new CreateUserCommand({ UserName: name, Path: path, Tags: toTagList(node.tags) }))).User!.Arn!;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A retried create or a race: adopt it only if it lives under our path (that is the proof).
      const got = (await iam.send(new GetUserCommand({ UserName: name }))).User!;
      if (got.Path !== path)
        throw new KubeazError(
          `IAM user ${name} already exists outside ${path} (path ${got.Path}): not ours, refusing to adopt it`,
          'RefusedAdopt',
          name,
          { cause: e, source: 'user' },
        );
      arn = got.Arn!;
      tags = fromTagList(got.Tags);
      observed = { path, policies: await inlinePolicies(iam, name) };
    }
    const actual = userActual(node.key, name, arn, tags, observed);
    return whenVisible(ctx, () => iamUser.update!(ctx, node, actual, iamUser.diff(node, actual)));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.path !== node.props.path) out.push(change('path', o.path, node.props.path, false));
    out.push(...policyChanges(node.props.policies, o.policies));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, _node, actual, changes) {
    const iam = await ctx.aws.iam();
    const UserName = actual.id;
    const o = actual.observed;
    const policies = { ...o.policies };
    let tags = actual.tags;
    for (const c of changes) {
      if (c.field.startsWith('policy:')) {
        const PolicyName = c.field.slice('policy:'.length);
        if (c.to === undefined) {
          await ignoreNotFound(iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })));
          delete policies[PolicyName];
        } else {
          await iam.send(new PutUserPolicyCommand({ UserName, PolicyName, PolicyDocument: JSON.stringify(c.to) }));
          policies[PolicyName] = c.to;
        }
      } else if (c.field === 'tags') {
        await iam.send(new TagUserCommand({ UserName, Tags: toTagList(c.to as Tags) }));
        tags = { ...tags, ...(c.to as Tags) };
      }
    }
    return { ...actual, tags, observed: { ...o, policies } satisfies UserObserved };
  },

  async foreignContents(ctx, actual) {
    // kubeaz never makes access keys, login profiles, MFA devices or attaches managed policies.
    const iam = await ctx.aws.iam();
    const UserName = actual.id;
    const orNone = <T>(p: Promise<T[]>): Promise<T[]> =>
      p.catch((e: unknown) => {
        if (isNotFound(e)) return [];
        throw e;
      });
    const [keys, attached, mfas, groups] = await Promise.all([
      orNone(drain(paginateListAccessKeys({ client: iam }, { UserName }), (p) => p.AccessKeyMetadata)),
      orNone(drain(paginateListAttachedUserPolicies({ client: iam }, { UserName }), (p) => p.AttachedPolicies)),
      orNone(drain(paginateListMFADevices({ client: iam }, { UserName }), (p) => p.MFADevices)),
      orNone(drain(paginateListGroupsForUser({ client: iam }, { UserName }), (p) => p.Groups)),
    ]);
    return [
      ...keys.map((k) => `access key ${k.AccessKeyId} of user ${UserName}`),
      ...attached.map((p) => `managed policy ${p.PolicyArn} attached to user ${UserName}`),
      ...mfas.map((m) => `MFA device ${m.SerialNumber} of user ${UserName}`),
      ...groups.map((g) => `membership of user ${UserName} in group ${g.GroupName}`),
    ];
  },

  async delete(ctx, actual) {
    const iam = await ctx.aws.iam();
    const UserName = actual.id;
    try {
      const [inline, attached, keys, mfas, groups] = await Promise.all([
        drain(paginateListUserPolicies({ client: iam }, { UserName }), (p) => p.PolicyNames),
        drain(paginateListAttachedUserPolicies({ client: iam }, { UserName }), (p) => p.AttachedPolicies),
        drain(paginateListAccessKeys({ client: iam }, { UserName }), (p) => p.AccessKeyMetadata),
        drain(paginateListMFADevices({ client: iam }, { UserName }), (p) => p.MFADevices),
        drain(paginateListGroupsForUser({ client: iam }, { UserName }), (p) => p.Groups),
      ]);
      for (const PolicyName of inline) await ignoreNotFound(iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })));
      for (const p of attached) await ignoreNotFound(iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn: p.PolicyArn! })));
      for (const k of keys) await ignoreNotFound(iam.send(new DeleteAccessKeyCommand({ UserName, AccessKeyId: k.AccessKeyId! })));
      await ignoreNotFound(iam.send(new DeleteLoginProfileCommand({ UserName })));
      for (const m of mfas) {
        await ignoreNotFound(iam.send(new DeactivateMFADeviceCommand({ UserName, SerialNumber: m.SerialNumber! })));
        // A virtual device (its serial is an ARN) outlives the user unless deleted too.
        if (m.SerialNumber!.startsWith('arn:'))
          await ignoreNotFound(iam.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: m.SerialNumber! })));
      }
      for (const g of groups) await ignoreNotFound(iam.send(new RemoveUserFromGroupCommand({ UserName, GroupName: g.GroupName! })));
      await iam.send(new DeleteUserCommand({ UserName }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e; // DeleteConflict: something was added meanwhile; the engine retries
    }
  },
};
