/**
 * The spec's reference: a description (and, where the default is computed, its rule) for every
 * field, attached to the JSON Schema that zod generates from the schema, and the Markdown reference
 * docs/spec.md rendered from that schema. PURE.
 *
 * The descriptions live in this table, keyed by the field's path, rather than as `.describe()` on
 * the zod fields: several fields share one zod instance (every CIDR, instance type and DNS name),
 * and a description on a shared instance would appear on every field using it. A test fails when a
 * field of the schema has no entry here, or an entry names no field.
 */
import { z } from 'zod';
import { clusterSchema } from './schema.js';

interface FieldDoc {
  description: string;
  /** a default computed from other fields (the schema's `default` covers the constant ones) */
  defaultRule?: string;
}

export const FIELD_DOCS: Record<string, FieldDoc> = {
  apiVersion: { description: 'The spec format version.' },
  kind: { description: 'Always Cluster.' },
  metadata: {
    description:
      "The cluster's identity: the cluster id is `<name>-<environment>` (at most 24 characters) and every AWS resource is tagged `kubeaz:cluster=<id>`.",
  },
  'metadata.name': { description: "The cluster's name: lowercase letters, digits and '-', starting with a letter." },
  'metadata.environment': { description: 'The environment (dev, staging, prod, …); same rules as the name.' },
  spec: { description: 'What to build.' },
  'spec.region': { description: "The AWS region. Authoritative: it overrides AWS_REGION and the profile's region." },
  'spec.zones': { description: '2 to 6 distinct availability zones of the region; one public and one private subnet each.' },
  'spec.kubernetesVersion': {
    description: 'Kubernetes version MAJOR.MINOR.PATCH (quoted), 1.28 or newer; a minor past its upstream end of life is a warning.',
  },
  'spec.ami': {
    description: 'The AMI of every instance.',
    defaultRule: "Amazon Linux 2023 from AWS's public SSM parameter (arm64 for Graviton types)",
  },
  'spec.sshKeyName': { description: 'An existing EC2 key pair to put on the instances (none by default).' },
  'spec.network': { description: 'The VPC.' },
  'spec.network.vpcCidr': {
    description:
      'The VPC CIDR (/16 to /28): the lower half holds the private subnets, the upper half the public ones; it must not overlap the pod (100.96.0.0/11) or service (100.64.0.0/13) ranges.',
  },
  'spec.network.tenancy': { description: 'Instance tenancy of the VPC.' },
  'spec.network.nat': {
    description: 'NAT for the private subnets: a gateway per zone, a single one, or none (then an S3 gateway endpoint only).',
  },
  'spec.network.apiAccess': {
    description: 'CIDRs allowed to reach the public API load balancer on 443; [] means no public API (internal load balancer only).',
  },
  'spec.dns': { description: 'DNS zones.' },
  'spec.dns.internalDomain': {
    description: 'The private hosted zone (holds master.<internalDomain>).',
    defaultRule: '`<metadata.environment>.kube`',
  },
  'spec.dns.publicDomain': {
    description:
      "An existing or new public hosted zone for master.<environment>.<publicDomain> and publicRecord names; only kubeaz's records are ever touched.",
  },
  'spec.controlPlane': {
    description:
      'The masters: with count 1 an auto scaling group of one across every zone; with 3 or 5 one group of one per master, each pinned to a zone.',
  },
  'spec.controlPlane.instanceType': { description: 'EC2 instance type of the master.' },
  'spec.controlPlane.volumeSize': { description: 'Root volume of the master in GiB (encrypted gp3).' },
  'spec.controlPlane.loadBalancer': {
    description:
      "The API's load balancers: `classic` ELBs, or `network` (NLBs with security groups, a TCP target group each, client IP preservation off). Switching is a planned change; the old ones go with `create --allow-delete`.",
  },
  'spec.controlPlane.count': {
    description:
      'Masters (stacked etcd members): 1, 3 or 5 — odd, so a majority survives; spread one per zone, round-robin when there are fewer zones than masters (validate warns when one zone holds a majority). 1 → 3 on a running cluster is supported; lowering it is refused.',
  },
  'spec.nodeGroups': { description: 'Worker groups, each an auto scaling group across every zone of its tier.' },
  'spec.nodeGroups[].name': { description: "The group's name (at most 20 characters; 'master' and 'master-*' are reserved)." },
  'spec.nodeGroups[].role': {
    description: 'node: workers in the private subnets; loadbalancer: public-facing nodes that can claim elastic IPs.',
  },
  'spec.nodeGroups[].instanceType': { description: 'EC2 instance type of the group (or instanceTypes; one of the two).' },
  'spec.nodeGroups[].instanceTypes': {
    description:
      'Several EC2 instance types (1–20, one architecture, the same vCPUs and memory: pre-flight checks) instead of instanceType: the group gets a MixedInstancesPolicy, the first type preferred.',
  },
  'spec.nodeGroups[].spot': {
    description: 'Run part of the group on spot instances (MixedInstancesPolicy, capacity rebalancing on).',
    defaultRule: 'absent: every instance on-demand',
  },
  'spec.nodeGroups[].spot.onDemandBase': { description: 'The first N instances are on-demand.' },
  'spec.nodeGroups[].spot.onDemandPercentage': { description: 'Percent of on-demand instances above the base (0–100); the rest are spot.' },
  'spec.nodeGroups[].spot.allocationStrategy': {
    description: 'How spot capacity is chosen across types and zones (the auto scaling SpotAllocationStrategy).',
  },
  'spec.nodeGroups[].minSize': { description: 'Minimum number of instances.' },
  'spec.nodeGroups[].maxSize': { description: 'Maximum number of instances (at most 1000, not less than minSize).' },
  'spec.nodeGroups[].desiredCapacity': {
    description: 'Instances to start with, between minSize and maxSize; afterwards the cluster autoscaler may move it.',
    defaultRule: 'minSize',
  },
  'spec.nodeGroups[].subnets': {
    description: 'The subnet tier the group runs in.',
    defaultRule: 'private for role node, public for role loadbalancer',
  },
  'spec.nodeGroups[].volumeSize': { description: 'Root volume in GiB (encrypted gp3).', defaultRule: 'the launch template default (50)' },
  'spec.nodeGroups[].labels': { description: "Kubernetes node labels given to the group's nodes." },
  'spec.nodeGroups[].taints': { description: "Kubernetes taints given to the group's nodes." },
  'spec.nodeGroups[].taints[].key': { description: 'Taint key.' },
  'spec.nodeGroups[].taints[].value': { description: 'Taint value.' },
  'spec.nodeGroups[].taints[].effect': { description: 'Taint effect.' },
  'spec.nodeGroups[].elasticIps': {
    description: 'Elastic IPs pre-allocated for the group, which its instances claim at boot (role loadbalancer only).',
    defaultRule: '0',
  },
  'spec.nodeGroups[].publicRecord': {
    description:
      "A record <publicRecord>.<publicDomain> listing the group's elastic IPs (role loadbalancer; needs elasticIps and dns.publicDomain).",
  },
  'spec.iam': { description: 'Extra IAM principals.' },
  'spec.iam.users': { description: 'IAM users given access to the cluster bucket (no access keys are created).' },
  'spec.iam.users[].name': { description: 'IAM user name.' },
  'spec.iam.users[].bucketAccess': { description: 'read: the etcd/ snapshots only (never pki/); write: the whole bucket.' },
  'spec.iam.serviceAccountIssuerDiscovery': {
    description:
      "IAM roles for service accounts (IRSA) without EKS: kube-apiserver's service-account issuer is published in a public discovery bucket and trusted by an IAM OIDC provider.",
  },
  'spec.iam.serviceAccountIssuerDiscovery.enabled': {
    description: "Publish the issuer, make the OIDC provider, the pod-identity webhook and the add-ons' own roles.",
    defaultRule: 'false',
  },
  'spec.iam.serviceAccounts': { description: 'Service accounts that get an IAM role (needs serviceAccountIssuerDiscovery.enabled).' },
  'spec.iam.serviceAccounts[].namespace': { description: "The service account's namespace." },
  'spec.iam.serviceAccounts[].name': { description: "The service account's name." },
  'spec.iam.serviceAccounts[].policyArns': { description: 'IAM managed policies attached to its role.' },
  'spec.etcd': { description: 'etcd snapshots to S3.' },
  'spec.etcd.backupIntervalMinutes': { description: 'Minutes between snapshots taken by the master.' },
  'spec.etcd.backupRetentionDays': {
    description: 'Days of daily snapshots kept (every snapshot of the last hour and hourly ones for 7 days are kept too).',
  },
  'spec.encryption': {
    description:
      "Secrets encrypted at rest in etcd (so the etcd snapshots in the bucket hold them encrypted): kube-apiserver's EncryptionConfiguration, rendered at create; a change reaches the masters through a master rollout.",
  },
  'spec.encryption.provider': {
    description:
      'aescbc: a 32-byte key generated once by create and kept under pki/encryption/ in the cluster bucket; kms: AWS KMS envelope encryption through the AWS encryption provider beside each API server.',
  },
  'spec.encryption.keyArn': {
    description:
      "kms only: the KMS key's ARN (arn:aws:kms:<region>:<account>:key/<id>), in the cluster's region; the masters may use this key only.",
  },
  'spec.encryption.keys': {
    description:
      'aescbc only: the key names, the first encrypts, all decrypt; each is generated once under pki/encryption/<name>. Rotate by adding a key second, then moving it first, then dropping the old one (README).',
    defaultRule: '`["key1"]`',
  },
  'spec.tags': {
    description:
      "Tags added to every resource; keys starting with 'aws:', 'kubeaz:', 'eks:', 'k8s.io/cluster-autoscaler/' or 'kubernetes.io/cluster/' are reserved.",
  },
  'spec.state': {
    description: 'Keep the state in S3 (s3://bucket/prefix, locked with conditional writes) instead of .kubeaz/ beside the spec.',
  },
};

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  [k: string]: unknown;
};

