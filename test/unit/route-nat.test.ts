/**
 * A route to a NAT gateway made moments ago: AWS may answer InvalidNatGatewayID.NotFound until it
 * knows the id (the same call succeeds on retry). kubeaz retries that code within NAT_VISIBLE_SECONDS
 * and stops at once when the gateway's own wait has seen it fail.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sdkMock } from '../helpers/sdk-mock.js';
import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { natGateway } from '../../src/resources/nat-gateway.js';
import { routeTable } from '../../src/resources/route-table.js';

const ec2 = sdkMock(EC2Client);
const notFound = () => Object.assign(new Error("The natGateway ID 'nat-1' does not exist"), { name: 'InvalidNatGatewayID.NotFound' });
const ctxOf = () =>
  createRunContext({
    clusterId: 'c-d',
    region: 'us-east-1',
    accountId: '1',
    generation: 'g',
    aws: new AwsClients({ region: 'us-east-1' }),
    timing: { pollSeconds: 0.05, maxWaitSeconds: 5, propagationSeconds: 1, dependencySeconds: 1 },
  });
const node = {
  key: 'rt/private/us-east-1a',
  kind: 'route-table' as const,
  props: { vpcId: 'vpc-1', routes: [{ destination: '0.0.0.0/0', natGatewayId: 'nat-1' }], subnetIds: ['subnet-1'] },
  tags: { 'kubeaz:cluster': 'c-d' },
};

describe('route to a NAT gateway that is still pending', () => {
  beforeEach(() => {
    ec2.reset();
    ec2.on(CreateRouteTableCommand).resolves({ RouteTable: { RouteTableId: 'rtb-1' } });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [] });
    ec2.on(AssociateRouteTableCommand).resolves({ AssociationId: 'rtbassoc-1' });
  });
  afterEach(() => vi.useRealTimers());

  it('InvalidNatGatewayID.NotFound right after the create is retried until AWS knows the id', async () => {
    ec2.on(CreateRouteCommand).rejectsOnce(notFound()).rejectsOnce(notFound()).resolves({ Return: true });
    const a = await routeTable.create(ctxOf(), node);
    expect(a.id).toBe('rtb-1');
    expect(ec2.commandCalls(CreateRouteCommand)).toHaveLength(3);
  });

  it('stops retrying as soon as the NAT gateway is seen failed, naming it', async () => {
    // given: the gateway's wait (settle, running alongside) sees it fail
    ec2.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [
        { NatGatewayId: 'nat-1', State: 'failed', FailureCode: 'InsufficientFreeAddressesInSubnet', FailureMessage: 'no room' },
      ],
    });
    ec2.on(CreateRouteCommand).rejects(notFound());
    const ctx = ctxOf();
    const settle = natGateway.settle!(ctx, {
      key: 'nat/us-east-1a',
      kind: 'nat-gateway',
      id: 'nat-1',
      attrs: {},
      tags: {},
      state: 'pending',
      observed: { subnetId: 'subnet-1', allocationId: 'eipalloc-1' },
    }).then(
      () => 'available',
      (e: Error) => e.message,
    );
    const started = Date.now();
    const route = routeTable.create(ctx, node).then(
      () => 'created',
      (e: Error) => e.message,
    );
    // then: both fail, naming the failure; the route gave up long before its 120 s budget
    expect(await settle).toMatch(/nat-1.*InsufficientFreeAddressesInSubnet/);
    expect(await route).toMatch(/nat-1.*will not become available.*InsufficientFreeAddressesInSubnet/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
