/**
 * The regions of AWS's commercial partition (`aws`), as the SDK's own partition data lists them
 * (@aws-sdk/core 3.981.1, util-endpoints partitions). A table rather than an import: validate
 * stays offline and fast (loading the SDK's module costs ~300 ms). test/unit/regions.test.ts reads
 * the installed SDK's data and fails when this table falls behind it.
 * Other partitions (aws-cn, aws-us-gov, aws-iso*, aws-eusc) are refused: kubeaz writes arn:aws:… ARNs.
 */
export const AWS_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'me-west-1',
  'mx-central-1',
  'sa-east-1',
  'sa-west-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

/** The partition a region name belongs to when it is not in `aws` (for the refusal), by the SDK's regexes. */
export const OTHER_PARTITIONS: ReadonlyArray<{ id: string; regionRegex: RegExp }> = [
  { id: 'aws-cn', regionRegex: /^cn-\w+-\d+$/ },
  { id: 'aws-us-gov', regionRegex: /^us-gov-\w+-\d+$/ },
  { id: 'aws-iso', regionRegex: /^us-iso-\w+-\d+$/ },
  { id: 'aws-iso-b', regionRegex: /^us-isob-\w+-\d+$/ },
  { id: 'aws-iso-e', regionRegex: /^eu-isoe-\w+-\d+$/ },
  { id: 'aws-iso-f', regionRegex: /^us-isof-\w+-\d+$/ },
  { id: 'aws-eusc', regionRegex: /^eusc-de-\w+-\d+$/ },
];

/** Why a region is refused, or undefined when kubeaz can build there. */
export function regionProblem(region: string): string | undefined {
  if (AWS_REGIONS.includes(region)) return undefined;
  const other = OTHER_PARTITIONS.find((p) => p.regionRegex.test(region));
  if (other) return `is in the ${other.id} partition; kubeaz builds only in the commercial aws partition`;
  return `is not an AWS region (known: ${AWS_REGIONS.join(', ')})`;
}

/** An availability zone of `region`: the region's name and one letter (us-east-1a). */
export const zonePattern = (region: string): RegExp => new RegExp(`^${region.replace(/[-]/g, '\\-')}[a-z]$`);
