/**
 * IRSA, pure parts: the spec rules, the graph (off: nothing of it; on: the discovery bucket, the two
 * documents, the provider, one role per service account trusting exactly it, the EBS CSI and
 * cluster-autoscaler statements off the master's role), the masters' IRSA settings in the agent
 * configuration and the add-ons' roles they give, the JWKS kid as kube-apiserver computes it.
 * What a master does with them (the apiserver patch, the webhook and its certificate, the
 * JoinConfiguration's patches) is the agent's: test/unit/agent/master-boot.test.ts and
 * master-renderers.test.ts; the issuer in the master's user data: test/unit/userdata.test.ts.
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { masterSettings } from '../../src/model/master-settings.js';
import { addonSteps } from '../../src/agent/master/addons.js';
import { parseAgentConfig } from '../../src/records/agent-config.js';
import { parseMasterSettings } from '../../src/records/master-settings.js';
import { discoveryDocument, jwksOf, keyIdOf } from '../../src/pki/jwks.js';
import type { AnyNode } from '../../src/model/types.js';
import { cloudControllerAndCsiStatements, clusterAutoscalerStatements, unlabelled } from '../../src/model/policies.js';

type St = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
/** A role's statements under one inline policy. */
const statementsOf = (nodes: AnyNode[], key: string, policy: string): St[] =>
  (nodes.find((n) => n.key === key)!.props as { policies: Record<string, { Statement: St[] }> }).policies[policy]!.Statement;
/** Statements as text without their Sids, to compare the master's (unlabelled) with the labelled ones. */
const bare = (sts: readonly St[]) => sts.map((x) => JSON.stringify(unlabelled(x)));

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(
  TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]),
);
const ACCOUNT = '123456789012';
const facts = { accountId: ACCOUNT, images: { x86_64: 'ami-0123456789abcdef0' }, templates };

