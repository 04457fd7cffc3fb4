/**
 * cost through the real CLI, against moto (which serves no Price List API): the estimate of the
 * example spec falls back to the bundled table and says why, in text and in JSON; the line in
 * plan and before create's question comes from the bundled table with no pricing call at all.
 * Every request goes to 127.0.0.1 (moto, or a closed loopback port): never to AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useMoto } from '../helpers/moto.js';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { BUNDLED_PRICES } from '../../src/model/prices/bundled.js';

interface CostJson {
  command: string;
  cluster: string;
  ok: boolean;
  calls: { total: number; mutating: number; byAction: Record<string, number> };
  monthly: {
    total: number;
    currency: string;
    components: Array<{ name: string; count: number; unitPrice: number | null; monthly: number | null; source?: string }>;
  };
  prices: { source: string; date: string; fallbackReason?: string };
  leavesOut: string[];
}

const LINE =
  /^estimated cost: \$593\.17\/month in us-east-1 for 6 instances, 3 NAT gateways, .*\(bundled prices of \d{4}-\d\d-\d\d; .*\)$/m;

describe('cost', { shuffle: false }, () => {
  const moto = useMoto();
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-cost-'));
    file = path.join(dir, 'cluster.yaml');
    await copyFile(path.join(ROOT, 'cluster.example.yaml'), file);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('JSON: the envelope, every component priced, and the fallback to the bundled table with its reason', async () => {
    const r = await kubeaz(['cost', '-f', file, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<CostJson>();
    expect(j).toMatchObject({ command: 'cost', cluster: 'demo-dev', ok: true });
    expect(j.monthly).toMatchObject({ total: 593.17, currency: 'USD' });
    expect(j.monthly.components.map((c) => [c.name, c.count, c.unitPrice, c.monthly, c.source])).toEqual([
      ['instances: master (m5.large)', 1, 0.096, 70.08, 'bundled'],
      ['instances: workers (m5.large)', 3, 0.096, 210.24, 'bundled'],
      ['instances: edge (c5.large)', 2, 0.085, 124.1, 'bundled'],
      ['NAT gateways', 3, 0.045, 98.55, 'bundled'],
      ['classic load balancers (API)', 2, 0.025, 36.5, 'bundled'],
      ['public IPv4 addresses', 8, 0.005, 29.2, 'bundled'],
      ['EBS gp3 root volumes', 300, 0.08, 24, 'bundled'],
      ['Route 53 hosted zones', 1, 0.5, 0.5, 'bundled'], // the private zone: the example names no publicDomain
    ]);
    expect(j.prices.source).toBe(`bundled table of ${BUNDLED_PRICES.date} (src/model/prices/bundled.ts)`);
    expect(j.prices.date).toBe(BUNDLED_PRICES.date);
    // moto serves no Price List API: its answer is a page, not the API's JSON
    expect(j.prices.fallbackReason).toMatch(
      /^Price List API not reachable: http:\/\/127\.0\.0\.1:\d+ \(AWS_ENDPOINT_URL\) answered HTTP \d+ with something other than the Price List API's JSON/,
    );
    expect(j.leavesOut.join(' ')).toMatch(/data transfer.*request charges/);
    // it asked (moto, the endpoint of every client here) and changed nothing
    expect(Object.keys(j.calls.byAction).every((a) => a === 'pricing:GetProducts')).toBe(true);
    expect(j.calls.byAction['pricing:GetProducts']).toBeGreaterThan(0);
    expect(j.calls.mutating).toBe(0);
    expect(r.stdout).not.toMatch(/undefined|\[object Object\]/);
  });

  it('text: the table, the total, where the prices came from and what is left out', async () => {
    const r = await kubeaz(['cost', '-f', file], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Estimated monthly cost of demo-dev in us-east-1 /);
    expect(r.stdout).toMatch(/^NAT gateways +3 +\$0\.045\/hour +\$98\.55$/m);
    expect(r.stdout).toMatch(/^EBS gp3 root volumes +300 GB +\$0\.08\/GB-month +\$24\.00$/m);
    expect(r.stdout).toMatch(/^total: \$593\.17\/month$/m);
    expect(r.stdout).toMatch(/^prices: bundled table of .* \(Price List API not reachable: .+\)$/m);
    expect(r.stdout).toMatch(/^Route 53 hosted zones +1 +\$0\.50\/month +\$0\.50$/m);
    expect(r.stdout).toMatch(/^not included: data transfer/m);
    expect(r.stdout).not.toMatch(/undefined|\[object Object\]/);
  });

  it('a Price List endpoint that refuses the connection: the same fallback, the reason named', async () => {
    const r = await kubeaz(['cost', '-f', file, '-o', 'json'], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(r.code, r.stderr).toBe(0);
    const j = r.json<CostJson>();
    expect(j.monthly.total).toBe(593.17);
    expect(j.prices.fallbackReason).toMatch(/^Price List API not reachable: cannot reach .*127\.0\.0\.1:9/);
  });

  it('plan: the one line, from the bundled table, with no pricing call', async () => {
    const calls = path.join(dir, 'plan-calls.json');
    const r = await kubeaz(['plan', '-f', file], { ...env, KUBEAZ_CALLS_FILE: calls });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(LINE);
    const recorded = JSON.parse(await readFile(calls, 'utf8')) as { byAction: Record<string, number> };
    expect(Object.keys(recorded.byAction).filter((a) => a.startsWith('pricing:'))).toEqual([]);
    expect(Object.keys(recorded.byAction).length).toBeGreaterThan(0);
  });

  it('create: the line comes before the question (here refused: no terminal, no --yes), and nothing is made', async () => {
    const calls = path.join(dir, 'create-calls.json');
    const r = await kubeaz(['create', '-f', file], { ...env, KUBEAZ_CALLS_FILE: calls });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(LINE);
    const line = r.stderr.search(/^estimated cost:/m);
    expect(line).toBeGreaterThanOrEqual(0);
    expect(r.stderr.indexOf('refusing without a terminal')).toBeGreaterThan(line);
    const recorded = JSON.parse(await readFile(calls, 'utf8')) as { mutating: number; byAction: Record<string, number> };
    expect(recorded.mutating).toBe(0);
    expect(Object.keys(recorded.byAction).filter((a) => a.startsWith('pricing:'))).toEqual([]);
  });
});
