/**
 * `npm run boot-sim` end to end (the built CLI and agent bundle from dist/: run `npm run build`
 * first): its own loopback moto, `create`, one real agent per instance against real etcd 3.4
 * members and recording stand-ins, the JSON document judged here again — every instance ready with
 * its phases, one etcd member per master with a leader, the leader's snapshot under etcd/, each
 * loadbalancer holding a different elastic IP of its pool.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allowed } from '../../src/devtools/boot-sim/iam.js';
import type { IamReport } from '../../src/devtools/boot-sim/iam-report.js';
import { NODE_AGENT } from '../../src/model/policy-sources.js';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const HAVE_ETCD = spawnSync('etcd', ['--version']).status === 0 && spawnSync('etcdctl', ['version']).status === 0;
const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

interface SimDoc {
  scenario: string;
  ok: boolean;
  reason?: string;
  instances: Array<{
    id: string;
    group: string;
    role: string;
    result: string;
    phases: Array<{ name: string; seconds: number }>;
    error: { phase: string; message: string; output?: string } | null;
  }>;
  controlPlane: { initBy: string | null; members: string[]; leader: string | null };
  snapshots: string[];
  addresses: Record<string, string>;
}

function bootSim(spec: string, scenario: string, extra: string[] = []): Promise<{ code: number; doc: SimDoc; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.AWS_ENDPOINT_URL;
    const c = spawn(
      process.execPath,
      [path.join(ROOT, 'dist', 'devtools', 'boot-sim.js'), '-f', spec, '--scenario', scenario, '--output', 'json', ...extra],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    c.on('error', reject);
    c.on('exit', (code) => {
      try {
        resolve({ code: code ?? 1, doc: JSON.parse(out) as SimDoc, stderr: err });
      } catch (e) {
        reject(
          new Error(
            `boot-sim's stdout is not only the JSON document (${(e as Error).message}):\n${out.slice(0, 2000)}\n--- stderr:\n${err}`,
          ),
        );
      }
    });
  });
}

const tmpDirs: string[] = [];
const iamReportFile = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-boot-sim-test-'));
  tmpDirs.push(d);
  return path.join(d, 'iam.json');
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * The recorded calls against NODE_AGENT: every action an agent made is in its role's list
 * (`unlisted` otherwise), and every action the list says this scenario makes was made (`unseen`).
 */
function agentTableGaps(iam: IamReport, scenario: 'boot' | 'init-fails') {
  const unlisted: string[] = [];
  const unseen: string[] = [];
  for (const role of ['master', 'node', 'loadbalancer'] as const) {
    const made = new Set(iam.calls.filter((c) => c.agentRole === role && c.request).map((c) => c.request!.action));
    const listed = NODE_AGENT[role];
    for (const a of made) if (!listed.some((l) => l.action === a)) unlisted.push(`${role} ${a}`);
    for (const l of listed) if (l.seenIn === scenario && !made.has(l.action)) unseen.push(`${role} ${l.action}`);
  }
  return { unlisted, unseen };
}

const ready = (d: SimDoc) => d.instances.filter((i) => i.result === 'ready');
const masters = (d: SimDoc) => ready(d).filter((i) => i.role === 'master');

