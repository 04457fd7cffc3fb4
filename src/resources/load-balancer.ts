/**
 * Classic ELBs in front of the API servers (`<clusterId>-api`, `<clusterId>-api-int`). Identified
 * by name; owned when they carry our ownership tag (a look-alike name alone proves nothing).
 *
 * One file per kind (DESIGN.md), over 300 lines because a classic ELB's settings are separate
 * calls each (listeners, health check, attributes, subnets, security groups), each diffed and updated in place.
 */
import {
  AddTagsCommand,
  ApplySecurityGroupsToLoadBalancerCommand,
  AttachLoadBalancerToSubnetsCommand,
  ConfigureHealthCheckCommand,
  CreateLoadBalancerCommand,
  CreateLoadBalancerListenersCommand,
  DeleteLoadBalancerCommand,
  DeleteLoadBalancerListenersCommand,
  DescribeInstanceHealthCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DetachLoadBalancerFromSubnetsCommand,
  ModifyLoadBalancerAttributesCommand,
  paginateDescribeLoadBalancers,
  type ElasticLoadBalancingClient,
  type LoadBalancerDescription,
} from '@aws-sdk/client-elastic-load-balancing';
import { isAlreadyExists, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { tagDiff } from '../aws/tags.js';
import { ELB_HOSTED_ZONE_IDS } from '../model/elb-zones.js';
import { KEY_TAG, OWNER_TAG, type KindProps, type Tags } from '../model/types.js';
import { change, claims, drain, fromTagList, ignoreNotFound, sameSet, toTagList } from './common.js';
import { mayHave } from './cluster-record.js';
import type { ActualOf, Change, Health, ResourceHandler, RunContext } from './types.js';

type Listener = KindProps['load-balancer']['listener'];
type HealthCheck = KindProps['load-balancer']['healthCheck'];

interface Observed {
  scheme: string;
  subnetIds: string[];
  securityGroupIds: string[];
  listeners: Listener[];
  healthCheck: HealthCheck | undefined;
  crossZone: boolean;
  idleTimeout: number;
  /** draining timeout in seconds, or 0 when connection draining is off */
  drainingTimeout: number;
}

const elbClient = (ctx: RunContext): Promise<ElasticLoadBalancingClient> => ctx.aws.elb();

/** DescribeTags takes at most 20 names. */
async function tagsOf(elb: ElasticLoadBalancingClient, names: string[]): Promise<Map<string, Tags>> {
  const out = new Map<string, Tags>();
  for (let i = 0; i < names.length; i += 20) {
    const res = await elb.send(new DescribeTagsCommand({ LoadBalancerNames: names.slice(i, i + 20) }));
    for (const d of res.TagDescriptions ?? []) if (d.LoadBalancerName) out.set(d.LoadBalancerName, fromTagList(d.Tags));
  }
  return out;
}

const listenersOf = (lb: LoadBalancerDescription): Listener[] =>
  (lb.ListenerDescriptions ?? []).map((d) => ({
    protocol: (d.Listener?.Protocol ?? '').toUpperCase() as 'TCP',
    port: d.Listener?.LoadBalancerPort ?? 0,
    instanceProtocol: (d.Listener?.InstanceProtocol ?? '').toUpperCase() as 'TCP',
    instancePort: d.Listener?.InstancePort ?? 0,
  }));

const healthCheckOf = (lb: LoadBalancerDescription): HealthCheck | undefined =>
  lb.HealthCheck
    ? {
        target: lb.HealthCheck.Target ?? '',
        interval: lb.HealthCheck.Interval ?? 0,
        timeout: lb.HealthCheck.Timeout ?? 0,
        healthyThreshold: lb.HealthCheck.HealthyThreshold ?? 0,
        unhealthyThreshold: lb.HealthCheck.UnhealthyThreshold ?? 0,
      }
    : undefined;

/**
 * The hosted-zone id an alias to this load balancer needs: AWS's own answer
 * (CanonicalHostedZoneNameID); the per-region table only for an emulator that omits it (moto);
 * '' when neither knows it (the alias record then refuses, naming the region).
 */
export function aliasZoneOf(region: string, answered: string | undefined): string {
  return answered || ELB_HOSTED_ZONE_IDS[region] || '';
}

async function actualOf(
  ctx: RunContext,
  elb: ElasticLoadBalancingClient,
  lb: LoadBalancerDescription,
  key: string,
  tags: Tags,
): Promise<ActualOf<Observed>> {
  const attrs = await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerName: lb.LoadBalancerName! }));
  const observed: Observed = {
    scheme: lb.Scheme ?? 'internet-facing',
    subnetIds: [...(lb.Subnets ?? [])].sort(),
    securityGroupIds: [...(lb.SecurityGroups ?? [])].sort(),
    listeners: listenersOf(lb),
    healthCheck: healthCheckOf(lb),
    crossZone: attrs.LoadBalancerAttributes?.CrossZoneLoadBalancing?.Enabled ?? false,
    idleTimeout: attrs.LoadBalancerAttributes?.ConnectionSettings?.IdleTimeout ?? 60,
    drainingTimeout: attrs.LoadBalancerAttributes?.ConnectionDraining?.Enabled
      ? (attrs.LoadBalancerAttributes.ConnectionDraining.Timeout ?? 300)
      : 0,
  };
  return {
    key,
    kind: 'load-balancer',
    id: lb.LoadBalancerName!,
    attrs: { name: lb.LoadBalancerName!, dnsName: lb.DNSName ?? '', hostedZoneId: aliasZoneOf(ctx.region, lb.CanonicalHostedZoneNameID) },
    tags,
    observed,
  };
}

