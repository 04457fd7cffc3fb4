/**
 * Regions for the commands that take no spec (list, get-spec): the SDK's default region (the
 * environment, then the profile's `region`, as every SDK and the AWS CLI resolve it) and the
 * regions enabled for the account.
 */
import { UsageError } from '../errors.js';
import type { AwsClients } from './clients.js';

/** What an AWS region's name looks like (the spec's region rule, spec/schema.ts). */
export const REGION_FORMAT = /^[a-z]{2,4}(-gov|-iso[a-z]*|-de)?-[a-z]+-\d+$/;

/** --region R, checked before any call: a usage error when R cannot be a region. */
export function checkRegion(region: string | undefined): void {
  if (region !== undefined && !REGION_FORMAT.test(region))
    throw new UsageError(`--region ${region}: expected an AWS region such as us-east-1`);
}

/** The SDK's default region for this profile; a usage error naming the ways to give one when there is none. */
export async function defaultRegion(profile?: string): Promise<string> {
  const { EC2Client } = await import('@aws-sdk/client-ec2');
  const client = new EC2Client(profile ? { profile } : {});
  try {
    const region = await client.config.region();
    if (region) return region;
  } catch {
    // no region configured anywhere: said below
  } finally {
    client.destroy();
  }
  throw new UsageError(
    `no AWS region: pass --region R (or --all-regions), set AWS_REGION, or set region in the profile${profile ? ` '${profile}'` : ''} of ~/.aws/config`,
  );
}

/** The regions enabled for the account (EC2 DescribeRegions answers only those by default), sorted. */
export async function enabledRegions(aws: AwsClients): Promise<string[]> {
  const { DescribeRegionsCommand } = await import('@aws-sdk/client-ec2');
  const out = await (await aws.ec2()).send(new DescribeRegionsCommand({}));
  return (out.Regions ?? [])
    .map((r) => r.RegionName)
    .filter((r): r is string => Boolean(r))
    .sort();
}
