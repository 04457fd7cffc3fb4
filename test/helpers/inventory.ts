/**
 * Everything that exists in the emulator, across every service kubeaz touches — not only what
 * carries our tag — so a test can say "nothing else the run made is left".
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeLaunchTemplatesCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand as DescribeV2LoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  IAMClient,
  ListInstanceProfilesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';

export type Inventory = Record<string, string[]>;

export async function inventory(region = 'us-east-1'): Promise<Inventory> {
  const ec2 = new EC2Client({ region });
  const asg = new AutoScalingClient({ region });
  const elb = new ElasticLoadBalancingClient({ region });
  const elbv2 = new ElasticLoadBalancingV2Client({ region });
  const iam = new IAMClient({ region: 'us-east-1' });
  const r53 = new Route53Client({ region: 'us-east-1' });
  const s3 = new S3Client({ region, forcePathStyle: true });
  const sqs = new SQSClient({ region });
  const events = new EventBridgeClient({ region });
  const [
    vpcs,
    subnets,
    igws,
    eips,
    nats,
    rts,
    nacls,
    sgs,
    vpces,
    res,
    lts,
    asgs,
    elbs,
    v2lbs,
    tgs,
    roles,
    profiles,
    users,
    zones,
    buckets,
    oidc,
    queues,
    rules,
  ] = await Promise.all([
    ec2.send(new DescribeVpcsCommand({})),
    ec2.send(new DescribeSubnetsCommand({})),
    ec2.send(new DescribeInternetGatewaysCommand({})),
    ec2.send(new DescribeAddressesCommand({})),
    ec2.send(new DescribeNatGatewaysCommand({})),
    ec2.send(new DescribeRouteTablesCommand({})),
    ec2.send(new DescribeNetworkAclsCommand({})),
    ec2.send(new DescribeSecurityGroupsCommand({})),
    ec2.send(new DescribeVpcEndpointsCommand({})),
    ec2.send(new DescribeInstancesCommand({})),
    ec2.send(new DescribeLaunchTemplatesCommand({})),
    asg.send(new DescribeAutoScalingGroupsCommand({})),
    elb.send(new DescribeLoadBalancersCommand({})),
    elbv2.send(new DescribeV2LoadBalancersCommand({})),
    elbv2.send(new DescribeTargetGroupsCommand({})),
    iam.send(new ListRolesCommand({})),
    iam.send(new ListInstanceProfilesCommand({})),
    iam.send(new ListUsersCommand({})),
    r53.send(new ListHostedZonesCommand({})),
    s3.send(new ListBucketsCommand({})),
    iam.send(new ListOpenIDConnectProvidersCommand({})),
    sqs.send(new ListQueuesCommand({})),
    events.send(new ListRulesCommand({})),
  ]);
  const records: string[] = [];
  for (const z of zones.HostedZones ?? []) {
    const rr = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: z.Id! }));
    for (const r of rr.ResourceRecordSets ?? []) records.push(`${z.Name} ${r.Type} ${r.Name}`);
  }
  const listeners: string[] = [];
  for (const lb of v2lbs.LoadBalancers ?? []) {
    const ls = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn! }));
    for (const l of ls.Listeners ?? []) listeners.push(`${lb.LoadBalancerName} ${l.Protocol}:${l.Port}`);
  }
  const sort = (a: Array<string | undefined>) => a.filter((x): x is string => Boolean(x)).sort();
  return {
    vpcs: sort((vpcs.Vpcs ?? []).map((v) => v.VpcId)),
    subnets: sort((subnets.Subnets ?? []).map((s) => s.SubnetId)),
    internetGateways: sort((igws.InternetGateways ?? []).map((g) => g.InternetGatewayId)),
    elasticIps: sort((eips.Addresses ?? []).map((a) => a.AllocationId)),
    natGateways: sort((nats.NatGateways ?? []).filter((n) => n.State !== 'deleted').map((n) => n.NatGatewayId)),
    routeTables: sort((rts.RouteTables ?? []).map((r) => r.RouteTableId)),
    // moto keeps a deleted VPC's default network ACL listed; AWS deletes it with the VPC.
    networkAcls: sort(
      (nacls.NetworkAcls ?? []).filter((n) => (vpcs.Vpcs ?? []).some((v) => v.VpcId === n.VpcId)).map((n) => n.NetworkAclId),
    ),
    securityGroups: sort((sgs.SecurityGroups ?? []).map((g) => g.GroupId)),
    vpcEndpoints: sort((vpces.VpcEndpoints ?? []).filter((e) => !/deleted/i.test(e.State ?? '')).map((e) => e.VpcEndpointId)),
    instances: sort(
      (res.Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .filter((i) => i.State?.Name !== 'terminated')
        .map((i) => i.InstanceId),
    ),
    launchTemplates: sort((lts.LaunchTemplates ?? []).map((l) => l.LaunchTemplateName)),
    autoScalingGroups: sort((asgs.AutoScalingGroups ?? []).map((g) => g.AutoScalingGroupName)),
    loadBalancers: sort((elbs.LoadBalancerDescriptions ?? []).map((l) => l.LoadBalancerName)),
    // ELBv2: network (and application) load balancers, their listeners, target groups
    loadBalancersV2: sort((v2lbs.LoadBalancers ?? []).map((l) => `${l.LoadBalancerName} (${l.Type})`)),
    listeners: listeners.sort(),
    targetGroups: sort((tgs.TargetGroups ?? []).map((t) => t.TargetGroupName)),
    roles: sort((roles.Roles ?? []).map((r) => `${r.Path}${r.RoleName}`)),
    instanceProfiles: sort((profiles.InstanceProfiles ?? []).map((p) => `${p.Path}${p.InstanceProfileName}`)),
    users: sort((users.Users ?? []).map((u) => `${u.Path}${u.UserName}`)),
    hostedZones: sort((zones.HostedZones ?? []).map((z) => `${z.Name}${z.Config?.PrivateZone ? ' (private)' : ''}`)),
    records: records.sort(),
    buckets: sort((buckets.Buckets ?? []).map((b) => b.Name)),
    oidcProviders: sort((oidc.OpenIDConnectProviderList ?? []).map((p) => p.Arn)),
    // the drain queue and its rules (default event bus)
    queues: sort((queues.QueueUrls ?? []).map((u) => u.slice(u.lastIndexOf('/') + 1))),
    eventRules: sort((rules.Rules ?? []).map((r) => r.Name)),
  };
}

export const count = (inv: Inventory): Record<string, number> => Object.fromEntries(Object.entries(inv).map(([k, v]) => [k, v.length]));
