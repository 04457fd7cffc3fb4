/** describeAwsError on an S3 refusal names the likely cause (issue 12). */
import { describe, expect, it } from 'vitest';

describe('an S3 refusal names its likely cause', () => {
  it("'Unknown: UnknownError (s3:PutObject)' becomes a message naming a denying bucket policy and the launcher", async () => {
    const { describeAwsError } = await import('../../src/aws/errors.js');
    const err = Object.assign(new Error('UnknownError'), {
      name: 'Unknown',
      $metadata: { httpStatusCode: 403 },
      $operation: 's3:PutObject',
    });
    const msg = describeAwsError(err);
    // 'Unknown' is no AWS code worth printing (issue 9 #12): the message and the call stay, and the hint follows
    expect(msg).toMatch(/^UnknownError \(s3:PutObject\) — S3 refused it \(HTTP 403\): most likely a bucket policy denies the request/);
    expect(msg).toContain('python3 src/devtools/moto_server.py');
    // other errors keep their message as it was
    const other = Object.assign(new Error('The VPC does not exist'), {
      name: 'InvalidVpcID.NotFound',
      $metadata: { httpStatusCode: 400 },
      $operation: 'ec2:DescribeVpcs',
    });
    expect(describeAwsError(other)).toBe('InvalidVpcID.NotFound: The VPC does not exist (ec2:DescribeVpcs)');
  });
});
