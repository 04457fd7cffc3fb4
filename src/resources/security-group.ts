import {
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { isAlreadyExists } from '../aws/errors.js';
import { fromTagList, tagDiff } from '../aws/tags.js';
import { KEY_TAG, OWNER_TAG } from '../model/types.js';
import { applyEc2TagChanges, change, ignoreNotFound, keyed, toTagList } from './common.js';
import { describeOwnedGroups } from './owned-security-groups.js';
import type { ActualOf, ResourceHandler } from './types.js';

interface Observed {
  vpcId: string;
  groupName: string;
  description: string;
}

const toActual = (item: SecurityGroup, key: string, tags: Record<string, string>): ActualOf<Observed> => ({
  key,
  kind: 'security-group',
  id: item.GroupId!,
  attrs: {},
  tags,
  observed: { vpcId: item.VpcId ?? '', groupName: item.GroupName ?? '', description: item.Description ?? '' } satisfies Observed,
});

export const securityGroup: ResourceHandler<'security-group', Observed> = {
  calls: {
    observe: ['ec2:DescribeSecurityGroups'],
    create: ['ec2:CreateSecurityGroup'],
    update: ['ec2:CreateTags'],
    delete: ['ec2:DeleteSecurityGroup'],
  },
  kind: 'security-group',
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    const groups = await describeOwnedGroups(ctx);
    return keyed(groups, (g) => g.Tags, ctx).map(({ item, key, tags }) => toActual(item, key, tags));
  },

  async create(ctx, node) {
    const { vpcId, groupName, description } = node.props;
    const ec2 = await ctx.aws.ec2();
    try {
      const out = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: groupName,
          Description: description,
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: toTagList(node.tags) }],
        }),
      );
      return {
        key: node.key,
        kind: 'security-group',
        id: out.GroupId!,
        attrs: {},
        tags: node.tags,
        observed: { vpcId, groupName, description } satisfies Observed,
      };
    } catch (e) {
      // CreateSecurityGroup takes no idempotency token: a retried create after a lost answer meets
      // our own group under that name. Adopt it only when it carries our ownership proof.
      if (!isAlreadyExists(e)) throw e;
      const found = await ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: 'group-name', Values: [groupName] },
          ],
        }),
      );
      const g = found.SecurityGroups?.[0];
      const tags = fromTagList(g?.Tags);
      if (!g || tags[OWNER_TAG] !== ctx.clusterId || tags[KEY_TAG] !== node.key) throw e;
      return toActual(g, node.key, tags);
    }
  },

  diff(node, actual) {
    const o = actual.observed;
    const out = [];
    if (o.vpcId !== node.props.vpcId) out.push(change('vpcId', o.vpcId, node.props.vpcId, false));
    if (o.groupName !== node.props.groupName) out.push(change('groupName', o.groupName, node.props.groupName, false));
    if (o.description !== node.props.description) out.push(change('description', o.description, node.props.description, false));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  update: (ctx, _node, actual, changes) => applyEc2TagChanges(ctx, actual, changes),

  async delete(ctx, actual) {
    // DependencyViolation (an ENI, or another group's rule still referencing this one) propagates.
    await ignoreNotFound((await ctx.aws.ec2()).send(new DeleteSecurityGroupCommand({ GroupId: actual.id })));
  },
};
