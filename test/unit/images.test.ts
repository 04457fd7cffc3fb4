/**
 * Images change only when asked (issue 20 §2), the pure side: a group's image is spec.ami, else the
 * image its launch template records (same architecture, not --update-images), else the one the
 * public AL2023 parameter names; the note on a newer image; the record's tag value; the graph a
 * running cluster's records give.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deriveGraph, imageUpdates, type Facts } from '../../src/model/derive.js';
import {
  IMAGE_TAG,
  groupImage,
  imageRecordValue,
  imageUpdatesOf,
  parseImageRecord,
  type ImageInput,
  type ImageRecord,
  type ImageSource,
} from '../../src/model/images.js';
import type { AnyNode } from '../../src/model/types.js';
import { dataHash, DATA_HASH_TAG, launchTemplate, recordedImages } from '../../src/resources/launch-template.js';
import type { Actual, ResolvedNode } from '../../src/resources/types.js';
import { parseSpec } from '../../src/spec/load.js';

const OLD = 'ami-0aaaaaaaaaaaaaaa1';
const NEW = 'ami-0bbbbbbbbbbbbbbb2';
const ARM = 'ami-0ccccccccccccccc3';
const MINE = 'ami-0ddddddddddddddd4';
const x86 = (imageId: string): ImageRecord => ({ imageId, arch: 'x86_64' });

describe('groupImage: which image a group runs', () => {
  const cases: Array<[name: string, input: ImageInput, imageId: string, source: ImageSource]> = [
    ['a new group (no record) gets the available image', { arch: 'x86_64', available: NEW }, NEW, 'available'],
    [
      'the recorded image stays when the parameter names a newer one',
      { arch: 'x86_64', available: NEW, recorded: x86(OLD) },
      OLD,
      'recorded',
    ],
    ['the recorded image equal to the available one', { arch: 'x86_64', available: OLD, recorded: x86(OLD) }, OLD, 'recorded'],
    [
      '--update-images moves to the available image',
      { arch: 'x86_64', available: NEW, recorded: x86(OLD), updateImages: true },
      NEW,
      'available',
    ],
    ['--update-images on a new group', { arch: 'x86_64', available: NEW, updateImages: true }, NEW, 'available'],
    ['spec.ami wins over the record', { ami: MINE, arch: 'x86_64', available: NEW, recorded: x86(OLD) }, MINE, 'spec'],
    ['spec.ami wins over --update-images', { ami: MINE, arch: 'x86_64', recorded: x86(OLD), updateImages: true }, MINE, 'spec'],
    ['spec.ami on a new group (the parameter is not read)', { ami: MINE, arch: 'x86_64' }, MINE, 'spec'],
    [
      'a record of another architecture (the instance type changed) gives way',
      { arch: 'arm64', available: ARM, recorded: x86(OLD) },
      ARM,
      'available',
    ],
    [
      'spec.ami taken out: the image it left stays (recorded) until asked',
      { arch: 'x86_64', available: NEW, recorded: x86(MINE) },
      MINE,
      'recorded',
    ],
  ];
  it.each(cases)('%s', (_name, input, imageId, source) => {
    expect(groupImage(input)).toEqual({ imageId, source });
  });

  it('no image at all is an error naming the architecture', () => {
    expect(() => groupImage({ arch: 'arm64' })).toThrow(/no image resolved for arm64/);
    expect(() => groupImage({ arch: 'arm64', recorded: x86(OLD) })).toThrow(/arm64/);
  });
});

describe('imageUpdatesOf: the note on a newer image', () => {
  it('one entry per recorded image that differs, with the groups that keep it', () => {
    const u = imageUpdatesOf([
      { group: 'master', arch: 'x86_64', available: NEW, recorded: x86(OLD) },
      { group: 'workers', arch: 'x86_64', available: NEW, recorded: x86(OLD) },
      { group: 'fresh', arch: 'x86_64', available: NEW },
      { group: 'current', arch: 'x86_64', available: NEW, recorded: x86(NEW) },
      { group: 'graviton', arch: 'arm64', available: ARM, recorded: { imageId: 'ami-0eeeeeeeeeeeeeee5', arch: 'arm64' } },
    ]);
    expect(u.map(({ text: _t, ...rest }) => rest)).toEqual([
      { arch: 'arm64', current: 'ami-0eeeeeeeeeeeeeee5', available: ARM, groups: ['graviton'] },
      { arch: 'x86_64', current: OLD, available: NEW, groups: ['master', 'workers'] },
    ]);
    expect(u[1]!.text).toMatch(
      new RegExp(`^a newer Amazon Linux 2023 image is available: ${NEW} \\(x86_64; groups master, workers run ${OLD}`),
    );
    expect(u[1]!.text).toContain('kubeaz create --update-images');
    expect(u[0]!.text).toContain(`group graviton runs ami-0eeeeeeeeeeeeeee5`);
  });

  const none: Array<[name: string, input: ImageInput]> = [
    ['the recorded image is the available one', { arch: 'x86_64', available: OLD, recorded: x86(OLD) }],
    ['a new group', { arch: 'x86_64', available: NEW }],
    ['--update-images moves it', { arch: 'x86_64', available: NEW, recorded: x86(OLD), updateImages: true }],
    ['spec.ami is set', { ami: MINE, arch: 'x86_64', recorded: x86(OLD) }],
    ['the parameter was not read', { arch: 'x86_64', recorded: x86(OLD) }],
    ['a record of another architecture', { arch: 'arm64', available: ARM, recorded: x86(OLD) }],
  ];
  it.each(none)('none when %s', (_name, input) => {
    expect(imageUpdatesOf([{ group: 'g', ...input }])).toEqual([]);
  });

  it('an older image the parameter names is reported too (whatever its date)', () => {
    expect(imageUpdatesOf([{ group: 'g', arch: 'x86_64', available: OLD, recorded: x86(NEW) }])).toHaveLength(1);
  });
});

describe('the record on the launch template', () => {
  it('is `<image id>@<architecture>` and reads back', () => {
    expect(imageRecordValue(x86(OLD))).toBe(`${OLD}@x86_64`);
    expect(parseImageRecord(`${ARM}@arm64`)).toEqual({ imageId: ARM, arch: 'arm64' });
  });
  it.each([undefined, '', OLD, `${OLD}@sparc`, `img-1@x86_64`, `${OLD}@x86_64 `])('%j is no record', (v) => {
    expect(parseImageRecord(v)).toBeUndefined();
  });
});

describe('the graph of a running cluster keeps its images', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  const tdir = join(ROOT, 'templates');
  const templates = Object.fromEntries(walk(tdir).map((p) => [relative(tdir, p).split('\\').join('/'), readFileSync(p, 'utf8')]));
  const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
  const spec = parseSpec(example, 'v.yaml', new Date('2026-01-15T00:00:00Z')).spec;
  const facts: Facts = { accountId: '123456789012', images: { x86_64: NEW }, templates };
  const imageOf = (nodes: AnyNode[], key: string) => (nodes.find((n) => n.key === key)!.props as { imageId: string }).imageId;
  // the example: master, workers, edge; edge was added after the others were recorded
  const recordedImages = { master: x86(OLD), workers: x86(OLD) };

  it('recorded groups keep theirs, a group without a record gets the available image, and the note names them', () => {
    const g = deriveGraph(spec, { ...facts, recordedImages });
    expect([imageOf(g.nodes, 'lt/master'), imageOf(g.nodes, 'lt/workers'), imageOf(g.nodes, 'lt/edge')]).toEqual([OLD, OLD, NEW]);
    const u = imageUpdates(spec, { ...facts, recordedImages });
    expect(u.map((x) => [x.current, x.available, x.groups])).toEqual([[OLD, NEW, ['master', 'workers']]]);
  });

  it('--update-images moves every group, and leaves no note', () => {
    const g = deriveGraph(spec, { ...facts, recordedImages, updateImages: true });
    expect([imageOf(g.nodes, 'lt/master'), imageOf(g.nodes, 'lt/workers'), imageOf(g.nodes, 'lt/edge')]).toEqual([NEW, NEW, NEW]);
    expect(imageUpdates(spec, { ...facts, recordedImages, updateImages: true })).toEqual([]);
  });

  it('a new cluster (nothing recorded) gets the available image everywhere, with no note', () => {
    const g = deriveGraph(spec, facts);
    expect(new Set(g.nodes.filter((n) => n.kind === 'launch-template').map((n) => (n.props as { imageId: string }).imageId))).toEqual(
      new Set([NEW]),
    );
    expect(imageUpdates(spec, facts)).toEqual([]);
  });

  it('spec.ami taken out: every group keeps the image it named (recorded), and the note offers the public one until asked', () => {
    // the launch templates recorded spec.ami's image; the spec no longer names one
    const fromAmi = { master: x86(MINE), workers: x86(MINE), edge: x86(MINE) };
    const g = deriveGraph(spec, { ...facts, recordedImages: fromAmi });
    expect([imageOf(g.nodes, 'lt/master'), imageOf(g.nodes, 'lt/workers'), imageOf(g.nodes, 'lt/edge')]).toEqual([MINE, MINE, MINE]);
    const u = imageUpdates(spec, { ...facts, recordedImages: fromAmi });
    expect(u.map((x) => [x.current, x.available, x.groups])).toEqual([[MINE, NEW, ['master', 'workers', 'edge']]]);
    expect(u[0]!.text).toContain(
      `groups master, workers, edge run ${MINE}, kept until asked: kubeaz create --update-images moves them to it`,
    );
    const moved = deriveGraph(spec, { ...facts, recordedImages: fromAmi, updateImages: true });
    expect(imageOf(moved.nodes, 'lt/master')).toBe(NEW);
  });

  it('spec.ami: every group runs it, no note', () => {
    const withAmi = parseSpec(example.replace('  region:', `  ami: ${MINE}\n  region:`), 'v.yaml', new Date('2026-01-15T00:00:00Z')).spec;
    const g = deriveGraph(withAmi, { ...facts, images: {}, recordedImages });
    expect(imageOf(g.nodes, 'lt/master')).toBe(MINE);
    expect(imageOf(g.nodes, 'lt/edge')).toBe(MINE);
    expect(imageUpdates(withAmi, { ...facts, images: {}, recordedImages })).toEqual([]);
  });
});

describe('the launch template kind keeps the record', () => {
  const node = (imageId: string, instanceType = 'm5.large'): ResolvedNode<'launch-template'> =>
    ({
      key: 'lt/workers',
      kind: 'launch-template',
      tags: { 'kubeaz:cluster': 'c-t', 'kubeaz:key': 'lt/workers' },
      props: {
        name: 'c-t-workers',
        imageId,
        instanceType,
        instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/p',
        securityGroupIds: ['sg-1'],
        associatePublicIp: false,
        volumeSize: 50,
        hopLimit: 1,
        userData: '#!/bin/sh\n',
        instanceTags: {},
      },
    }) as unknown as ResolvedNode<'launch-template'>;
  const actual = (hash: string, tags: Record<string, string>, image?: string) => ({
    key: 'lt/workers',
    kind: 'launch-template' as const,
    id: 'lt-1',
    attrs: { name: 'c-t-workers', version: '1' },
    tags: { 'kubeaz:cluster': 'c-t', 'kubeaz:key': 'lt/workers', [DATA_HASH_TAG]: hash, ...tags },
    observed: { name: 'c-t-workers', hash, defaultVersion: 1, latestVersion: 1, ...(image ? { image } : {}) },
  });

  it('the recorded image and the data agree: nothing to do', () => {
    const n = node(OLD);
    expect(launchTemplate.diff(n, actual(dataHash(n), { [IMAGE_TAG]: `${OLD}@x86_64` }, `${OLD}@x86_64`))).toEqual([]);
  });

  it('a template without the record (made before records were kept): the record alone, once', () => {
    const n = node(OLD);
    expect(launchTemplate.diff(n, actual(dataHash(n), {}, `${OLD}@x86_64`))).toEqual([
      { field: 'imageRecord', from: null, to: `${OLD}@x86_64`, inPlace: true },
    ]);
  });

  it('another image: a new version (the record goes with it, not as a change of its own)', () => {
    const n = node(NEW);
    const old = node(OLD);
    expect(launchTemplate.diff(n, actual(dataHash(old), { [IMAGE_TAG]: `${OLD}@x86_64` }, `${OLD}@x86_64`)).map((c) => c.field)).toEqual([
      'launchTemplateData',
    ]);
  });

  it('recordedImages reads what observe found, by group', () => {
    const observed = new Map<string, Actual>([
      ['lt/workers', actual('h', { [IMAGE_TAG]: `${OLD}@x86_64` }, `${OLD}@x86_64`)],
      ['lt/edge', { ...actual('h', {}, `${ARM}@arm64`), key: 'lt/edge' }],
      ['lt/none', { ...actual('h', {}), key: 'lt/none' }],
    ]);
    expect(recordedImages(observed)).toEqual({ workers: x86(OLD), edge: { imageId: ARM, arch: 'arm64' } });
  });
});