describe.skipIf(!HAVE_ETCD || !HAVE_OPENSSL)('npm run boot-sim', () => {
  it('boot on cluster.example.yaml: every instance ready, one master inits and snapshots, each loadbalancer its own address; every AWS call an agent made is allowed by its instance role', async () => {
    const iamFile = iamReportFile();
    const { code, doc, stderr } = await bootSim(path.join(ROOT, 'cluster.example.yaml'), 'boot', ['--iam-report', iamFile]);
    expect(doc.ok, `${doc.reason}\n${stderr}`).toBe(true);
    expect(code).toBe(0);
    expect(doc.scenario).toBe('boot');
    // the example: 1 master, 3 workers, 2 edge loadbalancers with a pool of 2 elastic IPs
    expect(doc.instances.map((i) => i.group).sort()).toEqual(['edge', 'edge', 'master', 'workers', 'workers', 'workers']);
    expect(doc.instances.every((i) => i.result === 'ready' && i.error === null)).toBe(true);
    const m = doc.instances.find((i) => i.role === 'master')!;
    expect(m.phases.map((p) => p.name)).toEqual([
      'packages',
      'kernel',
      'pki',
      'election',
      'dns',
      'restore',
      'init',
      'day-jobs',
      'first-backup',
      'addons',
    ]);
    expect(m.phases.every((p) => p.seconds >= 0)).toBe(true);
    for (const n of doc.instances.filter((i) => i.role === 'node'))
      expect(n.phases.map((p) => p.name)).toEqual(['host', 'join-record', 'join']);
    for (const n of doc.instances.filter((i) => i.role === 'loadbalancer'))
      expect(n.phases.map((p) => p.name)).toEqual(['elastic-ip', 'host', 'join-record', 'join']);
    expect(doc.controlPlane.initBy).toBe(m.id);
    expect(doc.controlPlane.members).toHaveLength(1);
    expect(doc.controlPlane.leader).toBe(doc.controlPlane.members[0]);
    expect(doc.snapshots.length).toBeGreaterThanOrEqual(1);
    for (const k of doc.snapshots) expect(k).toMatch(/^etcd\/\d{8}T\d{6}Z\.db$/);
    const lbs = doc.instances.filter((i) => i.role === 'loadbalancer').map((i) => i.id);
    expect(Object.keys(doc.addresses).sort()).toEqual([...lbs].sort());
    expect(new Set(Object.values(doc.addresses)).size).toBe(2);

    // the instance roles against every call the agents made (moto does not enforce IAM)
    const iam = JSON.parse(fs.readFileSync(iamFile, 'utf8')) as IamReport;
    expect(Object.keys(iam.roles).sort()).toEqual(['demo-dev-loadbalancer', 'demo-dev-master', 'demo-dev-node']);
    const unnamed = iam.calls.filter((c) => c.request === null).map((c) => c.call);
    expect(unnamed).toEqual([]);
    const denied = iam.calls
      .filter((c) => !allowed(iam.roles[c.iamRole] ?? [], c.request!).ok)
      .map(
        (c) =>
          `${c.group} ${c.iamRole}: ${c.request!.action} ${c.request!.resources.join(' ')} ${JSON.stringify(c.request!.context)} (${c.call})`,
      );
    expect([...new Set(denied)]).toEqual([]);
    // the calls that matter were seen (a test that saw no calls could not fail)
    const actions = (role: string) => new Set(iam.calls.filter((c) => c.agentRole === role).map((c) => c.request!.action));
    for (const role of ['master', 'node', 'loadbalancer']) expect(actions(role)).toContain('s3:PutObject');
    expect(actions('loadbalancer')).toContain('ec2:AssociateAddress');
    expect(actions('master')).toContain('route53:ListResourceRecordSets');
    expect(actions('master')).toContain('s3:ListBucket');
    // the node agent's table of calls (src/model/policy-sources.ts, what the policies are held to) is complete and seen
    expect(agentTableGaps(iam, 'boot')).toEqual({ unlisted: [], unseen: [] });
    // a node writes only its own boot report
    for (const c of iam.calls.filter((x) => x.agentRole !== 'master' && x.request!.action === 's3:PutObject'))
      expect(c.request!.resources).toEqual([`arn:aws:s3:::kubeaz-demo-dev-123456789012/boot/${c.instanceId}.json`]);
  }, 300_000);

  it('init-fails on cluster.example.yaml: the winner reports failed at init, is replaced, and its replacement inits', async () => {
    const iamFile = iamReportFile();
    const { code, doc, stderr } = await bootSim(path.join(ROOT, 'cluster.example.yaml'), 'init-fails', ['--iam-report', iamFile]);
    expect(doc.ok, `${doc.reason}\n${stderr}`).toBe(true);
    expect(code).toBe(0);
    const failed = doc.instances.filter((i) => i.result === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.role).toBe('master');
    expect(failed[0]!.error?.phase).toBe('init');
    expect(failed[0]!.error?.message).toMatch(/Unhealthy/);
    expect(masters(doc)).toHaveLength(1);
    expect(doc.controlPlane.initBy).toBe(masters(doc)[0]!.id);
    // SetInstanceHealth on itself, allowed by the master role only for this cluster's groups (a resource-tag condition)
    const iam = JSON.parse(fs.readFileSync(iamFile, 'utf8')) as IamReport;
    const health = iam.calls.filter((c) => c.request?.action === 'autoscaling:SetInstanceHealth');
    expect(health.map((c) => c.instanceId)).toEqual([failed[0]!.id]);
    const by = allowed(iam.roles[health[0]!.iamRole]!, health[0]!.request!);
    expect(by.ok).toBe(true);
    // the master's statements carry no Sid (IAM's 10,240 characters): the allowing statement itself
    expect(by.by.map((s) => JSON.parse(s) as unknown)).toEqual([
      {
        Effect: 'Allow',
        Action: ['autoscaling:SetInstanceHealth'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': 'demo-dev' } },
      },
    ]);
    const denied = iam.calls.filter((c) => !c.request || !allowed(iam.roles[c.iamRole] ?? [], c.request).ok).map((c) => c.call);
    expect([...new Set(denied)]).toEqual([]);
    expect(agentTableGaps(iam, 'init-fails')).toEqual({ unlisted: [], unseen: [] });
    expect(doc.controlPlane.leader).not.toBeNull();
    expect(doc.snapshots.length).toBeGreaterThanOrEqual(1);
  }, 300_000);
  const THREE = path.join(ROOT, 'test', 'fixtures', 'cluster.three-masters.yaml');

  it("replace-master on three masters: the lost master's replacement takes over its member, the others keep theirs", async () => {
    const { code, doc, stderr } = await bootSim(THREE, 'replace-master');
    expect(doc.ok, `${doc.reason}\n${stderr}`).toBe(true);
    expect(code).toBe(0);
    // four master instances ran: three at boot, one replacement in the lost one's group
    const all = doc.instances.filter((i) => i.role === 'master');
    expect(all).toHaveLength(4);
    const groups = all.map((i) => i.group);
    const replaced = groups.find((g, k) => groups.indexOf(g) !== k)!;
    expect(['master', 'master-2', 'master-3']).toContain(replaced);
    const replacement = all.filter((i) => i.group === replaced).at(-1)!;
    expect(replacement.result).toBe('ready');
    expect(replacement.phases.map((p) => p.name)).toContain('join');
    expect(replacement.phases.map((p) => p.name)).not.toContain('init');
    // etcd: three members (the lost one removed), one leader
    expect(doc.controlPlane.members).toHaveLength(3);
    expect(doc.controlPlane.members).toContain(doc.controlPlane.leader);
    expect(doc.snapshots.length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('lose-all-masters on three masters: the new masters restore the newest snapshot and form a new three-member cluster', async () => {
    const { code, doc, stderr } = await bootSim(THREE, 'lose-all-masters');
    expect(doc.ok, `${doc.reason}\n${stderr}`).toBe(true);
    expect(code).toBe(0);
    const all = doc.instances.filter((i) => i.role === 'master');
    expect(all).toHaveLength(6);
    const fresh = all.slice(3);
    expect(fresh.every((i) => i.result === 'ready')).toBe(true);
    // exactly one of the new masters restored (and inits on the restored data); the others joined it
    expect(fresh.filter((i) => i.phases.some((p) => p.name === 'init'))).toHaveLength(1);
    expect(fresh.filter((i) => i.phases.some((p) => p.name === 'join'))).toHaveLength(2);
    expect(doc.controlPlane.members).toHaveLength(3);
    expect(doc.controlPlane.leader).not.toBeNull();
    expect(doc.snapshots.length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
