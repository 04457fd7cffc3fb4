/**
 * The region's Network Load Balancers and target groups with their tags, read once per observe pass
 * (ctx.memo) for both ELBv2 kinds: one DescribeLoadBalancers, one DescribeTargetGroups and one
 * DescribeTags per 20 ARNs of both together (a load balancer and a target group per API endpoint
 * cost one DescribeTags, not one each). A shared read, not a kind; each kind keeps what it owns.
 */
import {
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { elbv2TagsOf } from '../aws/elbv2.js';
import type { Tags } from '../model/types.js';
import { drain } from './common.js';
import type { RunContext } from './types.js';

export interface Elbv2Inventory {
  /** network load balancers only (an account's ALBs are not read further) */
  loadBalancers: LoadBalancer[];
  targetGroups: TargetGroup[];
  /** ARN → tags, for every one of both lists */
  tags: ReadonlyMap<string, Tags>;
}

export function elbv2Inventory(ctx: RunContext): Promise<Elbv2Inventory> {
  return ctx.memo('elbv2:inventory', async () => {
    const elb = await ctx.aws.elbv2();
    const [lbs, tgs] = await Promise.all([
      drain(paginateDescribeLoadBalancers({ client: elb }, {}), (p) => p.LoadBalancers),
      drain(paginateDescribeTargetGroups({ client: elb }, {}), (p) => p.TargetGroups),
    ]);
    const loadBalancers = lbs.filter((lb) => lb.Type === 'network' && lb.LoadBalancerArn);
    const targetGroups = tgs.filter((tg) => tg.TargetGroupArn);
    const arns = [...loadBalancers.map((lb) => lb.LoadBalancerArn!), ...targetGroups.map((tg) => tg.TargetGroupArn!)];
    const tags = arns.length ? await elbv2TagsOf(elb, arns) : new Map<string, Tags>();
    return { loadBalancers, targetGroups, tags };
  });
}
