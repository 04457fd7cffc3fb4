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
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';
import { CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';

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
  const moto = useMoto();
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-preflight-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every failure at once (EIP quota 6 > 5, a type not offered in a zone, a missing AMI and key pair), and no change', async () => {
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1e'], '  sshKeyName: nobody\n'));
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).toBe(1);
    const out = r.json<{
      calls: { mutating: number; byAction: Record<string, number> };
      preflight: Array<{ check: string; message: string }>;
    }>();
    expect(out.calls.mutating).toBe(0);
    console.log(`pre-flight failure: ${JSON.stringify(out.calls.byAction)}`);
    expect(out.preflight.map((f) => f.check)).toEqual(['elastic-ips', 'instance-type', 'instance-type', 'ami', 'key-pair']);
    expect(out.preflight[0]!.message).toMatch(/needs 6 more elastic IPs .* holds 0 of its 5 .*vpc-max-elastic-ips.*6 > 5/);
    expect(out.preflight[1]!.message).toBe(
      'c5.large is not offered in us-east-1e (its groups span every zone): choose another type or other zones',
    );
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
    expect(out.preflight.filter((f) => f.check === 'zones').map((f) => f.message)).toEqual([
      expect.stringMatching(/^us-east-1z does not exist in us-east-1 \(its zones: us-east-1a, us-east-1b, .*us-east-1f\)$/),
    ]);
    expect(out.preflight.filter((f) => f.check === 'instance-type' && /us-east-1z/.test(f.message))).toEqual([]);
    expect(await inventory('us-east-1')).toEqual(before);
  });

  it('with a real image and every type offered, the EIP quota alone fails (4 zones of NAT + 2 = 6 > 5)', async () => {
    const file = path.join(dir, 'fits.yaml');
    // a real image of moto's, so only the quota decides
    const { EC2Client, DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
    const img = (await new EC2Client({ region: 'us-east-1' }).send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images!.find(
      (i) => i.Architecture === 'x86_64',
    )!.ImageId!;
    await writeFile(file, spec(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d']).replace('ami-0123456789abcdef0', img));
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string }> }>();
    expect(out.preflight.map((f) => f.check)).toEqual(['elastic-ips']);
    expect(out.calls.mutating).toBe(0);
  });
  it('instanceTypes: every listed type in every zone, and the types of a group alike in vCPUs and memory (issue 14); nothing made', async () => {
    const file = path.join(dir, 'mixed.yaml');
    const groups = [
      '    - { name: edge, role: loadbalancer, instanceType: c5.large, minSize: 2, maxSize: 2, elasticIps: 2 }',
      '    - { name: spotty, instanceTypes: [m5.large, m5.xlarge, t2.large], spot: { onDemandBase: 1 }, minSize: 0, maxSize: 4 }',
      '    - { name: alike, instanceTypes: [m5.large, m5a.large, m4.large], minSize: 0, maxSize: 4 }',
    ].join('\n');
    await writeFile(file, spec(['us-east-1a', 'us-east-1e']).replace(/ {4}- \{ name: edge.*\n/, `${groups}\n`));
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    const types = out.preflight.filter((f) => f.check === 'instance-type').map((f) => f.message);
    // us-east-1e offers only older families (AWS's data, kept by moto): m5 and m5a are not there, m4 and t2 are
    expect(types).toContain('m5.xlarge is not offered in us-east-1e (its groups span every zone): choose another type or other zones');
    expect(types).toContain('m5a.large is not offered in us-east-1e (its groups span every zone): choose another type or other zones');
    expect(types.filter((m) => /^(m4|t2)\.large is not offered/.test(m))).toEqual([]);
    expect(types.filter((m) => m.startsWith('node group'))).toEqual([
      'node group spotty: its instance types differ in size (m5.large 2 vCPU / 8192 MiB, m5.xlarge 4 vCPU / 16384 MiB); cluster-autoscaler sizes the group by its first type (m5.large), so list types with the same vCPUs and memory',
    ]);
    expect(await inventory('us-east-1')).toEqual(before);
  });

  // issue 9 #8: names another cluster (or someone else) already holds, reported with the rest, nothing made
  const owned = (domain: string, records: string) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: pre, environment: own }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  ami: ami-0123456789abcdef0
  network: { vpcCidr: 10.0.0.0/16, nat: single }
  dns: { publicDomain: ${domain} }
  controlPlane: { instanceType: m5.large }
  nodeGroups:
${records}
  iam: { users: [{ name: shared-backup, bucketAccess: read }, { name: pre-own-free, bucketAccess: read }] }
`;

  it('an IAM user and a public zone another cluster owns are reported at once with the other failures; nothing made', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const r53 = new Route53Client({ region: 'us-east-1' });
    await iam.send(
      new CreateUserCommand({
        UserName: 'shared-backup',
        Path: '/kubeaz/other-dev/',
        Tags: [
          { Key: 'kubeaz:cluster', Value: 'other-dev' },
          { Key: 'kubeaz:name', Value: 'other' },
          { Key: 'kubeaz:environment', Value: 'dev' },
          { Key: 'kubeaz:region', Value: 'us-east-1' },
        ],
      }),
    );
    const zone = await r53.send(
      new CreateHostedZoneCommand({
        Name: 'taken.example.com',
        CallerReference: 'pf-taken',
        HostedZoneConfig: { Comment: 'kubeaz:other-dev zone/public', PrivateZone: false },
      }),
    );
    const file = path.join(dir, 'owned.yaml');
    await writeFile(
      file,
      owned(
        'taken.example.com',
        '    - { name: edge, role: loadbalancer, instanceType: m5.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: lb }',
      ),
    );
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    expect(out.preflight.map((f) => f.check)).toEqual(['ami', 'public-zone', 'iam-user']);
    expect(out.preflight[1]!.message).toBe(
      `the public zone taken.example.com (${zone.HostedZone!.Id!.replace('/hostedzone/', '')}) belongs to cluster other-dev (kubeaz made it for that cluster; its comment says so): kubeaz will not use it for pre-own; use another publicDomain`,
    );
    expect(out.preflight[2]!.message).toBe(
      'the IAM user shared-backup already exists (path /kubeaz/other-dev/) and belongs to cluster other/dev (in us-east-1): IAM user names are account-wide; choose another name in spec.iam.users',
    );
    expect(await inventory('us-east-1')).toEqual(before);
  });

  it("record names in the public zone that another cluster's TXT marker, or a record without a marker, holds are reported; nothing made", async () => {
    const r53 = new Route53Client({ region: 'us-east-1' });
    const zone = await r53.send(
      new CreateHostedZoneCommand({
        Name: 'shared.example.com',
        CallerReference: 'pf-shared',
        HostedZoneConfig: { Comment: 'the team zone', PrivateZone: false },
      }),
    );
    const id = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: id,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: { Name: 'lb.shared.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.7' }] },
            },
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: 'lb.shared.example.com',
                Type: 'TXT',
                TTL: 300,
                ResourceRecords: [{ Value: '"kubeaz:cluster=other-dev,key=record/lb/edge,name=other,environment=dev,region=us-east-1"' }],
              },
            },
            {
              Action: 'CREATE',
              ResourceRecordSet: { Name: 'www.shared.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.8' }] },
            },
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: 'free.shared.example.com',
                Type: 'TXT',
                TTL: 300,
                ResourceRecords: [{ Value: '"kubeaz:cluster=pre-own,key=record/lb/free,name=pre,environment=own,region=us-east-1"' }],
              },
            },
          ],
        },
      }),
    );
    const file = path.join(dir, 'records.yaml');
    await writeFile(
      file,
      owned(
        'shared.example.com',
        [
          '    - { name: edge, role: loadbalancer, instanceType: m5.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: lb }',
          '    - { name: web, role: loadbalancer, instanceType: m5.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: www }',
          '    - { name: free, role: loadbalancer, instanceType: m5.large, minSize: 1, maxSize: 1, elasticIps: 1, publicRecord: free }',
        ].join('\n'),
      ).replace('shared-backup', 'pre-own-backup'),
    );
    const before = await inventory('us-east-1');
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ calls: { mutating: number }; preflight: Array<{ check: string; message: string }> }>();
    expect(out.calls.mutating).toBe(0);
    expect(out.preflight.map((f) => f.check)).toEqual(['ami', 'dns-record', 'dns-record']);
    const msgs = out.preflight
      .slice(1)
      .map((f) => f.message)
      .sort();
    expect(msgs[0]).toBe(
      `the record lb.shared.example.com (record/lb/edge) in the public zone ${id} belongs to cluster other/dev (in us-east-1) (its TXT marker): kubeaz will not overwrite it; choose another publicRecord`,
    );
    expect(msgs[1]).toBe(
      `the record www.shared.example.com (record/lb/web) in the public zone ${id} belongs to someone other than kubeaz (a record without a kubeaz marker): kubeaz will not overwrite it; choose another publicRecord`,
    );
    expect(await inventory('us-east-1')).toEqual(before);
  });
});
