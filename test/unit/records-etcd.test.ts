/**
 * The control-plane records (src/records/etcd.ts): validation and keys, pure. What the bash of older
 * masters writes is read by the types in test/integration/records-etcd.test.ts (it runs bash).
 */
import { describe, expect, it } from 'vitest';
import {
  controlPlaneKeyKind,
  initRecordKey,
  memberRecordKey,
  parseInitRecord,
  parseMemberRecord,
  parseRestoreClaim,
  parseRestoreRecord,
  restoreClaimKey,
  restoreRecordKey,
} from '../../src/records/etcd.js';

describe('record validation', () => {
  it('member ids: hex kept as text, normalised to lowercase without padding; a decimal-looking or oversized id is refused', () => {
    const base = { group: 'master', name: 'n', instanceId: 'i-1' };
    expect(parseMemberRecord(JSON.stringify({ ...base, memberId: '8E9E05C52164694D' }))).toMatchObject({ memberId: '8e9e05c52164694d' });
    expect(parseMemberRecord(JSON.stringify({ ...base, memberId: '00ff' }))).toMatchObject({ memberId: 'ff' });
    // the record as text with a JSON number for the id (a number literal in TS would already have lost precision)
    const numeric = parseMemberRecord(JSON.stringify(base).replace(/}$/, ',"memberId":10276657743932975437}'));
    expect(numeric).toBeInstanceOf(Error);
    expect((numeric as Error).message).toMatch(/memberId/);
    expect(parseMemberRecord(JSON.stringify({ ...base, memberId: '1ffffffffffffffff' }))).toBeInstanceOf(Error);
    expect(parseMemberRecord(JSON.stringify({ ...base, memberId: 'xyz' }))).toBeInstanceOf(Error);
  });

  it('wrong shapes are Errors naming the field; not JSON is an Error', () => {
    expect((parseInitRecord('{"group": "master"}') as Error).message).toMatch(/^init\.json has the wrong shape: instanceId/);
    expect((parseInitRecord('{"group": "master", "instanceId": "i-1", "time": "yesterday"}') as Error).message).toMatch(/time: not a time/);
    expect((parseRestoreRecord('{') as Error).message).toMatch(/^restore\.json is not JSON/);
    expect(parseRestoreRecord('{"by": "i-1"}')).toBeInstanceOf(Error);
    expect(parseRestoreClaim('[]')).toBeInstanceOf(Error);
  });
});

describe('keys', () => {
  it('are functions of the group / creator, and a key tells its kind', () => {
    expect(initRecordKey()).toBe('etcd/control-plane/init.json');
    expect(restoreRecordKey()).toBe('etcd/control-plane/restore.json');
    expect(memberRecordKey('master-2')).toBe('etcd/control-plane/members/master-2.json');
    expect(restoreClaimKey('i-0a1')).toBe('etcd/control-plane/restore-claims/i-0a1.json');
    expect(controlPlaneKeyKind('etcd/control-plane/members/master-2.json')).toEqual({ kind: 'member', group: 'master-2' });
    expect(controlPlaneKeyKind('etcd/control-plane/restore-claims/i-0a1.json')).toEqual({ kind: 'restore-claim', creator: 'i-0a1' });
    expect(controlPlaneKeyKind('etcd/control-plane/init.json')).toEqual({ kind: 'init' });
    expect(controlPlaneKeyKind('etcd/20261128T100000Z.db')).toBeUndefined();
  });
});
