/**
 * get-spec's operation: the spec a cluster was last created from, read back from its bucket
 * (`s3://kubeaz-<id>-<account>/spec/cluster.yaml`, model/stored-spec.ts) — after a destroy too,
 * while the backups are kept. No spec file needed: the bucket is found by its derived,
 * account-scoped name (ExpectedBucketOwner: this account's), in the region given (else wherever
 * it is), and proved the cluster's by its tags before anything is read from it.
 */
import { AwsClients, CallCounter } from '../aws/clients.js';
import { KubeazError } from '../aws/errors.js';
import { checkRegion, defaultRegion } from '../aws/regions.js';
import { bucketName } from '../model/names.js';
import { SPEC_OBJECT } from '../model/stored-spec.js';
import { ENV_TAG, NAME_TAG, OWNER_TAG, REGION_TAG, type Tags } from '../model/types.js';
import { bucketRegion, bucketTags, objectText } from '../resources/index.js';
import { MAX_CLUSTER_ID_LENGTH } from '../spec/schema.js';
import { UsageError } from '../errors.js';
import { checkProfile } from './list.js';
import { accountIdOf } from './session.js';

export interface GetSpecRequest {
  /** where the calls are counted (the command's, so an error's envelope has them too) */
  counter?: CallCounter;
  clusterId: string;
  region?: string;
  profile?: string;
}

export interface StoredSpec {
  clusterId: string;
  accountId: string;
  region: string;
  bucket: string;
  key: string;
  /** the object's text, as create wrote it */
  text: string;
  lastModified: string | null;
  calls: CallCounter;
}

/** A cluster id as metadata.name-metadata.environment makes it: two DNS labels joined by '-', at most 24 characters. */
export const CLUSTER_ID = /^[a-z]([a-z0-9-]*[a-z0-9])?-[a-z]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Why a bucket of the cluster's name is not the cluster's, from its tags (undefined: it is). Tags
 * come right after creation, so an untagged bucket of the derived name is the cluster's, as observe
 * holds (resources/own-buckets.ts); one tagged for another cluster or region is not. PURE.
 */
export function foreignBucket(tags: Tags, clusterId: string, region: string): string | undefined {
  const owner = tags[OWNER_TAG];
  if (owner !== undefined && owner !== clusterId) return `it is tagged ${OWNER_TAG}=${owner}`;
  if (tags[NAME_TAG] !== undefined && tags[ENV_TAG] !== undefined && `${tags[NAME_TAG]}-${tags[ENV_TAG]}` !== clusterId)
    return `it is tagged for ${tags[NAME_TAG]}/${tags[ENV_TAG]}`;
  if (tags[REGION_TAG] !== undefined && tags[REGION_TAG] !== region)
    return `it is tagged for region ${tags[REGION_TAG]} but lives in ${region}`;
  return undefined;
}

const noSpec = (message: string, id: string) => new KubeazError(message, 'NoSpecKept', id, { source: 'user' });

export async function storedSpec(r: GetSpecRequest): Promise<StoredSpec> {
  if (!CLUSTER_ID.test(r.clusterId) || r.clusterId.length > MAX_CLUSTER_ID_LENGTH)
    throw new UsageError(
      `${r.clusterId}: expected a cluster id, NAME-ENVIRONMENT as metadata.name and metadata.environment make it (e.g. demo-dev; kubeaz list shows them)`,
    );
  checkRegion(r.region);
  await checkProfile(r.profile);
  const calls = r.counter ?? new CallCounter();
  const clients = (region: string) => new AwsClients({ region, counter: calls, ...(r.profile ? { profile: r.profile } : {}) });
  // the bucket's name is global: without --region any region finds it (the SDK's, else us-east-1)
  const asked = r.region ?? (await defaultRegion(r.profile).catch(() => 'us-east-1'));
  const first = clients(asked);
  const accountId = await accountIdOf(first);
  const bucket = bucketName(r.clusterId, accountId);
  const home = await bucketRegion(first, bucket, accountId);
  if (home === undefined)
    throw noSpec(
      `no spec is kept for ${r.clusterId} in account ${accountId}: its bucket s3://${bucket} does not exist (never created, destroyed with --delete-backups, or destroyed with no etcd backup to keep)`,
      r.clusterId,
    );
  if (r.region !== undefined && home !== r.region)
    throw noSpec(
      `${r.clusterId} does not live in ${r.region}: its bucket s3://${bucket} is in ${home} (run with --region ${home})`,
      r.clusterId,
    );
  const aws = home === asked ? first : clients(home);
  const tags = await bucketTags(aws, bucket, accountId);
  if (tags === undefined) throw noSpec(`no spec is kept for ${r.clusterId}: its bucket s3://${bucket} is gone`, r.clusterId);
  const foreign = foreignBucket(tags, r.clusterId, home);
  if (foreign) throw noSpec(`s3://${bucket} is not ${r.clusterId}'s bucket: ${foreign}; nothing read from it`, r.clusterId);
  const object = await objectText(aws, bucket, SPEC_OBJECT, accountId);
  if (!object)
    throw noSpec(
      `no spec is kept for ${r.clusterId}: s3://${bucket}/${SPEC_OBJECT} does not exist (the cluster was last created by a kubeaz that kept none; kubeaz create -f FILE keeps it)`,
      r.clusterId,
    );
  return { clusterId: r.clusterId, accountId, region: home, bucket, key: SPEC_OBJECT, ...object, calls };
}