const base = (iam?: ClusterSpecInput['spec']['iam']): ClusterSpecInput => ({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: {
    region: 'eu-west-1',
    zones: ['eu-west-1a', 'eu-west-1b'],
    kubernetesVersion: '1.33.2',
    network: { vpcCidr: '10.0.0.0/16' },
    controlPlane: { instanceType: 'm5.large' },
    nodeGroups: [{ name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3 }],
    ...(iam ? { iam } : {}),
  },
});
const ON = {
  serviceAccountIssuerDiscovery: { enabled: true },
  serviceAccounts: [{ namespace: 'apps', name: 'uploader', policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] }],
};
const ISSUER = `https://kubeaz-demo-dev-${ACCOUNT}-oidc.s3.eu-west-1.amazonaws.com`;
const HOST = new URL(ISSUER).host;
const issues = (input: ClusterSpecInput) => {
  const r = clusterSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const node = (nodes: AnyNode[], key: string) => nodes.find((n) => n.key === key)!;

describe('spec', () => {
  it('IRSA is off by default; serviceAccounts needs discovery on; Kubernetes names are checked; duplicates and add-on accounts refused', () => {
    expect(clusterSchema.parse(base()).spec.iam).toEqual({
      users: [],
      serviceAccountIssuerDiscovery: { enabled: false },
      serviceAccounts: [],
    });
    expect(issues(base(ON))).toEqual([]);
    expect(issues(base({ serviceAccounts: ON.serviceAccounts }))).toEqual([
      "spec.iam.serviceAccounts: serviceAccounts needs spec.iam.serviceAccountIssuerDiscovery.enabled: true (the roles trust the cluster's service-account issuer)",
    ]);
    const bad = issues(
      base({
        serviceAccountIssuerDiscovery: { enabled: true },
        serviceAccounts: [
          { namespace: 'Apps', name: 'a_b', policyArns: ['arn:aws:iam::aws:policy/X'] },
          { namespace: 'apps', name: 'x', policyArns: ['not-an-arn'] },
          { namespace: 'apps', name: 'x', policyArns: ['arn:aws:iam::aws:policy/X'] },
          { namespace: 'kube-system', name: 'ebs-csi-controller-sa', policyArns: ['arn:aws:iam::aws:policy/X'] },
        ],
      }),
    );
    expect(bad.some((m) => m.startsWith('spec.iam.serviceAccounts.0.namespace: namespace is not a valid Kubernetes namespace'))).toBe(true);
    expect(bad.some((m) => m.startsWith('spec.iam.serviceAccounts.0.name: name is not a valid Kubernetes service account name'))).toBe(
      true,
    );
    expect(bad.some((m) => m.startsWith('spec.iam.serviceAccounts.1.policyArns.0: must be an IAM policy ARN'))).toBe(true);
    expect(bad).toContain('spec.iam.serviceAccounts.2: service account apps/x is listed twice');
    expect(bad).toContain(
      "spec.iam.serviceAccounts.3: service account kube-system/ebs-csi-controller-sa is an add-on's: kubeaz gives it its own role",
    );
  });
});

describe('graph', () => {
  const off = deriveGraph(clusterSchema.parse(base()), facts).nodes;
  const on = deriveGraph(clusterSchema.parse(base(ON)), facts).nodes;

  it('off: no IRSA node, no IRSA variable; on: the discovery bucket, its two documents, the provider, three roles', () => {
    expect(
      off.filter(
        (n) =>
          ['discovery-bucket', 'oidc-provider'].includes(n.kind) || n.key.startsWith('role/irsa') || n.key.startsWith('object/discovery'),
      ),
    ).toEqual([]);
    // the masters' settings in agent/config.json: no IRSA off, the issuer and the add-ons' roles on
    const irsaOf = (nodes: AnyNode[]) => {
      const c = parseAgentConfig((node(nodes, 'object/agent/config.json').props as { body: string }).body);
      if (c instanceof Error) throw c;
      const ms = parseMasterSettings(c.master);
      if (ms instanceof Error) throw ms;
      return ms.irsa;
    };
    expect(irsaOf(off)).toBeUndefined();
    expect(irsaOf(on)).toEqual({
      serviceAccountIssuer: ISSUER,
      defaultServiceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      ebsCsiRoleArn: `arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-ebs-csi`,
      clusterAutoscalerRoleArn: `arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-cluster-autoscaler`,
    });
    // the roles the settings name are the roles the graph makes
    expect(node(on, 'role/irsa-ebs-csi').props as { name: string; path: string }).toMatchObject({
      name: 'demo-dev-irsa-ebs-csi',
      path: '/kubeaz/demo-dev/',
    });
    expect(node(on, 'role/irsa-cluster-autoscaler').props as { name: string; path: string }).toMatchObject({
      name: 'demo-dev-irsa-cluster-autoscaler',
      path: '/kubeaz/demo-dev/',
    });
    const added = on.filter((n) => !off.some((o) => o.key === n.key)).map((n) => n.key);
    expect(added.sort()).toEqual(
      [
        'bucket/discovery',
        'object/discovery/.well-known/openid-configuration',
        'object/discovery/openid/v1/jwks',
        'oidc-provider',
        'role/irsa-ebs-csi',
        'role/irsa-cluster-autoscaler',
        // the node termination handler's (a node group: the drain queue's handler; test/unit/nth.test.ts)
        'role/irsa-nth',
        'role/sa-apps.uploader',
        'object/bootstrap/master/addons/pod-identity-webhook.yaml',
      ].sort(),
    );
  });

  it('the discovery bucket allows anonymous GetObject of exactly the two documents; the discovery document names the issuer', () => {
    const b = node(on, 'bucket/discovery');
    expect(b.props).toMatchObject({ name: `kubeaz-demo-dev-${ACCOUNT}-oidc` });
    expect(JSON.parse((b.props as { policy: string }).policy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicReadOfIssuerDiscovery',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: [
            `arn:aws:s3:::kubeaz-demo-dev-${ACCOUNT}-oidc/.well-known/openid-configuration`,
            `arn:aws:s3:::kubeaz-demo-dev-${ACCOUNT}-oidc/openid/v1/jwks`,
          ],
        },
      ],
    });
    expect(JSON.parse((node(on, 'object/discovery/.well-known/openid-configuration').props as { body: string }).body).issuer).toBe(ISSUER);
    expect(node(on, 'object/discovery/openid/v1/jwks').props).toMatchObject({ body: { $ref: 'pki', attr: 'jwks' } });
    expect(node(on, 'oidc-provider').props).toEqual({ url: ISSUER, clientIds: ['sts.amazonaws.com'] });
  });

  it('each role trusts exactly one service account through the provider; the user role carries its managed policies', () => {
    const subOf = (key: string) => {
      const t = (
        node(on, key).props as { trust: { Statement: Array<{ Principal: unknown; Condition: { StringEquals: Record<string, string> } }> } }
      ).trust;
      expect(t.Statement).toHaveLength(1);
      expect(t.Statement[0]!.Principal).toEqual({ Federated: { $ref: 'oidc-provider', attr: 'arn' } });
      expect(Object.keys(t.Statement[0]!.Condition.StringEquals).sort()).toEqual([`${HOST}:aud`, `${HOST}:sub`]);
      expect(t.Statement[0]!.Condition.StringEquals[`${HOST}:aud`]).toBe('sts.amazonaws.com');
      return t.Statement[0]!.Condition.StringEquals[`${HOST}:sub`];
    };
    expect(subOf('role/irsa-ebs-csi')).toBe('system:serviceaccount:kube-system:ebs-csi-controller-sa');
    expect(subOf('role/irsa-cluster-autoscaler')).toBe('system:serviceaccount:kube-system:cluster-autoscaler');
    expect(subOf('role/sa-apps.uploader')).toBe('system:serviceaccount:apps:uploader');
    expect(node(on, 'role/sa-apps.uploader').props).toMatchObject({
      name: 'demo-dev-sa-apps.uploader',
      path: '/kubeaz/demo-dev/',
      managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'],
      policies: {},
    });
  });

  it("a service account whose role name would pass IAM's 64 characters gets a hashed, still distinct name", () => {
    const long = 'a'.repeat(60);
    const g = deriveGraph(
      clusterSchema.parse(
        base({
          serviceAccountIssuerDiscovery: { enabled: true },
          serviceAccounts: [
            { namespace: 'apps', name: long, policyArns: ['arn:aws:iam::aws:policy/X'] },
            { namespace: 'apps', name: `${long}b`, policyArns: ['arn:aws:iam::aws:policy/X'] },
          ],
        }),
      ),
      facts,
    ).nodes;
    const names = g.filter((n) => n.key.startsWith('role/sa-')).map((n) => (n.props as { name: string }).name);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
  });

  it('least privilege: with IRSA the master role loses the EBS CSI statements, which the CSI role has; without, the master keeps them', () => {
    // the master's document carries no Sids (IAM's 10,240 characters): statements are compared without them
    const csiRole = statementsOf(on, 'role/irsa-ebs-csi', 'kubeaz-ebs-csi');
    const csiOwn = bare(csiRole.filter((s) => s.Sid !== 'Describe'));
    expect(csiRole.filter((s) => s.Sid !== 'Describe').every((s) => s.Sid!.startsWith('Csi'))).toBe(true);
    expect(csiOwn.length).toBeGreaterThan(10);
    expect(bare(statementsOf(off, 'role/master', 'kubeaz-master'))).toEqual(expect.arrayContaining(csiOwn));
    expect(bare(statementsOf(on, 'role/master', 'kubeaz-master')).filter((x) => csiOwn.includes(x))).toEqual([]);
    const ec2Changes = cloudControllerAndCsiStatements('demo-dev', 'eu-west-1', ACCOUNT, { ccm: true, csi: false }).filter(
      (s) => s.Sid === 'ClusterEc2Changes',
    );
    expect(ec2Changes).toHaveLength(1);
    expect(bare(statementsOf(on, 'role/master', 'kubeaz-master'))).toEqual(expect.arrayContaining(bare(ec2Changes)));
    expect(bare(csiRole)).not.toEqual(expect.arrayContaining(bare(ec2Changes)));
  });
});

