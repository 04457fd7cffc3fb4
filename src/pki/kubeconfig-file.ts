/**
 * Placing a cluster's entries in a kubeconfig file, as `kops export kubeconfig` and `eksctl utils
 * write-kubeconfig` do: one cluster, one user and one context, named after the cluster (or as the
 * user asks); every other entry of the file left exactly as it was (comments and order included:
 * the file is edited as a YAML document, not re-serialised). PURE: text in, text out.
 *
 * The context and the cluster entry carry an extension (kubeconfig's own mechanism, as minikube's
 * `context_info`) naming the kubeaz cluster: that is how a file "kubeaz wrote for this cluster" is
 * recognised, so `--out FILE` never replaces anything else.
 */
import {
  isAlias,
  isMap,
  isNode,
  isSeq,
  parse,
  parseDocument,
  stringify,
  visit,
  type Document,
  type Node,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

export const KUBEAZ_EXTENSION = 'kubeaz';

export interface KubeconfigEntries {
  cluster: { name: string; cluster: Record<string, unknown> };
  user: { name: string; user: Record<string, unknown> };
  context: { name: string; context: Record<string, unknown> };
}

const marker = (clusterId: string) => [{ name: KUBEAZ_EXTENSION, extension: { cluster: clusterId } }];

/**
 * The entries of a rendered single-cluster kubeconfig (renderKubeconfig's output), renamed:
 * the cluster entry `clusterName`, the user `user`, the context `context`, both marked as kubeaz's.
 */
export function entriesFrom(
  rendered: string,
  clusterId: string,
  names: { cluster: string; user: string; context: string },
): KubeconfigEntries {
  const k = parse(rendered) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
    users: Array<{ user: Record<string, unknown> }>;
    contexts: Array<{ context: Record<string, unknown> }>;
  };
  const cluster = k.clusters?.[0]?.cluster;
  const user = k.users?.[0]?.user;
  const context = k.contexts?.[0]?.context;
  if (!cluster || !user || !context) throw new Error('the rendered kubeconfig has no cluster, user or context');
  return {
    cluster: { name: names.cluster, cluster: { ...cluster, extensions: marker(clusterId) } },
    user: { name: names.user, user: { ...user } },
    context: { name: names.context, context: { ...context, cluster: names.cluster, user: names.user, extensions: marker(clusterId) } },
  };
}

/** A standalone kubeconfig holding only these entries, current context set to them. */
export function standaloneKubeconfig(e: KubeconfigEntries): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [e.cluster],
    users: [e.user],
    contexts: [e.context],
    'current-context': e.context.name,
    preferences: {},
  });
}

export class NotAKubeconfigError extends Error {
  override readonly name = 'NotAKubeconfigError';
}

