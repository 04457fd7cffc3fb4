import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ipToNumber, numberToIp, parseCidr, subnetLayout, MIN_SUBNET_PREFIX } from '../../src/spec/cidr.js';
import { archOf, deriveGraph, requiredArchs, type Facts } from '../../src/model/derive.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { criticalPathLength, findCycle, GraphError, schedule, validateGraph } from '../../src/engine/graph.js';
import { KEY_TAG, OWNER_TAG, type AnyNode, type DesiredGraph, type Kind } from '../../src/model/types.js';
import { parseSpec } from '../../src/spec/load.js';
import type { ClusterSpec } from '../../src/spec/schema.js';
import { withPublicDomain } from '../helpers/example.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-15T00:00:00Z');

// ── CIDR ──────────────────────────────────────────────────────────────────────────────────────

const range = (cidr: string) => {
  const c = parseCidr(cidr)!;
  return { lo: c.network, hi: c.network + 2 ** (32 - c.prefix) - 1 };
};
const overlaps = (a: string, b: string) => {
  const x = range(a);
  const y = range(b);
  return x.lo <= y.hi && y.lo <= x.hi;
};
const inside = (inner: string, outer: string) => {
  const i = range(inner);
  const o = range(outer);
  return i.lo >= o.lo && i.hi <= o.hi;
};

function checkLayout(vpc: string, zones: number, expectedPrefix: number) {
  const l = subnetLayout(vpc, zones);
  expect(l, `${vpc} × ${zones}`).toBeDefined();
  expect(l!.prefix).toBe(expectedPrefix);
  expect(l!.private).toHaveLength(zones);
  expect(l!.public).toHaveLength(zones);
  const all = [...l!.private, ...l!.public];
  expect(new Set(all).size).toBe(all.length);
  for (const s of all) {
    const c = parseCidr(s)!;
    expect(c.canonical).toBe(s); // no host bits
    expect(c.prefix).toBe(expectedPrefix);
    expect(inside(s, vpc), `${s} inside ${vpc}`).toBe(true);
  }
  for (let i = 0; i < all.length; i++)
    for (let j = i + 1; j < all.length; j++) expect(overlaps(all[i]!, all[j]!), `${all[i]} vs ${all[j]}`).toBe(false);
  // private subnets in the lower half of the VPC, public in the upper half
  const mid = range(vpc).lo + 2 ** (32 - parseCidr(vpc)!.prefix - 1);
  for (const s of l!.private) expect(range(s).hi).toBeLessThan(mid);
  for (const s of l!.public) expect(range(s).lo).toBeGreaterThanOrEqual(mid);
  return l!;
}

describe('subnetLayout', () => {
  // subnets per VPC = 2 × zones rounded up to a power of two
  const cases: Array<[zones: number, prefixOn16: number, smallestVpc: number]> = [
    [2, 18, 26],
    [3, 19, 25],
    [4, 19, 25],
    [5, 20, 24],
    [6, 20, 24],
  ];
  it.each(cases)('%i zones on a /16: /%i subnets, disjoint, inside the VPC', (zones, prefix) => {
    checkLayout('10.0.0.0/16', zones, prefix);
  });
  it.each(cases)('%i zones: the smallest VPC that fits is /%i (/28 subnets), one bit less does not', (zones, _p, smallest) => {
    checkLayout(`10.0.0.0/${smallest}`, zones, MIN_SUBNET_PREFIX);
    expect(subnetLayout(`10.0.0.0/${smallest + 1}`, zones)).toBeUndefined();
  });
  it('lays out 3 zones on 10.0.0.0/16 as expected', () => {
    expect(subnetLayout('10.0.0.0/16', 3)).toEqual({
      private: ['10.0.0.0/19', '10.0.32.0/19', '10.0.64.0/19'],
      public: ['10.0.128.0/19', '10.0.160.0/19', '10.0.192.0/19'],
      prefix: 19,
    });
  });
  it('keeps the first zones in place when zones are added within the same power of two', () => {
    const three = subnetLayout('10.0.0.0/16', 3)!;
    const four = subnetLayout('10.0.0.0/16', 4)!;
    expect(four.private.slice(0, 3)).toEqual(three.private);
    expect(four.public.slice(0, 3)).toEqual(three.public);
  });
  it('uses the network address when the VPC CIDR has host bits', () => {
    expect(subnetLayout('10.0.0.5/16', 2)!.private[0]).toBe('10.0.0.0/18');
  });
  it('works at the top of the address space (unsigned arithmetic)', () => {
    checkLayout('192.168.0.0/16', 6, 20);
    checkLayout('255.255.0.0/16', 2, 18);
  });
  it('rejects nonsense', () => {
    expect(subnetLayout('nope', 2)).toBeUndefined();
    expect(subnetLayout('10.0.0.0/16', 0)).toBeUndefined();
  });
});

