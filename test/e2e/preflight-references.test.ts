/**
 * Pre-flight of what the spec names and kubeaz does not make (issue 21, "Safe by default"): a
 * service account's managed policy that does not exist is refused before any change — exit 1,
 * nothing made — instead of a minute of NoSuchEntity retries and a half-built cluster. Once the
 * policy exists, the same spec goes through. moto is started with its copy of AWS's managed
 * policies (MOTO_IAM_LOAD_MANAGED_POLICIES, MOTO-NOTES), so an AWS managed policy is checked as on
 * AWS: one AWS has passes, one it does not have is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreatePolicyCommand, IAMClient, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const OWN = `arn:aws:iam::${ACCOUNT}:policy/uploader-s3`;
const MANAGED = 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess';
const NO_SUCH_MANAGED = 'arn:aws:iam::aws:policy/KubeazNoSuchManagedPolicy';

const spec = (arns: string[]) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ref, environment: qa }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.40.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
    serviceAccounts:
      - { namespace: apps, name: uploader, policyArns: [${arns.join(', ')}] }
`;

// before useMoto's beforeAll starts the server: it inherits this process's environment
process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
const moto = useMoto({ processEnv: true });

describe('pre-flight: the policies a service account names', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let iam: IAMClient;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-preflight-refs-'));
    file = path.join(dir, 'cluster.yaml');
    iam = new IAMClient({ region: 'us-east-1' });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a policy that does not exist (the account's own, and an AWS managed one): refused before any change, exit 1, nothing made", async () => {
    await writeFile(file, spec([OWN, NO_SUCH_MANAGED, MANAGED]));
    const before = await inventory(REGION);
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    expect(out.preflight.filter((f) => f.check === 'iam-policy').map((f) => f.message)).toEqual([
      `the IAM policy ${OWN} (spec.iam.serviceAccounts: apps/uploader) does not exist in account ${ACCOUNT}: create it first (aws iam create-policy) or correct the ARN`,
      `the IAM policy ${NO_SUCH_MANAGED} (spec.iam.serviceAccounts: apps/uploader) does not exist: AWS has no managed policy of that name (see the AWS Managed Policy Reference Guide); correct the ARN`,
    ]);
    // nothing but the two missing policies is refused: the AWS managed one that exists passes
    expect(out.preflight.map((f) => f.check)).toEqual(['iam-policy', 'iam-policy']);
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(await inventory(REGION)).toEqual(before);
  }, 120_000);

  it('once the policy exists, the same cluster is made with both policies attached; destroy leaves nothing', async () => {
    await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'uploader-s3',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }),
      }),
    );
    await writeFile(file, spec([OWN, MANAGED]));
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ preflight?: unknown[] }>().preflight ?? []).toEqual([]);
    const roleName = (await inventory(REGION)).roles?.find((n) => n.includes('uploader'));
    expect(roleName, JSON.stringify(await inventory(REGION))).toBeDefined();
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName!.split('/').pop()! }));
    expect((attached.AttachedPolicies ?? []).map((p) => p.PolicyArn).sort()).toEqual([MANAGED, OWN].sort());
    const d = await kubeaz(['destroy', '-f', file, '--yes', '--delete-backups'], moto.env);
    expect(d.code, d.stderr).toBe(0);
  }, 240_000);
});
