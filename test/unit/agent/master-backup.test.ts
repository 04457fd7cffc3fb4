/**
 * A master's etcd backup (takeBackup, what the timer and the CLI through SSM run) against one
 * bucket in memory: the snapshot goes up with `If-None-Match: *` and its SHA-256 in the metadata,
 * then exactly what the one retention rule deletes is deleted; a key taken in the same second (the
 * timer and an SSM run, two masters) is never overwritten — the backup goes to the next second,
 * waited for on the real clock (issue 23 #11), as etcd-backup.sh did.
 */
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../../helpers/sdk-mock.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { takeBackup } from '../../../src/agent/master/snapshots.js';
import { planRetention, snapshotKey, snapshotTime } from '../../../src/etcd/retention.js';
import { FakeEtcd, FakePrograms, testMaster } from '../../helpers/agent-master.js';
import { MemoryBucket } from '../../helpers/memory-s3.js';

const BUCKET = 'kubeaz-demo-dev-123456789012';
const s3 = sdkMock(S3Client);
const aws = { s3: async () => new S3Client({ region: 'eu-west-1' }) } as never;
const NOW = new Date('2026-11-25T10:15:07Z');
let bucket: MemoryBucket;

beforeEach(() => {
  s3.reset();
  bucket = new MemoryBucket(BUCKET);
  bucket.attach(s3);
});

/** A master at 10.0.1.5 whose etcd member answers (and leads); its clock `now`, its sleeps advancing `clock` when it is fake. */
function master(now?: () => Date) {
  const etcd = new FakeEtcd();
  etcd.add('10.0.1.5', 'ip-10-0-1-5');
  const m = testMaster({
    instanceId: 'i-0000000000000bak',
    group: 'master',
    ip: '10.0.1.5',
    aws,
    bucket: BUCKET,
    sink: { put: async () => {} },
    programs: new FakePrograms(),
  });
  const clock = { t: NOW.getTime(), slept: [] as number[] };
  m.ctx.now = now ?? (() => new Date(clock.t));
  if (!now) m.ctx.sleep = async (ms) => void (clock.slept.push(ms), (clock.t += ms));
  return { m, etcd, clock };
}
const puts = () => bucket.log.filter((l) => l.startsWith('put etcd/')).map((l) => l.split(' ')[1]);

