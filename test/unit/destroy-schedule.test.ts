/**
 * Destroy on the shared scheduler (engine/destroy.ts) with fake handlers carrying the kinds'
 * declared edges: no resource is deleted before every resource of the kinds it must outlast
 * (deleteAfter) is gone, at most `concurrency` deletions run at once, and a failure keeps what it
 * would have to outlive from being attempted.
 */
import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { createRunContext } from '../../src/engine/context.js';
import { deleteOrphans, deletionGraph } from '../../src/engine/destroy.js';
import { deleteAfter, kindsOf } from '../../src/engine/edges.js';
import type { Handlers } from '../../src/resources/index.js';
import { DESTROY_SWEEP, HANDLERS } from '../../src/resources/index.js';
import type { Actual, ResourceHandler } from '../../src/resources/types.js';
import type { Kind } from '../../src/model/types.js';

const ctx = () =>
  createRunContext({
    clusterId: 'c-d',
    region: 'us-east-1',
    accountId: '1',
    generation: 'g',
    aws: new AwsClients({ region: 'us-east-1' }),
    timing: { pollSeconds: 0.01, maxWaitSeconds: 5, propagationSeconds: 5, dependencySeconds: 1 },
  });

const a = (kind: Kind, key: string): Actual => ({ key, kind, id: `${kind}-${key}`, attrs: {}, tags: {} });

const DELETE_AFTER = deleteAfter(HANDLERS);

/** Fake handlers for every kind, with its declared edges: each delete takes a few ms and is logged with its start and end. */
function recording(failing: string[] = []) {
  const log: Array<{ key: string; kind: Kind; start: number; end: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let clock = 0;
  const handler = (kind: Kind): ResourceHandler =>
    ({
      kind,
      edges: HANDLERS[kind].edges,
      observe: async () => [],
      create: async () => {
        throw new Error('no');
      },
      diff: () => [],
      delete: async (_ctx: unknown, x: Actual) => {
        const start = ++clock;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 3));
        inFlight--;
        log.push({ key: x.key, kind, start, end: ++clock });
        if (failing.includes(x.key)) throw Object.assign(new Error('nope'), { name: 'AccessDenied' });
      },
    }) as unknown as ResourceHandler;
  const handlers = Object.fromEntries(kindsOf(HANDLERS).map((k) => [k, handler(k)])) as unknown as Handlers;
  return { handlers, log, max: () => maxInFlight };
}

const cluster: Actual[] = [
  a('vpc', 'vpc'),
  a('subnet', 'subnet/public/a'),
  a('subnet', 'subnet/private/a'),
  a('internet-gateway', 'igw'),
  a('nat-gateway', 'nat/a'),
  a('elastic-ip', 'eip/nat/a'),
  a('route-table', 'rt/public'),
  a('security-group', 'sg/nodes'),
  a('security-group-rules', 'sgr/nodes'),
  a('launch-template', 'lt/workers'),
  a('auto-scaling-group', 'asg/workers'),
  a('auto-scaling-group', 'asg/master'),
  a('instance-profile', 'ip/nodes'),
  a('iam-role', 'role/nodes'),
  a('bucket', 'bucket'),
  a('bucket-object', 'obj/a'),
];

