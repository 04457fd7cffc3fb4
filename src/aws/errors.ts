/** AWS error codes, in one place. Commands and the engine ask these questions, never the codes. */
import { EXIT_FAILURE, KubeazFailure, type ErrorSource } from '../errors.js';
import { isUnreachable } from './retry.js';

export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'Unknown';
  const e = err as { name?: string; Code?: string; code?: string };
  return e.Code ?? e.name ?? e.code ?? 'Unknown';
}

const NOT_FOUND = new Set([
  'NoSuchEntity',
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'NoSuchHostedZone',
  'HostedZoneNotFound',
  'LoadBalancerNotFound',
  'TargetGroupNotFound',
  'ListenerNotFound',
  'AccessPointNotFound',
  'InvalidInstanceID.NotFound',
  'InvalidAllocationID.NotFound',
  'InvalidAssociationID.NotFound',
  'InvalidVpcEndpointId.NotFound',
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidGroup.NotFound',
  'InvalidPermission.NotFound',
  'InvalidRoute.NotFound',
  'InvalidParameterValue.NotFound',
  'NatGatewayNotFound',
  // SQS (its JSON protocol's name, and the query protocol's code)
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  // EventBridge: a rule (or its tags' resource) that does not exist
  'ResourceNotFoundException',
]);

export function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  if (NOT_FOUND.has(code) || code.endsWith('.NotFound')) return true;
  // Auto scaling answers ValidationError for a group that does not exist.
  const msg = (err as { message?: string })?.message ?? '';
  return code === 'ValidationError' && /not found|does not exist/i.test(msg);
}

/**
 * CreateRoute naming a NAT gateway made moments ago: AWS may not know the id yet (eventual
 * consistency; the same call succeeds on retry). Also what it answers for a gateway that failed.
 */
export const isNatGatewayNotFound = (err: unknown): boolean => errorCode(err) === 'InvalidNatGatewayID.NotFound';

/**
 * SQS refuses a queue of a name deleted less than 60 seconds ago (CreateQueue): the same call
 * succeeds once the minute is over (a destroy followed by a create).
 */
export const isQueueDeletedRecently = (err: unknown): boolean =>
  ['QueueDeletedRecently', 'AWS.SimpleQueueService.QueueDeletedRecently'].includes(errorCode(err));

/** Deleting this must wait for something else to go first: retry later. */
const DEPENDENCY = new Set([
  'DependencyViolation',
  'DeleteConflict',
  'ResourceInUse',
  'ResourceInUseFault',
  'HostedZoneNotEmpty',
  'BucketNotEmpty',
  'InvalidIPAddress.InUse',
  'AuthFailure.AddressInUse',
  'ScalingActivityInProgress',
  'InvalidParameterValue.InUse',
]);
export function isDependencyViolation(err: unknown): boolean {
  const code = errorCode(err);
  if (DEPENDENCY.has(code)) return true;
  const msg = (err as { message?: string })?.message ?? '';
  return code === 'InvalidParameterValue' && /in use|has dependencies/i.test(msg);
}

/** Creating what already exists (a lost response we then retried, or a race). */
const DUPLICATE = new Set([
  'EntityAlreadyExists',
  'InvalidPermission.Duplicate',
  'InvalidGroup.Duplicate',
  'AlreadyExists',
  'AlreadyExistsFault',
  'DuplicateLoadBalancerName',
  'DuplicateTargetGroupName',
  'DuplicateListener',
  'HostedZoneAlreadyExists',
  'BucketAlreadyOwnedByYou',
  'InvalidLaunchTemplateName.AlreadyExistsException',
  'RouteAlreadyExists',
  'InvalidNetworkAclEntry.Duplicate',
  'NetworkAclEntryAlreadyExists',
  'Resource.AlreadyAssociated',
  'ConflictingDomainExists',
]);
export function isAlreadyExists(err: unknown): boolean {
  const code = errorCode(err);
  // Another account's bucket of that name: never ours, never "already exists" in our sense.
  if (code === 'BucketAlreadyExists') return false;
  if (DUPLICATE.has(code)) return true;
  const msg = (err as { message?: string })?.message ?? '';
  return /already exists|AlreadyExists/i.test(code) || (code === 'ValidationError' && /already exists/i.test(msg));
}

/** S3's "this setting is not configured" answers for a bucket that exists (not NotFound: the bucket is there). */
const S3_SETTING_NOT_SET = new Set([
  'NoSuchTagSet',
  'NoSuchTagSetError',
  'ServerSideEncryptionConfigurationNotFoundError',
  'NoSuchPublicAccessBlockConfiguration',
  'NoSuchBucketPolicy',
  'NoSuchLifecycleConfiguration',
]);
export const isSettingNotSet = (err: unknown): boolean => S3_SETTING_NOT_SET.has(errorCode(err));

