/**
 * Kubernetes' own rules for label keys, label values and taints (apimachinery's
 * validation.IsQualifiedName / IsValidLabelValue, and the kubelet's NodeRestriction list in
 * pkg/kubelet/apis/well_known_labels.go). Pure: each function returns the problems, [] when fine.
 * What passes here holds only [A-Za-z0-9._/-] (and '=' ':' ',' are never in a key or value), so a
 * rendered `--node-labels=` / `--register-with-taints=` list cannot grow another entry or a flag.
 */

const NAME_MAX = 63;
const PREFIX_MAX = 253;
const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const show = (s: string) => JSON.stringify(s);

/** A qualified name: an optional DNS-subdomain prefix (≤253) and '/', then a name (≤63). */
export function qualifiedNameProblems(key: string): string[] {
  const parts = key.split('/');
  let prefix: string | undefined;
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) [prefix, name] = parts as [string, string];
  else return [`${show(key)} has more than one '/' (a key is [prefix/]name)`];
  const out: string[] = [];
  if (prefix !== undefined) {
    if (prefix.length === 0) out.push(`${show(key)} has an empty prefix before '/'`);
    else if (prefix.length > PREFIX_MAX) out.push(`the prefix of ${show(key)} is ${prefix.length} characters; at most ${PREFIX_MAX}`);
    else if (!prefix.split('.').every((l) => l.length <= NAME_MAX && DNS1123_LABEL.test(l)))
      out.push(`the prefix ${show(prefix)} must be a lowercase DNS subdomain such as example.com`);
  }
  if (name.length === 0) out.push(`${show(key)} has an empty name`);
  else if (name.length > NAME_MAX) out.push(`the name part of ${show(key)} is ${name.length} characters; at most ${NAME_MAX}`);
  else if (!NAME_RE.test(name))
    out.push(
      `the name part of ${show(key)} may hold only letters, digits, '-', '_' and '.', and must start and end with a letter or digit`,
    );
  return out;
}

/** A label value (also a taint value): empty, or ≤63 characters of the name alphabet. */
export function labelValueProblems(value: string): string[] {
  if (value === '') return [];
  if (value.length > NAME_MAX) return [`the value is ${value.length} characters; at most ${NAME_MAX}`];
  if (!NAME_RE.test(value))
    return [`the value ${show(value)} may hold only letters, digits, '-', '_' and '.', and must start and end with a letter or digit`];
  return [];
}

/** A DNS-1123 label (a namespace's name): 1–63 of [a-z0-9-], starting and ending alphanumeric. */
export function dnsLabelProblems(v: string): string[] {
  if (v.length === 0) return ['must not be empty'];
  if (v.length > NAME_MAX) return [`${show(v)} is ${v.length} characters; at most ${NAME_MAX}`];
  if (!DNS1123_LABEL.test(v))
    return [`${show(v)} may hold only lowercase letters, digits and '-', and must start and end with a letter or digit`];
  return [];
}

/** A DNS-1123 subdomain (a service account's name): ≤253 characters, dot-separated DNS-1123 labels. */
export function dnsSubdomainProblems(v: string): string[] {
  if (v.length === 0) return ['must not be empty'];
  if (v.length > PREFIX_MAX) return [`${show(v)} is ${v.length} characters; at most ${PREFIX_MAX}`];
  if (!v.split('.').every((l) => l.length <= NAME_MAX && DNS1123_LABEL.test(l)))
    return [
      `${show(v)} may hold only lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit`,
    ];
  return [];
}

/** Label keys the kubelet may set on its own Node (KubeletLabels() upstream, GA topology labels included). */
export const KUBELET_LABELS: readonly string[] = [
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.kubernetes.io/zone',
  'failure-domain.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
];
/** Namespaces (and their subdomains) the kubelet may set: KubeletLabelNamespaces() upstream. */
export const KUBELET_LABEL_NAMESPACES: readonly string[] = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
/** Applied from the master after the node joins (the kubelet may not set it itself). */
export const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

const within = (ns: string, domain: string) => ns === domain || ns.endsWith(`.${domain}`);

/**
 * A label in the kubernetes.io / k8s.io namespaces that the kubelet would refuse at start
 * (`--node-labels` outside NodeRestriction's allowed list): the reason, or undefined when allowed.
 */
export function kubeletLabelProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  const ns = key.slice(0, slash);
  if (!within(ns, 'kubernetes.io') && !within(ns, 'k8s.io')) return undefined;
  if (key.startsWith(NODE_ROLE_PREFIX)) return undefined;
  if (KUBELET_LABELS.includes(key) || KUBELET_LABEL_NAMESPACES.some((allowed) => within(ns, allowed))) return undefined;
  return (
    `${show(key)} is in the ${within(ns, 'k8s.io') ? 'k8s.io' : 'kubernetes.io'} namespace, which the kubelet refuses to set (NodeRestriction); ` +
    `use a key under node.kubernetes.io/ or kubelet.kubernetes.io/, one of the well-known kubelet labels, node-role.kubernetes.io/<role>, or your own prefix`
  );
}

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];
