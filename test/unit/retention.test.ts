/**
 * Tiered etcd snapshot retention: the TS rule (src/etcd/retention.ts) and the shell rule in the
 * rendered etcd-backup.sh (awk) against the same cases (test/fixtures/retention-cases.json).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../../src/model/bootstrap.js';
import { planRetention, snapshotKey, snapshotTime } from '../../src/etcd/retention.js';

interface Case {
  name: string;
  now: string;
  retentionDays: number;
  keys: string[];
  keep: string[];
  delete: string[];
}
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/retention-cases.json');
const cases = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: Case[] }).cases;

const TEMPLATE = path.resolve(import.meta.dirname, '../../templates/bootstrap/etcd-backup.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-retention-'));
const script = path.join(dir, 'etcd-backup.sh');
fs.writeFileSync(
  script,
  renderTemplate('bootstrap/etcd-backup.sh', fs.readFileSync(TEMPLATE, 'utf8'), {
    CLUSTER_ID: 'demo-dev',
    BUCKET: 'kubeaz-demo-dev-123456789012',
    ETCD_BACKUP_INTERVAL_MINUTES: '15',
    ETCD_BACKUP_RETENTION_DAYS: '7',
  }),
  { mode: 0o755 },
);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The awks to try: the default one, plus gawk (Amazon Linux's awk) and mawk when installed. */
const awks: Array<[string, string | undefined]> = [['awk', undefined]];
for (const a of ['gawk', 'mawk']) {
  const found = spawnSync('sh', ['-c', `command -v ${a}`], { encoding: 'utf8' }).stdout.trim();
  if (found) {
    const shim = path.join(dir, a);
    fs.mkdirSync(shim);
    fs.symlinkSync(found, path.join(shim, 'awk'));
    awks.push([a, shim]);
  }
}

function shellPlan(c: Case, shim?: string): { keep: string[]; delete: string[] } {
  const now = Math.floor(new Date(c.now).getTime() / 1000);
  const r = spawnSync('bash', [script, '--plan', String(now), String(c.retentionDays)], {
    input: c.keys.length ? `${c.keys.join('\n')}\n` : '',
    encoding: 'utf8',
    env: { ...process.env, PATH: shim ? `${shim}:${process.env.PATH}` : process.env.PATH },
  });
  if (r.status !== 0) throw new Error(`etcd-backup.sh --plan failed: ${r.stderr}`);
  const plan = { keep: [] as string[], delete: [] as string[] };
  for (const l of r.stdout.split('\n').filter(Boolean)) {
    const [verdict, key] = l.split(' ');
    if (verdict === 'keep') plan.keep.push(key!);
    else if (verdict === 'delete') plan.delete.push(key!);
    else throw new Error(`unexpected line ${l}`);
  }
  return plan;
}

describe('retention fixture', () => {
  it('has at least 8 cases covering the required shapes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    expect(cases.some((c) => c.keys.length === 0)).toBe(true);
    expect(cases.some((c) => c.retentionDays === 1)).toBe(true);
    expect(cases.some((c) => c.retentionDays === 30)).toBe(true);
    expect(cases.some((c) => c.keys.some((k) => snapshotTime(k) === undefined))).toBe(true);
  });
});

describe('planRetention (TypeScript)', () => {
  it.each(cases.map((c) => [c.name, c]))('%s', (_, c) => {
    const plan = planRetention(c.keys, new Date(c.now), c.retentionDays);
    expect(plan).toEqual({ keep: c.keep, delete: c.delete });
  });

  it('never deletes the newest snapshot, and never touches an unparseable key', () => {
    const keys = ['etcd/20200101T000000Z.db', 'etcd/20200102T000000Z.db', 'etcd/junk.db'];
    const plan = planRetention(keys, new Date('2026-01-01T00:00:00Z'), 1);
    expect(plan.keep).toEqual(['etcd/20200102T000000Z.db']);
    expect(plan.delete).toEqual(['etcd/20200101T000000Z.db']);
  });

  it('parses and names keys in UTC', () => {
    expect(snapshotTime('etcd/20261125T101500Z.db')).toBe(Date.UTC(2026, 10, 25, 10, 15, 0) / 1000);
    expect(snapshotTime('etcd/20260229T000000Z.db')).toBeUndefined();
    expect(snapshotKey(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('etcd/20260102T030405Z.db');
  });
});

describe.each(awks)('etcd-backup.sh --plan (shell, %s)', (_awk, shim) => {
  it.each(cases.map((c) => [c.name, c]))('%s', (_, c) => {
    expect(shellPlan(c, shim)).toEqual({ keep: c.keep, delete: c.delete });
  });
});
