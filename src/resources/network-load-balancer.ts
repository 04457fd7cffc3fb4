/**
 * Network Load Balancers in front of the API servers (controlPlane.loadBalancer: network), each
 * with its one TCP listener forwarding to its own target group (target-group.ts). Identified by
 * the ARN; found again by the ownership tags (names are unique per region, and another cluster's
 * holder of our name is refused at plan: nameHolders).
 *
 * Security groups are set at creation: AWS refuses SetSecurityGroups on an NLB made without any,
 * so an NLB observed without security groups is refused (it would have to be replaced), never
 * half-fixed. Cross-zone load balancing is an attribute (off by default on an NLB), diffed and
 * set in place; the listener is diffed and modified in place.
 */
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  paginateDescribeListeners,
  type ElasticLoadBalancingV2Client,
  type Listener as AwsListener,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAlreadyExists, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { elbv2TagsOf, ownedElbv2 } from '../aws/elbv2.js';
import { tagDiff } from '../aws/tags.js';
import { KEY_TAG, OWNER_TAG, type Tags } from '../model/types.js';
import { mayHave } from './cluster-record.js';
import { change, claims, drain, ignoreNotFound, sameSet, toTagList } from './common.js';
import { elbv2Inventory } from './elbv2-inventory.js';
import type { ActualOf, Change, ResolvedNode, ResourceHandler, RunContext } from './types.js';

type Node = ResolvedNode<'network-load-balancer'>;
type ListenerSpec = Node['props']['listener'];

interface ObservedListener {
  arn: string;
  protocol: string;
  port: number;
  targetGroupArns: string[];
}

interface Observed {
  type: string;
  scheme: string;
  subnetIds: string[];
  securityGroupIds: string[];
  crossZone: boolean;
  listeners: ObservedListener[];
}

const client = (ctx: RunContext): Promise<ElasticLoadBalancingV2Client> => ctx.aws.elbv2();
const CROSS_ZONE = 'load_balancing.cross_zone.enabled';
const listenerOf = (l: AwsListener): ObservedListener => ({
  arn: l.ListenerArn ?? '',
  protocol: (l.Protocol ?? '').toUpperCase(),
  port: l.Port ?? 0,
  targetGroupArns: [
    ...new Set(
      (l.DefaultActions ?? []).flatMap((a) =>
        a.Type === 'forward'
          ? [...(a.TargetGroupArn ? [a.TargetGroupArn] : []), ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn ?? '')]
          : [],
      ),
    ),
  ]
    .filter(Boolean)
    .sort(),
});

const listenerMatches = (l: ObservedListener, p: ListenerSpec): boolean =>
  l.protocol === p.protocol && l.port === p.port && l.targetGroupArns.length === 1 && l.targetGroupArns[0] === p.targetGroupArn;

async function observedOf(elb: ElasticLoadBalancingV2Client, lb: LoadBalancer): Promise<Observed> {
  const arn = lb.LoadBalancerArn!;
  const [attrs, listeners] = await Promise.all([
    elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })),
    drain(paginateDescribeListeners({ client: elb }, { LoadBalancerArn: arn }), (p) => p.Listeners),
  ]);
  return {
    type: lb.Type ?? '',
    scheme: lb.Scheme ?? '',
    subnetIds: (lb.AvailabilityZones ?? [])
      .map((z) => z.SubnetId ?? '')
      .filter(Boolean)
      .sort(),
    securityGroupIds: [...(lb.SecurityGroups ?? [])].sort(),
    crossZone: (attrs.Attributes ?? []).some((a) => a.Key === CROSS_ZONE && a.Value === 'true'),
    listeners: listeners.map(listenerOf),
  };
}

function toActual(lb: LoadBalancer, key: string, tags: Tags, observed: Observed): ActualOf<Observed> {
  return {
    key,
    kind: 'network-load-balancer',
    id: lb.LoadBalancerArn!,
    // The alias record's zone is the one AWS answers for this NLB (it differs from a classic ELB's).
    attrs: {
      arn: lb.LoadBalancerArn!,
      name: lb.LoadBalancerName ?? '',
      dnsName: lb.DNSName ?? '',
      hostedZoneId: lb.CanonicalHostedZoneId ?? '',
    },
    tags,
    observed,
    ...(lb.State?.Code ? { state: lb.State.Code } : {}),
  };
}