/** Parses `text` as a kubeconfig document (an empty file counts as an empty kubeconfig). */
function kubeconfigDocument(text: string): Document {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length) throw new NotAKubeconfigError(`it is not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  if (doc.contents === null) return parseDocument('apiVersion: v1\nkind: Config\n');
  if (!isMap(doc.contents)) throw new NotAKubeconfigError('it is not a kubeconfig (not a mapping)');
  const kind = doc.get('kind');
  const known = ['clusters', 'users', 'contexts', 'current-context', 'apiVersion', 'preferences'].some((k) => doc.has(k));
  if ((kind !== undefined && kind !== 'Config') || !known)
    throw new NotAKubeconfigError(`it is not a kubeconfig (kind: ${String(kind ?? 'none')})`);
  for (const list of ['clusters', 'users', 'contexts']) {
    const v = doc.get(list);
    if (v !== undefined && v !== null && !isSeq(v)) throw new NotAKubeconfigError(`it is not a kubeconfig (${list} is not a list)`);
  }
  return doc;
}

/** Whether `text` is a kubeconfig (throws nothing). */
export function isKubeconfig(text: string): boolean {
  try {
    kubeconfigDocument(text);
    return true;
  } catch {
    return false;
  }
}

const markedFor = (entry: unknown, key: 'cluster' | 'context', clusterId: string): boolean => {
  const ext = (entry as Record<string, Record<string, unknown>> | undefined)?.[key]?.extensions;
  return Array.isArray(ext) && ext.some((x) => x?.name === KUBEAZ_EXTENSION && x?.extension?.cluster === clusterId);
};

/** What a standalone kubeconfig of kubeaz holds, key by key (standaloneKubeconfig, renderKubeconfig). */
const OWN_KEYS = {
  top: ['apiVersion', 'kind', 'clusters', 'users', 'contexts', 'current-context', 'preferences'],
  cluster: ['server', 'tls-server-name', 'certificate-authority-data', 'extensions'],
  user: ['client-certificate-data', 'client-key-data'],
  context: ['cluster', 'user', 'extensions'],
};
const onlyKeys = (v: unknown, allowed: readonly string[]): boolean =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => allowed.includes(k));

/**
 * Whether `text` is a kubeconfig that kubeaz wrote for `clusterId` and nothing else (an empty file
 * holds nothing to lose): every context and every cluster entry carries kubeaz's mark for that
 * cluster, every user is one those contexts name, and no entry or setting holds anything kubeaz does
 * not write (another user's token or exec plugin, a namespace, preferences, extensions): anything
 * someone added makes the file not kubeaz's, so `--out FILE` never replaces it.
 */
export function isOwnKubeconfig(text: string, clusterId: string): boolean {
  if (text.trim() === '') return true;
  let k: Record<string, unknown> | null;
  try {
    kubeconfigDocument(text);
    k = parse(text) as typeof k;
  } catch {
    return false;
  }
  if (!k || !onlyKeys(k, OWN_KEYS.top)) return false;
  const list = (name: string): unknown[] => (Array.isArray(k![name]) ? (k![name] as unknown[]) : []);
  const contexts = list('contexts');
  const clusters = list('clusters');
  const users = list('users');
  const pref = k.preferences;
  if (pref !== undefined && pref !== null && !onlyKeys(pref, [])) return false;
  if (
    !contexts.length ||
    !contexts.every((c) => markedFor(c, 'context', clusterId)) ||
    !clusters.every((c) => markedFor(c, 'cluster', clusterId))
  )
    return false;
  const entries = (xs: unknown[], key: 'cluster' | 'user' | 'context') =>
    xs.every(
      (x) =>
        onlyKeys(x, ['name', key]) &&
        typeof (x as Record<string, unknown>).name === 'string' &&
        onlyKeys((x as Record<string, unknown>)[key], OWN_KEYS[key]),
    );
  if (!entries(clusters, 'cluster') || !entries(users, 'user') || !entries(contexts, 'context')) return false;
  const onlyOurExtensions = (x: unknown, key: 'cluster' | 'context') => {
    const ext = (x as Record<string, Record<string, unknown>>)[key]!.extensions;
    return (
      ext === undefined ||
      (Array.isArray(ext) &&
        ext.every((e) => onlyKeys(e, ['name', 'extension']) && e.name === KUBEAZ_EXTENSION && onlyKeys(e.extension, ['cluster'])))
    );
  };
  if (!clusters.every((c) => onlyOurExtensions(c, 'cluster')) || !contexts.every((c) => onlyOurExtensions(c, 'context'))) return false;
  const named = new Set(contexts.map((c) => (c as { context: { user?: unknown } }).context.user));
  const current = k['current-context'];
  const contextNames = new Set(contexts.map((c) => (c as { name: string }).name));
  return (
    users.every((u) => named.has((u as { name: string }).name)) &&
    (current === undefined || current === null || current === '' || contextNames.has(current as string))
  );
}

/** The names in a kubeconfig's lists and its current context, for messages and tests. */
export function summarize(text: string): { contexts: string[]; clusters: string[]; users: string[]; current?: string } {
  const k = (parse(text) ?? {}) as {
    contexts?: Array<{ name: string }>;
    clusters?: Array<{ name: string }>;
    users?: Array<{ name: string }>;
    'current-context'?: string;
  };
  return {
    contexts: (k.contexts ?? []).map((c) => c.name),
    clusters: (k.clusters ?? []).map((c) => c.name),
    users: (k.users ?? []).map((c) => c.name),
    ...(k['current-context'] ? { current: k['current-context'] } : {}),
  };
}

/**
 * `existing` with the three entries put in place: an entry of the same name in its list is replaced
 * where it stands, otherwise the entry is appended. Nothing else changes, except `current-context`
 * when `setCurrent`. Throws NotAKubeconfigError when `existing` is not a kubeconfig.
 */
export function mergeKubeconfig(existing: string, e: KubeconfigEntries, opts: { setCurrent: boolean }): string {
  const doc = kubeconfigDocument(existing);
  if (!doc.has('apiVersion')) doc.set('apiVersion', 'v1');
  if (!doc.has('kind')) doc.set('kind', 'Config');
  const put = (list: 'clusters' | 'users' | 'contexts', entry: { name: string }) => {
    let seq = doc.get(list) as YAMLSeq | null | undefined;
    if (!seq) {
      seq = doc.createNode([]) as YAMLSeq;
      doc.set(list, seq);
    }
    const node = doc.createNode(entry);
    const at = seq.items.findIndex((item) => isMap(item) && (item as YAMLMap).get('name') === entry.name);
    if (at >= 0) {
      keepAliasesOf(doc, seq.items[at] as Node);
      seq.items[at] = node;
    } else seq.items.push(node);
  };
  put('clusters', e.cluster);
  put('users', e.user);
  put('contexts', e.context);
  if (opts.setCurrent) doc.set('current-context', e.context.name);
  return doc.toString();
}

/**
 * Before `gone` leaves the document: every alias elsewhere that points at an anchor inside it
 * (`*prod-ca` naming the CA data of the entry being replaced) becomes a copy of what it named, so the
 * rest of the file reads exactly as before and no alias is left without its anchor.
 */
function keepAliasesOf(doc: Document, gone: Node): void {
  const anchored = new Set<unknown>();
  visit(gone, {
    Node(_, n) {
      if (isNode(n) && n.anchor) anchored.add(n);
    },
  });
  if (!anchored.size) return;
  const copy = (n: Node): Node => {
    const c = n.clone() as Node;
    visit(c, {
      Node(_, x) {
        if (isNode(x) && !isAlias(x)) delete (x as { anchor?: string }).anchor;
      },
    });
    if (!isAlias(c)) delete (c as { anchor?: string }).anchor;
    return c;
  };
  visit(doc, {
    Alias(_, a) {
      const target = a.resolve(doc);
      if (target && anchored.has(target)) return copy(target as Node);
      return undefined;
    },
  });
}