describe('destroy on the shared scheduler', () => {
  it('deletes every resource only after all resources of the kinds it must outlast are gone', async () => {
    const { handlers, log } = recording();
    const r = await deleteOrphans(ctx(), handlers, cluster, { concurrency: 4 });
    expect(r.failed).toEqual([]);
    expect(r.deleted.map((d) => d.key).sort()).toEqual(cluster.map((c) => c.key).sort());
    for (const x of log) {
      for (const before of log.filter((y) => DELETE_AFTER[x.kind].includes(y.kind))) {
        expect(before.end, `${before.key} must be gone before ${x.key} starts`).toBeLessThan(x.start);
      }
    }
    // the loosened edge: NAT gateways start at once, with the groups
    const nat = log.find((x) => x.key === 'nat/a')!;
    const asg = log.find((x) => x.key === 'asg/workers')!;
    expect(nat.start).toBeLessThan(asg.end);
  });

  it('never runs more deletions at once than the one limit', async () => {
    const { handlers, max } = recording();
    await deleteOrphans(ctx(), handlers, cluster, { concurrency: 2 });
    expect(max()).toBe(2);
  });

  it('a failed deletion keeps what must outlive it from being attempted; independent branches go on', async () => {
    const { handlers, log } = recording(['asg/workers']);
    const r = await deleteOrphans(ctx(), handlers, cluster, { concurrency: 4 });
    expect(r.failed.map((f) => f.key)).toEqual(['asg/workers']);
    const attempted = new Set(log.map((x) => x.key));
    for (const k of ['lt/workers', 'subnet/public/a', 'vpc', 'eip/nat/a', 'obj/a']) expect(attempted.has(k)).toBe(false);
    expect(attempted.has('nat/a')).toBe(true);
    expect(attempted.has('asg/master')).toBe(true);
  });

  it('the Kubernetes sweep sits between the kinds it comes after and the ones it comes before', () => {
    const { nodes, byKey } = deletionGraph(HANDLERS, [a('subnet', 'subnet/public/a'), a('auto-scaling-group', 'asg/w')], { sweep: true });
    const subnetNode = nodes.find((n) => byKey.get(n.key)?.kind === 'subnet')!;
    expect(subnetNode.deps).toContain(DESTROY_SWEEP.name);
    expect(nodes.find((n) => n.key === DESTROY_SWEEP.name)!.deps).toEqual(DESTROY_SWEEP.after.map((k) => `gone:${k}`));
    expect(deletionGraph(HANDLERS, [a('subnet', 's')], { sweep: false }).nodes.some((n) => n.key === DESTROY_SWEEP.name)).toBe(false);
  });
});

describe('one deletion: what destroy does with the errors AWS answers', () => {
  const awsError = (name: string) => Object.assign(new Error(`${name}: the answer`), { name });
  /** A handler whose delete answers `answers` in turn (an error name, or 'ok'), then 'ok'. */
  function answering(answers: string[]) {
    let calls = 0;
    const h = {
      kind: 'subnet',
      edges: HANDLERS.subnet.edges,
      observe: async () => [],
      create: async () => {
        throw new Error('no');
      },
      diff: () => [],
      delete: async () => {
        const next = answers[calls++] ?? 'ok';
        if (next !== 'ok') throw awsError(next);
      },
    } as unknown as ResourceHandler;
    return { handlers: { subnet: h } as unknown as Handlers, calls: () => calls };
  }
  const cases: Array<{ name: string; answers: string[]; deleted: boolean; calls: number | 'several'; error?: RegExp }> = [
    { name: 'gone at the first try', answers: ['ok'], deleted: true, calls: 1 },
    {
      name: 'DependencyViolation while what it waits on leaves: tried again until it goes',
      answers: ['DependencyViolation', 'DependencyViolation', 'ok'],
      deleted: true,
      calls: 3,
    },
    {
      name: 'any other error: reported at once, not tried again',
      answers: ['AccessDenied'],
      deleted: false,
      calls: 1,
      error: /deleting subnet\/a \(subnet-subnet\/a\): .*AccessDenied/,
    },
    {
      name: 'DependencyViolation past the dependency budget (1 s here): reported',
      answers: Array<string>(10_000).fill('DependencyViolation'),
      deleted: false,
      calls: 'several',
      error: /DependencyViolation/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { handlers, calls } = answering([...c.answers]);
      const r = await deleteOrphans(ctx(), handlers, [a('subnet', 'subnet/a')], { concurrency: 1 });
      expect(r.deleted.map((d) => d.key)).toEqual(c.deleted ? ['subnet/a'] : []);
      if (c.calls === 'several') expect(calls()).toBeGreaterThan(2);
      else expect(calls()).toBe(c.calls);
      if (c.error) expect(r.failed).toEqual([expect.objectContaining({ key: 'subnet/a', error: expect.stringMatching(c.error) })]);
      else expect(r.failed).toEqual([]);
    });
  }
});
