/**
 * The IAM OpenID Connect identity provider of the cluster's service-account issuer (IRSA). Tagged
 * at creation; its ARN is `oidc-provider/<issuer host>`, and the issuer's host is the
 * account-scoped discovery bucket's regional endpoint, so observe reads that one ARN
 * (GetOpenIDConnectProvider, NoSuchEntity when there is none) and proves ownership on its tags.
 *
 * No ThumbprintList is sent: AWS verifies issuers that host their JWKS on Amazon S3 with its own
 * library of trusted root CAs and ignores thumbprints for them; without one, IAM fetches and
 * records the server's top intermediate CA thumbprint itself (CreateOpenIDConnectProvider:
 * ThumbprintList is optional).
 */
import {
  AddClientIDToOpenIDConnectProviderCommand,
  CreateOpenIDConnectProviderCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  TagOpenIDConnectProviderCommand,
} from '@aws-sdk/client-iam';
import { isAlreadyExists, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { discoveryBucketName, issuerUrlOf } from '../model/names.js';
import { KEY_TAG, type Tags } from '../model/types.js';
import { change, fromTagList, ignoreNotFound, orUndefined, toTagList } from './common.js';
import { claimsGlobal, mayHave } from './cluster-record.js';
import type { ActualOf, Change, ResourceHandler, RunContext } from './types.js';

export interface OidcProviderObserved {
  /** the issuer URL as IAM reports it (no scheme) */
  url: string;
  clientIds: string[];
}

const withoutScheme = (url: string): string => url.replace(/^https:\/\//, '');

/** The ARN IAM gives the provider of an issuer URL: the account and the URL without its scheme. */
export const providerArn = (accountId: string, url: string): string => `arn:aws:iam::${accountId}:oidc-provider/${withoutScheme(url)}`;

async function read(ctx: RunContext, arn: string): Promise<ActualOf<OidcProviderObserved> | undefined> {
  const iam = await ctx.aws.iam();
  const got = await orUndefined(iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })));
  if (!got) return undefined;
  const tags = fromTagList(got.Tags);
  if (!(await claimsGlobal(ctx, tags, `oidc provider ${arn}`))) return undefined;
  const url = withoutScheme(got.Url ?? '');
  return {
    key: tags[KEY_TAG] ?? 'oidc-provider',
    kind: 'oidc-provider',
    id: arn,
    attrs: { arn, url },
    tags,
    observed: { url, clientIds: [...(got.ClientIDList ?? [])].sort() },
  };
}

export const oidcProvider: ResourceHandler<'oidc-provider', OidcProviderObserved> = {
  calls: {
    observe: ['ec2:DescribeVpcs', 'iam:GetOpenIDConnectProvider', 's3:GetBucketLocation'],
    create: ['iam:AddClientIDToOpenIDConnectProvider', 'iam:CreateOpenIDConnectProvider', 'iam:TagOpenIDConnectProvider'],
    delete: ['iam:DeleteOpenIDConnectProvider', 'iam:RemoveClientIDFromOpenIDConnectProvider'],
  },
  kind: 'oidc-provider',
  edges: { waitsFor: ['bucket-object'] },

  async observe(ctx) {
    // None on a cluster that never had IRSA; else the one provider the cluster's issuer can have:
    // its ARN is the account and the issuer URL, both derived (no list of the account's providers).
    if (!(await mayHave(ctx, 'irsa'))) return [];
    const found = await read(ctx, providerArn(ctx.accountId, issuerUrlOf(discoveryBucketName(ctx.clusterId, ctx.accountId), ctx.region)));
    return found ? [found] : [];
  },

  async heldBy(ctx, nodes) {
    // The ARN is the account and the URL: one GetOpenIDConnectProvider per provider to make.
    const iam = await ctx.aws.iam();
    const held = await Promise.all(
      nodes.map(async (n) => {
        const arn = providerArn(ctx.accountId, n.props.url);
        const got = await orUndefined(iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })));
        return got
          ? {
              key: n.key,
              id: arn,
              tags: fromTagList(got.Tags),
              what: `the IAM OIDC provider ${arn}`,
              why: "IAM keeps one provider per issuer URL and this URL is the cluster's issuer (its discovery bucket's)",
              remedy: 'Delete it if nothing uses it, or set spec.iam.serviceAccountIssuerDiscovery.enabled: false.',
            }
          : undefined;
      }),
    );
    return held.filter((h) => h !== undefined);
  },

  async create(ctx, node) {
    const iam = await ctx.aws.iam();
    try {
      const out = await iam.send(
        new CreateOpenIDConnectProviderCommand({ Url: node.props.url, ClientIDList: node.props.clientIds, Tags: toTagList(node.tags) }),
      );
      const arn = out.OpenIDConnectProviderArn!;
      const url = withoutScheme(node.props.url);
      return {
        key: node.key,
        kind: 'oidc-provider',
        id: arn,
        attrs: { arn, url },
        tags: node.tags,
        observed: { url, clientIds: [...node.props.clientIds].sort() },
      };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A retried create or a race: adopt only what carries our tags.
      const arn = providerArn(ctx.accountId, node.props.url);
      const mine = await read(ctx, arn);
      if (!mine)
        throw new KubeazError(
          `IAM OIDC provider ${arn} already exists and is not this cluster's: refusing to adopt it`,
          'RefusedAdopt',
          node.key,
          { cause: e, source: 'user' },
        );
      const changes = oidcProvider.diff(node, mine);
      return changes.length && changes.every((c) => c.inPlace) ? oidcProvider.update!(ctx, node, mine, changes) : mine;
    }
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (o.url !== withoutScheme(node.props.url)) out.push(change('url', o.url, withoutScheme(node.props.url), false));
    const want = [...node.props.clientIds].sort();
    if (JSON.stringify(o.clientIds) !== JSON.stringify(want)) out.push(change('clientIds', o.clientIds, want, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, _node, actual, changes) {
    const iam = await ctx.aws.iam();
    const arn = actual.id;
    let tags = actual.tags;
    let clientIds = actual.observed.clientIds;
    for (const c of changes) {
      if (c.field === 'clientIds') {
        const want = c.to as string[];
        for (const id of want.filter((x) => !clientIds.includes(x)))
          await iam.send(new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: id }));
        for (const id of clientIds.filter((x) => !want.includes(x)))
          await iam.send(new RemoveClientIDFromOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: id }));
        clientIds = want;
      } else if (c.field === 'tags') {
        await iam.send(new TagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, Tags: toTagList(c.to as Tags) }));
        tags = { ...tags, ...(c.to as Tags) };
      }
    }
    return { ...actual, tags, observed: { ...actual.observed, clientIds } };
  },

  async delete(ctx, actual) {
    const iam = await ctx.aws.iam();
    await ignoreNotFound(iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: actual.id })));
  },
};
