/**
 * An answer moto cannot give: AWS returns, for a repeated ClientToken, the NAT gateway it made for
 * that token — even one that has since failed. kubeaz must then make a new one, not wait forever
 * on the failed one.
 */
import { describe, expect, it, beforeEach } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import { CreateNatGatewayCommand, DescribeNatGatewaysCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { natGateway } from '../../src/resources/nat-gateway.js';

const ec2 = sdkMock(EC2Client);

describe('nat-gateway create', () => {
  beforeEach(() => ec2.reset());

  it('a token that names a failed gateway is salted and the gateway made anew', async () => {
    // given: the first answer is the failed gateway of an earlier attempt with the same token
    ec2
      .on(CreateNatGatewayCommand)
      .resolvesOnce({ NatGateway: { NatGatewayId: 'nat-old', State: 'failed' } })
      .resolvesOnce({ NatGateway: { NatGatewayId: 'nat-new', State: 'pending' } });
    ec2.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [{ NatGatewayId: 'nat-new', State: 'available' }] });
    const ctx = createRunContext({
      clusterId: 'c-d',
      region: 'us-east-1',
      accountId: '1',
      generation: 'g',
      aws: new AwsClients({ region: 'us-east-1' }),
      timing: { pollSeconds: 0.05, maxWaitSeconds: 5, propagationSeconds: 1, dependencySeconds: 1 },
    });
    // when
    const a = await natGateway.create(ctx, {
      key: 'nat/us-east-1a',
      kind: 'nat-gateway',
      props: { subnetId: 'subnet-1', allocationId: 'eipalloc-1' },
      tags: { 'kubeaz:cluster': 'c-d' },
    });
    // then
    expect(a.id).toBe('nat-new');
    const tokens = ec2.commandCalls(CreateNatGatewayCommand).map((c) => c.args[0].input.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(ctx.token('nat/us-east-1a'));
    expect(tokens[1]).toBe(ctx.token('nat/us-east-1a#after-nat-old'));
    expect(tokens[1]).not.toBe(tokens[0]);
  });
});
