/**
 * The retry policy and the lost-response guard, with answers a real endpoint cannot be made to
 * give on demand: a throttling storm that never ends, a connection reset after a create was sent,
 * an IAM quota. The client's own middleware stack runs (a stub request handler answers).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpResponse } from '@smithy/core/protocols';
import { CreateVpcCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { AwsClients } from '../../src/aws/clients.js';
import { describeAwsError, isLostResponse } from '../../src/aws/errors.js';
import { DEFAULT_RETRY, PatientRetryStrategy } from '../../src/aws/retry.js';

type Answer = { status: number; body: string } | Error;

function stubHandler(answers: (n: number) => Answer) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    handler: {
      async handle() {
        const a = answers(++calls);
        if (a instanceof Error) throw a;
        return {
          response: new HttpResponse({
            statusCode: a.status,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(a.body)]),
          }),
        };
      },
    },
  };
}

const ec2Error = (code: string) => ({
  status: 503,
  body: `<Response><Errors><Error><Code>${code}</Code><Message>slow down</Message></Error></Errors><RequestID>r</RequestID></Response>`,
});
const noVpcs = {
  status: 200,
  body: '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>',
};
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

const clients = (handler: unknown) =>
  new AwsClients({ region: 'us-east-1', retry: { baseDelayMs: 1, maxDelayMs: 5 }, requestHandler: handler });

process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';

describe('retry policy', () => {
  it('rides out a throttling storm of 7 refusals (more than the SDK default of 3 attempts)', async () => {
    const s = stubHandler((n) => (n <= 7 ? ec2Error('RequestLimitExceeded') : noVpcs));
    const aws = clients(s.handler);
    const out = await (await aws.ec2()).send(new DescribeVpcsCommand({}));
    expect(out.Vpcs ?? []).toEqual([]);
    expect(s.calls).toBe(8);
    expect(out.$metadata.attempts).toBe(8);
    expect(aws.counter.total).toBe(1); // one logical call, eight attempts
  });

  it('gives up after 10 attempts with a message naming the call and the count', async () => {
    const s = stubHandler(() => ec2Error('RequestLimitExceeded'));
    const err = await (await clients(s.handler).ec2()).send(new DescribeVpcsCommand({})).catch((e: unknown) => e);
    expect(s.calls).toBe(10);
    expect(describeAwsError(err)).toBe('RequestLimitExceeded: slow down (ec2:DescribeVpcs, after 10 attempts)');
  });

  it('never retries a permission error', async () => {
    const s = stubHandler(() => ({
      status: 403,
      body: '<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors></Response>',
    }));
    await expect((await clients(s.handler).ec2()).send(new DescribeVpcsCommand({}))).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
    expect(s.calls).toBe(1);
  });

  it('never retries an IAM quota (LimitExceeded), which the SDK files under throttling', async () => {
    const s = stubHandler(() => ({
      status: 409,
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>Cannot exceed quota for RolesPerAccount</Message></Error></ErrorResponse>',
    }));
    await expect(
      (await clients(s.handler).iam()).send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: '{}' })),
    ).rejects.toMatchObject({ name: 'LimitExceededException' });
    expect(s.calls).toBe(1);
  });
});

describe('lost responses', () => {
  it('a create whose connection broke is not resent: LostResponseError, one attempt', async () => {
    const s = stubHandler(() => reset());
    const err = await (await clients(s.handler).ec2()).send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })).catch((e: unknown) => e);
    expect(isLostResponse(err)).toBe(true);
    expect((err as Error).message).toMatch(/ec2:CreateVpc: the request was sent but its answer was lost/);
    expect(s.calls).toBe(1);
  });

  it('a read whose connection broke is simply retried', async () => {
    const s = stubHandler((n) => (n === 1 ? reset() : noVpcs));
    const out = await (await clients(s.handler).ec2()).send(new DescribeVpcsCommand({}));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(s.calls).toBe(2);
  });
});

describe('unreachable endpoints and readable errors (issue 9 #12)', () => {
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 1 });
  const noHost = () =>
    Object.assign(new Error('getaddrinfo ENOTFOUND ec2.nowhere.invalid'), { code: 'ENOTFOUND', hostname: 'ec2.nowhere.invalid' });

  it('a refused connection gives up after 3 quick attempts (not 10 with backoff) and names AWS_ENDPOINT_URL', async () => {
    const s = stubHandler(() => refused());
    const aws = new AwsClients({ region: 'us-east-1', requestHandler: s.handler }); // the real delays
    const err = await (await aws.ec2()).send(new DescribeVpcsCommand({})).catch((e: unknown) => e);
    expect(s.calls).toBe(3);
    // quick: each pause before the next attempt is at most 500 ms (not the 20 s ceiling of a
    // reachable endpoint) — read from the strategy itself, not from a clock a loaded machine slows
    const strategy = new PatientRetryStrategy();
    let token = await strategy.acquireInitialRetryToken('ec2');
    for (let i = 0; i < DEFAULT_RETRY.unreachableAttempts - 1; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT', error: refused() } as never);
      expect(token.getRetryDelay()).toBeLessThanOrEqual(500);
    }
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT', error: refused() } as never)).rejects.toThrow(
      /no more retries/,
    );
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
    try {
      expect(describeAwsError(err)).toBe(
        'cannot reach http://127.0.0.1:1 (AWS_ENDPOINT_URL): the connection was refused (connect ECONNREFUSED 127.0.0.1:1; ec2:DescribeVpcs, after 3 attempts)',
      );
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });

  it('a host that does not resolve gives up just as fast and names the host', async () => {
    const s = stubHandler(() => noHost());
    const saved = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      const err = await (
        await new AwsClients({ region: 'us-east-1', requestHandler: s.handler }).ec2()
      )
        .send(new DescribeVpcsCommand({}))
        .catch((e: unknown) => e);
      expect(s.calls).toBe(3);
      expect(describeAwsError(err)).toMatch(/^cannot reach ec2\.nowhere\.invalid: the host name does not resolve \(/);
    } finally {
      if (saved !== undefined) process.env.AWS_ENDPOINT_URL = saved;
    }
  });

  it('never reads "Error: …" for a plain error; an AWS error keeps its code', () => {
    expect(describeAwsError(new Error('the image parameter x does not exist'))).toBe('the image parameter x does not exist');
    expect(describeAwsError(Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }))).toBe('UnauthorizedOperation: no');
  });
});
