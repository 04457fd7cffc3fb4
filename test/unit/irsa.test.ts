/**
 * IRSA, pure parts and rendered scripts: the spec rules, the graph (off: nothing of it; on: the
 * discovery bucket, the two documents, the provider, one role per service account trusting exactly
 * it, the EBS CSI statements off the master's role), the JWKS kid as kube-apiserver computes it,
 * and irsa.sh run for real in bash: the apiserver patch (new issuer first, the old one kept, the
 * default audience kept), the webhook's serving certificate made with openssl from the CA and
 * chaining to it, its manifests (caBundle = the CA, no host network), shellcheck.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { clusterVars, renderBootstrapFiles, renderUserData, TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { discoveryDocument, jwksOf, keyIdOf } from '../../src/pki/jwks.js';
import type { AnyNode } from '../../src/model/types.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]));
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
const ON = { serviceAccountIssuerDiscovery: { enabled: true }, serviceAccounts: [{ namespace: 'apps', name: 'uploader', policyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] }] };
const ISSUER = `https://kubeaz-demo-dev-${ACCOUNT}-oidc.s3.eu-west-1.amazonaws.com`;
const HOST = new URL(ISSUER).host;
const issues = (input: ClusterSpecInput) => {
  const r = clusterSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const node = (nodes: AnyNode[], key: string) => nodes.find((n) => n.key === key)!;

describe('spec', () => {
  it('IRSA is off by default; serviceAccounts needs discovery on; Kubernetes names are checked; duplicates and add-on accounts refused', () => {
    expect(clusterSchema.parse(base()).spec.iam).toEqual({ users: [], serviceAccountIssuerDiscovery: { enabled: false }, serviceAccounts: [] });
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
    expect(bad.some((m) => m.startsWith('spec.iam.serviceAccounts.0.name: name is not a valid Kubernetes service account name'))).toBe(true);
    expect(bad.some((m) => m.startsWith('spec.iam.serviceAccounts.1.policyArns.0: must be an IAM policy ARN'))).toBe(true);
    expect(bad).toContain('spec.iam.serviceAccounts.2: service account apps/x is listed twice');
    expect(bad).toContain("spec.iam.serviceAccounts.3: service account kube-system/ebs-csi-controller-sa is an add-on's: kubeaz gives it its own role");
  });
});

describe('graph', () => {
  const off = deriveGraph(clusterSchema.parse(base()), facts).nodes;
  const on = deriveGraph(clusterSchema.parse(base(ON)), facts).nodes;

  it('off: no IRSA node, no IRSA variable; on: the discovery bucket, its two documents, the provider, three roles', () => {
    expect(off.filter((n) => ['discovery-bucket', 'oidc-provider'].includes(n.kind) || n.key.startsWith('role/irsa') || n.key.startsWith('object/discovery'))).toEqual([]);
    expect((node(off, 'object/bootstrap/common/cluster.env').props as { body: string }).body).not.toContain('SERVICE_ACCOUNT_ISSUER');
    const added = on.filter((n) => !off.some((o) => o.key === n.key)).map((n) => n.key);
    expect(added.sort()).toEqual(
      [
        'bucket/discovery',
        'object/discovery/.well-known/openid-configuration',
        'object/discovery/openid/v1/jwks',
        'oidc-provider',
        'role/irsa-ebs-csi',
        'role/irsa-cluster-autoscaler',
        'role/sa-apps.uploader',
        'object/bootstrap/master/irsa.sh',
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
          Resource: [`arn:aws:s3:::kubeaz-demo-dev-${ACCOUNT}-oidc/.well-known/openid-configuration`, `arn:aws:s3:::kubeaz-demo-dev-${ACCOUNT}-oidc/openid/v1/jwks`],
        },
      ],
    });
    expect(JSON.parse((node(on, 'object/discovery/.well-known/openid-configuration').props as { body: string }).body).issuer).toBe(ISSUER);
    expect(node(on, 'object/discovery/openid/v1/jwks').props).toMatchObject({ body: { $ref: 'pki', attr: 'jwks' } });
    expect(node(on, 'oidc-provider').props).toEqual({ url: ISSUER, clientIds: ['sts.amazonaws.com'] });
  });

  it('each role trusts exactly one service account through the provider; the user role carries its managed policies', () => {
    const subOf = (key: string) => {
      const t = (node(on, key).props as { trust: { Statement: Array<{ Principal: unknown; Condition: { StringEquals: Record<string, string> } }> } }).trust;
      expect(t.Statement).toHaveLength(1);
      expect(t.Statement[0]!.Principal).toEqual({ Federated: { $ref: 'oidc-provider', attr: 'arn' } });
      expect(Object.keys(t.Statement[0]!.Condition.StringEquals).sort()).toEqual([`${HOST}:aud`, `${HOST}:sub`]);
      expect(t.Statement[0]!.Condition.StringEquals[`${HOST}:aud`]).toBe('sts.amazonaws.com');
      return t.Statement[0]!.Condition.StringEquals[`${HOST}:sub`];
    };
    expect(subOf('role/irsa-ebs-csi')).toBe('system:serviceaccount:kube-system:ebs-csi-controller-sa');
    expect(subOf('role/irsa-cluster-autoscaler')).toBe('system:serviceaccount:kube-system:cluster-autoscaler');
    expect(subOf('role/sa-apps.uploader')).toBe('system:serviceaccount:apps:uploader');
    expect(node(on, 'role/sa-apps.uploader').props).toMatchObject({ name: 'demo-dev-sa-apps.uploader', path: '/kubeaz/demo-dev/', managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'], policies: {} });
  });

  it('a service account whose role name would pass IAM\'s 64 characters gets a hashed, still distinct name', () => {
    const long = 'a'.repeat(60);
    const g = deriveGraph(clusterSchema.parse(base({ serviceAccountIssuerDiscovery: { enabled: true }, serviceAccounts: [
      { namespace: 'apps', name: long, policyArns: ['arn:aws:iam::aws:policy/X'] },
      { namespace: 'apps', name: `${long}b`, policyArns: ['arn:aws:iam::aws:policy/X'] },
    ] })), facts).nodes;
    const names = g.filter((n) => n.key.startsWith('role/sa-')).map((n) => (n.props as { name: string }).name);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
  });

  it('least privilege: with IRSA the master role loses the EBS CSI statements, which the CSI role has; without, the master keeps them', () => {
    const sids = (nodes: AnyNode[], key: string, policy: string) => ((node(nodes, key).props as { policies: Record<string, { Statement: Array<{ Sid?: string }> }> }).policies[policy]!.Statement.map((s) => s.Sid ?? ''));
    expect(sids(off, 'role/master', 'kubeaz-master').filter((s) => s.startsWith('Csi')).length).toBeGreaterThan(10);
    expect(sids(on, 'role/master', 'kubeaz-master').filter((s) => s.startsWith('Csi'))).toEqual([]);
    expect(sids(on, 'role/master', 'kubeaz-master')).toContain('ClusterEc2Changes');
    expect(sids(on, 'role/irsa-ebs-csi', 'kubeaz-ebs-csi')).toEqual(sids(off, 'role/master', 'kubeaz-master').filter((s) => s.startsWith('Csi') || s === 'Describe'));
  });
});

describe('JWKS', () => {
  it("kid is base64url(SHA-256(PKIX DER)) — kube-apiserver's keyIDFromPublicKey — with RS256/sig and the key's modulus", () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(der).digest().toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(keyIdOf(pem)).toBe(expected);
    const jwks = JSON.parse(jwksOf([pem])) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toEqual([{ use: 'sig', kty: 'RSA', kid: expected, alg: 'RS256', n: (publicKey.export({ format: 'jwk' }) as { n: string }).n, e: 'AQAB' }]);
    // the JWK is the same key
    expect(createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'der' }).equals(der)).toBe(true);
    expect(JSON.parse(discoveryDocument('https://x.example'))).toEqual({
      issuer: 'https://x.example',
      jwks_uri: 'https://x.example/openid/v1/jwks',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });
});

describe('rendered scripts', () => {
  const specOn = clusterSchema.parse(base(ON));
  const specOff = clusterSchema.parse(base());
  const names = naming(specOn);
  const vars = clusterVars(specOn, names, names.bucket(ACCOUNT), ACCOUNT);
  const files = renderBootstrapFiles(templates, vars);
  const body = (k: string) => files.find((f) => f.key === k)!.body;
  const offFiles = renderBootstrapFiles(templates, clusterVars(specOff, naming(specOff), naming(specOff).bucket(ACCOUNT), ACCOUNT));
  const master = renderUserData(templates, vars, 'master', 'master', {}, []);
  const worker = renderUserData(templates, vars, 'node', 'workers', {}, []);

  it('off: no hook text, no irsa.sh; on: master.sh sources irsa.sh, installs the webhook before the add-ons that use it, patches kubeadm', () => {
    expect(offFiles.map((f) => f.key)).not.toContain('bootstrap/master/irsa.sh');
    const offMaster = offFiles.find((f) => f.key === 'bootstrap/master/master.sh')!.body;
    expect(offMaster).not.toMatch(/irsa|patches:|pod-identity/);
    const m = body('bootstrap/master/master.sh');
    expect(m).toContain('. "$KUBEAZ_DIR/irsa.sh"\nFAILED_ADDONS=()');
    expect(m).toMatch(/addon cilium addon_cilium\n {2}addon pod-identity-webhook addon_pod_identity_webhook\n {2}addon aws-cloud-controller-manager/);
    expect(m).toContain('      effect: NoSchedule\npatches:\n  directory: $K8S_DIR/patches\n---');
    // before kubeadm init AND before an HA master's join: every master's kube-apiserver runs the same issuer flags
    expect(m).toContain('  write_kubeadm_config\n  write_apiserver_issuer_patch\n  if [ "$HA_ACTION" = join ]; then\n    ha_join\n  else\n    kubeadm init');
    expect(body('bootstrap/common/cluster.env')).toContain(`SERVICE_ACCOUNT_ISSUER='${ISSUER}'`);
    expect(body('bootstrap/common/cluster.env')).toContain(`EBS_CSI_ROLE_ARN='arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-ebs-csi'`);
    expect(body('bootstrap/common/cluster.env')).not.toMatch(/^HOOK_/m);
    expect(master).toContain(`export SERVICE_ACCOUNT_ISSUER='${ISSUER}'\n`);
    expect(worker).not.toContain('SERVICE_ACCOUNT_ISSUER');
  });

  /** irsa.sh's functions run in bash with the cluster.env variables, in a sandbox with a real CA made by openssl. */
  function runIrsa(fn: string): { dir: string; out: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-irsa-'));
    const pki = path.join(dir, 'pki');
    fs.mkdirSync(pki);
    const ca = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(pki, 'ca.key'), '-out', path.join(pki, 'ca.crt'), '-subj', '/CN=kubernetes', '-days', '30'], { encoding: 'utf8' });
    expect(ca.status, ca.stderr).toBe(0);
    fs.writeFileSync(path.join(dir, 'irsa.sh'), body('bootstrap/master/irsa.sh'));
    const env = { PATH: process.env.PATH!, K8S_DIR: dir, PKI_DIR: pki, REGION: 'eu-west-1', SERVICE_ACCOUNT_ISSUER: ISSUER, DEFAULT_SERVICE_ACCOUNT_ISSUER: vars.DEFAULT_SERVICE_ACCOUNT_ISSUER!, POD_IDENTITY_WEBHOOK_IMAGE: vars.POD_IDENTITY_WEBHOOK_IMAGE! };
    const r = spawnSync('bash', ['-c', `set -euo pipefail; . "${dir}/irsa.sh"; ${fn}`], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    return { dir, out: r.stdout };
  }

  it('the apiserver patch: the new issuer first, kubeadm\'s default issuer kept after it, the JWKS URI, the default audience', () => {
    const { dir } = runIrsa('write_apiserver_issuer_patch');
    const patch = JSON.parse(fs.readFileSync(path.join(dir, 'patches', 'kube-apiserver0+json.json'), 'utf8')) as Array<{ op: string; path: string; value: string }>;
    // applied to the command kubeadm writes (its flags sorted, the default issuer among them)
    const command = ['kube-apiserver', '--advertise-address=10.0.0.5', '--service-account-issuer=https://kubernetes.default.svc.cluster.local', '--service-account-key-file=/etc/kubernetes/pki/sa.pub', '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key'];
    for (const p of patch) {
      expect(p.op).toBe('add');
      const at = p.path.replace('/spec/containers/0/command/', '');
      if (at === '-') command.push(p.value);
      else command.splice(Number(at), 0, p.value);
    }
    const issuers = command.filter((c) => c.startsWith('--service-account-issuer='));
    expect(issuers).toEqual([`--service-account-issuer=${ISSUER}`, '--service-account-issuer=https://kubernetes.default.svc.cluster.local']);
    expect(command[1]).toBe(`--service-account-issuer=${ISSUER}`);
    expect(command).toContain(`--service-account-jwks-uri=${ISSUER}/openid/v1/jwks`);
    expect(command).toContain('--api-audiences=https://kubernetes.default.svc.cluster.local');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the webhook: its serving certificate chains to the cluster CA with the Service names; caBundle is the CA; no host network', () => {
    const { dir, out } = runIrsa('webhook_certificate && render_pod_identity_webhook');
    const wdir = path.join(dir, 'pod-identity-webhook');
    const verify = spawnSync('openssl', ['verify', '-CAfile', path.join(dir, 'pki', 'ca.crt'), path.join(wdir, 'tls.crt')], { encoding: 'utf8' });
    expect(verify.stdout.trim()).toBe(`${path.join(wdir, 'tls.crt')}: OK`);
    const text = spawnSync('openssl', ['x509', '-in', path.join(wdir, 'tls.crt'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    expect(text).toContain('DNS:pod-identity-webhook.kube-system.svc');
    expect(text).toContain('TLS Web Server Authentication');
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service', 'MutatingWebhookConfiguration']);
    const hook = docs[5]!.webhooks[0];
    expect(Buffer.from(hook.clientConfig.caBundle, 'base64').toString()).toBe(fs.readFileSync(path.join(dir, 'pki', 'ca.crt'), 'utf8'));
    expect(hook.clientConfig.service).toEqual({ name: 'pod-identity-webhook', namespace: 'kube-system', path: '/mutate' });
    const pod = docs[3]!.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.containers[0].image).toBe(vars.POD_IDENTITY_WEBHOOK_IMAGE);
    expect(pod.containers[0].command).toEqual(expect.arrayContaining(['--token-audience=sts.amazonaws.com', '--annotation-prefix=eks.amazonaws.com', '--aws-default-region=eu-west-1']));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the EBS CSI controller: its service account annotated with its role, host network undone; master.sh\'s own keeps it (IRSA off)', () => {
    const irsa = body('bootstrap/master/irsa.sh');
    const ebs = irsa.slice(irsa.indexOf('addon_ebs_csi()'));
    expect(ebs).toContain('--set-string "controller.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=$EBS_CSI_ROLE_ARN"');
    expect(ebs).toContain('"hostNetwork":false');
    expect(ebs).not.toContain('"hostNetwork":true');
    const offMaster = offFiles.find((f) => f.key === 'bootstrap/master/master.sh')!.body;
    expect(offMaster).toContain('"hostNetwork":true');
  });

  it.skipIf(spawnSync('shellcheck', ['--version']).status !== 0)('irsa.sh, master.sh and the master user data with IRSA on pass shellcheck', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-sc-'));
    try {
      for (const [name, text] of [['irsa.sh', body('bootstrap/master/irsa.sh')], ['master.sh', body('bootstrap/master/master.sh')], ['userdata.sh', master]] as const) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        const r = spawnSync('shellcheck', ['--shell=bash', file], { encoding: 'utf8' });
        expect(r.stdout + r.stderr, name).toBe('');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IRSA with the other capabilities (HA masters, the cluster-autoscaler)', () => {
  const ha = clusterSchema.parse({ ...base(ON), spec: { ...base(ON).spec, zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], controlPlane: { instanceType: 'm5.large', count: 3 } } });
  const names = naming(ha);
  const files = renderBootstrapFiles(templates, clusterVars(ha, names, names.bucket(ACCOUNT), ACCOUNT));
  const body = (k: string) => files.find((f) => f.key === k)!.body;

  it("a joining master's JoinConfiguration carries the patches directory, so its kube-apiserver gets the issuer flags too", () => {
    const membership = body('bootstrap/master/etcd-membership.sh');
    const join = membership.slice(membership.indexOf('kind: JoinConfiguration'), membership.indexOf('CONFIG', membership.indexOf('kind: JoinConfiguration')));
    expect(join).toContain('controlPlane:\n  localAPIEndpoint:');
    expect(join).toContain('patches:\n  directory: $K8S_DIR/patches\n');
    const off = clusterSchema.parse({ ...base(), spec: { ...base().spec, controlPlane: { instanceType: 'm5.large', count: 3 } } });
    const offBody = renderBootstrapFiles(templates, clusterVars(off, naming(off), naming(off).bucket(ACCOUNT), ACCOUNT)).find((f) => f.key === 'bootstrap/master/etcd-membership.sh')!.body;
    expect(offBody).not.toContain('patches:');
  });

  it('the cluster-autoscaler: with IRSA its service account carries its role and it leaves the host network; its statements leave the master role for that role', () => {
    const irsa = body('bootstrap/master/irsa.sh');
    const ca = irsa.slice(irsa.indexOf('addon_cluster_autoscaler()'));
    expect(ca).toContain('--set rbac.serviceAccount.name=cluster-autoscaler');
    expect(ca).toContain('rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=$CLUSTER_AUTOSCALER_ROLE_ARN');
    expect(ca).toContain('--set hostNetwork=false');
    expect(body('bootstrap/common/cluster.env')).toContain(`CLUSTER_AUTOSCALER_ROLE_ARN='arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-cluster-autoscaler'`);
    const graph = (on: boolean) => deriveGraph(clusterSchema.parse(base(on ? ON : undefined)), facts).nodes;
    const sids = (nodes: AnyNode[], key: string, policy: string) => (node(nodes, key).props as { policies: Record<string, { Statement: Array<{ Sid?: string }> }> }).policies[policy]!.Statement.map((s) => s.Sid ?? '');
    expect(sids(graph(false), 'role/master', 'kubeaz-master').filter((s) => s.startsWith('Autoscaler'))).toEqual(['AutoscalerDescribe', 'AutoscalerScaleOwnGroups']);
    expect(sids(graph(true), 'role/master', 'kubeaz-master').filter((s) => s.startsWith('Autoscaler'))).toEqual([]);
    expect(sids(graph(true), 'role/irsa-cluster-autoscaler', 'kubeaz-cluster-autoscaler')).toEqual(['AutoscalerDescribe', 'AutoscalerScaleOwnGroups']);
  });
});