const sameListener = (a: Listener, b: Listener): boolean =>
  a.protocol.toUpperCase() === b.protocol.toUpperCase() &&
  a.port === b.port &&
  a.instanceProtocol.toUpperCase() === b.instanceProtocol.toUpperCase() &&
  a.instancePort === b.instancePort;

const sameHealthCheck = (a: HealthCheck | undefined, b: HealthCheck): boolean =>
  !!a &&
  a.target === b.target &&
  a.interval === b.interval &&
  a.timeout === b.timeout &&
  a.healthyThreshold === b.healthyThreshold &&
  a.unhealthyThreshold === b.unhealthyThreshold;

async function configureHealthCheck(elb: ElasticLoadBalancingClient, name: string, h: HealthCheck): Promise<void> {
  await elb.send(
    new ConfigureHealthCheckCommand({
      LoadBalancerName: name,
      HealthCheck: {
        Target: h.target,
        Interval: h.interval,
        Timeout: h.timeout,
        HealthyThreshold: h.healthyThreshold,
        UnhealthyThreshold: h.unhealthyThreshold,
      },
    }),
  );
}

type Attributes = Pick<KindProps['load-balancer'], 'crossZone' | 'idleTimeout' | 'drainingTimeout'>;

/** Cross-zone, idle timeout and connection draining: one ModifyLoadBalancerAttributes call. */
async function setAttributes(elb: ElasticLoadBalancingClient, name: string, a: Attributes): Promise<void> {
  await elb.send(
    new ModifyLoadBalancerAttributesCommand({
      LoadBalancerName: name,
      LoadBalancerAttributes: {
        CrossZoneLoadBalancing: { Enabled: a.crossZone },
        ConnectionSettings: { IdleTimeout: a.idleTimeout },
        ConnectionDraining: a.drainingTimeout > 0 ? { Enabled: true, Timeout: a.drainingTimeout } : { Enabled: false },
      },
    }),
  );
}

const awsListener = (l: Listener) => ({
  Protocol: l.protocol,
  LoadBalancerPort: l.port,
  InstanceProtocol: l.instanceProtocol,
  InstancePort: l.instancePort,
});

/** Our ELB of that name, if it exists and carries our ownership tag. */
async function findOwned(
  ctx: RunContext,
  elb: ElasticLoadBalancingClient,
  name: string,
): Promise<{ lb: LoadBalancerDescription; tags: Tags } | undefined> {
  let lb: LoadBalancerDescription | undefined;
  try {
    lb = (await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }))).LoadBalancerDescriptions?.[0];
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (!lb) return undefined;
  const tags = (await tagsOf(elb, [name])).get(name) ?? {};
  return tags[OWNER_TAG] === ctx.clusterId ? { lb, tags } : undefined;
}

