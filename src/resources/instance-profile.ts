/**
 * IAM instance profiles, one per role. Ownership = the cluster's IAM path, set at creation, plus
 * tags. One ListInstanceProfiles { PathPrefix } finds them with their roles. Tags: the list form
 * carries none on AWS, so they come from GetInstanceProfile (never ListInstanceProfileTags, which
 * moto answers with a 500).
 */
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  DeleteInstanceProfileCommand,
  GetInstanceProfileCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagInstanceProfileCommand,
  paginateListInstanceProfiles,
  type InstanceProfile,
} from '@aws-sdk/client-iam';
import { errorCode, isAlreadyExists, isNotFound, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { iamKey } from '../aws/iam.js';
import { iamPathOf } from '../model/names.js';
import type { Tags } from '../model/types.js';
import { change, drain, fromTagList, ignoreNotFound, sameSet, toTagList, whenVisible } from './common.js';
import { claimsGlobal } from './cluster-record.js';
import { iamDetails } from './iam-details.js';
import type { ActualOf, Change, ResourceHandler } from './types.js';

export interface ProfileObserved {
  path: string;
  roles: string[];
}

const profileActual = (key: string, p: InstanceProfile, tags: Tags): ActualOf<ProfileObserved> => ({
  key,
  kind: 'instance-profile',
  id: p.InstanceProfileName!,
  attrs: { arn: p.Arn!, name: p.InstanceProfileName! },
  tags,
  observed: { path: p.Path ?? '', roles: (p.Roles ?? []).map((r) => r.RoleName!) } satisfies ProfileObserved,
});

export const instanceProfile: ResourceHandler<'instance-profile', ProfileObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetInstanceProfile',
      'iam:ListInstanceProfiles',
      's3:GetBucketLocation',
    ],
    create: ['iam:AddRoleToInstanceProfile', 'iam:CreateInstanceProfile', 'iam:TagInstanceProfile'],
    delete: ['iam:DeleteInstanceProfile', 'iam:RemoveRoleFromInstanceProfile'],
  },
  kind: 'instance-profile',
  edges: { waitsFor: ['iam-role'] },

  async observe(ctx) {
    const iam = await ctx.aws.iam();
    const [profiles, details] = await Promise.all([
      drain(paginateListInstanceProfiles({ client: iam }, { PathPrefix: iamPathOf(ctx.clusterId) }), (p) => p.InstanceProfiles),
      iamDetails(ctx),
    ]);
    // The profiles of our roles come with their tags in the one account-details read of the pass;
    // only a profile without a role (a create cut short) needs a read of its own.
    const tagged = new Map<string, InstanceProfile['Tags']>();
    for (const r of details.roles)
      for (const ip of r.InstanceProfileList ?? [])
        if (ip.InstanceProfileName && ip.Tags?.length) tagged.set(ip.InstanceProfileName, ip.Tags);
    // moto ignores PathPrefix here (AWS honours it): the path is checked on what came back.
    const path = iamPathOf(ctx.clusterId);
    const out = await Promise.all(
      profiles
        .filter((p) => p.Path === path)
        .map(async (p) => {
          let tagList = p.Tags?.length ? p.Tags : tagged.get(p.InstanceProfileName!);
          if (!tagList?.length) {
            const got = await iam
              .send(new GetInstanceProfileCommand({ InstanceProfileName: p.InstanceProfileName! }))
              .catch((e: unknown) => {
                if (isNotFound(e)) return undefined; // deleted while we looked
                throw e;
              });
            if (!got) return undefined;
            tagList = got.InstanceProfile?.Tags;
          }
          const tags = fromTagList(tagList);
          if (!(await claimsGlobal(ctx, tags, `instance profile ${p.InstanceProfileName}`, false))) return undefined;
          return profileActual(iamKey('profile', ctx.clusterId, p.InstanceProfileName!, tags), p, tags);
        }),
    );
    return out.filter((a): a is ActualOf<ProfileObserved> => a !== undefined);
  },

  async create(ctx, node) {
    const iam = await ctx.aws.iam();
    const { name, path } = node.props;
    let profile: InstanceProfile;
    let tags = node.tags;
    try {
      profile = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Path: path, Tags: toTagList(node.tags) })))
        .InstanceProfile!;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A retried create or a race: adopt it only if it lives under our path (that is the proof).
      profile = (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }))).InstanceProfile!;
      if (profile.Path !== path)
        throw new KubeazError(
          `instance profile ${name} already exists outside ${path} (path ${profile.Path}): not ours, refusing to adopt it`,
          'RefusedAdopt',
          name,
          { cause: e, source: 'user' },
        );
      tags = fromTagList(profile.Tags);
    }
    const actual = profileActual(node.key, profile, tags);
    return whenVisible(ctx, () => instanceProfile.update!(ctx, node, actual, instanceProfile.diff(node, actual)));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.path !== node.props.path) out.push(change('path', o.path, node.props.path, false));
    if (!sameSet(o.roles, [node.props.roleName])) out.push(change('roles', o.roles, [node.props.roleName], true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const iam = await ctx.aws.iam();
    const InstanceProfileName = actual.id;
    const o = actual.observed;
    let roles = o.roles;
    let tags = actual.tags;
    if (changes.some((c) => c.field === 'roles')) {
      // A profile holds at most one role: remove the wrong one before adding ours.
      for (const RoleName of o.roles.filter((r) => r !== node.props.roleName))
        await ignoreNotFound(iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName, RoleName })));
      if (!o.roles.includes(node.props.roleName)) {
        try {
          await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName, RoleName: node.props.roleName }));
        } catch (e) {
          // The SDK resent an add whose answer was lost: the profile holds the role already (AWS
          // answers LimitExceeded, a profile takes one role). Done if that role is ours.
          if (errorCode(e) !== 'LimitExceeded') throw e;
          const now = (await iam.send(new GetInstanceProfileCommand({ InstanceProfileName }))).InstanceProfile;
          if (!now?.Roles?.some((r) => r.RoleName === node.props.roleName)) throw e;
        }
      }
      roles = [node.props.roleName];
    }
    const t = changes.find((c) => c.field === 'tags');
    if (t) {
      await iam.send(new TagInstanceProfileCommand({ InstanceProfileName, Tags: toTagList(t.to as Tags) }));
      tags = { ...tags, ...(t.to as Tags) };
    }
    return { ...actual, tags, observed: { ...o, roles } satisfies ProfileObserved };
  },

  async delete(ctx, actual) {
    const iam = await ctx.aws.iam();
    const InstanceProfileName = actual.id;
    try {
      // Read the roles fresh: the observed list may be stale.
      const got = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName }));
      for (const r of got.InstanceProfile?.Roles ?? [])
        await ignoreNotFound(iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName, RoleName: r.RoleName! })));
      await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  },
};
