/**
 * The API's TCP target groups (controlPlane.loadBalancer: network), one per network load balancer:
 * on AWS a target group serves a single load balancer (moto does not enforce it). The master
 * groups register their instances through the auto scaling group's TargetGroupARNs.
 *
 * Identified by the ARN, found again by the ownership tags. The health check and the attributes
 * (deregistration delay, client IP preservation — off for the hairpin, see
 * model/areas/load-balancers.ts) are diffed and fixed in place; protocol, port, target type and
 * VPC cannot change on AWS and are refused.
 */
import {
  AddTagsCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAlreadyExists, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { elbv2TagsOf, ownedElbv2 } from '../aws/elbv2.js';
import { tagDiff } from '../aws/tags.js';
import { KEY_TAG, OWNER_TAG, type KindProps, type Tags } from '../model/types.js';
import { mayHave } from './cluster-record.js';
import { change, claims, ignoreNotFound, toTagList } from './common.js';
import { elbv2Inventory } from './elbv2-inventory.js';
import type { ActualOf, Change, Health, ResourceHandler, RunContext } from './types.js';

type Props = KindProps['target-group'];
type HealthCheck = Props['healthCheck'];

interface Observed {
  protocol: string;
  port: number;
  targetType: string;
  vpcId: string;
  healthCheck: HealthCheck;
  deregistrationDelay: number;
  preserveClientIp: boolean;
  /** the load balancers whose listeners forward to it */
  loadBalancerArns: string[];
}

const client = (ctx: RunContext): Promise<ElasticLoadBalancingV2Client> => ctx.aws.elbv2();
const DEREGISTRATION_DELAY = 'deregistration_delay.timeout_seconds';
const PRESERVE_CLIENT_IP = 'preserve_client_ip.enabled';
const isHttp = (protocol: string): boolean => protocol === 'HTTP' || protocol === 'HTTPS';

const healthCheckOf = (tg: TargetGroup): HealthCheck => {
  const protocol = (tg.HealthCheckProtocol ?? 'TCP').toUpperCase() as HealthCheck['protocol'];
  return {
    protocol,
    port: tg.HealthCheckPort ?? 'traffic-port',
    ...(isHttp(protocol) ? { path: tg.HealthCheckPath ?? '/', matcher: tg.Matcher?.HttpCode ?? '200' } : {}),
    interval: tg.HealthCheckIntervalSeconds ?? 0,
    timeout: tg.HealthCheckTimeoutSeconds ?? 0,
    healthyThreshold: tg.HealthyThresholdCount ?? 0,
    unhealthyThreshold: tg.UnhealthyThresholdCount ?? 0,
  };
};

/** Compared as AWS keeps it: a path and a matcher only for an HTTP(S) check. */
const sameHealthCheck = (a: HealthCheck, b: HealthCheck): boolean =>
  a.protocol === b.protocol &&
  a.port === b.port &&
  (!isHttp(b.protocol) || (a.path === b.path && a.matcher === b.matcher)) &&
  a.interval === b.interval &&
  a.timeout === b.timeout &&
  a.healthyThreshold === b.healthyThreshold &&
  a.unhealthyThreshold === b.unhealthyThreshold;

const healthCheckInput = (h: HealthCheck) => ({
  HealthCheckEnabled: true,
  HealthCheckProtocol: h.protocol,
  HealthCheckPort: h.port,
  ...(isHttp(h.protocol) ? { HealthCheckPath: h.path ?? '/', Matcher: { HttpCode: h.matcher ?? '200' } } : {}),
  HealthCheckIntervalSeconds: h.interval,
  HealthCheckTimeoutSeconds: h.timeout,
  HealthyThresholdCount: h.healthyThreshold,
  UnhealthyThresholdCount: h.unhealthyThreshold,
});

async function observedOf(elb: ElasticLoadBalancingV2Client, tg: TargetGroup): Promise<Observed> {
  const res = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn! }));
  const attr = (k: string) => res.Attributes?.find((a) => a.Key === k)?.Value;
  return {
    protocol: tg.Protocol ?? '',
    port: tg.Port ?? 0,
    targetType: tg.TargetType ?? 'instance',
    vpcId: tg.VpcId ?? '',
    healthCheck: healthCheckOf(tg),
    deregistrationDelay: Number(attr(DEREGISTRATION_DELAY) ?? 300),
    // AWS's default for instance targets is on; an attribute not reported is the default
    preserveClientIp: (attr(PRESERVE_CLIENT_IP) ?? 'true') === 'true',
    loadBalancerArns: [...(tg.LoadBalancerArns ?? [])].sort(),
  };
}

