/**
 * destroy's preview (operations/destroy.ts destroyPreview, commands/destroy.ts renderDestroyPreview;
 * issue 21): every resource that goes by kind, id and name (kops delete cluster's list), what stays,
 * and with --delete-backups how many etcd snapshots go (it said "no etcd backups" when there were).
 */
import { describe, expect, it } from 'vitest';
import { destroyPreview, isAdoptedZone, nameOf } from '../../src/operations/destroy.js';
import { renderDestroyPreview } from '../../src/commands/destroy.js';
import type { Actual } from '../../src/resources/types.js';
import type { Kind } from '../../src/model/types.js';

const a = (key: string, kind: Kind, id: string, o: { tags?: Record<string, string>; attrs?: Record<string, string> } = {}): Actual => ({
  key,
  kind,
  id,
  attrs: o.attrs ?? {},
  tags: o.tags ?? {},
});

const observed = [
  a('vpc', 'vpc', 'vpc-1', { tags: { Name: 'demo-dev' } }),
  a('subnet/public/us-east-1b', 'subnet', 'subnet-2', { tags: { Name: 'demo-dev-public-us-east-1b' } }),
  a('subnet/public/us-east-1a', 'subnet', 'subnet-1', { tags: { Name: 'demo-dev-public-us-east-1a' } }),
  a('role/node', 'iam-role', 'demo-dev-node', { attrs: { arn: 'arn:aws:iam::1:role/demo-dev-node' } }),
  a('bucket', 'bucket', 'kubeaz-demo-dev-1'),
  a('pki', 'pki', 'kubeaz-demo-dev-1/pki/'),
  a('zone/public', 'hosted-zone', 'Z1', { attrs: { adopted: 'true', name: 'example.com' } }),
];

describe('the destroy preview', () => {
  it('a name is the Name tag, else the name AWS records, else the id', () => {
    expect(nameOf(observed[0]!)).toBe('demo-dev');
    expect(nameOf(a('x', 'hosted-zone', 'Z2', { attrs: { name: 'dev.example.com' } }))).toBe('dev.example.com');
    expect(nameOf(observed[3]!)).toBe('demo-dev-node');
  });

  it('lists every resource that goes (kind, then key), not what stays', () => {
    const p = destroyPreview(observed, isAdoptedZone, { bucket: 'kubeaz-demo-dev-1', snapshots: 0, deleteBackups: false });
    expect(p.resources).toEqual([
      { key: 'bucket', kind: 'bucket', id: 'kubeaz-demo-dev-1', name: 'kubeaz-demo-dev-1' },
      { key: 'role/node', kind: 'iam-role', id: 'demo-dev-node', name: 'demo-dev-node' },
      { key: 'pki', kind: 'pki', id: 'kubeaz-demo-dev-1/pki/', name: 'kubeaz-demo-dev-1/pki/' },
      { key: 'subnet/public/us-east-1a', kind: 'subnet', id: 'subnet-1', name: 'demo-dev-public-us-east-1a' },
      { key: 'subnet/public/us-east-1b', kind: 'subnet', id: 'subnet-2', name: 'demo-dev-public-us-east-1b' },
      { key: 'vpc', kind: 'vpc', id: 'vpc-1', name: 'demo-dev' },
    ]);
    expect(p.total).toBe(p.resources.length);
    expect(p.kept).toEqual([{ key: 'zone/public', kind: 'hosted-zone', id: 'Z1' }]);
    const text = renderDestroyPreview('demo-dev', 'us-east-1', '1', p);
    expect(text).toMatch(/^ {2}subnet +subnet-1 +demo-dev-public-us-east-1a$/m);
    expect(text).toMatch(/^ {2}iam-role +demo-dev-node +-$/m);
    expect(text).toMatch(/^ {2}KIND +ID +NAME$/m);
    expect(text).not.toMatch(/Z1 +/);
    expect(text).not.toMatch(/undefined|\[object Object\]/);
  });

  it('--delete-backups: the bucket goes and the preview says with how many snapshots', () => {
    const p = destroyPreview(observed, isAdoptedZone, { bucket: 'kubeaz-demo-dev-1', snapshots: 3, deleteBackups: true });
    expect(p.backupsKept).toBe(false);
    expect(p.bucket).toEqual({ name: 'kubeaz-demo-dev-1', exists: true, kept: false, etcdSnapshots: 3 });
    const text = renderDestroyPreview('demo-dev', 'us-east-1', '1', p);
    expect(text).toContain('  bucket: kubeaz-demo-dev-1 deleted with its 3 etcd snapshots (--delete-backups)');
    expect(text).not.toMatch(/no etcd backups/);
    const none = renderDestroyPreview('demo-dev', 'us-east-1', '1', { ...p, bucket: { ...p.bucket, etcdSnapshots: 0 } });
    expect(none).toContain('  bucket: kubeaz-demo-dev-1 deleted (no etcd backups in it)');
  });

  it('without --delete-backups a bucket with snapshots is kept, and says so', () => {
    const keep = (x: Actual) => isAdoptedZone(x) || x.kind === 'bucket' || x.kind === 'pki';
    const p = destroyPreview(observed, keep, { bucket: 'kubeaz-demo-dev-1', snapshots: 1, deleteBackups: false });
    expect(p.backupsKept).toBe(true);
    expect(p.resources.map((r) => r.kind)).not.toContain('bucket');
    expect(renderDestroyPreview('demo-dev', 'us-east-1', '1', p)).toContain(
      '  bucket: kubeaz-demo-dev-1 KEPT with its 1 etcd snapshot(s) and pki/\n    (--delete-backups deletes them too)',
    );
  });
});
