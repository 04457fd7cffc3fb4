/**
 * The add-on versions a running cluster runs (as its masters record them in addons.json) against
 * this kubeaz's table (src/model/addon-versions.ts): the pure comparison as a table, the record's
 * schema with and without the versions, the note plan prints, and the digest that makes new pins a
 * new master launch template version.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/engine/compare.js';
import { renderPlan } from '../../src/engine/plan.js';
import {
  addonPinsDigest,
  addonVersionDifferences,
  addonVersionNote,
  addonVersionSet,
  type AddonVersionSet,
} from '../../src/model/addon-versions.js';
import { parseAddonsRecord, renderRecord, type AddonsRecord } from '../../src/records/etcd.js';
import { ADDON_VERSIONS_BY_MINOR } from '../../src/spec/versions.js';

const TABLE: AddonVersionSet = {
  cilium: '1.19.6',
  awsCcmChart: '0.0.11',
  awsCcmImage: 'v1.35.2',
  ebsCsiChart: '2.64.0',
  clusterAutoscalerChart: '9.59.0',
  clusterAutoscalerImage: 'v1.35.2',
  nthChart: '0.27.6',
};
const RECORD = { by: 'i-0123456789abcdef0', state: 'installed', at: '2026-12-01T10:00:00Z' };

describe('addonVersionDifferences: recorded vs table', () => {
  it.each<[string, Partial<AddonVersionSet>, Array<[string, string, string, string]>]>([
    ['the same versions', { ...TABLE }, []],
    ['nothing recorded (an older agent wrote only a fingerprint)', {}, []],
    [
      'a chart pinned before that does not exist upstream',
      { ...TABLE, clusterAutoscalerChart: '9.59.1' },
      [['cluster-autoscaler', 'chart', '9.59.1', '9.59.0']],
    ],
    [
      'an image and a chart, in the table order',
      { ...TABLE, nthChart: '0.27.5', awsCcmImage: 'v1.35.1' },
      [
        ['aws-cloud-controller-manager', 'image', 'v1.35.1', 'v1.35.2'],
        ['aws-node-termination-handler', 'chart', '0.27.5', '0.27.6'],
      ],
    ],
    ['a field the record lacks is not compared', { cilium: '1.19.5' }, [['cilium', 'chart', '1.19.5', '1.19.6']]],
  ])('%s', (_name, recorded, want) => {
    expect(addonVersionDifferences(recorded, TABLE).map((d) => [d.addon, d.what, d.recorded, d.table])).toEqual(want);
  });
});

describe('addonVersionNote: the line plan and status print', () => {
  it('none when the versions are the table', () => {
    expect(addonVersionNote({ ...RECORD, ...TABLE }, TABLE)).toBeUndefined();
    expect(addonVersionNote({ ...RECORD }, TABLE)).toBeUndefined();
  });

  it('names each difference and says a master rollout installs them', () => {
    const n = addonVersionNote({ ...RECORD, ...TABLE, clusterAutoscalerChart: '9.59.1', clusterAutoscalerImage: 'v1.35.1' }, TABLE)!;
    expect(n.text).toBe(
      "add-on versions differ from this kubeaz's: cluster-autoscaler 9.59.1 → 9.59.0, cluster-autoscaler image v1.35.1 → v1.35.2; " +
        'a master rollout installs them (kubeaz create, then kubeaz rollout: the master that runs the add-on step installs the new versions)',
    );
    expect(n.recordedBy).toEqual(RECORD);
    expect(n.differences).toHaveLength(2);
  });

  it('an install under way says who installs it', () => {
    const n = addonVersionNote({ ...RECORD, state: 'installing', ...TABLE, cilium: '1.19.5' }, TABLE)!;
    expect(n.text).toContain('cilium 1.19.5 → 1.19.6 (being installed by i-0123456789abcdef0 since 2026-12-01T10:00:00Z)');
  });

  it('renderPlan prints it as a note; the plan stays without changes', () => {
    const note = addonVersionNote({ ...RECORD, ...TABLE, nthChart: '0.27.5' }, TABLE)!;
    const plan = {
      version: 1,
      cluster: 'demo-dev',
      region: 'us-east-1',
      summary: { create: 0, update: 0, delete: 0, refuse: 0, unchanged: 3 },
      changes: [],
      addonVersions: note,
    } satisfies Plan;
    const text = renderPlan(plan);
    expect(text.split('\n')).toEqual([`note: ${note.text}`, 'plan for demo-dev: nothing to do (3 resources match the spec)']);
  });
});

describe('addons.json records the versions', () => {
  const base: AddonsRecord = {
    fingerprint: 'a'.repeat(64),
    by: 'i-0123456789abcdef0',
    group: 'master',
    state: 'installed',
    at: '2026-12-01T10:00:00Z',
  };
  it('a record with the versions reads back with them; one without (an older agent) reads back without', () => {
    const withVersions = parseAddonsRecord(renderRecord({ ...base, ...TABLE }));
    expect(withVersions).toEqual({ ...base, ...TABLE });
    expect(parseAddonsRecord(renderRecord(base))).toEqual(base);
    // the scripts' layout: one string per line
    expect(renderRecord({ ...base, ...TABLE })).toContain('\n  "clusterAutoscalerChart": "9.59.0",\n');
  });
  it('a version that is not a string is refused (the record does not parse); an empty one reads as not recorded', () => {
    expect(parseAddonsRecord(JSON.stringify({ ...base, cilium: 1 }))).toBeInstanceOf(Error);
    expect(parseAddonsRecord(JSON.stringify({ ...base, cilium: '' }))).toEqual(base);
  });
});

describe('the table as the master installs it', () => {
  it('addonVersionSet flattens the row of the Kubernetes version', () => {
    const row = ADDON_VERSIONS_BY_MINOR['1.30']!;
    expect(addonVersionSet('1.30.4')).toEqual({
      cilium: row.cilium.chart,
      awsCcmChart: row.awsCloudControllerManager.chart,
      awsCcmImage: row.awsCloudControllerManager.image,
      ebsCsiChart: row.awsEbsCsiDriver.chart,
      clusterAutoscalerChart: row.clusterAutoscaler.chart,
      clusterAutoscalerImage: row.clusterAutoscaler.image,
      nthChart: row.awsNodeTerminationHandler.chart,
    });
  });
  it('the pins digest: the same for patches of a minor, another for another row (a new master launch template version)', () => {
    expect(addonPinsDigest('1.35.0')).toMatch(/^[0-9a-f]{16}$/);
    expect(addonPinsDigest('1.35.0')).toBe(addonPinsDigest('1.35.3'));
    expect(addonPinsDigest('1.34.0')).not.toBe(addonPinsDigest('1.35.0'));
  });
});
