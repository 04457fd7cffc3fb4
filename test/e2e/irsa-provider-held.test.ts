/**
 * Issue 23 #6: an IAM OIDC provider that is not the cluster's already stands at the cluster's issuer
 * URL (IAM keeps one provider per URL). plan lists it as refused, naming its ARN (exit 1, as for any
 * refusal); create refuses it before its first mutating call — it used to fail after building most
 * of the cluster. Against moto through the real CLI; the provider is planted with the SDK, without
 * kubeaz's tags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateOpenIDConnectProviderCommand, DeleteOpenIDConnectProviderCommand, IAMClient } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';
const REGION = 'us-west-2';
const ID = 'held-qa';
const HOST = `kubeaz-${ID}-${ACCOUNT}-oidc.s3.${REGION}.amazonaws.com`;
const ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST}`;

const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: held, environment: qa }
spec:
  region: ${REGION}
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: general, instanceType: m5.large, minSize: 1, maxSize: 2 }
  iam:
    serviceAccountIssuerDiscovery: { enabled: true }
`;

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('an OIDC provider at the issuer URL that is not the cluster’s', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let iam: IAMClient;

  beforeAll(async () => {
    env = moto.env;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-held-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    iam = new IAMClient({ region: 'us-east-1' });
    const made = await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: `https://${HOST}`,
        ClientIDList: ['sts.amazonaws.com'],
        ThumbprintList: ['0'.repeat(40)],
      }),
    );
    expect(made.OpenIDConnectProviderArn).toBe(ARN);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan lists it as refused, naming its ARN and its holder; exit 1, no mutating call', async () => {
    const text = await kubeaz(['plan', '-f', file], env);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain(`! oidc-provider (oidc-provider ${ARN}): REFUSED`);
    expect(text.stdout).toContain(`the IAM OIDC provider ${ARN} already exists and belongs to something kubeaz did not make`);
    const r = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const p = r.json<{
      summary: { refuse: number };
      changes: Array<{ key: string; action: string; id?: string; reason?: string }>;
      calls: { mutating: number };
    }>();
    expect(p.calls.mutating).toBe(0);
    expect(p.summary.refuse).toBe(1);
    expect(p.changes.filter((c) => c.action === 'refuse')).toEqual([
      { key: 'oidc-provider', kind: 'oidc-provider', action: 'refuse', id: ARN, fields: [], reason: expect.stringContaining(ARN) },
    ]);
    // everything else is still planned: the provider's dependents too
    expect(p.changes.find((c) => c.key === 'role/irsa-ebs-csi')?.action).toBe('create');
  }, 120_000);

  it('create refuses it before any change: exit 1, zero mutating calls, nothing made', async () => {
    const before = await inventory(REGION);
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ ok: boolean; calls: { mutating: number }; actions: unknown[] }>();
    expect(out.ok).toBe(false);
    expect(out.calls.mutating).toBe(0);
    expect(out.actions).toEqual([]);
    expect(r.stderr).toContain(ARN);
    expect(await inventory(REGION)).toEqual(before);
  }, 120_000);

  it('once it is gone, plan creates the provider (exit 0 with nothing refused)', async () => {
    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: ARN }));
    const r = await kubeaz(['plan', '-f', file, '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<{ summary: { refuse: number }; changes: Array<{ key: string; action: string }> }>();
    expect(p.summary.refuse).toBe(0);
    expect(p.changes.find((c) => c.key === 'oidc-provider')?.action).toBe('create');
  }, 120_000);
});
