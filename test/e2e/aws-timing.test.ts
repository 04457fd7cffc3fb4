/**
 * The order of the slow things, on AWS's clock: the bench's proxy in AWS-like mode (short times)
 * reports new NAT gateways `pending`, deleted ones `deleting` and deleted groups still terminating,
 * and logs when each thing happened. Orders are asserted, never seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { motoEnv } from '../../src/devtools/moto.js';
import { useMoto } from '../helpers/moto.js';
import type { ProxyEvent } from '../../src/devtools/aws-clock.js';
import { startProxy, type CountingProxy } from '../../src/devtools/proxy.js';
import { kubeaz, ROOT, type CliResult } from '../helpers/cli.js';

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('AWS-like timing: what waits for a NAT gateway, and what does not', { shuffle: false }, () => {
  const moto = useMoto();
  let proxy: CountingProxy;
  let dir: string;
  let create: CliResult;
  let destroy: CliResult;
  let createEvents: ProxyEvent[];
  let destroyEvents: ProxyEvent[];

  beforeAll(async () => {
    // NAT gateways pending 8 s (and unknown to the first CreateRoute naming each: AWS's eventual
    // consistency, made deterministic so a loaded machine cannot skip it), deleting 4 s;
    // a deleted group and its instances take 4 s to go.
    proxy = await startProxy({
      target: moto.url,
      awsLike: { natPendingSeconds: 8, natDeletingSeconds: 4, asgDeletingSeconds: 4, natInvisibleSeconds: 0, natInvisibleRefusals: 1 },
    });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-awslike-'));
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8'));
    const env = { ...motoEnv(proxy.url), KUBEAZ_POLL_SECONDS: '0.5' };
    create = await kubeaz(['create', '-f', file, '--yes'], env, { timeoutMs: 240_000 });
    createEvents = [...proxy.events];
    proxy.events.length = 0;
    destroy = await kubeaz(['destroy', '-f', file, '--yes', '--output', 'json'], env, { timeoutMs: 240_000 });
    destroyEvents = [...proxy.events];
  }, 500_000);
  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const at = (events: ProxyEvent[], what: ProxyEvent['what'], id?: string) =>
    events.filter((e) => e.what === what && (id === undefined || e.id === id)).map((e) => e.t);

  it('create: routes name the NAT gateways while they are pending (InvalidNatGatewayID.NotFound retried); private groups start once they are available', () => {
    expect(create.code, create.stderr).toBe(0);
    const nats = [
      ...new Set(at(createEvents, 'nat-created').length ? createEvents.filter((e) => e.what === 'nat-created').map((e) => e.id) : []),
    ];
    expect(nats).toHaveLength(3);
    for (const nat of nats) {
      const available = Math.min(...at(createEvents, 'nat-available', nat));
      const routed = at(createEvents, 'route-created', nat);
      expect(routed.length, `a route to ${nat}`).toBeGreaterThan(0);
      // the route did not wait for the gateway to become available
      expect(Math.min(...routed)).toBeLessThan(available);
    }
    // AWS's "not found yet" right after the create was met and retried, not fatal
    expect(at(createEvents, 'route-refused').length).toBeGreaterThan(0);
    const lastAvailable = Math.max(...nats.map((n) => Math.min(...at(createEvents, 'nat-available', n))));
    for (const group of createEvents
      .filter((e) => e.what === 'asg-created')
      .map((e) => e.id)
      .filter((g) => /-(master|workers)$/.test(g))) {
      // instances in the private subnets fetch their bootstrap through the NAT gateways
      expect(Math.min(...at(createEvents, 'asg-created', group)), group).toBeGreaterThan(lastAvailable);
    }
    expect(
      createEvents
        .filter((e) => e.what === 'asg-created')
        .map((e) => e.id)
        .filter((g) => /-(master|workers)$/.test(g)),
    ).toHaveLength(2);
  });

  it('create ends with the line naming what it waited on longest', () => {
    const lines = create.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/waited [\d.]+ s on (nat|asg)\//);
  });

  it('destroy: NAT gateways start deleting before the groups are gone; addresses and subnets go after both', () => {
    expect(destroy.code, destroy.stderr).toBe(0);
    const natDeletes = at(destroyEvents, 'nat-delete-started');
    const groupsGone = at(destroyEvents, 'asg-deleted');
    expect(natDeletes).toHaveLength(3);
    expect(groupsGone).toHaveLength(3);
    expect(Math.max(...natDeletes)).toBeLessThan(Math.min(...groupsGone));
    // nothing was attempted while a deleting NAT gateway or group still held it
    expect(destroyEvents.filter((e) => e.what === 'in-use-refused')).toEqual([]);
    const out = destroy.json<{ waited?: { key: string; seconds: number } }>();
    expect(out.waited?.key).toMatch(/^(nat|asg)\//);
    expect(destroy.stderr).not.toMatch(/waited [\d.]+ s on/);
  });
});