/** Every field of the schema with its path (spec.nodeGroups[].name) and its JSON Schema node, in schema order. */
export function fieldsOf(schema: JsonSchema): Array<{ path: string; node: JsonSchema; required: boolean }> {
  const out: Array<{ path: string; node: JsonSchema; required: boolean }> = [];
  const walk = (n: JsonSchema, prefix: string) => {
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const p = prefix + k;
      out.push({ path: p, node: v, required: (n.required ?? []).includes(k) });
      walk(v, `${p}.`);
      if (v.items) walk(v.items, `${p}[].`);
    }
  };
  walk(schema, '');
  return out;
}

/** The JSON Schema of cluster.yaml (input side: fields with defaults are optional), with descriptions. */
export function specJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(clusterSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  for (const f of fieldsOf(schema)) {
    const doc = FIELD_DOCS[f.path];
    if (!doc) continue;
    f.node.description = doc.defaultRule ? `${doc.description} Default: ${doc.defaultRule.replace(/`/g, '')}.` : doc.description;
  }
  return {
    $schema: schema.$schema,
    title: 'kubeaz cluster spec (kubeaz/v1)',
    description: 'A kubeaz cluster: `kubeaz create -f cluster.yaml`.',
    ...schema,
  };
}

const typeOf = (n: JsonSchema): string => {
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum) return 'string';
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}`;
  if (n.type === 'object')
    return n.properties ? 'object' : `map of ${typeof n.additionalProperties === 'object' ? typeOf(n.additionalProperties) : 'values'}`;
  return String(n.type ?? 'any');
};

