/** The master's part of the agent configuration: what the model derives from a spec, the schema the agent reads it with. */
import { encryptionSettings } from '../../../src/model/encryption.js';
import { readFileSync } from 'node:fs';
import { deriveGraph } from '../../../src/model/derive.js';
import { TEMPLATE_NAMES } from '../../../src/model/bootstrap.js';
import { parseAgentConfig } from '../../../src/records/agent-config.js';
import { describe, expect, it } from 'vitest';
import { masterSettings } from '../../../src/model/master-settings.js';
import { naming } from '../../../src/model/names.js';
import { parseMasterSettings } from '../../../src/records/master-settings.js';
import { parseSpec } from '../../../src/spec/load.js';
import { POD_CIDR, SERVICE_CIDR } from '../../../src/spec/cidr.js';
import { addonsFor, helmFor } from '../../../src/spec/versions.js';
import { withPublicDomain } from '../../helpers/example.js';

const example = readFileSync(new URL('../../../cluster.example.yaml', import.meta.url), 'utf8'); // no publicDomain
const NOW = new Date('2026-12-05T12:00:00Z');

describe('master settings', () => {
  it('the example spec: one master, its DNS name and SANs, backup timing, the add-on row of its minor; the agent reads it back', () => {
    const spec = parseSpec(example, 'cluster.example.yaml', NOW).spec;
    const names = naming(spec);
    const ms = masterSettings(spec, names, '123456789012');
    expect(ms.controlPlaneCount).toBe(spec.spec.controlPlane.count);
    expect(ms.masterDns).toBe(`master.${names.internalDomain}`);
    expect(ms.apiCertSans).toEqual([ms.masterDns]); // no public domain: the internal name is the one SAN
    expect(ms.backupIntervalMinutes).toBe(spec.spec.etcd.backupIntervalMinutes);
    expect(ms.helmVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ms.irsa).toBeUndefined();
    expect(parseMasterSettings(JSON.parse(JSON.stringify(ms)))).toEqual(ms);
  });

  it('what cluster.env gave the bootstrap scripts is in agent/config.json: version, CIDRs, master DNS and SANs, count, backup timing, the add-on row, IRSA', () => {
    const text = withPublicDomain(example)
      .replace('  controlPlane:\n', '  controlPlane:\n    count: 3\n')
      .replace('  iam:\n', '  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n')
      .replace('backupIntervalMinutes: 15', 'backupIntervalMinutes: 20')
      .replace('backupRetentionDays: 7', 'backupRetentionDays: 30');
    const spec = parseSpec(text, 'cluster.yaml', NOW).spec;
    const names = naming(spec);
    const templates = Object.fromEntries(
      TEMPLATE_NAMES.map((t) => [t, readFileSync(new URL(`../../../templates/${t}`, import.meta.url), 'utf8')]),
    );
    const g = deriveGraph(spec, { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates });
    const config = parseAgentConfig((g.nodes.find((n) => n.key === 'object/agent/config.json')!.props as { body: string }).body);
    if (config instanceof Error) throw config;
    // KUBERNETES_VERSION, POD_CIDR, SERVICE_CIDR, VPC_CIDR, INTERNAL_DOMAIN, MASTER_DNS
    expect(config).toMatchObject({
      clusterId: 'demo-dev',
      region: 'us-east-1',
      kubernetesVersion: spec.spec.kubernetesVersion,
      podCidr: POD_CIDR,
      serviceCidr: SERVICE_CIDR,
      vpcCidr: '10.0.0.0/16',
      internalDomain: names.internalDomain,
      apiEndpoint: `master.${names.internalDomain}:443`,
    });
    const ms = parseMasterSettings(config.master);
    if (ms instanceof Error) throw ms;
    const row = addonsFor(spec.spec.kubernetesVersion).addons;
    expect(ms).toEqual({
      controlPlaneCount: 3, // CONTROL_PLANE_COUNT
      masterDns: `master.${names.internalDomain}`, // MASTER_DNS
      apiCertSans: [`master.${names.internalDomain}`, 'master.dev.example.com'], // API_CERT_SANS: a public domain with a public API
      backupIntervalMinutes: 20, // ETCD_BACKUP_INTERVAL_MINUTES
      backupRetentionDays: 30, // ETCD_BACKUP_RETENTION_DAYS
      helmVersion: helmFor(spec.spec.kubernetesVersion),
      addons: {
        cilium: row.cilium.chart,
        awsCcmChart: row.awsCloudControllerManager.chart,
        awsCcmImage: row.awsCloudControllerManager.image,
        ebsCsiChart: row.awsEbsCsiDriver.chart,
        clusterAutoscalerChart: row.clusterAutoscaler.chart,
        clusterAutoscalerImage: row.clusterAutoscaler.image,
        nthChart: row.awsNodeTerminationHandler.chart,
      },
      // Secrets encrypted at rest: the default aescbc configuration, its key by reference (test/unit/encryption.test.ts)
      encryption: encryptionSettings(spec),
      // the node termination handler in queue-processor mode on the drain queue, with its own role (test/unit/nth.test.ts)
      nth: {
        queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/demo-dev-drain',
        roleArn: 'arn:aws:iam::123456789012:role/kubeaz/demo-dev/demo-dev-irsa-nth',
      },
      irsa: {
        serviceAccountIssuer: 'https://kubeaz-demo-dev-123456789012-oidc.s3.us-east-1.amazonaws.com', // SERVICE_ACCOUNT_ISSUER
        defaultServiceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
        ebsCsiRoleArn: 'arn:aws:iam::123456789012:role/kubeaz/demo-dev/demo-dev-irsa-ebs-csi', // EBS_CSI_ROLE_ARN
        clusterAutoscalerRoleArn: 'arn:aws:iam::123456789012:role/kubeaz/demo-dev/demo-dev-irsa-cluster-autoscaler', // CLUSTER_AUTOSCALER_ROLE_ARN
      },
    });
    // no public API: the public name is not a SAN
    const closed = parseSpec(text.replace('apiAccess: [0.0.0.0/0]', 'apiAccess: []'), 'cluster.yaml', NOW).spec;
    expect(masterSettings(closed, naming(closed), '123456789012').apiCertSans).toEqual([`master.${names.internalDomain}`]);
  });

  it('refuses a configuration without master settings or with a wrong field, saying which', () => {
    expect((parseMasterSettings(undefined) as Error).message).toMatch(/no master settings/);
    expect((parseMasterSettings({ controlPlaneCount: 0 }) as Error).message).toMatch(/master\.controlPlaneCount/);
  });

  it('create puts them in agent/config.json: the agent reads the document, then its master settings', () => {
    const spec = parseSpec(example, 'cluster.example.yaml', NOW).spec;
    const templates = Object.fromEntries(
      TEMPLATE_NAMES.map((t) => [t, readFileSync(new URL(`../../../templates/${t}`, import.meta.url), 'utf8')]),
    );
    const g = deriveGraph(spec, { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates });
    const node = g.nodes.find((n) => n.key === 'object/agent/config.json')!;
    const config = parseAgentConfig((node.props as { body: string }).body);
    if (config instanceof Error) throw config;
    expect(parseMasterSettings(config.master)).toEqual(masterSettings(spec, naming(spec), '123456789012'));
  });
});