describe('parseCidr and friends', () => {
  it('parses ordinary CIDRs', () => {
    expect(parseCidr('10.0.0.0/16')).toEqual({ base: 0x0a000000, network: 0x0a000000, prefix: 16, canonical: '10.0.0.0/16' });
  });
  it('keeps the written address and clears host bits in network/canonical', () => {
    const c = parseCidr('10.1.2.3/8')!;
    expect(c.base).toBe(ipToNumber('10.1.2.3'));
    expect(c.network).toBe(ipToNumber('10.0.0.0'));
    expect(c.canonical).toBe('10.0.0.0/8');
  });
  it('handles /0 and /32', () => {
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ network: 0, prefix: 0, canonical: '0.0.0.0/0' });
    expect(parseCidr('1.2.3.4/0')).toMatchObject({ network: 0, canonical: '0.0.0.0/0' });
    expect(parseCidr('255.255.255.255/32')).toMatchObject({ base: 0xffffffff, network: 0xffffffff, canonical: '255.255.255.255/32' });
    expect(parseCidr('1.2.3.4/32')!.canonical).toBe('1.2.3.4/32');
  });
  it('is unsigned above 128.0.0.0', () => {
    const c = parseCidr('200.1.2.3/24')!;
    expect(c.network).toBeGreaterThan(0);
    expect(c.canonical).toBe('200.1.2.0/24');
    expect(numberToIp(ipToNumber('255.254.253.252')!)).toBe('255.254.253.252');
  });
  it.each([
    '10.0.0.0',
    '10.0.0.0/',
    '/16',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/016',
    '10.0.0/16',
    '10.0.0.0.0/16',
    '256.0.0.0/8',
    '01.0.0.0/8',
    '10..0.0/16',
    ' 10.0.0.0/16',
    '10.0.0.0/16 ',
    'a.b.c.d/8',
    '',
    '1e1.0.0.0/8',
  ])('rejects %j', (s) => {
    expect(parseCidr(s)).toBeUndefined();
  });
});

describe('archOf', () => {
  it.each([
    ['m5.large', 'x86_64'],
    ['c5.large', 'x86_64'],
    ['g5.xlarge', 'x86_64'],
    ['g4dn.xlarge', 'x86_64'],
    ['g4ad.xlarge', 'x86_64'],
    ['m7i.large', 'x86_64'],
    ['m6a.large', 'x86_64'],
    ['p5.48xlarge', 'x86_64'],
    ['m6g.large', 'arm64'],
    ['m6gd.large', 'arm64'],
    ['c7gn.xlarge', 'arm64'],
    ['t4g.micro', 'arm64'],
    ['r8g.large', 'arm64'],
    ['g5g.xlarge', 'arm64'],
    ['x2gd.xlarge', 'arm64'],
    ['im4gn.large', 'arm64'],
    ['a1.medium', 'arm64'],
  ])('%s is %s', (type, arch) => {
    expect(archOf(type)).toBe(arch);
  });
});

