/**
 * IAM roles for service accounts without EKS, against moto through the real CLI. A cluster made
 * without IRSA is switched to it: plan shows the switch as planned changes; pre-flight refuses
 * while the account's Block Public Access forbids public policies; create then publishes the
 * issuer's documents in the discovery bucket (anonymously readable, nothing else is), makes the
 * OIDC provider and the roles. REAL crypto: a token signed with the cluster's pki/sa.key as
 * kube-apiserver signs it verifies (jose) against the JWKS read back from moto; one signed with
 * another key does not. destroy leaves no provider, discovery bucket or role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, errors as joseErrors, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import {
  GetBucketPolicyCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  DeletePublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreatePolicyCommand,
  GetOpenIDConnectProviderCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { unlabelled } from '../../src/model/policies.js';
import { inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const ID = 'ir-qa';
const BUCKET = `kubeaz-${ID}-${ACCOUNT}`;
const DISCOVERY = `${BUCKET}-oidc`;
const ISSUER = `https://${DISCOVERY}.s3.${REGION}.amazonaws.com`;
const HOST = `${DISCOVERY}.s3.${REGION}.amazonaws.com`;
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/uploader-s3`;

const spec = (irsa: boolean) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ir, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
${
  irsa
    ? `  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
    serviceAccounts:
      - { namespace: apps, name: uploader, policyArns: [${POLICY_ARN}] }
`
    : ''
}`;

/** S3 Control's account-level Block Public Access through the S3 client (no S3 Control client in the project): path re-aimed by a middleware. */
function s3control<T extends { middlewareStack: { add: (...a: never[]) => void } }>(cmd: T): T {
  (cmd.middlewareStack.add as unknown as (mw: unknown, o: unknown) => void)(
    (next: (a: unknown) => Promise<unknown>) =>
      async (args: { request: { path: string; query: Record<string, unknown>; headers: Record<string, string> } }) => {
        args.request.path = '/v20180820/configuration/publicAccessBlock';
        args.request.query = {};
        args.request.headers['x-amz-account-id'] = ACCOUNT;
        return next(args);
      },
    { step: 'build', name: 'toS3Control', priority: 'low' },
  );
  return cmd;
}

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('IAM roles for service accounts (IRSA) without EKS', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let iam: IAMClient;
  const text = async (Bucket: string, Key: string) =>
    (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString('utf8');

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-irsa-'));
    file = path.join(dir, 'cluster.yaml');
    s3 = new S3Client({ region: REGION, forcePathStyle: true });
    iam = new IAMClient({ region: 'us-east-1' });
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'uploader-s3',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    );
    await writeFile(file, spec(false));
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serviceAccounts without discovery enabled is a spec error', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(
      bad,
      spec(true).replace('serviceAccountIssuerDiscovery: { enabled: true }', 'serviceAccountIssuerDiscovery: { enabled: false }'),
    );
    const r = await kubeaz(['validate', '-f', bad], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('serviceAccounts needs spec.iam.serviceAccountIssuerDiscovery.enabled: true');
  });

  it('plan on the existing cluster shows turning IRSA on as planned changes: new bucket, provider, roles, the master launch template', async () => {
    await writeFile(file, spec(true));
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(4);
    const p = r.json<{ changes: Array<{ key: string; action: string }>; calls: { mutating: number } }>();
    expect(p.calls.mutating).toBe(0);
    const by = Object.fromEntries(p.changes.map((c) => [c.key, c.action]));
    for (const k of [
      'bucket/discovery',
      'object/discovery/.well-known/openid-configuration',
      'object/discovery/openid/v1/jwks',
      'oidc-provider',
      'role/irsa-ebs-csi',
      'role/irsa-cluster-autoscaler',
      'role/irsa-nth',
      'role/sa-apps.uploader',
      'object/bootstrap/master/addons/pod-identity-webhook.yaml',
    ])
      expect(by[k], k).toBe('create');
    // the master's launch template (its user data names the issuer: rollout replaces the master) and
    // the masters' settings in the agent's configuration
    for (const k of ['lt/master', 'object/agent/config.json']) expect(by[k], k).toBe('update');
    // the master's role keeps the EBS CSI and autoscaler statements until the master runs the new
    // version (issue 23 #7; test/e2e/irsa-switch.test.ts); they leave it at the create after rollout
    expect(by['role/master'], 'role/master').toBeUndefined();
    expect(by['lt/general'], 'a node group is not touched').toBeUndefined();
  }, 120_000);

  it("pre-flight refuses while the account's Block Public Access forbids public bucket policies, before any change", async () => {
    await s3.send(
      s3control(
        new PutPublicAccessBlockCommand({
          Bucket: 'x-account',
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: false,
          },
        }),
      ),
    );
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("the account's S3 Block Public Access has BlockPublicPolicy on");
    expect((await inventory(REGION)).buckets).not.toContain(DISCOVERY);
    await s3.send(s3control(new DeletePublicAccessBlockCommand({ Bucket: 'x-account' })));
  }, 120_000);

  it('create publishes the discovery bucket: relaxed Block Public Access on it only, a policy naming exactly the two documents', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const pab = (b: string) => s3.send(new GetPublicAccessBlockCommand({ Bucket: b })).then((o) => o.PublicAccessBlockConfiguration);
    expect(await pab(DISCOVERY)).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    expect(await pab(BUCKET)).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    // The policy read back, evaluated here: which keys does it let an anonymous principal read?
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: DISCOVERY }))).Policy!) as {
      Statement: Array<Record<string, unknown>>;
    };
    expect(policy.Statement).toHaveLength(1);
    const st = policy.Statement[0]!;
    expect(st.Effect).toBe('Allow');
    expect(st.Principal).toBe('*');
    expect([st.Action].flat()).toEqual(['s3:GetObject']);
    expect(st.Condition).toBeUndefined();
    expect([st.Resource].flat().sort()).toEqual([
      `arn:aws:s3:::${DISCOVERY}/.well-known/openid-configuration`,
      `arn:aws:s3:::${DISCOVERY}/openid/v1/jwks`,
    ]);
    // the private bucket's policy names no anonymous Allow
    const priv = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy!) as {
      Statement: Array<Record<string, unknown>>;
    };
    expect(priv.Statement.filter((s) => s.Effect === 'Allow')).toEqual([]);
  }, 180_000);

  it('anonymous GET (unsigned HTTP) of the two documents works; of anything else, here or in the private bucket, is refused', async () => {
    await s3.send(new PutObjectCommand({ Bucket: DISCOVERY, Key: 'not-published.txt', Body: 'secret' }));
    const anon = (b: string, k: string) => fetch(`${moto.url}/${b}/${k}`);
    const doc = await anon(DISCOVERY, '.well-known/openid-configuration');
    expect(doc.status).toBe(200);
    const discovery = (await doc.json()) as Record<string, unknown>;
    expect(discovery).toEqual({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect((await anon(DISCOVERY, 'openid/v1/jwks')).status).toBe(200);
    expect((await anon(DISCOVERY, 'not-published.txt')).status).toBe(403);
    expect((await anon(BUCKET, 'agent/config.json')).status).toBe(403);
    expect((await anon(BUCKET, 'pki/sa.key')).status).toBe(403);
    // the issuer the apiserver is given (the masters' settings, from which the agent writes its patch) is the document's, byte for byte
    const config = JSON.parse(await text(BUCKET, 'agent/config.json')) as { master: { irsa: { serviceAccountIssuer: string } } };
    expect(config.master.irsa.serviceAccountIssuer).toBe(discovery.issuer);
  }, 60_000);

  it('REAL crypto: a token signed with pki/sa.key as kube-apiserver signs it verifies against the JWKS read back from moto; another key does not', async () => {
    const jwks = JSON.parse(await text(DISCOVERY, 'openid/v1/jwks')) as { keys: Array<Record<string, string>> };
    const saPub = await text(BUCKET, 'pki/sa.pub');
    const saKey = createPrivateKey(await text(BUCKET, 'pki/sa.key'));
    // kube-apiserver's kid, computed here independently: base64url(SHA-256(PKIX DER))
    const kid = createHash('sha256')
      .update(createPublicKey(saPub).export({ type: 'spki', format: 'der' }))
      .digest('base64url');
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid, alg: 'RS256', use: 'sig', kty: 'RSA', e: 'AQAB' });
    const sub = 'system:serviceaccount:apps:uploader';
    const token = (key: Parameters<SignJWT['sign']>[0]) =>
      new SignJWT({
        'kubernetes.io': { namespace: 'apps', serviceaccount: { name: 'uploader', uid: '3f1c0a4e-0000-4000-8000-000000000001' } },
      })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(ISSUER)
        .setAudience('sts.amazonaws.com')
        .setSubject(sub)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('1h')
        .sign(key);
    const keySet = createLocalJWKSet(jwks as never);
    const ok = await jwtVerify(await token(saKey), keySet, { issuer: ISSUER, audience: 'sts.amazonaws.com', algorithms: ['RS256'] });
    expect(ok.payload.sub).toBe(sub);
    console.log(
      `IRSA token check: kid ${kid}, iss ${ok.payload.iss}, aud ${String(ok.payload.aud)}, sub ${ok.payload.sub}: verified against the JWKS read back from moto`,
    );
    const other = await generateKeyPair('RS256');
    await expect(
      jwtVerify(await token(other.privateKey), keySet, { issuer: ISSUER, audience: 'sts.amazonaws.com' }),
    ).rejects.toBeInstanceOf(joseErrors.JWSSignatureVerificationFailed);
    // the right key but another issuer (the old one) is not what STS would accept for this provider
    await expect(jwtVerify(await token(saKey), keySet, { issuer: 'https://kubernetes.default.svc.cluster.local' })).rejects.toBeInstanceOf(
      joseErrors.JWTClaimValidationFailed,
    );
  }, 60_000);

  it('the OIDC provider names the issuer with the sts.amazonaws.com audience; each role trusts exactly its service account', async () => {
    const providers = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList ?? [];
    expect(providers.map((p) => p.Arn)).toEqual([`arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST}`]);
    const prov = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providers[0]!.Arn! }));
    expect(prov.Url).toBe(HOST);
    expect(prov.ClientIDList).toEqual(['sts.amazonaws.com']);
    expect(prov.Tags).toEqual(expect.arrayContaining([{ Key: 'kubeaz:cluster', Value: ID }]));
    const roles = (await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? [];
    const want: Record<string, string> = {
      [`${ID}-irsa-ebs-csi`]: 'system:serviceaccount:kube-system:ebs-csi-controller-sa',
      [`${ID}-irsa-cluster-autoscaler`]: 'system:serviceaccount:kube-system:cluster-autoscaler',
      [`${ID}-irsa-nth`]: 'system:serviceaccount:kube-system:aws-node-termination-handler',
      [`${ID}-sa-apps.uploader`]: 'system:serviceaccount:apps:uploader',
    };
    for (const [name, sub] of Object.entries(want)) {
      const role = roles.find((r) => r.RoleName === name);
      expect(role, name).toBeDefined();
      const trust = JSON.parse(decodeURIComponent(role!.AssumeRolePolicyDocument!)) as { Statement: Array<Record<string, unknown>> };
      expect(trust.Statement, name).toHaveLength(1);
      expect(trust.Statement[0]).toEqual({
        Effect: 'Allow',
        Principal: { Federated: providers[0]!.Arn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${HOST}:sub`]: sub, [`${HOST}:aud`]: 'sts.amazonaws.com' } },
      });
    }
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: `${ID}-sa-apps.uploader` }));
    expect((attached.AttachedPolicies ?? []).map((p) => p.PolicyArn)).toEqual([POLICY_ARN]);
    // `kubeaz rollout` played on moto (no instance refresh there): the master replaced from the new
    // version; the next create then takes the add-on statements off the master's role
    const asg = new AutoScalingClient({ region: REGION });
    const group = async () =>
      (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [`${ID}-master`] }))).AutoScalingGroups![0]!;
    for (const i of (await group()).Instances ?? [])
      await asg.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: i.InstanceId!, ShouldDecrementDesiredCapacity: false }));
    const g = await group();
    expect(g.Instances!.map((i) => i.LaunchTemplate?.Version)).toEqual([g.LaunchTemplate!.Version]);
    const after = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(after.code, after.stderr).toBe(0);
    // least privilege: the EBS CSI statements moved from the master's role to the CSI controller's
    const statements = async (RoleName: string, PolicyName: string) =>
      (
        JSON.parse(decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }))).PolicyDocument!)) as {
          Statement: Array<{ Sid?: string; Action: string | string[] }>;
        }
      ).Statement;
    // the master's document carries no Sids (IAM's 10,240 characters): statements compared without them
    const bare = (sts: Array<{ Sid?: string }>) => sts.map((s) => JSON.stringify(unlabelled(s)));
    const master = await statements(`${ID}-master`, 'kubeaz-master');
    const csi = await statements(`${ID}-irsa-ebs-csi`, 'kubeaz-ebs-csi');
    const csiOwn = csi.filter((s) => s.Sid?.startsWith('Csi'));
    expect(csiOwn.map((s) => s.Sid)).toContain('CsiCreateVolumes');
    expect(bare(master).filter((s) => bare(csiOwn).includes(s))).toEqual([]);
    // the cloud controller's changes stay on the master, and are not the CSI role's
    expect(master.some((s) => [s.Action].flat().includes('ec2:CreateSecurityGroup'))).toBe(true);
    expect(csi.some((s) => [s.Action].flat().includes('ec2:CreateSecurityGroup'))).toBe(false);
  }, 180_000);

  it('a second create changes nothing', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ calls: { mutating: number }; actions: Array<{ key: string; action: string }> }>();
    expect(out.actions.filter((a) => a.action !== 'unchanged')).toEqual([]);
    expect(out.calls.mutating).toBe(0);
  }, 120_000);

  it('status says how to give a pod its role: the annotation of its service account', async () => {
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], env);
    const sa = r.json<{ serviceAccounts: Array<{ namespace: string; name: string; roleArn: string; annotate: string }> }>().serviceAccounts;
    const roles = (await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? [];
    const arn = roles.find((x) => x.RoleName === `${ID}-sa-apps.uploader`)!.Arn;
    expect(sa).toEqual([
      {
        namespace: 'apps',
        name: 'uploader',
        roleArn: arn,
        annotate: `kubectl -n apps annotate serviceaccount uploader eks.amazonaws.com/role-arn=${arn}`,
      },
    ]);
    const t = await kubeaz(['status', '-f', file], env);
    expect(t.stdout).toContain(`kubectl -n apps annotate serviceaccount uploader eks.amazonaws.com/role-arn=${arn}`);
  }, 120_000);

  it('destroy removes the OIDC provider, the discovery bucket and every role', async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const inv = await inventory(REGION);
    expect(inv.oidcProviders).toEqual([]);
    expect(inv.buckets).toEqual([]);
    expect(inv.roles).toEqual([]);
  }, 240_000);
});
