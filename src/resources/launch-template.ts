/**
 * Launch templates. Their data is compared by a content hash kept as a tag on the template, so a
 * no-op pass reads ONE DescribeLaunchTemplates answer and never the versions' data. The image the
 * current version runs is recorded beside it (`kubeaz:image`, model/images.ts): a group keeps it
 * until the user asks. A template made before that record was kept has its current version read
 * once (its image), and the record is written alone.
 */
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  ModifyLaunchTemplateCommand,
  paginateDescribeLaunchTemplates,
  type LaunchTemplate,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { isAlreadyExists } from '../aws/errors.js';
import { fromTagList, ownerFilter, tagDiff } from '../aws/tags.js';
import { DATA_HASH_TAG, IRSA_TAG, KEY_TAG, OWNER_TAG, ROOT_VOLUME_TYPE, type Tags } from '../model/types.js';
import { parseRenderedWith, renderedWithValue } from '../model/irsa-switch.js';
import { IMAGE_TAG, imageRecordValue, parseImageRecord, type ImageRecord } from '../model/images.js';
import { archOf } from '../spec/instance-types.js';
import { applyEc2TagChanges, change, digest, drain, ec2Tag, ignoreNotFound, keyed, toTagList } from './common.js';
import type { Actual, ActualOf, Change, ResolvedNode, ResourceHandler, RunContext } from './types.js';

export { DATA_HASH_TAG };

interface Observed {
  name: string;
  hash: string;
  defaultVersion: number;
  latestVersion: number;
  /** the image record of the current version (`<image id>@<arch>`): the tag's, or for a template without one what its version runs */
  image?: string;
}

type Node = ResolvedNode<'launch-template'>;

/** JSON with object keys in sorted order, so the hash does not depend on how props were built. */
function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * The content hash of a template's desired data: of the launch template data itself (not only the
 * props), so a change of what kubeaz puts in a template (e.g. tagging network interfaces too)
 * makes a new version for existing clusters as well.
 */
export const dataHash = (node: Node): string => digest(JSON.stringify(stable(launchTemplateData(node))));

export function launchTemplateData(node: Node): RequestLaunchTemplateData {
  const p = node.props;
  return {
    ImageId: p.imageId,
    InstanceType: p.instanceType as RequestLaunchTemplateData['InstanceType'],
    IamInstanceProfile: { Arn: p.instanceProfileArn },
    ...(p.keyName ? { KeyName: p.keyName } : {}),
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: p.hopLimit, HttpEndpoint: 'enabled' },
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/xvda',
        Ebs: { VolumeSize: p.volumeSize, VolumeType: ROOT_VOLUME_TYPE, Encrypted: true, DeleteOnTermination: true },
      },
    ],
    UserData: Buffer.from(p.userData, 'utf8').toString('base64'),
    ...(p.associatePublicIp
      ? {
          NetworkInterfaces: [
            { DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: [...p.securityGroupIds], DeleteOnTermination: true },
          ],
        }
      : { SecurityGroupIds: [...p.securityGroupIds] }),
    // volumes and network interfaces carry the cluster's tags from launch (the elastic-IP policy
    // conditions on the cluster tag); instances get theirs from the auto scaling group
    ...(Object.keys(p.instanceTags).length
      ? {
          TagSpecifications: (['volume', 'network-interface'] as const).map((ResourceType) => ({
            ResourceType,
            Tags: toTagList(p.instanceTags),
          })),
        }
      : {}),
  };
}

/**
 * The IRSA tag to write with version `version` (a master's template): the recorded value while its
 * setting stays, `<setting>@<version>` once a version is rendered with the other one. A template
 * without a record gets `<setting>@<version>`: older versions' setting is unknown, so none counts.
 */
function renderedWith(node: Node, actualTags: Tags, version: number): Tags {
  const want = node.tags[IRSA_TAG];
  if (want === undefined) return {};
  const had = parseRenderedWith(actualTags[IRSA_TAG]);
  if (had && (had.irsa ? 'on' : 'off') === want) return {};
  return { [IRSA_TAG]: renderedWithValue(want === 'on', version) };
}

/** The record of the image a node's data runs (the `kubeaz:image` tag value). */
const imageRecordOf = (node: Node): string => imageRecordValue({ imageId: node.props.imageId, arch: archOf(node.props.instanceType) });

/**
 * The image each group's launch template runs (lt/<group>), from what observe found: its record, or
 * for a template made before records were kept, its current version's image (observe read it).
 */
export function recordedImages(observed: ReadonlyMap<string, Actual>): Record<string, ImageRecord> {
  const out: Record<string, ImageRecord> = {};
  for (const a of observed.values()) {
    if (a.kind !== 'launch-template' || !a.key.startsWith('lt/')) continue;
    const r = parseImageRecord((a.observed as Partial<Observed> | undefined)?.image);
    if (r) out[a.key.slice('lt/'.length)] = r;
  }
  return out;
}

