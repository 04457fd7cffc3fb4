/**
 * The control-plane records (src/records/etcd.ts) both ways across a rollout: what the bash of
 * masters of an older kubeaz (`json_record` of templates/bootstrap/etcd-membership.sh, frozen in
 * test/fixtures/bash-records.sh, run for real) writes is read by the types, and what renderRecord
 * writes is read back by the scripts' own `json_field`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  initRecordKey,
  memberRecordKey,
  parseControlPlaneRecords,
  parseInitRecord,
  parseMemberRecord,
  parseRestoreClaim,
  parseRestoreRecord,
  parseSnapshot,
  recordTime,
  renderRecord,
  restoreClaimKey,
  snapshotRecordTime,
  type MemberRecord,
} from '../../src/records/etcd.js';

/**
 * json_record / json_field, verbatim from templates/bootstrap/etcd-membership.sh as it was when the
 * masters last ran it (7aeaf84^; the masters now run the agent): the scripts still running on
 * masters of an older kubeaz during a rollout are these, so the fixture is frozen — held below to
 * the SHA-256 of each function as that template defined it.
 */
const SCRIPT = path.resolve(import.meta.dirname, '../fixtures/bash-records.sh');
const LAST_TEMPLATE_SHA256 = {
  json_record: 'b38a709360578dc3934ca99648e07e7987d8c60cbc0fb5114e4a941325cc4b0b',
  json_field: '5943f203f0e5de8cdb0dd9d95e013b139a4833e0058f9281068443a602540a55',
};
/** Runs bash with the scripts' record functions defined. */
function bash(snippet: string, input?: string): string {
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n. "${SCRIPT}"\n${snippet}`], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('records written by the bash scripts are read', () => {
  it("the fixture holds the functions of the scripts' last templates/bootstrap/etcd-membership.sh verbatim", () => {
    const fixture = fs.readFileSync(SCRIPT, 'utf8');
    for (const [fn, sha256] of Object.entries(LAST_TEMPLATE_SHA256)) {
      const body = new RegExp(`^# ${fn} [^\\n]*\\n${fn}\\(\\) \\{\\n[\\s\\S]*?\\n\\}\\n`, 'm').exec(fixture)?.[0];
      expect(body, fn).toBeDefined();
      expect(createHash('sha256').update(body!).digest('hex'), fn).toBe(sha256);
    }
  });

  it('members/<group>.json from ha_record_member (json_record), an id above 2^53 kept as hex text', () => {
    const text = bash(
      `json_record group master-2 memberId 8e9e05c52164694d name ip-10-0-2-7 peerURL https://10.0.2.7:2380 clientURL https://10.0.2.7:2379 instanceId i-0abc123 time 2026-11-28T10:00:00Z`,
    );
    expect(text).toBe(
      '{\n  "group": "master-2",\n  "memberId": "8e9e05c52164694d",\n  "name": "ip-10-0-2-7",\n  "peerURL": "https://10.0.2.7:2380",\n  "clientURL": "https://10.0.2.7:2379",\n  "instanceId": "i-0abc123",\n  "time": "2026-11-28T10:00:00Z"\n}\n',
    );
    expect(parseMemberRecord(text)).toEqual({
      group: 'master-2',
      memberId: '8e9e05c52164694d',
      name: 'ip-10-0-2-7',
      peerURL: 'https://10.0.2.7:2380',
      clientURL: 'https://10.0.2.7:2379',
      instanceId: 'i-0abc123',
      time: '2026-11-28T10:00:00Z',
    });
  });

  it('init.json from ha_decide and the adopted one from ha_adopt_first_master', () => {
    const won = bash(`json_record group master instanceId i-0a1 name ip-10-0-1-5 peerURL https://10.0.1.5:2380 time 2026-11-28T10:00:00Z`);
    expect(parseInitRecord(won)).toEqual({
      group: 'master',
      instanceId: 'i-0a1',
      name: 'ip-10-0-1-5',
      peerURL: 'https://10.0.1.5:2380',
      time: '2026-11-28T10:00:00Z',
    });
    const adopted = bash(
      `json_record group master instanceId i-0a1 name ip-10-0-1-5 peerURL https://10.0.1.5:2380 adopted true time 2026-11-28T10:00:00Z`,
    );
    expect(parseInitRecord(adopted)).toMatchObject({ adopted: 'true', instanceId: 'i-0a1' });
  });

  it('restore.json with the fields the script leaves empty (no snapshot time, no lost creator) reads them as absent', () => {
    const text = bash(`json_record snapshot none snapshotTime "" restoredAt 2026-11-28T11:00:00Z by i-0b2 group master-2 lost ""`);
    expect(parseRestoreRecord(text)).toEqual({ snapshot: 'none', restoredAt: '2026-11-28T11:00:00Z', by: 'i-0b2', group: 'master-2' });
    const full = bash(
      `json_record snapshot etcd/20261128T100000Z.db snapshotTime 2026-11-28T10:00:00Z restoredAt 2026-11-28T11:00:00Z by i-0b2 group master-2 lost i-0a1`,
    );
    expect(parseRestoreRecord(full)).toEqual({
      snapshot: 'etcd/20261128T100000Z.db',
      snapshotTime: '2026-11-28T10:00:00Z',
      restoredAt: '2026-11-28T11:00:00Z',
      by: 'i-0b2',
      group: 'master-2',
      lost: 'i-0a1',
    });
  });

  it('restore-claims/<creator>.json from ha_claim_restore', () => {
    expect(parseRestoreClaim(bash(`json_record by i-0c3 group master-3 time 2026-11-28T10:30:00Z`))).toEqual({
      by: 'i-0c3',
      group: 'master-3',
      time: '2026-11-28T10:30:00Z',
    });
    // the script waits on a claim that names no master: here that is an invalid record, never a winner
    expect(parseRestoreClaim(bash(`json_record by "" group master-3`))).toBeInstanceOf(Error);
  });
});