/** The load balancers of these names, whoever owns them (DescribeLoadBalancers by names fails whole on one unknown name: one call each). */
async function byNames(elb: ElasticLoadBalancingV2Client, names: readonly string[]): Promise<LoadBalancer[]> {
  const out: LoadBalancer[] = [];
  for (const name of names) {
    try {
      const res = await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }));
      out.push(...(res.LoadBalancers ?? []).filter((lb) => lb.LoadBalancerName === name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return out;
}

async function setCrossZone(elb: ElasticLoadBalancingV2Client, arn: string, on: boolean): Promise<void> {
  await elb.send(new ModifyLoadBalancerAttributesCommand({ LoadBalancerArn: arn, Attributes: [{ Key: CROSS_ZONE, Value: String(on) }] }));
}

const forward = (tg: string) => [{ Type: 'forward' as const, TargetGroupArn: tg }];

async function createListener(elb: ElasticLoadBalancingV2Client, arn: string, p: ListenerSpec, tags: Tags): Promise<ObservedListener> {
  const res = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: arn,
      Protocol: p.protocol,
      Port: p.port,
      DefaultActions: forward(p.targetGroupArn),
      Tags: toTagList(tags),
    }),
  );
  return { arn: res.Listeners?.[0]?.ListenerArn ?? '', protocol: p.protocol, port: p.port, targetGroupArns: [p.targetGroupArn] };
}

