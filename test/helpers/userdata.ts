/**
 * The user data of every role, rendered once for test/unit/userdata.test.ts (what it says) and
 * test/integration/userdata.test.ts (shellcheck and bash run it). Pure: renders, starts nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { agentBundleKey, agentBundleOf } from '../../src/model/agent.js';
import { TEMPLATE_NAMES, clusterVars, renderUserData } from '../../src/model/bootstrap.js';
import { naming } from '../../src/model/names.js';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';

export const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
export const templates: Record<string, string> = Object.fromEntries(
  TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]),
);
export const ACCOUNT = '123456789012';

export const input = (irsa: boolean): ClusterSpecInput => ({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: {
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    kubernetesVersion: '1.31.4',
    network: { vpcCidr: '10.0.0.0/16' },
    dns: { publicDomain: 'example.com' },
    controlPlane: { instanceType: 'm6g.large' },
    nodeGroups: [
      {
        name: 'workers',
        instanceType: 'm5.large',
        minSize: 1,
        maxSize: 3,
        labels: { tier: 'apps' },
        taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }],
      },
      { name: 'edge', role: 'loadbalancer', instanceType: 't3.medium', minSize: 2, maxSize: 2, elasticIps: 2, publicRecord: 'lb' },
    ],
    ...(irsa ? { iam: { serviceAccountIssuerDiscovery: { enabled: true } } } : {}),
  },
});
export const spec = clusterSchema.parse(input(false));
export const specOn = clusterSchema.parse(input(true));
export const names = naming(spec);
export const BUCKET = names.bucket(ACCOUNT);
export const ISSUER = `https://kubeaz-demo-dev-${ACCOUNT}-oidc.s3.us-east-1.amazonaws.com`;
export const vars = clusterVars(spec, names, BUCKET, ACCOUNT);
export const varsOn = clusterVars(specOn, naming(specOn), BUCKET, ACCOUNT);
/** the agent every user data below names (its key and SHA-256) */
export const AGENT = agentBundleOf('// the kubeaz agent of this test\n');
export const agentRef = { key: agentBundleKey(AGENT.sha256), sha256: AGENT.sha256 };
// the labels and taints the model gives each role (src/model/areas/compute.ts)
export const MASTER_LABELS = { 'kubeaz.io/role': 'master' };
export const WORKER_LABELS = { 'kubeaz.io/role': 'node', tier: 'apps' };
export const WORKER_TAINTS = spec.spec.nodeGroups[0]!.taints;
export const userData = {
  master: renderUserData(templates, vars, 'master', 'master', MASTER_LABELS, [], agentRef),
  'master-irsa': renderUserData(templates, varsOn, 'master', 'master', MASTER_LABELS, [], agentRef),
  node: renderUserData(templates, vars, 'node', 'workers', WORKER_LABELS, WORKER_TAINTS, agentRef),
  'node-irsa': renderUserData(templates, varsOn, 'node', 'workers', WORKER_LABELS, WORKER_TAINTS, agentRef),
  loadbalancer: renderUserData(templates, vars, 'loadbalancer', 'edge', { 'kubeaz.io/role': 'loadbalancer' }, [], agentRef, 2),
};
/** the group settings each user data passes to the agent (records/agent-config.ts GroupSettings), as its JSON */
export const SETTINGS = {
  master: '{"elasticIps":0,"labels":{"kubeaz.io/role":"master"},"role":"master","taints":[]}',
  workers:
    '{"elasticIps":0,"labels":{"kubeaz.io/role":"node","tier":"apps"},"role":"node","taints":[{"effect":"NoSchedule","key":"dedicated","value":"apps"}]}',
  edge: '{"elasticIps":2,"labels":{"kubeaz.io/role":"loadbalancer"},"role":"loadbalancer","taints":[]}',
};