describe('records the agent writes are read by the scripts still running during a rollout', () => {
  it("renderRecord keeps the scripts' layout; their json_field reads every field back, quotes and backslashes included", () => {
    const rec: MemberRecord = {
      group: 'master-3',
      memberId: 'ffffffffffffffc5',
      name: 'odd "name" \\ here',
      peerURL: 'https://10.0.3.9:2380',
      clientURL: 'https://10.0.3.9:2379',
      instanceId: 'i-0d4',
      time: '2026-11-28T12:00:00Z',
    };
    const text = renderRecord(rec);
    expect(text).toBe(
      bash(
        `json_record group master-3 memberId ffffffffffffffc5 name 'odd "name" \\ here' peerURL https://10.0.3.9:2380 clientURL https://10.0.3.9:2379 instanceId i-0d4 time 2026-11-28T12:00:00Z`,
      ),
    );
    const back = bash(
      `f="$(mktemp)"; cat >"$f"; for k in group memberId name peerURL clientURL instanceId time missing; do printf '%s=%s\\n' "$k" "$(json_field "$f" "$k")"; done`,
      text,
    );
    expect(back).toBe(
      `group=master-3\nmemberId=ffffffffffffffc5\nname=odd "name" \\ here\npeerURL=https://10.0.3.9:2380\nclientURL=https://10.0.3.9:2379\ninstanceId=i-0d4\ntime=2026-11-28T12:00:00Z\nmissing=\n`,
    );
    expect(parseMemberRecord(text)).toEqual(rec);
  });

  it('init.json and restore.json the agent renders: every value a string, absent ones left out', () => {
    expect(
      renderRecord({ group: 'master', instanceId: 'i-0a1', adopted: 'true', time: recordTime(new Date('2026-11-28T10:00:00.123Z')) }),
    ).toBe('{\n  "group": "master",\n  "instanceId": "i-0a1",\n  "adopted": "true",\n  "time": "2026-11-28T10:00:00Z"\n}\n');
    const restore = renderRecord({
      snapshot: 'etcd/20261128T100000Z.db',
      snapshotTime: snapshotRecordTime('etcd/20261128T100000Z.db'),
      by: 'i-0b2',
      lost: undefined,
    });
    expect(bash(`f="$(mktemp)"; cat >"$f"; json_field "$f" snapshotTime; json_field "$f" by`, restore)).toBe(
      '2026-11-28T10:00:00Z\ni-0b2\n',
    );
  });
});

describe('keys', () => {
  it('parseControlPlaneRecords: every record by kind; a bad one reported, a member filed under another group refused', () => {
    const member = (group: string, id: string, inst: string) =>
      bash(`json_record group ${group} memberId ${id} name n peerURL p clientURL c instanceId ${inst} time 2026-11-28T10:00:00Z`);
    const r = parseControlPlaneRecords({
      [initRecordKey()]: bash(`json_record group master instanceId i-0a1 time 2026-11-28T10:00:00Z`),
      [memberRecordKey('master')]: member('master', 'a1', 'i-0a1'),
      [memberRecordKey('master-2')]: member('master-3', 'b2', 'i-0b2'),
      [memberRecordKey('master-3')]: 'not json',
      [restoreClaimKey('i-0a1')]: bash(`json_record by i-0c3 group master-3 time 2026-11-28T10:30:00Z`),
      'etcd/control-plane/something-else.json': '{}',
    });
    expect(r.init).toMatchObject({ instanceId: 'i-0a1' });
    expect(Object.keys(r.members)).toEqual(['master']);
    expect(r.restoreClaims).toEqual({ 'i-0a1': { by: 'i-0c3', group: 'master-3', time: '2026-11-28T10:30:00Z' } });
    expect(r.invalid.map((x) => x.key)).toEqual([memberRecordKey('master-2'), memberRecordKey('master-3')]);
    expect(r.invalid[0]!.error).toBe('member record names group master-3, not master-2');
    expect(r.restore).toBeUndefined();
  });
});

describe('snapshot metadata', () => {
  const sum = 'a'.repeat(64);
  it('key and x-amz-meta-sha256 as backups write them (etcd-backup.sh, backup-etcd)', () => {
    expect(parseSnapshot('etcd/20261128T100000Z.db', { sha256: sum })).toEqual({
      key: 'etcd/20261128T100000Z.db',
      time: Date.UTC(2026, 10, 28, 10) / 1000,
      sha256: sum,
    });
    expect(parseSnapshot('etcd/20261128T100000Z.db', { sha256: sum.toUpperCase() })).toMatchObject({ sha256: sum });
    // no or bad metadata: a snapshot without a checksum, which no restore takes
    expect(parseSnapshot('etcd/20261128T100000Z.db', undefined)).toEqual({
      key: 'etcd/20261128T100000Z.db',
      time: Date.UTC(2026, 10, 28, 10) / 1000,
    });
    expect(parseSnapshot('etcd/20261128T100000Z.db', { sha256: 'None' })).not.toHaveProperty('sha256');
    expect(parseSnapshot('etcd/control-plane/init.json', {})).toBeInstanceOf(Error);
    expect(snapshotRecordTime('etcd/20261128T100000Z.db')).toBe('2026-11-28T10:00:00Z');
  });
});
