/**
 * IRSA: STS reads the issuer's documents anonymously. The account's Block Public Access wins over
 * the bucket's: BlockPublicPolicy refuses the bucket's public policy, RestrictPublicBuckets makes
 * it void (anonymous reads denied). Either way the issuer would be unreadable: refuse now.
 */
import { accountPublicAccessBlock } from '../aws/s3.js';
import type { PreflightCheck } from './types.js';

/** IRSA's discovery bucket can be public: the account neither blocks public bucket policies nor restricts public buckets. */
export const publicAccess: PreflightCheck<{ bucket: string }> = {
  name: 'public-access',
  calls: ['s3:GetAccountPublicAccessBlock'],
  input({ graph, touched }) {
    const bucket = graph.nodes.find((n) => n.kind === 'discovery-bucket' && touched.has(n.key));
    return bucket?.kind === 'discovery-bucket' ? { bucket: bucket.props.name } : undefined;
  },
  async run(ctx, { bucket }, _shared, report) {
    const { config } = await accountPublicAccessBlock(ctx);
    const blocking = (['BlockPublicPolicy', 'RestrictPublicBuckets'] as const).filter((k) => config?.[k]);
    if (blocking.length)
      report(
        `the account's S3 Block Public Access has ${blocking.join(' and ')} on: the service-account issuer's discovery bucket ${bucket} ` +
          `cannot be made publicly readable (STS reads its two documents anonymously). Turn ${blocking.join(' and ')} off at account level ` +
          `(aws s3control put-public-access-block --account-id ${ctx.accountId} …; the ACL blocks may stay on), or set spec.iam.serviceAccountIssuerDiscovery.enabled: false`,
      );
  },
};