/**
 * A template without an image record (made before records were kept): its current version's image
 * and architecture, one read — once: the next create writes the record.
 */
async function unrecordedImage(ctx: RunContext, lt: LaunchTemplate): Promise<string | undefined> {
  const out = await (
    await ctx.aws.ec2()
  ).send(
    new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateId: lt.LaunchTemplateId,
      Versions: [String(lt.DefaultVersionNumber ?? '$Default')],
    }),
  );
  const data = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
  if (!data?.ImageId || !data.InstanceType) return undefined;
  return imageRecordValue({ imageId: data.ImageId, arch: archOf(data.InstanceType) });
}

function toActual(lt: LaunchTemplate, key: string, tags: Tags, image = tags[IMAGE_TAG]): ActualOf<Observed> {
  const observed: Observed = {
    name: lt.LaunchTemplateName ?? '',
    hash: tags[DATA_HASH_TAG] ?? '',
    defaultVersion: lt.DefaultVersionNumber ?? 0,
    latestVersion: lt.LatestVersionNumber ?? 0,
    ...(image ? { image } : {}),
  };
  return {
    key,
    kind: 'launch-template',
    id: lt.LaunchTemplateId!,
    attrs: { name: observed.name, version: String(observed.defaultVersion) },
    tags,
    observed,
  };
}