describe('JWKS', () => {
  it("kid is base64url(SHA-256(PKIX DER)) — kube-apiserver's keyIDFromPublicKey — with RS256/sig and the key's modulus", () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256')
      .update(der)
      .digest()
      .toString('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    expect(keyIdOf(pem)).toBe(expected);
    const jwks = JSON.parse(jwksOf([pem])) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toEqual([
      { use: 'sig', kty: 'RSA', kid: expected, alg: 'RS256', n: (publicKey.export({ format: 'jwk' }) as { n: string }).n, e: 'AQAB' },
    ]);
    // the JWK is the same key
    expect(
      createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' })
        .export({ type: 'spki', format: 'der' })
        .equals(der),
    ).toBe(true);
    expect(JSON.parse(discoveryDocument('https://x.example'))).toEqual({
      issuer: 'https://x.example',
      jwks_uri: 'https://x.example/openid/v1/jwks',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });
});

describe('IRSA with the other capabilities (HA masters, the cluster-autoscaler)', () => {
  const ha = clusterSchema.parse({
    ...base(ON),
    spec: { ...base(ON).spec, zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], controlPlane: { instanceType: 'm5.large', count: 3 } },
  });

  it('the cluster-autoscaler: with IRSA its service account carries its role and it leaves the host network; its statements leave the master role for that role', () => {
    const ms = masterSettings(ha, naming(ha), ACCOUNT);
    expect(ms.controlPlaneCount).toBe(3);
    expect(ms.irsa!.clusterAutoscalerRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-cluster-autoscaler`);
    const steps = (irsa: boolean) =>
      addonSteps({
        clusterId: 'demo-dev',
        region: 'eu-west-1',
        masterDns: ms.masterDns,
        adminKubeconfig: '/etc/kubernetes/admin.conf',
        versions: ms.addons,
        storageClassFile: '/opt/kubeaz/addons/storageclass.yaml',
        ...(irsa
          ? {
              irsa: {
                webhookManifestFile: '/w.yaml',
                webhookSecretFile: '/s.yaml',
                ebsCsiRoleArn: ms.irsa!.ebsCsiRoleArn,
                clusterAutoscalerRoleArn: ms.irsa!.clusterAutoscalerRoleArn,
              },
            }
          : {}),
      });
    const ca = (irsa: boolean) =>
      steps(irsa)
        .find((x) => x.name === 'cluster-autoscaler')!
        .run[0]!.args.join(' ');
    expect(ca(true)).toContain('--set rbac.serviceAccount.name=cluster-autoscaler');
    expect(ca(true)).toContain(
      `--set-string rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${ms.irsa!.clusterAutoscalerRoleArn}`,
    );
    expect(ca(true)).toContain('--set hostNetwork=false');
    expect(ca(false)).toContain('--set hostNetwork=true');
    expect(ca(false)).not.toContain('role-arn');
    const graph = (on: boolean) => deriveGraph(clusterSchema.parse(base(on ? ON : undefined)), facts).nodes;
    const autoscaler = bare(clusterAutoscalerStatements('demo-dev'));
    expect(autoscaler).toHaveLength(2);
    expect(bare(statementsOf(graph(false), 'role/master', 'kubeaz-master'))).toEqual(expect.arrayContaining(autoscaler));
    expect(bare(statementsOf(graph(true), 'role/master', 'kubeaz-master')).filter((x) => autoscaler.includes(x))).toEqual([]);
    expect(statementsOf(graph(true), 'role/irsa-cluster-autoscaler', 'kubeaz-cluster-autoscaler').map((x) => x.Sid)).toEqual([
      'AutoscalerDescribe',
      'AutoscalerScaleOwnGroups',
    ]);
  });
});