describe('takeBackup', () => {
  it('uploads with If-None-Match and its sha256 metadata, then deletes exactly what the retention plan says (never what it keeps)', async () => {
    const existing = [
      'etcd/20261001T000000Z.db',
      'etcd/20261120T030000Z.db',
      'etcd/20261120T031500Z.db',
      'etcd/20261125T000000Z.db',
      'etcd/20261125T001500Z.db',
      'etcd/20261125T100000Z.db',
    ];
    for (const k of existing) bucket.put(k, `etcd-snapshot ${k}`, { sha256: 'x' });
    bucket.put('etcd/notes.txt', 'not a snapshot');
    const { m, etcd } = master();
    const r = await takeBackup(m.ctx, etcd, 30);
    const newKey = snapshotKey(NOW);
    expect(newKey).toBe('etcd/20261125T101507Z.db');
    const plan = planRetention([...existing, newKey], NOW, 30);
    expect(plan.delete.length).toBeGreaterThan(0);
    expect(r).toMatchObject({ key: newKey, from: 'https://10.0.1.5:2379', pruned: plan.delete });
    expect(bucket.log).toContain(`put ${newKey} if-none-match`);
    const o = bucket.objects.get(newKey)!;
    expect(o.metadata?.sha256).toBe(createHash('sha256').update(o.body).digest('hex'));
    expect(r!.sha256).toBe(o.metadata?.sha256);
    // the deletes come after the upload
    const put = bucket.log.indexOf(`put ${newKey} if-none-match`);
    const deletes = bucket.log.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('delete '));
    expect(deletes.map(([l]) => l.slice('delete '.length)).sort()).toEqual(plan.delete);
    for (const [, i] of deletes) expect(i).toBeGreaterThan(put);
    expect(bucket.keys('etcd/')).toEqual([...plan.keep, 'etcd/notes.txt'].sort());
    expect(etcd.snapshots).toEqual(['https://10.0.1.5:2379']);
  });

  it('never overwrites: a key taken in the same second stays as it is, the backup goes to the next second (issue 23 #11)', async () => {
    bucket.put(snapshotKey(NOW), 'etcd-snapshot earlier', { sha256: 'x' });
    const { m, etcd, clock } = master();
    const r = await takeBackup(m.ctx, etcd, 30);
    const next = snapshotKey(new Date(NOW.getTime() + 1000));
    expect(next).toBe('etcd/20261125T101508Z.db');
    expect(r!.key).toBe(next);
    expect(bucket.text(snapshotKey(NOW))).toBe('etcd-snapshot earlier');
    expect(bucket.objects.get(next)!.body.length).toBeGreaterThan(0);
    expect(puts()).toEqual([snapshotKey(NOW), next]);
    expect(m.logs.join('\n')).toContain(
      `s3://${BUCKET}/etcd/20261125T101507Z.db exists (another backup of the same second): writing etcd/20261125T101508Z.db instead`,
    );
    // the next second was waited for: the key names a second that had come
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1000);
    expect(bucket.keys('etcd/').every((k) => snapshotTime(k) !== undefined)).toBe(true);
    expect(planRetention(bucket.keys('etcd/'), new Date(NOW.getTime() + 1000), 30).keep).toEqual([snapshotKey(NOW), next]);
  });

  it('two backups in the same second (the timer and an SSM run) both land, in consecutive seconds, neither overwritten (issue 23 #11)', async () => {
    const a = master();
    const b = master();
    const [ra, rb] = await Promise.all([takeBackup(a.m.ctx, a.etcd, 30), takeBackup(b.m.ctx, b.etcd, 30)]);
    expect([ra!.key, rb!.key].sort()).toEqual(['etcd/20261125T101507Z.db', 'etcd/20261125T101508Z.db']);
    expect(bucket.keys('etcd/')).toEqual(['etcd/20261125T101507Z.db', 'etcd/20261125T101508Z.db']);
    expect([...a.m.logs, ...b.m.logs].filter((l) => /writing etcd\/20261125T101508Z\.db instead/.test(l))).toHaveLength(1);
  });

  it('on the real clock, taken seconds are waited out: the key written is of a second that had come', async () => {
    const t = Math.floor(Date.now() / 1000);
    const taken = [0, 1, 2].map((d) => snapshotKey(new Date((t + d) * 1000)));
    for (const k of taken) bucket.put(k, `earlier ${k}`, { sha256: 'x' });
    const { m, etcd } = master(() => new Date());
    m.ctx.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const r = await takeBackup(m.ctx, etcd, 30);
    const end = Date.now() / 1000;
    for (const k of taken) expect(bucket.text(k)).toBe(`earlier ${k}`);
    const written = bucket.keys('etcd/').filter((k) => !taken.includes(k));
    expect(written).toEqual([r!.key]);
    expect(snapshotTime(written[0]!)).toBeGreaterThan(t + 2);
    expect(snapshotTime(written[0]!)).toBeLessThanOrEqual(end);
  });

  it('gives up after a few taken seconds rather than walking forward for ever', async () => {
    for (let d = 0; d < 10; d++) bucket.put(snapshotKey(new Date(NOW.getTime() + d * 1000)), 'taken', { sha256: 'x' });
    const { m, etcd } = master();
    await expect(takeBackup(m.ctx, etcd, 30)).rejects.toThrow(/already exists \(a snapshot of the same second\)/);
    expect(puts().length).toBeLessThan(10);
    for (let d = 0; d < 10; d++) expect(bucket.text(snapshotKey(new Date(NOW.getTime() + d * 1000)))).toBe('taken');
  });

  it('the timer`s leader-only run on a master whose member does not lead: no snapshot at all', async () => {
    const { m, etcd } = master();
    etcd.members.unshift({
      ...etcd.members[0]!,
      id: '1',
      idHex: '1',
      name: 'other',
      clientURLs: ['https://10.0.2.5:2379'],
      peerURLs: ['https://10.0.2.5:2380'],
    });
    expect(await takeBackup(m.ctx, etcd, 30, { leaderOnly: true })).toBeUndefined();
    expect(bucket.keys('etcd/')).toEqual([]);
    expect(etcd.snapshots).toEqual([]);
    expect(m.logs.join('\n')).toMatch(/not the leader .* the leader's timer takes this interval's snapshot/);
  });
});
