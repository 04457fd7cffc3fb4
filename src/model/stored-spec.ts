/**
 * The spec a cluster was last created from, kept with the cluster in its bucket (as kops keeps its
 * cluster spec in its state store): `spec/cluster.yaml`, written by `create` as one of kubeaz's
 * bucket objects, kept by `destroy` beside the etcd snapshots and pki/ while the backups are kept,
 * and printed back by `kubeaz get-spec NAME-ENV`. A lost spec file is then no lost handle.
 *
 * The document is the parsed spec with its defaults written out (spec/document.ts), not the file's
 * text: a comment or a reordering changes nothing in AWS, and parsing it gives the same cluster.
 * The spec holds no secret: encryption keys are named, never carried (pki/encryption/<name>), a
 * KMS key by its ARN, the SSH key pair by its name. PURE.
 */
import { stringify } from 'yaml';
import { specDocument } from '../spec/document.js';
import { clusterIdOf, type ClusterSpec } from '../spec/schema.js';

/** Where in the cluster's bucket the spec lives (a kubeaz prefix: destroy keeps it with the backups). */
export const SPEC_PREFIX = 'spec/';
export const SPEC_OBJECT = `${SPEC_PREFIX}cluster.yaml`;
export const SPEC_CONTENT_TYPE = 'application/yaml';

/** The object's text: a comment saying what it is, then the spec as a document. */
export function storedSpecText(spec: ClusterSpec): string {
  const id = clusterIdOf(spec);
  const head = [
    `# The spec cluster ${id} was last created from, with kubeaz's defaults written out`,
    `# (kept by kubeaz create in the cluster's bucket; kubeaz get-spec ${id} prints it).`,
  ];
  return `${head.join('\n')}\n${stringify(specDocument(spec), { lineWidth: 0 })}`;
}