const toActual = (tg: TargetGroup, key: string, tags: Tags, observed: Observed): ActualOf<Observed> => ({
  key,
  kind: 'target-group',
  id: tg.TargetGroupArn!,
  attrs: { arn: tg.TargetGroupArn!, name: tg.TargetGroupName ?? '' },
  tags,
  observed,
});

async function setAttributes(
  elb: ElasticLoadBalancingV2Client,
  arn: string,
  p: Pick<Props, 'deregistrationDelay' | 'preserveClientIp'>,
): Promise<void> {
  await elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: arn,
      Attributes: [
        { Key: DEREGISTRATION_DELAY, Value: String(p.deregistrationDelay) },
        { Key: PRESERVE_CLIENT_IP, Value: String(p.preserveClientIp) },
      ],
    }),
  );
}

/** Target groups of these names, whoever owns them (DescribeTargetGroups by names fails whole on one unknown name: one call each). */
async function byNames(elb: ElasticLoadBalancingV2Client, names: readonly string[]): Promise<TargetGroup[]> {
  const out: TargetGroup[] = [];
  for (const name of names) {
    try {
      const res = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
      out.push(...(res.TargetGroups ?? []).filter((tg) => tg.TargetGroupName === name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return out;
}

export const targetGroup: ResourceHandler<'target-group', Observed> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
      's3:GetBucketLocation',
    ],
    create: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:CreateTargetGroup'],
    update: ['elasticloadbalancing:ModifyTargetGroup', 'elasticloadbalancing:ModifyTargetGroupAttributes'],
    delete: ['elasticloadbalancing:DeleteTargetGroup'],
  },
  kind: 'target-group',
  edges: { waitsFor: ['vpc'] },

  async observe(ctx) {
    // Target groups come with the NLBs: none to read on a cluster that never had one.
    if (!(await mayHave(ctx, 'nlb'))) return [];
    const elb = await client(ctx);
    const { targetGroups, tags: all } = await elbv2Inventory(ctx);
    const owned = ownedElbv2(
      targetGroups,
      (tg) => tg.TargetGroupArn!,
      all,
      (tags, key) => claims(ctx, tags, key),
    );
    return Promise.all(owned.map(async ({ item: tg, key, tags }) => toActual(tg, key, tags, await observedOf(elb, tg))));
  },

  async nameHolders(ctx, names) {
    const elb = await client(ctx);
    const found = await byNames(elb, names);
    if (!found.length) return [];
    const tags = await elbv2TagsOf(
      elb,
      found.map((tg) => tg.TargetGroupArn!),
    );
    return found.map((tg) => ({ name: tg.TargetGroupName!, tags: tags.get(tg.TargetGroupArn!) ?? {} }));
  },

  async create(ctx, node) {
    const elb = await client(ctx);
    const p = node.props;
    let tg: TargetGroup | undefined;
    try {
      const res = await elb.send(
        new CreateTargetGroupCommand({
          Name: p.name,
          Protocol: p.protocol,
          Port: p.port,
          VpcId: p.vpcId,
          TargetType: p.targetType,
          IpAddressType: 'ipv4',
          ...healthCheckInput(p.healthCheck),
          Tags: toTagList(node.tags),
        }),
      );
      tg = res.TargetGroups?.[0];
    } catch (e) {
      if (!isLostResponse(e) && !isAlreadyExists(e)) throw e;
      tg = (await byNames(elb, [p.name]))[0];
      if (!tg) throw e;
    }
    if (!tg?.TargetGroupArn)
      throw new KubeazError(`CreateTargetGroup for ${p.name} answered no target group`, 'UnexpectedResponse', node.key);
    // AWS answers an identical earlier request with the existing group: ours only if it carries our tags.
    const tags = (await elbv2TagsOf(elb, [tg.TargetGroupArn])).get(tg.TargetGroupArn) ?? {};
    if (tags[OWNER_TAG] !== ctx.clusterId || tags[KEY_TAG] !== node.key)
      throw new KubeazError(
        `a target group named ${p.name} exists and is not owned by cluster ${ctx.clusterId}`,
        'TargetGroupNotOwned',
        node.key,
      );
    await setAttributes(elb, tg.TargetGroupArn, p);
    const o = await observedOf(elb, tg);
    return toActual(tg, node.key, tags, { ...o, deregistrationDelay: p.deregistrationDelay, preserveClientIp: p.preserveClientIp });
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    if (actual.attrs.name !== p.name) out.push(change('name', actual.attrs.name, p.name, false));
    if (o.protocol !== p.protocol) out.push(change('protocol', o.protocol, p.protocol, false));
    if (o.port !== p.port) out.push(change('port', o.port, p.port, false));
    if (o.targetType !== p.targetType) out.push(change('targetType', o.targetType, p.targetType, false));
    if (o.vpcId !== p.vpcId) out.push(change('vpcId', o.vpcId, p.vpcId, false));
    if (!sameHealthCheck(o.healthCheck, p.healthCheck)) out.push(change('healthCheck', o.healthCheck, p.healthCheck, true));
    if (o.deregistrationDelay !== p.deregistrationDelay)
      out.push(change('deregistrationDelay', o.deregistrationDelay, p.deregistrationDelay, true));
    if (o.preserveClientIp !== p.preserveClientIp) out.push(change('preserveClientIp', o.preserveClientIp, p.preserveClientIp, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const elb = await client(ctx);
    const p = node.props;
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('healthCheck'))
      await elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: actual.id, ...healthCheckInput(p.healthCheck) }));
    if (fields.has('deregistrationDelay') || fields.has('preserveClientIp')) await setAttributes(elb, actual.id, p);
    let tags = actual.tags;
    const t = changes.find((c) => c.field === 'tags');
    if (t) {
      await elb.send(new AddTagsCommand({ ResourceArns: [actual.id], Tags: toTagList(t.to as Tags) }));
      tags = { ...tags, ...(t.to as Tags) };
    }
    return {
      ...actual,
      tags,
      observed: {
        ...actual.observed,
        healthCheck: p.healthCheck,
        deregistrationDelay: p.deregistrationDelay,
        preserveClientIp: p.preserveClientIp,
      },
    };
  },

  async delete(ctx, actual) {
    // ResourceInUse while a listener still forwards to it: the engine retries once the load balancer is gone.
    await ignoreNotFound((await client(ctx)).send(new DeleteTargetGroupCommand({ TargetGroupArn: actual.id })));
  },

  async health(ctx, actuals) {
    const elb = await client(ctx);
    return Promise.all(
      actuals.map(async (a): Promise<Health> => {
        const res = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: a.id }));
        const states = res.TargetHealthDescriptions ?? [];
        const healthy = states.filter((s) => s.TargetHealth?.State === 'healthy').length;
        return {
          key: a.key,
          ok: healthy >= 1,
          summary: `${healthy}/${states.length} healthy`,
          details: Object.fromEntries(states.map((s) => [s.Target?.Id ?? '?', s.TargetHealth?.State ?? 'unknown'])),
        };
      }),
    );
  },
};
