/** Storage and PKI: the cluster's bucket, the agent and what it reads in it, the CAs and service-account keys. */
import { clusterVars, irsaSettings } from '../bootstrap.js';
import { addonManifestFiles } from '../addon-manifests.js';
import { masterSettings } from '../master-settings.js';
import { AGENT_CONFIG_OBJECT, agentBundleKey, agentConfigDoc, renderAgentConfig, UNBUILT_AGENT } from '../agent.js';
import { encryptionKeyNames } from '../encryption.js';
import { tlsOnlyPolicy } from '../policies.js';
import type { LifecycleRule, Ref } from '../types.js';
import { irsaGrantsOf, type Area } from './builder.js';

/**
 * The bucket is versioned, so pruning a snapshot only puts a delete marker on it: without these
 * rules every snapshot ever taken stays as a noncurrent version (and is billed). Noncurrent
 * versions under etcd/ go one day after they were pruned or replaced (a day to undo a mistaken
 * prune), then the delete markers left hiding nothing; an upload that died half-way (multipart)
 * is aborted after a day anywhere in the bucket.
 */
export const BUCKET_LIFECYCLE: LifecycleRule[] = [
  { id: 'kubeaz-etcd-noncurrent', prefix: 'etcd/', noncurrentDays: 1, expiredDeleteMarkers: true },
  { id: 'kubeaz-abort-incomplete-uploads', prefix: '', abortIncompleteMultipartDays: 1 },
];

export interface Storage {
  bucketArn: string;
  /** the cluster's variables of user data (model/bootstrap.ts clusterVars) */
  vars: Record<string, string>;
  /** keys of the agent's objects and the add-on manifests: instances fetch them at boot */
  objectKeys: string[];
  /** the agent bundle's object key and SHA-256 (user data fetches and checks it) */
  agent: { key: string; sha256: string };
}

export function storage({ spec, s, id, names, facts, b }: Area): Storage {
  const bucketName = names.bucket(facts.accountId);
  const bucketArn = `arn:aws:s3:::${bucketName}`;
  const bucket: Ref = b.add('bucket', 'bucket', bucketName, {
    name: bucketName,
    policy: JSON.stringify(tlsOnlyPolicy(bucketArn)),
    lifecycle: BUCKET_LIFECYCLE,
  });
  const vars = clusterVars(spec, names, bucketName, facts.accountId);
  const objectKeys: string[] = [];
  // the add-on manifests the master that installs the add-ons applies (rendered here, not on the instance)
  // Switching IRSA off: the webhook's manifest stays, like the IRSA roles, until every master runs a
  // version rendered with IRSA off (model/irsa-switch.ts) — a master still on IRSA reads it to reinstall.
  const grants = irsaGrantsOf({ s, facts });
  const on = {
    ...spec,
    spec: { ...s, iam: { ...s.iam, serviceAccountIssuerDiscovery: { ...s.iam.serviceAccountIssuerDiscovery, enabled: true } } },
  };
  const webhookImage = irsaSettings(!grants.irsa && grants.irsaResources ? on : spec, names, facts.accountId)?.podIdentityWebhookImage;
  for (const f of addonManifestFiles(vars.CLUSTER_ID!, spec.spec.region, webhookImage)) {
    const key = `object/${f.key}`;
    objectKeys.push(key);
    b.add('bucket-object', key, f.key, { bucket, objectKey: f.key, body: f.body, contentType: f.contentType });
  }
  // The node agent: its bundle under its own hash (a new build is a new object and a new launch
  // template version; the old one stays until `create --allow-delete`), and its configuration.
  const bundle = facts.agent ?? UNBUILT_AGENT;
  const agentKey = agentBundleKey(bundle.sha256);
  for (const [objectKey, body, contentType] of [
    [agentKey, bundle.body, 'text/javascript'],
    [
      AGENT_CONFIG_OBJECT,
      renderAgentConfig(agentConfigDoc(spec, names, bucketName, masterSettings(spec, names, facts.accountId))),
      'application/json',
    ],
  ] as const) {
    objectKeys.push(`object/${objectKey}`);
    b.add('bucket-object', `object/${objectKey}`, objectKey, { bucket, objectKey, body, contentType });
  }
  // The CAs and service-account keys: generated once by create, kept in pki/ (src/resources/pki.ts).
  // The aescbc keys of Secrets at rest too, by name only (model/encryption.ts).
  b.add('pki', 'pki', `${id}-pki`, { bucket, encryptionKeys: encryptionKeyNames(spec) });
  return { bucketArn, vars, objectKeys, agent: { key: agentKey, sha256: bundle.sha256 } };
}
