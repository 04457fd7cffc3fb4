#!/usr/bin/env bash
# Read-back of an HA + NLB cluster on moto (loopback only): three masters (one per zone) behind Network
# Load Balancers and a spot mixed-instances node group — create, a second create (mutating calls),
# what AWS (moto) holds (groups, zones, target groups and their targets, NLBs), destroy.
#   npm run build && bash scripts/readback-ha-nlb.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/kubeaz-readback.XXXXXX)
cat >"$dir/cluster.yaml" <<'SPEC'
apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: hanlb, environment: qa }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
  kubernetesVersion: "1.35.4"
  network: { vpcCidr: 10.40.0.0/16, nat: single, apiAccess: [203.0.113.0/24] }
  dns: { publicDomain: hanlb-example.com }
  controlPlane: { instanceType: m5.large, count: 3, loadBalancer: network }
  nodeGroups:
    - name: workers
      instanceTypes: [m6i.large, m6a.large, m5.large]
      spot: { onDemandBase: 1, onDemandPercentage: 20 }
      minSize: 1
      maxSize: 6
SPEC
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
python3 "$root/src/devtools/moto_server.py" -H 127.0.0.1 -p "$port" > "$dir/moto.log" 2>&1 &
moto=$!
trap 'kill $moto; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.2; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 MOTO_IAM_LOAD_MANAGED_POLICIES=true
unset AWS_PROFILE
K="node $root/bin/kubeaz"
cd "$dir"
echo "## create"; $K create -f cluster.yaml --yes 2>&1 | tail -4
echo "## second create (mutating calls)"; $K create -f cluster.yaml --yes --output json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("mutating", d["calls"]["mutating"], "total", d["calls"]["total"])'
echo "## read-back"
(cd "$root" && node --input-type=module -e "
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client, DescribeLoadBalancersCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand, DescribeTargetGroupAttributesCommand, DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EC2Client, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
const asg = new AutoScalingClient({}), v2 = new ElasticLoadBalancingV2Client({}), ec2 = new EC2Client({});
const subnets = new Map(((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => [s.SubnetId, s.AvailabilityZone + ' ' + (s.Tags ?? []).find((t) => t.Key === 'kubeaz:key')?.Value]));
for (const g of (await asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? []) {
  console.log('ASG', g.AutoScalingGroupName, 'min/max', g.MinSize + '/' + g.MaxSize, 'subnets', (g.VPCZoneIdentifier ?? '').split(',').map((s) => subnets.get(s)).join(' | '), 'TGs', (g.TargetGroupARNs ?? []).map((a) => a.split('/')[1]).join(','), g.MixedInstancesPolicy ? 'mixed ' + g.MixedInstancesPolicy.LaunchTemplate.Overrides.map((o) => o.InstanceType).join(',') + ' base ' + g.MixedInstancesPolicy.InstancesDistribution.OnDemandBaseCapacity + ' od% ' + g.MixedInstancesPolicy.InstancesDistribution.OnDemandPercentageAboveBaseCapacity + ' ' + g.MixedInstancesPolicy.InstancesDistribution.SpotAllocationStrategy : '', 'rebalance', g.CapacityRebalance, 'instances', (g.Instances ?? []).map((i) => i.InstanceId + '@' + i.AvailabilityZone).join(' '));
}
for (const lb of (await v2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []) {
  const ls = (await v2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ?? [];
  console.log('NLB', lb.LoadBalancerName, lb.Type, lb.Scheme, 'zone', lb.CanonicalHostedZoneId, 'SGs', (lb.SecurityGroups ?? []).length, 'listeners', ls.map((l) => l.Protocol + ':' + l.Port).join(','));
}
for (const tg of (await v2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []) {
  const attrs = Object.fromEntries(((await v2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }))).Attributes ?? []).map((a) => [a.Key, a.Value]));
  const h = (await v2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }))).TargetHealthDescriptions ?? [];
  console.log('TG', tg.TargetGroupName, tg.Protocol + ':' + tg.Port, 'check', tg.HealthCheckProtocol, tg.HealthCheckPath, 'LBs', (tg.LoadBalancerArns ?? []).map((a) => a.split('/')[2]).join(','), 'preserve_client_ip', attrs['preserve_client_ip.enabled'], 'dereg', attrs['deregistration_delay.timeout_seconds'], 'targets', h.map((t) => t.Target.Id).sort().join(' '));
}
")
echo "## destroy"; $K destroy -f cluster.yaml --yes 2>&1 | tail -3