// ── derive ────────────────────────────────────────────────────────────────────────────────────

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function loadTemplates(): Record<string, string> {
  const dir = join(ROOT, 'templates');
  const needed = [...TEMPLATE_NAMES];
  if (existsSync(dir)) {
    const real = Object.fromEntries(walk(dir).map((p) => [relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8')]));
    if (needed.every((n) => n in real)) return real;
  }
  return Object.fromEntries(needed.map((n) => [n, `# ${n}\ncluster={{CLUSTER_ID}}\n`]));
}

const facts: Facts = { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates: loadTemplates() };
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8'); // no publicDomain
const exampleSpec = (): ClusterSpec => parseSpec(example, 'cluster.example.yaml', NOW).spec;
/** the example with its commented publicDomain (example.com) and publicRecord (lb) lines switched on */
const exampleWithDomain = withPublicDomain(example);

/** The example spec (or `base`) with its YAML edited (`from` must occur once). */
function variant(from: string, to: string, base = example): ClusterSpec {
  const i = base.indexOf(from);
  if (i < 0 || base.indexOf(from, i + 1) >= 0) throw new Error(`test bug: ${from}`);
  return parseSpec(base.slice(0, i) + to + base.slice(i + from.length), 'v.yaml', NOW).spec;
}

const byKind = (g: DesiredGraph, kind: Kind) => g.nodes.filter((n) => n.kind === kind);
const countKinds = (g: DesiredGraph) => {
  const out: Partial<Record<Kind, number>> = {};
  for (const n of g.nodes) out[n.kind] = (out[n.kind] ?? 0) + 1;
  return out;
};
const node = <K extends Kind>(g: DesiredGraph, key: string, kind?: K) => {
  const n = g.nodes.find((x) => x.key === key);
  if (!n) throw new Error(`no node ${key}`);
  if (kind) expect(n.kind).toBe(kind);
  return n as Extract<AnyNode, { kind: K }>;
};

describe('deriveGraph on cluster.example.yaml', () => {
  const spec = exampleSpec();
  const g = deriveGraph(spec, facts);

  it('is a valid graph: unique keys, every dep and ref declared, no cycle', () => {
    expect(g.clusterId).toBe('demo-dev');
    expect(() => validateGraph(g.nodes)).not.toThrow();
    expect(findCycle(g.nodes)).toBeUndefined();
    expect(criticalPathLength(g.nodes)).toBeGreaterThan(3);
  });

  it('has the expected number of nodes of each kind', () => {
    expect(countKinds(g)).toEqual({
      vpc: 1,
      'internet-gateway': 1,
      subnet: 6,
      'elastic-ip': 5, // 3 NAT + 2 loadbalancer
      'nat-gateway': 3,
      'route-table': 4, // 1 public + 3 private
      'network-acl': 2,
      'security-group': 5, // api-elb, api-elb-internal, master, node, loadbalancer
      'security-group-rules': 5,
      bucket: 1,
      'bucket-object': 3, // the agent's bundle and its configuration, the StorageClass manifest (no bootstrap script, no cluster.env)
      pki: 1, // CAs and service-account keys under pki/
      'hosted-zone': 1, // the private zone (no publicDomain: no public zone)
      'iam-role': 3,
      'instance-profile': 3,
      'iam-user': 1,
      'load-balancer': 2,
      'dns-record': 1, // master internal (no publicDomain: no public master record, no lb record)
      'launch-template': 3, // master, workers, edge
      'auto-scaling-group': 3,
      'sqs-queue': 1, // the drain queue (issue 20)
      'event-rule': 5, // its rules: lifecycle action, spot interruption, rebalance, state change, scheduled change
      'lifecycle-hook': 2, // workers, edge (none on the master)
    });
    expect(byKind(g, 'vpc-endpoint')).toHaveLength(0);
    // what an instance reads from the bucket besides pki/: the agent, its configuration, the manifests
    expect(
      byKind(g, 'bucket-object')
        .map((n) => (n.props as { objectKey: string }).objectKey)
        .sort(),
    ).toEqual([
      'agent/config.json',
      expect.stringMatching(/^agent\/kubeaz-agent-[0-9a-f]{64}\.mjs$/),
      'bootstrap/master/addons/storageclass.yaml',
    ]);
  });

  it('tags every node with the owner and its own key', () => {
    for (const n of g.nodes) {
      expect(n.tags[OWNER_TAG], n.key).toBe('demo-dev');
      expect(n.tags[KEY_TAG], n.key).toBe(n.key);
      expect(n.tags.Name, n.key).toBeTruthy();
      expect(n.tags.team, n.key).toBe('platform'); // spec.tags on everything
    }
  });

  it('tags subnets for the Kubernetes load-balancer controller', () => {
    const subnets = byKind(g, 'subnet');
    for (const s of subnets) {
      expect(s.tags['kubernetes.io/cluster/demo-dev']).toBe('owned');
      const props = s.props as { tier: string; zone: string };
      if (props.tier === 'public') {
        expect(s.tags['kubernetes.io/role/elb']).toBe('1');
        expect(s.tags['kubernetes.io/role/internal-elb']).toBeUndefined();
      } else {
        expect(s.tags['kubernetes.io/role/internal-elb']).toBe('1');
        expect(s.tags['kubernetes.io/role/elb']).toBeUndefined();
      }
    }
    expect(subnets.map((s) => s.key).sort()).toEqual(
      ['us-east-1a', 'us-east-1b', 'us-east-1c'].flatMap((z) => [`subnet/private/${z}`, `subnet/public/${z}`]).sort(),
    );
    const cidrs = subnets.map((s) => (s.props as { cidr: string }).cidr);
    expect(new Set(cidrs).size).toBe(6);
    expect(node(g, 'subnet/private/us-east-1b', 'subnet').props.cidr).toBe('10.0.32.0/19');
  });

  it('gives each private zone its own NAT gateway in the public subnet of that zone', () => {
    for (const z of spec.spec.zones) {
      const rt = node(g, `rt/private/${z}`, 'route-table');
      expect(rt.props.routes).toEqual([{ destination: '0.0.0.0/0', natGatewayId: { $ref: `nat/${z}` } }]);
      expect(rt.props.subnetIds).toEqual([{ $ref: `subnet/private/${z}` }]);
      expect(node(g, `nat/${z}`, 'nat-gateway').props.subnetId).toEqual({ $ref: `subnet/public/${z}` });
    }
    expect(node(g, 'rt/public', 'route-table').props.routes).toEqual([{ destination: '0.0.0.0/0', gatewayId: { $ref: 'igw' } }]);
  });

  it('builds the public API and the internal record; no public zone or record without publicDomain', () => {
    expect(node(g, 'elb/public', 'load-balancer').props.scheme).toBe('internet-facing');
    expect(node(g, 'elb/internal', 'load-balancer').props.scheme).toBe('internal');
    expect(node(g, 'record/master-internal', 'dns-record').props.name).toBe('master.dev.kube');
    expect(byKind(g, 'hosted-zone').map((n) => n.key)).toEqual(['zone/private']);
    expect(byKind(g, 'dns-record').map((n) => n.key)).toEqual(['record/master-internal']);
    expect(byKind(g, 'elastic-ip').filter((n) => n.key.startsWith('eip/lb/edge/'))).toHaveLength(2); // the group's addresses stay
  });

  it('with its commented publicDomain and publicRecord on: the public zone, the public master record and the loadbalancer group record', () => {
    const g = deriveGraph(parseSpec(exampleWithDomain, 'v.yaml', NOW).spec, facts);
    expect(
      byKind(g, 'hosted-zone')
        .map((n) => n.key)
        .sort(),
    ).toEqual(['zone/private', 'zone/public']);
    expect(node(g, 'record/master-public', 'dns-record').props.name).toBe('master.dev.example.com');
    expect(node(g, 'record/master-internal', 'dns-record').props.name).toBe('master.dev.kube');
    const lb = node(g, 'record/lb/edge', 'dns-record');
    expect(lb.props.name).toBe('lb.example.com');
    expect(lb.props.values).toEqual([
      { $ref: 'eip/lb/edge/0', attr: 'publicIp' },
      { $ref: 'eip/lb/edge/1', attr: 'publicIp' },
    ]);
  });

  it('sizes the groups from the spec and uses the resolved image', () => {
    expect(node(g, 'asg/master', 'auto-scaling-group').props).toMatchObject({ minSize: 1, maxSize: 1, desiredCapacity: 1 });
    expect(node(g, 'asg/workers', 'auto-scaling-group').props).toMatchObject({ minSize: 3, maxSize: 6, desiredCapacity: 3 });
    expect(node(g, 'asg/edge', 'auto-scaling-group').props).toMatchObject({ minSize: 2, maxSize: 2, desiredCapacity: 2 });
    for (const lt of byKind(g, 'launch-template')) expect((lt.props as { imageId: string }).imageId).toBe('ami-0123456789abcdef0');
    expect(requiredArchs(spec)).toEqual(['x86_64']);
  });

  it('is pure: two calls give deep-equal graphs and the spec is not modified', () => {
    const s = exampleSpec();
    const before = structuredClone(s);
    const a = deriveGraph(s, facts);
    const b = deriveGraph(s, facts);
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(s).toEqual(before);
    expect(a.nodes[0]).not.toBe(b.nodes[0]);
  });
});

describe('deriveGraph variants', () => {
  it("nat 'single': one NAT gateway, every private route table routes to it", () => {
    const g = deriveGraph(variant('nat: perZone', 'nat: single'), facts);
    expect(() => validateGraph(g.nodes)).not.toThrow();
    const nats = byKind(g, 'nat-gateway');
    expect(nats.map((n) => n.key)).toEqual(['nat/us-east-1a']);
    expect(byKind(g, 'elastic-ip').filter((n) => (n.props as { purpose: string }).purpose === 'nat')).toHaveLength(1);
    for (const z of ['us-east-1a', 'us-east-1b', 'us-east-1c']) {
      const rt = node(g, `rt/private/${z}`, 'route-table');
      expect(rt.props.routes).toEqual([{ destination: '0.0.0.0/0', natGatewayId: { $ref: 'nat/us-east-1a' } }]);
      expect(rt.deps).toContain('nat/us-east-1a');
    }
    expect(byKind(g, 'vpc-endpoint')).toHaveLength(0);
  });

  it("nat 'none': no NAT gateway nor NAT address, private tables without a default route, an S3 gateway endpoint", () => {
    const g = deriveGraph(variant('nat: perZone', 'nat: none'), facts);
    expect(() => validateGraph(g.nodes)).not.toThrow();
    expect(byKind(g, 'nat-gateway')).toHaveLength(0);
    expect(byKind(g, 'elastic-ip').map((n) => n.key)).toEqual(['eip/lb/edge/0', 'eip/lb/edge/1']);
    for (const z of ['us-east-1a', 'us-east-1b', 'us-east-1c']) expect(node(g, `rt/private/${z}`, 'route-table').props.routes).toEqual([]);
    const ep = node(g, 'vpce/s3', 'vpc-endpoint');
    expect(ep.props.serviceName).toBe('com.amazonaws.us-east-1.s3');
    expect(ep.props.routeTableIds).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c'].map((z) => ({ $ref: `rt/private/${z}` })));
  });

  /**
   * Every instance must have a way out to what it installs: its subnet's route table sends
   * 0.0.0.0/0 to a NAT gateway, or to the internet gateway *and* the instance gets a public IPv4.
   */
  const egressOfEveryGroup = (g: DesiredGraph) =>
    byKind(g, 'auto-scaling-group').map((asgNode) => {
      const asg = asgNode as Extract<AnyNode, { kind: 'auto-scaling-group' }>;
      const lt = node(g, asg.props.launchTemplateId.$ref, 'launch-template');
      const ways = asg.props.subnetIds.map((sub) => {
        const rt = byKind(g, 'route-table').find((r) =>
          (r as Extract<AnyNode, { kind: 'route-table' }>).props.subnetIds.some((x) => x.$ref === sub.$ref),
        ) as Extract<AnyNode, { kind: 'route-table' }> | undefined;
        const route = rt?.props.routes.find((r) => r.destination === '0.0.0.0/0');
        if (route?.natGatewayId) return 'nat';
        if (route?.gatewayId && lt.props.associatePublicIp) return 'igw+public-ip';
        return `none (${sub.$ref})`;
      });
      return [asg.key, [...new Set(ways)].join(',')];
    });

  it.each(['perZone', 'single', 'none'])("nat '%s': every group (master included) has a route out for what it installs", (nat) => {
    for (const subnets of ['private', 'public']) {
      const spec = variant('nat: perZone', `nat: ${nat}`);
      for (const ng of spec.spec.nodeGroups) ng.subnets = subnets as 'public' | 'private';
      const g = deriveGraph(spec, facts);
      for (const [key, way] of egressOfEveryGroup(g))
        expect(way, `${key} with nat ${nat}, groups in ${subnets} subnets`).toMatch(/^(nat|igw\+public-ip)$/);
    }
  });

  it("nat 'none': instances go to the public subnets with a public IPv4; the internal ELB stays in the private subnets", () => {
    const g = deriveGraph(variant('nat: perZone', 'nat: none'), facts);
    const pubs = ['us-east-1a', 'us-east-1b', 'us-east-1c'].map((z) => ({ $ref: `subnet/public/${z}` }));
    for (const key of ['master', 'workers', 'edge']) {
      expect(node(g, `asg/${key}`, 'auto-scaling-group').props.subnetIds).toEqual(pubs);
      expect(node(g, `lt/${key}`, 'launch-template').props.associatePublicIp).toBe(true);
    }
    expect(node(g, 'elb/internal', 'load-balancer').props).toMatchObject({
      scheme: 'internal',
      subnetIds: ['us-east-1a', 'us-east-1b', 'us-east-1c'].map((z) => ({ $ref: `subnet/private/${z}` })),
    });
    // security groups unchanged: the same set of groups and rules as with NAT gateways
    const rulesOf = (x: DesiredGraph) => byKind(x, 'security-group-rules').map((n) => JSON.stringify([n.key, n.props]));
    expect(rulesOf(g)).toEqual(rulesOf(deriveGraph(exampleSpec(), facts)));
    // with NAT gateways the master stays private
    const withNat = deriveGraph(exampleSpec(), facts);
    expect(node(withNat, 'lt/master', 'launch-template').props.associatePublicIp).toBe(false);
    expect(node(withNat, 'asg/master', 'auto-scaling-group').props.subnetIds[0]).toEqual({ $ref: 'subnet/private/us-east-1a' });
  });

  it('apiAccess [] → no public ELB, no public ELB group, no public master record (even with a public domain)', () => {
    const g = deriveGraph(variant('apiAccess: [0.0.0.0/0]', 'apiAccess: []', exampleWithDomain), facts);
    expect(() => validateGraph(g.nodes)).not.toThrow();
    const keys = g.nodes.map((n) => n.key);
    expect(keys).not.toContain('elb/public');
    expect(keys).not.toContain('sg/elb-public');
    expect(keys).not.toContain('sg/elb-public/rules');
    expect(keys).not.toContain('record/master-public');
    expect(keys).toContain('elb/internal');
    expect(keys).toContain('record/master-internal');
    expect(node(g, 'asg/master', 'auto-scaling-group').props.loadBalancerNames).toEqual([{ $ref: 'elb/internal', attr: 'name' }]);
  });

  it('apiAccess CIDRs become the public ELB group rules', () => {
    const g = deriveGraph(variant('apiAccess: [0.0.0.0/0]', 'apiAccess: [203.0.113.0/24, 198.51.100.7/32]'), facts);
    const rules = node(g, 'sg/elb-public/rules', 'security-group-rules').props.ingress;
    expect(rules.map((r) => r.cidr)).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
  });

  it('sg/master admits the API (6443) from both load balancers, the masters and the nodes — a master reaching kubernetes.default lands on another master (issue 19, finding 7; CAPA control-plane rule)', () => {
    const g = deriveGraph(exampleSpec(), facts);
    const api = node(g, 'sg/master/rules', 'security-group-rules').props.ingress.filter((r) => r.fromPort === 6443);
    expect(api.every((r) => r.protocol === 'tcp' && r.toPort === 6443 && !r.cidr)).toBe(true);
    expect(api.map((r) => (r.sourceGroup as { $ref: string }).$ref).sort()).toEqual([
      'sg/elb-internal',
      'sg/elb-public',
      'sg/master',
      'sg/node',
    ]);
    // a private API (no public load balancer): still from the masters and the nodes
    const priv = deriveGraph(variant('apiAccess: [0.0.0.0/0]', 'apiAccess: []'), facts);
    const privApi = node(priv, 'sg/master/rules', 'security-group-rules').props.ingress.filter((r) => r.fromPort === 6443);
    expect(privApi.map((r) => (r.sourceGroup as { $ref: string }).$ref).sort()).toEqual(['sg/elb-internal', 'sg/master', 'sg/node']);
  });

  it('2 zones on the smallest VPC that fits', () => {
    const spec = variant('zones: [us-east-1a, us-east-1b, us-east-1c]', 'zones: [us-east-1a, us-east-1b]');
    spec.spec.network.vpcCidr = '10.0.0.0/26';
    const g = deriveGraph(spec, facts);
    expect(() => validateGraph(g.nodes)).not.toThrow();
    expect(
      byKind(g, 'subnet')
        .map((s) => (s.props as { cidr: string }).cidr)
        .sort(),
    ).toEqual(['10.0.0.0/28', '10.0.0.16/28', '10.0.0.32/28', '10.0.0.48/28']);
  });

  it('uses the arm64 image for Graviton groups', () => {
    const spec = variant('      instanceType: m5.large\n      minSize: 3', '      instanceType: m6g.large\n      minSize: 3');
    expect(requiredArchs(spec)).toEqual(['arm64', 'x86_64']);
    const g = deriveGraph(spec, { ...facts, images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' } });
    expect(node(g, 'lt/workers', 'launch-template').props.imageId).toBe('ami-0fedcba9876543210');
    expect(node(g, 'lt/master', 'launch-template').props.imageId).toBe('ami-0123456789abcdef0');
  });
});

// ── graph engine ──────────────────────────────────────────────────────────────────────────────

describe('findCycle / criticalPathLength / validateGraph', () => {
  it('reports the path of a cycle', () => {
    const c = findCycle([
      { key: 'a', deps: ['b'] },
      { key: 'b', deps: ['c'] },
      { key: 'c', deps: ['a'] },
      { key: 'd', deps: [] },
    ]);
    expect(c).toBeDefined();
    expect(c![0]).toBe(c![c!.length - 1]);
    expect(new Set(c)).toEqual(new Set(['a', 'b', 'c']));
    expect(c).toHaveLength(4);
  });
  it('reports a self-loop and finds no cycle in a DAG', () => {
    expect(findCycle([{ key: 'a', deps: ['a'] }])).toEqual(['a', 'a']);
    expect(
      findCycle([
        { key: 'a', deps: [] },
        { key: 'b', deps: ['a'] },
        { key: 'c', deps: ['a', 'b'] },
      ]),
    ).toBeUndefined();
  });
  it('measures the critical path in nodes', () => {
    expect(criticalPathLength([])).toBe(0);
    expect(criticalPathLength([{ key: 'a', deps: [] }])).toBe(1);
    expect(
      criticalPathLength([
        { key: 'a', deps: [] },
        { key: 'b', deps: ['a'] },
        { key: 'c', deps: ['b'] },
        { key: 'd', deps: ['a'] },
        { key: 'e', deps: ['d', 'c'] },
      ]),
    ).toBe(4);
  });
  it('validateGraph names the problem', () => {
    const n = (key: string, deps: string[], props: object = {}) => ({ key, kind: 'vpc', props, deps, tags: {} }) as unknown as AnyNode;
    expect(() => validateGraph([n('a', ['x'])])).toThrow(/a depends on x, which is not in the graph/);
    expect(() => validateGraph([n('a', []), n('b', [], { vpcId: { $ref: 'a' } })])).toThrow(/b references a without depending on it/);
    expect(() => validateGraph([n('a', ['b']), n('b', ['a'])])).toThrow(GraphError);
    expect(() => validateGraph([n('a', ['b']), n('b', ['a'])])).toThrow(/dependency cycle: (a → b → a|b → a → b)/);
    expect(() => validateGraph([n('a', []), n('a', [])])).toThrow(/two nodes have the key a/);
  });
});

describe('schedule', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs independent nodes concurrently, never more than the bound', async () => {
    let running = 0;
    let peak = 0;
    const nodes = Array.from({ length: 8 }, (_, i) => ({ key: `n${i}`, deps: [] as string[] }));
    const r = await schedule(
      nodes,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(15);
        running--;
      },
      { concurrency: 3 },
    );
    expect(peak).toBe(3);
    expect(r.done.sort()).toEqual(nodes.map((n) => n.key).sort());
    expect(r.failed).toEqual([]);
    expect(r.skipped).toEqual([]);
  });

  it('starts a node only after all its dependencies are done', async () => {
    const finished: string[] = [];
    const nodes = [
      { key: 'vpc', deps: [] },
      { key: 'subnet', deps: ['vpc'] },
      { key: 'igw', deps: ['vpc'] },
      { key: 'rt', deps: ['subnet', 'igw'] },
    ];
    const r = await schedule(
      nodes,
      async (k) => {
        for (const d of nodes.find((n) => n.key === k)!.deps) expect(finished).toContain(d);
        await sleep(5);
        finished.push(k);
      },
      { concurrency: 4 },
    );
    expect(r.done).toHaveLength(4);
    expect(finished.at(-1)).toBe('rt');
  });

  it('skips the dependents of a failed node and goes on with independent branches', async () => {
    const nodes = [
      { key: 'a', deps: [] },
      { key: 'b', deps: ['a'] },
      { key: 'c', deps: ['b'] },
      { key: 'd', deps: [] },
      { key: 'e', deps: ['d'] },
      { key: 'f', deps: ['d', 'b'] },
    ];
    const ran: string[] = [];
    const r = await schedule(
      nodes,
      async (k) => {
        ran.push(k);
        await sleep(2);
        if (k === 'a') throw new Error('boom');
      },
      { concurrency: 2 },
    );
    expect(r.failed.map((f) => f.key)).toEqual(['a']);
    expect((r.failed[0]!.error as Error).message).toBe('boom');
    expect(r.done.sort()).toEqual(['d', 'e']);
    expect(r.skipped.sort()).toEqual(['b', 'c', 'f']);
    expect(ran).not.toContain('b');
    expect(ran).not.toContain('f');
  });

  it('stops starting new work once aborted, letting in-flight work finish', async () => {
    const ac = new AbortController();
    const nodes = Array.from({ length: 6 }, (_, i) => ({ key: `n${i}`, deps: [] as string[] }));
    const r = await schedule(
      nodes,
      async (k) => {
        if (k === 'n0') {
          await sleep(2);
          ac.abort(); // n1 is in flight by now
        }
        await sleep(10);
      },
      { concurrency: 2, signal: ac.signal },
    );
    expect(r.done.sort()).toEqual(['n0', 'n1']);
    expect(r.skipped.sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
  });

  it('handles an empty graph', async () => {
    expect(await schedule([], async () => {}, { concurrency: 2 })).toEqual({ done: [], failed: [], skipped: [] });
  });
});

describe('what waits for a NAT gateway to be available', () => {
  it('only the groups in the private subnets, each for the NAT gateways of its zones; route tables need it only made', () => {
    const g = deriveGraph(exampleSpec(), facts);
    const nats = byKind(g, 'nat-gateway')
      .map((n) => n.key)
      .sort();
    expect(nats).toEqual(['nat/us-east-1a', 'nat/us-east-1b', 'nat/us-east-1c']);
    for (const n of g.nodes) {
      if (n.kind === 'auto-scaling-group' && n.key !== 'asg/edge') expect([...(n.ready ?? [])].sort(), n.key).toEqual(nats);
      else expect(n.ready ?? [], n.key).toEqual([]);
    }
    // the public group does not even wait for the private route tables (which name the NAT gateways)
    expect(g.nodes.find((n) => n.key === 'asg/edge')!.deps.filter((d) => d.startsWith('rt/'))).toEqual(['rt/public']);
    const single = deriveGraph(variant('nat: perZone', 'nat: single'), facts);
    expect(single.nodes.find((n) => n.key === 'asg/workers')!.ready).toEqual(['nat/us-east-1a']);
    const none = deriveGraph(variant('nat: perZone', 'nat: none'), facts);
    expect(none.nodes.every((n) => !n.ready?.length)).toBe(true);
    validateGraph(g.nodes);
  });

  it('validateGraph refuses a ready dep that is not a dep', () => {
    const n = (key: string, deps: string[], ready?: string[]) =>
      ({ key, kind: 'vpc', props: {}, deps, tags: {}, ...(ready ? { ready } : {}) }) as unknown as AnyNode;
    expect(() => validateGraph([n('a', []), n('b', [], ['a'])])).toThrow(/b waits for a to be ready without depending on it/);
  });

  it('the scheduler runs free (waiting-only) work beside a full concurrency limit', async () => {
    let running = 0;
    let peak = 0;
    const nodes = [{ key: 'w#ready', deps: [] }, ...Array.from({ length: 2 }, (_, i) => ({ key: `n${i}`, deps: [] as string[] }))];
    const started: string[] = [];
    await schedule(
      nodes,
      async (k) => {
        started.push(k);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
      { concurrency: 1, free: (k) => k.endsWith('#ready') },
    );
    // one slot, yet the waiting work ran alongside one real step
    expect(peak).toBe(2);
    expect(started).toHaveLength(3);
  });
});
