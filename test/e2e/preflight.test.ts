/**
 * Pre-flight against moto: before its first mutating call, create checks quotas and offerings and
 * reports every failure at once, changing nothing. moto's offerings are AWS's own data (m5.large is
 * not offered in us-east-1e) and its vpc-max-elastic-ips is 5: four zones of per-zone NAT plus a
 * two-address loadbalancer group need 6.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { motoEnv, startMoto, type Moto } from '../../src/devtools/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';

const spec = (zones: string[], extra = '') => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: pre, environment: qa }
spec:
  region: us-east-1
  zones: [${zones.join(', ')}]
  kubernetesVersion: "1.35.0"
  ami: ami-0123456789abcdef0
${extra}  network: { vpcCidr: 10.0.0.0/16, nat: perZone }
  controlPlane: { instanceType: m5.large }
  nodeGroups:
    - { name: edge, role: loadbalancer, instanceType: c5.large, minSize: 2, maxSize: 2, elasticIps: 2 }
`;

describe('pre-flight', () => {
  let moto: Moto;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    moto = await startMoto();
    env = motoEnv(moto.url);
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-preflight-'));
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every failure at once (EIP quota 6 > 5, a type not offered in a zone, a missing AMI and key pair), and no change', async () => {
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1e'], '  sshKeyName: nobody\n'));
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).toBe(1);
    const out = r.json<{ calls: { mutating: number; byAction: Record<string, number> }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    console.log(`pre-flight failure: ${JSON.stringify(out.calls.byAction)}`);
    expect(out.preflight.map((f) => f.check)).toEqual(['elastic-ips', 'instance-type', 'instance-type', 'ami', 'key-pair']);
    expect(out.preflight[0]!.message).toMatch(/needs 6 more elastic IPs .* holds 0 of its 5 .*vpc-max-elastic-ips.*6 > 5/);
    expect(out.preflight[1]!.message).toBe('c5.large is not offered in us-east-1e (its groups span every zone): choose another type or other zones');
    expect(out.preflight[2]!.message).toMatch(/^m5.large is not offered in us-east-1e/);
    expect(out.preflight[3]!.message).toMatch(/ami-0123456789abcdef0 does not exist/);
    expect(out.preflight[4]!.message).toMatch(/key pair nobody does not exist/);
    expect(r.stderr).toMatch(/pre-flight found 5 problems; nothing was changed/);
    expect(await inventory('us-east-1')).toEqual(before);
  });

  it('a zone that does not exist in the region is reported as such (issue 9 #8), not as an instance type not offered there; nothing made', async () => {
    const file = path.join(dir, 'zones.yaml');
    await writeFile(file, spec(['us-east-1a', 'us-east-1z'], ''));
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    expect(out.preflight.filter((f) => f.check === 'zones').map((f) => f.message)).toEqual([expect.stringMatching(/^us-east-1z does not exist in us-east-1 \(its zones: us-east-1a, us-east-1b, .*us-east-1f\)$/)]);
    expect(out.preflight.filter((f) => f.check === 'instance-type' && /us-east-1z/.test(f.message))).toEqual([]);
    expect(await inventory('us-east-1')).toEqual(before);
  });

  it('with a real image and every type offered, the EIP quota alone fails (4 zones of NAT + 2 = 6 > 5)', async () => {
    const file = path.join(dir, 'fits.yaml');
    // a real image of moto's, so only the quota decides
    const { EC2Client, DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
    const img = (await new EC2Client({ region: 'us-east-1' }).send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images!.find((i) => i.Architecture === 'x86_64')!.ImageId!;
    await writeFile(file, spec(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d']).replace('ami-0123456789abcdef0', img));
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string }> }>();
    expect(out.preflight.map((f) => f.check)).toEqual(['elastic-ips']);
    expect(out.calls.mutating).toBe(0);
  });
});