export const loadBalancer: ResourceHandler<'load-balancer', Observed> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      'elasticloadbalancing:DescribeInstanceHealth',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTags',
      's3:GetBucketLocation',
    ],
    create: [
      'elasticloadbalancing:AddTags',
      'elasticloadbalancing:AttachLoadBalancerToSubnets',
      'elasticloadbalancing:CreateLoadBalancer',
      'elasticloadbalancing:CreateLoadBalancerListeners',
    ],
    update: [
      'elasticloadbalancing:ApplySecurityGroupsToLoadBalancer',
      'elasticloadbalancing:ConfigureHealthCheck',
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
    ],
    delete: [
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DeleteLoadBalancerListeners',
      'elasticloadbalancing:DetachLoadBalancerFromSubnets',
    ],
  },
  kind: 'load-balancer',
  edges: { waitsFor: ['subnet', 'security-group', 'internet-gateway'] },

  async observe(ctx) {
    // A cluster whose VPC records no classic ELB (an NLB cluster since its first create) has none to read.
    if (!(await mayHave(ctx, 'elb'))) return [];
    const elb = await elbClient(ctx);
    const prefix = `${ctx.clusterId}-`;
    const all = await drain(paginateDescribeLoadBalancers({ client: elb }, {}), (p) => p.LoadBalancerDescriptions);
    const candidates = all.filter((lb) => lb.LoadBalancerName?.startsWith(prefix));
    if (!candidates.length) return [];
    const tags = await tagsOf(
      elb,
      candidates.map((lb) => lb.LoadBalancerName!),
    );
    const owned = candidates.flatMap((lb) => {
      const t = tags.get(lb.LoadBalancerName!) ?? {};
      const key = t[KEY_TAG];
      return key && claims(ctx, t, key) ? [{ lb, key, tags: t }] : [];
    });
    return Promise.all(owned.map(({ lb, key, tags: t }) => actualOf(ctx, elb, lb, key, t)));
  },

  async create(ctx, node) {
    const elb = await elbClient(ctx);
    const p = node.props;
    let dnsName: string | undefined;
    let answeredZone: string | undefined;
    try {
      const out = await elb.send(
        new CreateLoadBalancerCommand({
          LoadBalancerName: p.name,
          Listeners: [awsListener(p.listener)],
          Subnets: p.subnetIds,
          SecurityGroups: p.securityGroupIds,
          ...(p.scheme === 'internal' ? { Scheme: 'internal' } : {}),
          Tags: toTagList(node.tags),
        }),
      );
      dnsName = out.DNSName;
    } catch (e) {
      // A lost answer or an earlier attempt of ours: carry on with it only if it carries our tag.
      if (!isLostResponse(e) && !isAlreadyExists(e)) throw e;
      const found = await findOwned(ctx, elb, p.name);
      if (!found) {
        if (isLostResponse(e)) throw e;
        throw new KubeazError(
          `a load balancer named ${p.name} exists and is not owned by cluster ${ctx.clusterId}`,
          'LoadBalancerNotOwned',
          node.key,
          { cause: e },
        );
      }
      dnsName = found.lb.DNSName;
      answeredZone = found.lb.CanonicalHostedZoneNameID;
    }
    // CreateLoadBalancer answers only the DNS name; the alias record needs the hosted-zone id too.
    if (!answeredZone) {
      const fresh = await elb
        .send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [p.name] }))
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      answeredZone = fresh?.LoadBalancerDescriptions?.[0]?.CanonicalHostedZoneNameID;
    }
    await configureHealthCheck(elb, p.name, p.healthCheck);
    await setAttributes(elb, p.name, p);
    const observed: Observed = {
      scheme: p.scheme,
      subnetIds: [...p.subnetIds].sort(),
      securityGroupIds: [...p.securityGroupIds].sort(),
      listeners: [p.listener],
      healthCheck: p.healthCheck,
      crossZone: p.crossZone,
      idleTimeout: p.idleTimeout,
      drainingTimeout: p.drainingTimeout,
    };
    return {
      key: node.key,
      kind: 'load-balancer',
      id: p.name,
      attrs: { name: p.name, dnsName: dnsName ?? '', hostedZoneId: aliasZoneOf(ctx.region, answeredZone) },
      tags: node.tags,
      observed,
    };
  },

  diff(node, actual) {
    const o = actual.observed;
    const p = node.props;
    const out: Change[] = [];
    if (actual.id !== p.name) out.push(change('name', actual.id, p.name, false));
    if (o.scheme !== p.scheme) out.push(change('scheme', o.scheme, p.scheme, false));
    if (!sameSet(o.subnetIds, p.subnetIds)) out.push(change('subnetIds', o.subnetIds, [...p.subnetIds].sort(), true));
    if (!sameSet(o.securityGroupIds, p.securityGroupIds))
      out.push(change('securityGroupIds', o.securityGroupIds, [...p.securityGroupIds].sort(), true));
    if (o.listeners.length !== 1 || !sameListener(o.listeners[0]!, p.listener))
      out.push(change('listeners', o.listeners, [p.listener], true));
    if (!sameHealthCheck(o.healthCheck, p.healthCheck)) out.push(change('healthCheck', o.healthCheck, p.healthCheck, true));
    if (o.crossZone !== p.crossZone) out.push(change('crossZone', o.crossZone, p.crossZone, true));
    if (o.idleTimeout !== p.idleTimeout) out.push(change('idleTimeout', o.idleTimeout, p.idleTimeout, true));
    if (o.drainingTimeout !== p.drainingTimeout) out.push(change('connectionDraining', o.drainingTimeout, p.drainingTimeout, true));
    out.push(...tagDiff(node, actual.tags));
    return out;
  },

  async update(ctx, node, actual, changes) {
    const elb = await elbClient(ctx);
    const p = node.props;
    const o = actual.observed;
    const name = actual.id;
    const fields = new Set(changes.map((c) => c.field));
    if (fields.has('subnetIds')) await moveSubnets(elb, name, o.subnetIds, p.subnetIds);
    if (fields.has('securityGroupIds'))
      await elb.send(new ApplySecurityGroupsToLoadBalancerCommand({ LoadBalancerName: name, SecurityGroups: p.securityGroupIds }));
    if (fields.has('listeners')) {
      const stale = o.listeners.filter((l) => !sameListener(l, p.listener)).map((l) => l.port);
      if (stale.length) await elb.send(new DeleteLoadBalancerListenersCommand({ LoadBalancerName: name, LoadBalancerPorts: stale }));
      if (!o.listeners.some((l) => sameListener(l, p.listener))) {
        await elb.send(new CreateLoadBalancerListenersCommand({ LoadBalancerName: name, Listeners: [awsListener(p.listener)] }));
      }
    }
    if (fields.has('healthCheck')) await configureHealthCheck(elb, name, p.healthCheck);
    if (fields.has('crossZone') || fields.has('idleTimeout') || fields.has('connectionDraining')) await setAttributes(elb, name, p);
    let tags = actual.tags;
    const t = changes.find((c) => c.field === 'tags');
    if (t) {
      await elb.send(new AddTagsCommand({ LoadBalancerNames: [name], Tags: toTagList(t.to as Tags) }));
      tags = { ...tags, ...(t.to as Tags) };
    }
    const observed: Observed = {
      ...o,
      subnetIds: [...p.subnetIds].sort(),
      securityGroupIds: [...p.securityGroupIds].sort(),
      listeners: [p.listener],
      healthCheck: p.healthCheck,
      crossZone: p.crossZone,
      idleTimeout: p.idleTimeout,
      drainingTimeout: p.drainingTimeout,
    };
    return { ...actual, tags, observed };
  },

  async delete(ctx, actual) {
    // DeleteLoadBalancer is idempotent on AWS; NotFound is done all the same.
    await ignoreNotFound((await elbClient(ctx)).send(new DeleteLoadBalancerCommand({ LoadBalancerName: actual.id })));
  },

  async health(ctx, actuals) {
    const elb = await elbClient(ctx);
    return Promise.all(
      actuals.map(async (a): Promise<Health> => {
        const res = await elb.send(new DescribeInstanceHealthCommand({ LoadBalancerName: a.id }));
        const states = res.InstanceStates ?? [];
        const inService = states.filter((s) => s.State === 'InService').length;
        return {
          key: a.key,
          ok: inService >= 1,
          summary: `${inService}/${states.length} InService`,
          details: Object.fromEntries(states.map((s) => [s.InstanceId ?? '?', s.State ?? 'Unknown'])),
        };
      }),
    );
  },
};

/**
 * A classic ELB holds one subnet per zone and at least one subnet: detach the leaving subnets
 * first (so a replacement in the same zone can attach), but keep one while none of the wanted
 * ones is attached yet.
 */
async function moveSubnets(elb: ElasticLoadBalancingClient, name: string, have: string[], want: string[]): Promise<void> {
  const leaving = have.filter((s) => !want.includes(s));
  const coming = want.filter((s) => !have.includes(s));
  const staying = have.filter((s) => want.includes(s));
  const keepOne = staying.length === 0 && leaving.length ? leaving.slice(-1) : [];
  const firstDetach = leaving.filter((s) => !keepOne.includes(s));
  if (firstDetach.length) await elb.send(new DetachLoadBalancerFromSubnetsCommand({ LoadBalancerName: name, Subnets: firstDetach }));
  if (coming.length) await elb.send(new AttachLoadBalancerToSubnetsCommand({ LoadBalancerName: name, Subnets: coming }));
  if (keepOne.length) await elb.send(new DetachLoadBalancerFromSubnetsCommand({ LoadBalancerName: name, Subnets: keepOne }));
}