const allowed = (n: JsonSchema): string => {
  const parts: string[] = [];
  if (n.enum) parts.push(n.enum.map((v) => `\`${String(v)}\``).join(', '));
  if (n.const !== undefined) parts.push(`\`${String(n.const)}\``);
  if (n.pattern) parts.push(`matches \`${n.pattern}\``);
  const range = (lo?: number, hi?: number, unit = '') => {
    const big = (x?: number) => x === undefined || x >= Number.MAX_SAFE_INTEGER;
    if (lo !== undefined && !big(hi)) parts.push(`${lo}–${hi}${unit}`);
    else if (lo !== undefined && lo > 0) parts.push(`≥ ${lo}${unit}`);
    else if (!big(hi)) parts.push(`≤ ${hi}${unit}`);
  };
  if (n.type === 'integer' || n.type === 'number') range(n.minimum, n.maximum);
  if (n.type === 'array') range(n.minItems, n.maxItems, ' items');
  if (n.type === 'string' && !n.pattern) range(n.minLength, n.maxLength, ' characters');
  return parts.join('; ');
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/spec.md: every field with its type, required/default, allowed values, description, and the example. */
export function renderSpecReference(schema: JsonSchema, example: { file: string; text: string }): string {
  const rows = fieldsOf(schema).map(({ path, node, required }) => {
    const doc = FIELD_DOCS[path];
    const def =
      node.default !== undefined
        ? `\`${JSON.stringify(node.default)}\``
        : doc?.defaultRule
          ? doc.defaultRule
          : required
            ? '**required**'
            : '—';
    return `| \`${path}\` | ${cell(typeOf(node))} | ${cell(def)} | ${cell(allowed(node))} | ${cell(doc?.description ?? '')} |`;
  });
  return [
    '# Cluster spec reference',
    '',
    '<!-- Generated from the zod schema (src/spec/schema.ts, descriptions in src/spec/docs.ts) by `npm run docs`; a test fails when this file is stale. -->',
    '',
    'A cluster spec is a YAML file (`kubeaz validate -f cluster.yaml` checks it, reporting every problem with its line).',
    'Its JSON Schema is [`schema/cluster.schema.json`](../schema/cluster.schema.json) (also `kubeaz schema`): editors using the',
    'YAML language server complete and check a spec that starts with',
    '',
    '```yaml',
    '# yaml-language-server: $schema=<path or URL of schema/cluster.schema.json>',
    '```',
    '',
    'Unknown fields are errors. Cross-field rules (checked by `validate`, not expressible in the schema): zones belong',
    'to the region; the VPC CIDR holds a public and a private subnet per zone and does not overlap the pod or service',
    'ranges; `minSize ≤ desiredCapacity ≤ maxSize`; `elasticIps` and `publicRecord` only on loadbalancer groups;',
    '`publicRecord` needs `dns.publicDomain` and `elasticIps`; names are unique; the cluster id is at most 24 characters.',
    '',
    '| Field | Type | Default | Allowed | Description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `## Example (\`${example.file}\`)`,
    '',
    '```yaml',
    example.text.trimEnd(),
    '```',
    '',
  ].join('\n');
}