export const launchTemplate: ResourceHandler<'launch-template', Observed> = {
  calls: {
    observe: ['ec2:DescribeLaunchTemplateVersions', 'ec2:DescribeLaunchTemplates'],
    create: ['ec2:CreateLaunchTemplate', 'ec2:CreateLaunchTemplateVersion'],
    update: ['ec2:CreateTags', 'ec2:ModifyLaunchTemplate'],
    delete: ['ec2:DeleteLaunchTemplate'],
  },
  kind: 'launch-template',
  edges: { waitsFor: ['instance-profile', 'security-group'] },

  async observe(ctx) {
    const ec2 = await ctx.aws.ec2();
    const lts = await drain(
      paginateDescribeLaunchTemplates({ client: ec2 }, { Filters: [ownerFilter(ctx.clusterId)] }),
      (p) => p.LaunchTemplates,
    );
    return Promise.all(
      keyed(lts, (t) => t.Tags, ctx).map(async ({ item, key, tags }) =>
        toActual(item, key, tags, tags[IMAGE_TAG] ?? (await unrecordedImage(ctx, item))),
      ),
    );
  },

  async nameHolders(ctx, names) {
    // By name filter (LaunchTemplateNames fails whole on one unknown name); the names are checked here.
    const ec2 = await ctx.aws.ec2();
    const want = new Set(names);
    const lts = await drain(
      paginateDescribeLaunchTemplates({ client: ec2 }, { Filters: [{ Name: 'launch-template-name', Values: [...names] }] }),
      (p) => p.LaunchTemplates,
    );
    return lts.filter((t) => want.has(t.LaunchTemplateName ?? '')).map((t) => ({ name: t.LaunchTemplateName!, tags: fromTagList(t.Tags) }));
  },

  async create(ctx, node) {
    const ec2 = await ctx.aws.ec2();
    const hash = dataHash(node);
    const tags = { ...node.tags, [DATA_HASH_TAG]: hash, [IMAGE_TAG]: imageRecordOf(node), ...renderedWith(node, {}, 1) };
    try {
      const out = await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: node.props.name,
          ClientToken: ctx.token(node.key),
          LaunchTemplateData: launchTemplateData(node),
          TagSpecifications: [{ ResourceType: 'launch-template', Tags: toTagList(tags) }],
        }),
      );
      const lt = out.LaunchTemplate!;
      return toActual(
        { ...lt, DefaultVersionNumber: lt.DefaultVersionNumber ?? 1, LatestVersionNumber: lt.LatestVersionNumber ?? 1 },
        node.key,
        tags,
      );
    } catch (e) {
      // Names are unique per region: a template of ours made by a create whose answer was lost.
      if (!isAlreadyExists(e)) throw e;
      const found = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [node.props.name] }));
      const lt = found.LaunchTemplates?.[0];
      const ltTags = fromTagList(lt?.Tags);
      if (!lt || ltTags[OWNER_TAG] !== ctx.clusterId || ltTags[KEY_TAG] !== node.key) throw e;
      const actual = toActual(lt, node.key, ltTags);
      const changes = launchTemplate.diff(node, actual).filter((c) => c.inPlace);
      return changes.length ? launchTemplate.update!(ctx, node, actual, changes) : actual;
    }
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.name !== node.props.name) out.push(change('name', o.name, node.props.name, false));
    const hash = dataHash(node);
    if (o.hash !== hash) out.push(change('launchTemplateData', o.hash, hash, true));
    out.push(...tagDiff(node, actual.tags, [DATA_HASH_TAG, IRSA_TAG, IMAGE_TAG]));
    // The IRSA and image records go with the version that changes them (update); alone only when missing.
    if (o.hash === hash) {
      const t = renderedWith(node, actual.tags, o.defaultVersion);
      if (t[IRSA_TAG]) out.push(change('renderedWith', actual.tags[IRSA_TAG] ?? null, t[IRSA_TAG], true));
      const image = imageRecordOf(node);
      if (actual.tags[IMAGE_TAG] !== image) out.push(change('imageRecord', actual.tags[IMAGE_TAG] ?? null, image, true));
    }
    return out;
  },

  async update(ctx, node, actual, changes) {
    let next = await applyEc2TagChanges(ctx, actual, changes);
    if (changes.some((c) => c.field === 'launchTemplateData')) {
      const ec2 = await ctx.aws.ec2();
      const hash = dataHash(node);
      const out = await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: actual.id,
          ClientToken: ctx.token(`${node.key}#${hash}`),
          LaunchTemplateData: launchTemplateData(node),
          VersionDescription: `kubeaz ${hash}`,
        }),
      );
      const version = out.LaunchTemplateVersion?.VersionNumber;
      if (version === undefined) throw new Error(`CreateLaunchTemplateVersion of ${actual.id} returned no version number`);
      await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: actual.id, DefaultVersion: String(version) }));
      // the hash, the image and the IRSA setting of the new version in one call
      const written = { [DATA_HASH_TAG]: hash, [IMAGE_TAG]: imageRecordOf(node), ...renderedWith(node, actual.tags, version) };
      await ec2Tag(ctx, [actual.id], written);
      const o = actual.observed;
      next = {
        ...next,
        attrs: { ...next.attrs, version: String(version) },
        tags: { ...next.tags, ...written },
        observed: {
          ...o,
          hash,
          defaultVersion: version,
          latestVersion: Math.max(version, o.latestVersion),
          image: written[IMAGE_TAG],
        } satisfies Observed,
      };
    }
    // the records alone (the data unchanged): one call for both
    const records = Object.fromEntries(
      changes.flatMap((c) =>
        c.field === 'renderedWith' ? [[IRSA_TAG, c.to as string]] : c.field === 'imageRecord' ? [[IMAGE_TAG, c.to as string]] : [],
      ),
    );
    if (Object.keys(records).length && !changes.some((c) => c.field === 'launchTemplateData')) {
      await ec2Tag(ctx, [actual.id], records);
      next = {
        ...next,
        tags: { ...next.tags, ...records },
        ...(records[IMAGE_TAG] ? { observed: { ...next.observed, image: records[IMAGE_TAG] } } : {}),
      };
    }
    return next;
  },

  async delete(ctx, actual) {
    await ignoreNotFound((await ctx.aws.ec2()).send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: actual.id })));
  },

  planUpdate(_node, actual, changes) {
    if (!changes.some((c) => c.field === 'launchTemplateData')) return {};
    // The update makes a new version (the next number) and makes it the default; groups follow it.
    const latest = actual.observed.latestVersion;
    const next = String(latest + 1);
    return { note: `new launch template version ${next}`, after: { ...actual, attrs: { ...actual.attrs, version: next } } };
  },

  /** The data is compared by its hash: read the version the template holds now and name the fields that differ. */
  async planDetail(ctx, node, actual, changes) {
    if (!changes.some((c) => c.field === 'launchTemplateData')) return [];
    const out = await (
      await ctx.aws.ec2()
    ).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: actual.id, Versions: [actual.attrs.version ?? '$Default'] }));
    const now = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
    if (!now) return [];
    const want = launchTemplateData(node);
    const fields: Array<{ field: string; from: unknown; to: unknown }> = [];
    const cmp = (field: string, from: unknown, to: unknown) => {
      if (JSON.stringify(from ?? null) !== JSON.stringify(to ?? null)) fields.push({ field, from: from ?? null, to: to ?? null });
    };
    cmp('instanceType', now.InstanceType, want.InstanceType);
    cmp('imageId', now.ImageId, want.ImageId);
    cmp('keyName', now.KeyName, want.KeyName);
    cmp('volumeSize', now.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize, want.BlockDeviceMappings?.[0]?.Ebs?.VolumeSize);
    cmp('instanceProfile', now.IamInstanceProfile?.Arn ?? now.IamInstanceProfile?.Name, want.IamInstanceProfile?.Arn);
    const groupsOf = (d: typeof now) => [...(d.SecurityGroupIds ?? d.NetworkInterfaces?.[0]?.Groups ?? [])].sort();
    cmp('securityGroupIds', groupsOf(now), groupsOf(want as typeof now));
    if (now.UserData !== want.UserData)
      fields.push({ field: 'userData', from: '(current)', to: '(changed: Kubernetes version, labels, taints or bootstrap)' });
    return fields;
  },
};