/** CreateBucket of a bucket this account already owns (any region but us-east-1, which answers 200). */
export const isBucketOwnedByYou = (err: unknown): boolean => errorCode(err) === 'BucketAlreadyOwnedByYou';

/** Route53 refused a change batch (a record to delete does not match, or is already gone). */
export const isInvalidChangeBatch = (err: unknown): boolean => errorCode(err) === 'InvalidChangeBatch';

/** The SDK found no credentials (or not the profile named): the SDK's error, known by its name. */
export const isMissingCredentials = (err: unknown): err is Error => errorCode(err) === 'CredentialsProviderError';

/**
 * A create whose request may have reached AWS but whose answer never arrived (connection reset,
 * socket hang-up, time-out). It is not retried blindly: the caller looks for the resource first.
 */
export class LostResponseError extends Error {
  override readonly name = 'LostResponseError';
  constructor(
    readonly operation: string,
    readonly networkError: unknown,
  ) {
    super(`${operation}: the request was sent but its answer was lost (${(networkError as Error)?.message ?? String(networkError)})`);
  }
}
export const isLostResponse = (err: unknown): err is LostResponseError =>
  err instanceof LostResponseError || errorCode(err) === 'LostResponseError';

/**
 * An error the user can act on: what we were doing, to which resource, and the AWS code. Its
 * source is AWS unless said otherwise (a refusal is the user's: `source: 'user'`).
 */
export class KubeazError extends KubeazFailure {
  override readonly name = 'KubeazError';
  constructor(
    message: string,
    readonly code: string,
    readonly resource?: string,
    options?: { cause?: unknown; source?: ErrorSource },
  ) {
    super(message, options?.source ?? 'aws', EXIT_FAILURE, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** Where a call that could not connect was going: AWS_ENDPOINT_URL when set, else the host the SDK tried. */
export function endpointOf(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const e = err as {
    hostname?: string;
    address?: string;
    port?: number;
    message?: string;
    cause?: { hostname?: string; address?: string; port?: number };
  };
  const service = ((err as { $operation?: string })?.$operation ?? '').split(':')[0]?.toUpperCase();
  const configured = (service && env[`AWS_ENDPOINT_URL_${service}`]) || env.AWS_ENDPOINT_URL;
  if (configured) return `${configured} (AWS_ENDPOINT_URL${service && env[`AWS_ENDPOINT_URL_${service}`] ? `_${service}` : ''})`;
  const host = e?.hostname ?? e?.cause?.hostname ?? e?.address ?? e?.cause?.address;
  const port = e?.port ?? e?.cause?.port;
  if (host) return port ? `${host}:${port}` : host;
  return /(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED) (\S+)/.exec(e?.message ?? '')?.[1] ?? 'the AWS endpoint';
}

export function describeAwsError(err: unknown): string {
  const code = errorCode(err);
  const msg = (err as Error)?.message ?? String(err);
  const attempts = (err as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
  const op = (err as { $operation?: string })?.$operation;
  const where = [op, attempts && attempts > 1 ? `after ${attempts} attempts` : undefined].filter(Boolean).join(', ');
  if (isUnreachable(err)) {
    const why = /ENOTFOUND|EAI_AGAIN/.test(String((err as { code?: string }).code ?? msg))
      ? 'the host name does not resolve'
      : 'the connection was refused';
    return `cannot reach ${endpointOf(err)}: ${why} (${msg}${where ? `; ${where}` : ''})`;
  }
  // A plain Error has no AWS code worth printing: 'Error: …' says nothing.
  const plain = !(err instanceof Error) || ['Error', 'TypeError', 'RangeError', 'SyntaxError'].includes(code) || code === 'Unknown';
  const base = `${plain ? '' : `${code}: `}${msg}${where ? ` (${where})` : ''}`;
  return `${base}${s3RefusalHint(code, op, (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode)}`;
}

/**
 * S3 refusing a request with no readable error (the SDK's "Unknown: UnknownError") or AccessDenied
 * is most often a bucket policy's Deny — our TLS-only statement, when an emulator ignores its
 * condition (plain moto_server does), or a policy/credentials problem on AWS.
 */
export function s3RefusalHint(code: string, op: string | undefined, status: number | undefined): string {
  if (!op?.startsWith('s3:') || !(code === 'Unknown' || code === 'AccessDenied') || (status !== undefined && status !== 403)) return '';
  return (
    ` — S3 refused it${status ? ` (HTTP ${status})` : ''}: most likely a bucket policy denies the request. kubeaz's bucket denies every request that is not TLS; ` +
    'an emulator that ignores policy conditions (plain moto_server) then denies everything: start it with python3 src/devtools/moto_server.py instead. ' +
    'On AWS, check the bucket policy and that your credentials may use the bucket'
  );
}
