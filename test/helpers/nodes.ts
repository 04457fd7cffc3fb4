/**
 * The resolved nodes the resource round-trip tests (test/e2e/resources-*.test.ts) hand to a
 * handler, tagged as the graph would tag them: the ownership tags of a cluster (demo-dev unless
 * told), its logical key, and a Name of `<cluster>-<key with / as ->` unless one is given.
 */
import { KEY_TAG, OWNER_TAG, type Kind, type Tags } from '../../src/model/types.js';
import type { ResolvedNode } from '../../src/resources/types.js';

export const CLUSTER = 'demo-dev';

export interface NodeOptions {
  /** the owning cluster id (default demo-dev) */
  cluster?: string;
  /** the Name tag (default `<cluster>-<key with / as ->`) */
  name?: string;
  /** more tags (the ownership and key tags always win) */
  tags?: Tags;
}

export type NodeMaker = <K extends Kind>(kind: K, key: string, props: ResolvedNode<K>['props'], o?: NodeOptions) => ResolvedNode<K>;

/** A node maker whose nodes all carry `defaults` (a file's own cluster or extra tags). */
export function nodeMaker(defaults: NodeOptions = {}): NodeMaker {
  return (kind, key, props, o = {}) => {
    const cluster = o.cluster ?? defaults.cluster ?? CLUSTER;
    return {
      key,
      kind,
      props,
      tags: { Name: o.name ?? `${cluster}-${key.replace(/\//g, '-')}`, ...defaults.tags, ...o.tags, [OWNER_TAG]: cluster, [KEY_TAG]: key },
    };
  };
}

export const node: NodeMaker = nodeMaker();