export const networkLoadBalancer: ResourceHandler<'network-load-balancer', Observed> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeTargetGroups',
      's3:GetBucketLocation',
    ],
    create: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:CreateListener', 'elasticloadbalancing:CreateLoadBalancer'],
    update: [
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSecurityGroups',
      'elasticloadbalancing:SetSubnets',
    ],
    delete: ['elasticloadbalancing:DeleteListener', 'elasticloadbalancing:DeleteLoadBalancer'],
  },
  kind: 'network-load-balancer',
  edges: {
    // target-group: its listener forwards to the target group, and a target group is deleted once no
    // listener forwards to it (ResourceInUse before)
    waitsFor: ['subnet', 'security-group', 'internet-gateway', 'target-group'],
  },

  async observe(ctx) {
    // A cluster whose VPC records no NLB ever (and whose spec asks for none) has none to read.
    if (!(await mayHave(ctx, 'nlb'))) return [];
    const elb = await client(ctx);
    const { loadBalancers, tags: all } = await elbv2Inventory(ctx);
    const owned = ownedElbv2(
      loadBalancers,
      (lb) => lb.LoadBalancerArn!,
      all,
      (tags, key) => claims(ctx, tags, key),
    );
    return Promise.all(owned.map(async ({ item: lb, key, tags }) => toActual(lb, key, tags, await observedOf(elb, lb))));
  },

  async nameHolders(ctx, names) {
    const elb = await client(ctx);
    const found = await byNames(elb, names);
    if (!found.length) return [];
    const tags = await elbv2TagsOf(
      elb,
      found.map((lb) => lb.LoadBalancerArn!),
    );
    return found.map((lb) => ({ name: lb.LoadBalancerName!, tags: tags.get(lb.LoadBalancerArn!) ?? {} }));
  },

  async create(ctx, node) {
    const elb = await client(ctx);
    const p = node.props;
    let lb: LoadBalancer | undefined;
    try {
      const res = await elb.send(
        new CreateLoadBalancerCommand({
          Name: p.name,
          Type: 'network',
          Scheme: p.scheme,
          Subnets: [...p.subnetIds],
          // at creation or never: AWS refuses to add security groups to an NLB made without
          SecurityGroups: [...p.securityGroupIds],
          IpAddressType: 'ipv4',
          Tags: toTagList(node.tags),
        }),
      );
      lb = res.LoadBalancers?.[0];
    } catch (e) {
      if (!isLostResponse(e) && !isAlreadyExists(e)) throw e;
      lb = (await byNames(elb, [p.name]))[0];
      if (!lb) throw e;
    }
    if (!lb?.LoadBalancerArn)
      throw new KubeazError(`CreateLoadBalancer for ${p.name} answered no load balancer`, 'UnexpectedResponse', node.key);
    // AWS answers an identical earlier request with the existing load balancer: ours only if it carries our tags.
    const tags = (await elbv2TagsOf(elb, [lb.LoadBalancerArn])).get(lb.LoadBalancerArn) ?? {};
    if (tags[OWNER_TAG] !== ctx.clusterId || tags[KEY_TAG] !== node.key)
      throw new KubeazError(
        `a load balancer named ${p.name} exists and is not owned by cluster ${ctx.clusterId}`,
        'LoadBalancerNotOwned',
        node.key,
      );
    const arn = lb.LoadBalancerArn;
    // An earlier attempt of ours may have got further: read what is there, then complete it.
    const o = await observedOf(elb, lb);
    if (o.crossZone !== p.crossZone) await setCrossZone(elb, arn, p.crossZone);
    const listeners = o.listeners.some((l) => listenerMatches(l, p.listener))
      ? o.listeners
      : [...o.listeners, await createListener(elb, arn, p.listener, node.tags)];
    return toActual(lb, node.key, tags, { ...o, crossZone: p.crossZone, listeners });
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    if (actual.attrs.name !== p.name) out.push(change('name', actual.attrs.name, p.name, false));
    if (o.type !== 'network') out.push(change('type', o.type, 'network', false));
    if (o.scheme !== p.scheme) out.push(change('scheme', o.scheme, p.scheme, false));
    if (!sameSet(o.subnetIds, p.subnetIds)) out.push(change('subnetIds', o.subnetIds, [...p.subnetIds].sort(), true));
    if (!sameSet(o.securityGroupIds, p.securityGroupIds)) {
      // none at creation: AWS never takes any later
      out.push(change('securityGroupIds', o.securityGroupIds, [...p.securityGroupIds].sort(), o.securityGroupIds.length > 0));
    }
    if (o.crossZone !== p.crossZone) out.push(change('crossZone', o.crossZone, p.crossZone, true));
    if (o.listeners.length !== 1 || !listenerMatches(o.listeners[0]!, p.listener))
      out.push(
        change(
          'listeners',
          o.listeners.map((l) => ({ protocol: l.protocol, port: l.port, targetGroupArns: l.targetGroupArns })),
          [{ protocol: p.listener.protocol, port: p.listener.port, targetGroupArns: [p.listener.targetGroupArn] }],
          true,
        ),
      );
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const elb = await client(ctx);
    const p = node.props;
    const o = actual.observed;
    const arn = actual.id;
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('subnetIds')) await elb.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: [...p.subnetIds] }));
    if (fields.has('securityGroupIds'))
      await elb.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [...p.securityGroupIds] }));
    if (fields.has('crossZone')) await setCrossZone(elb, arn, p.crossZone);
    let listeners = o.listeners;
    if (fields.has('listeners')) {
      // Keep (and fix) the listener on our port; drop any other; make ours when there is none.
      const mine = o.listeners.find((l) => l.port === p.listener.port);
      for (const l of o.listeners.filter((x) => x !== mine))
        await ignoreNotFound(elb.send(new DeleteListenerCommand({ ListenerArn: l.arn })));
      if (mine && !listenerMatches(mine, p.listener)) {
        await elb.send(
          new ModifyListenerCommand({
            ListenerArn: mine.arn,
            Protocol: p.listener.protocol,
            Port: p.listener.port,
            DefaultActions: forward(p.listener.targetGroupArn),
          }),
        );
        listeners = [{ ...mine, protocol: p.listener.protocol, targetGroupArns: [p.listener.targetGroupArn] }];
      } else if (mine) listeners = [mine];
      else listeners = [await createListener(elb, arn, p.listener, node.tags)];
    }
    let tags = actual.tags;
    const t = changes.find((c) => c.field === 'tags');
    if (t) {
      await elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: toTagList(t.to as Tags) }));
      tags = { ...tags, ...(t.to as Tags) };
    }
    return {
      ...actual,
      tags,
      observed: {
        ...o,
        subnetIds: [...p.subnetIds].sort(),
        securityGroupIds: fields.has('securityGroupIds') ? [...p.securityGroupIds].sort() : o.securityGroupIds,
        crossZone: p.crossZone,
        listeners,
      },
    };
  },

  deleteNote: 'its listener goes with it; connections through it end',

  async delete(ctx, actual) {
    // Deleting a load balancer deletes its listeners; NotFound is done.
    await ignoreNotFound((await client(ctx)).send(new DeleteLoadBalancerCommand({ LoadBalancerArn: actual.id })));
  },

  async health(_ctx, actuals) {
    // The state AWS reports (provisioning, active, active_impaired, failed); the targets' health is the target groups'.
    return actuals.map((a) => ({
      key: a.key,
      ok: a.state === 'active',
      summary: `${a.state ?? 'unknown'}, ${a.observed.listeners.map((l) => `${l.protocol}:${l.port}`).join(' ') || 'no listener'}`,
      details: { dnsName: a.attrs.dnsName, scheme: a.observed.scheme, crossZone: a.observed.crossZone },
    }));
  },
};
