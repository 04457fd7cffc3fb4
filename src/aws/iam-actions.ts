/**
 * SDK call → the IAM actions AWS authorizes it by. Mostly the same name under the service's IAM
 * prefix (`ec2:DescribeVpcs`); the exceptions are S3's (its API operations and its IAM actions
 * were named apart: ListObjectsV2 is `s3:ListBucket`, HeadObject `s3:GetObject`, a versioned
 * read or delete the `…Version` action) and calls no permission governs (STS GetCallerIdentity).
 * Both load balancer APIs share the prefix `elasticloadbalancing`. PURE: used by the operator
 * policy (operations/iam-policy.ts) and by the call recorder (clients.ts, KUBEAZ_RECORD_CALLS).
 *
 * Sources: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * (S3 actions, with the API operations each covers), https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 * ("you must have the s3:GetObject permission"), https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 * (s3:ListBucket), https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
 * ("No permissions are required").
 */

/** The client names kubeaz's call counter uses (clients.ts) → the IAM service prefix. */
export const IAM_PREFIX: Readonly<Record<string, string>> = {
  ec2: 'ec2',
  autoscaling: 'autoscaling',
  elb: 'elasticloadbalancing',
  elbv2: 'elasticloadbalancing',
  route53: 'route53',
  iam: 'iam',
  s3: 's3',
  sqs: 'sqs',
  events: 'events',
  ssm: 'ssm',
  servicequotas: 'servicequotas',
  sts: 'sts',
  kms: 'kms',
};

/** S3 operations whose IAM action has another name (the versioned forms are chosen by the input below). */
const S3_ACTION: Readonly<Record<string, string>> = {
  ListObjectsV2: 'ListBucket',
  ListObjects: 'ListBucket',
  HeadBucket: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
  ListBuckets: 'ListAllMyBuckets',
  HeadObject: 'GetObject',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  ListParts: 'ListMultipartUploadParts',
  GetBucketEncryption: 'GetEncryptionConfiguration',
  PutBucketEncryption: 'PutEncryptionConfiguration',
  GetBucketLifecycleConfiguration: 'GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 'PutLifecycleConfiguration',
  GetPublicAccessBlock: 'GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 'PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 'PutBucketPublicAccessBlock',
  DeleteBucketPolicy: 'DeleteBucketPolicy',
  DeleteBucketEncryption: 'PutEncryptionConfiguration',
  DeleteBucketLifecycle: 'PutLifecycleConfiguration',
  DeleteBucketTagging: 'PutBucketTagging',
};

/**
 * aws/s3.ts reads the ACCOUNT's Block Public Access through the S3 client, its request rewritten to
 * S3 Control (`GET /v20180820/configuration/publicAccessBlock`) and marked by this bucket name.
 */
export const ACCOUNT_PUBLIC_ACCESS_BLOCK = 'kubeaz-account-public-access-block';

/** Calls no IAM permission governs. */
const UNGOVERNED = new Set(['sts:GetCallerIdentity']);

const hasVersion = (input: unknown): boolean => typeof (input as { VersionId?: unknown } | undefined)?.VersionId === 'string';

function s3Actions(operation: string, input: unknown): string[] {
  if (operation === 'GetPublicAccessBlock' && (input as { Bucket?: string } | undefined)?.Bucket === ACCOUNT_PUBLIC_ACCESS_BLOCK)
    return ['s3:GetAccountPublicAccessBlock'];
  if ((operation === 'GetObject' || operation === 'HeadObject') && hasVersion(input)) return ['s3:GetObjectVersion'];
  if (operation === 'DeleteObject' && hasVersion(input)) return ['s3:DeleteObjectVersion'];
  if (operation === 'DeleteObjects') {
    const objects = (input as { Delete?: { Objects?: Array<{ VersionId?: string }> } } | undefined)?.Delete?.Objects ?? [];
    const versioned = objects.some((o) => typeof o.VersionId === 'string');
    const plain = !objects.length || objects.some((o) => typeof o.VersionId !== 'string');
    return [...(plain ? ['s3:DeleteObject'] : []), ...(versioned ? ['s3:DeleteObjectVersion'] : [])];
  }
  return [`s3:${S3_ACTION[operation] ?? operation}`];
}

/**
 * The IAM actions one SDK call needs: `service` is the client's name in kubeaz's call counter
 * (`elbv2`, `events`…), `operation` the command without its `Command` suffix. Empty: no permission.
 */
export function iamActionsOf(service: string, operation: string, input?: unknown): string[] {
  const prefix = IAM_PREFIX[service] ?? service;
  if (UNGOVERNED.has(`${prefix}:${operation}`)) return [];
  if (prefix === 's3') return s3Actions(operation, input);
  return [`${prefix}:${operation}`];
}

/** Whether an IAM action changes something (reads are named Describe/List/Get/Head/Lookup/Search). */
export const isMutatingAction = (action: string): boolean => !/^[a-z0-9-]+:(Describe|List|Get|Head|Lookup|Search)/.test(action);
