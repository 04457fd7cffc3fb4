/**
 * Tiered etcd snapshot retention: the one rule (src/etcd/retention.ts, which the CLI's backup and the
 * masters' agent both prune by) against the cases of test/fixtures/retention-cases.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../helpers/sdk-mock.js';
import { planRetention, snapshotKey, snapshotTime } from '../../src/etcd/retention.js';
import { pruneSnapshots } from '../../src/etcd/snapshots.js';
import { MemoryBucket } from '../helpers/memory-s3.js';

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

describe('pruneSnapshots (what the masters` agent and backup-etcd delete by), on the same cases', () => {
  const s3 = sdkMock(S3Client);
  it.each(cases.map((c) => [c.name, c]))('%s', async (_, c) => {
    s3.reset();
    const bucket = new MemoryBucket('kubeaz-demo-dev-123456789012');
    for (const k of c.keys) bucket.put(k, `snapshot ${k}`);
    bucket.attach(s3);
    const r = await pruneSnapshots(new S3Client({ region: 'us-east-1' }), bucket.name, new Date(c.now), c.retentionDays);
    expect([...r.deleted].sort()).toEqual([...c.delete].sort());
    expect(
      bucket.log
        .filter((l) => l.startsWith('delete '))
        .map((l) => l.slice('delete '.length))
        .sort(),
    ).toEqual([...c.delete].sort());
    expect(bucket.keys()).toEqual(c.keys.filter((k) => !c.delete.includes(k)).sort());
  });
});
