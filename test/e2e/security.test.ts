/**
 * Security hardening, read back from moto after a real create of the example spec:
 * the bucket (public access blocked, SSE-S3, TLS-only policy, versioning), the launch templates
 * (IMDSv2 required, hop limit 1 for nodes, encrypted volumes), security groups (nothing open to
 * the world but the API listener apiAccess asks for and 80/443 on loadbalancer nodes), IAM (no
 * '*' or '<service>:*' on Resource '*', S3 writes only in the cluster's bucket, Route53 changes
 * only in the cluster's zones), and no secret in user-data, the state file or any output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type LaunchTemplateVersion,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  GetObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { kubeaz, ROOT, type CliResult } from '../helpers/cli.js';
import { startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';

const ID = 'demo-dev';
const BUCKET = `kubeaz-${ID}-123456789012`;
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
/** A kubeadm bootstrap token, or any PEM private key. */
const SECRETS = [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /aws_secret_access_key|SecretAccessKey/i];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: unknown;
  Condition?: unknown;
}
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const tagOf = (tags: Array<{ Key?: string; Value?: string }> | undefined, k: string) => tags?.find((t) => t.Key === k)?.Value;

describe('security hardening', () => {
  let w: FaultWorld;
  const outputs: CliResult[] = [];
  let ec2: EC2Client;
  let iam: IAMClient;
  let s3: S3Client;
  let r53: Route53Client;

  beforeAll(async () => {
    w = await startFaultWorld();
    await w.reset();
    ec2 = new EC2Client({ region: 'us-east-1' });
    iam = new IAMClient({ region: 'us-east-1' });
    s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true });
    r53 = new Route53Client({ region: 'us-east-1' });
    const c = await kubeaz(['create', '-f', w.file, '--yes', '-v'], w.env);
    expect(c.code, c.stderr).toBe(0);
    outputs.push(c);
    for (const args of [
      ['create', '--yes', '--output', 'json'],
      ['status'],
      ['status', '--output', 'json'],
      ['plan'],
      ['plan', '--output', 'json'],
      ['validate'],
    ]) {
      outputs.push(await kubeaz([args[0]!, '-f', w.file, ...args.slice(1)], w.env));
    }
    // seven runs of the real CLI: more than the default hook time on a loaded 2-core machine
  }, 400_000);
  afterAll(async () => {
    await w?.close();
  });

  it('the bucket: public access blocked, SSE-S3, TLS-only policy, versioning on', async () => {
    const pab = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }))).PublicAccessBlockConfiguration;
    expect(pab).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const enc = (await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).ServerSideEncryptionConfiguration?.Rules ?? [];
    expect(enc.map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm)).toEqual(['AES256']);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }))).Status).toBe('Enabled');
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: BUCKET }))).Policy!) as {
      Statement: Array<Statement & { Principal?: unknown }>;
    };
    const tls = policy.Statement.find(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes('"aws:SecureTransport":"false"'),
    );
    expect(tls, JSON.stringify(policy)).toBeDefined();
    expect(list(tls!.Action)).toContain('s3:*');
    expect(list(tls!.Resource).sort()).toEqual([BUCKET_ARN, `${BUCKET_ARN}/*`]);
    expect(policy.Statement.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal ?? '') === '"*"')).toEqual([]);
  });

  it('launch templates: IMDSv2 required, hop limit 1 for nodes, encrypted volumes', async () => {
    const lts =
      (await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).LaunchTemplates ??
      [];
    expect(lts).toHaveLength(3);
    for (const lt of lts) {
      const v = (
        await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.LaunchTemplateId!, Versions: ['$Latest'] }))
      ).LaunchTemplateVersions![0]!;
      const data = v.LaunchTemplateData!;
      expect(data.MetadataOptions?.HttpTokens, lt.LaunchTemplateName).toBe('required');
      if (!/master/.test(lt.LaunchTemplateName!)) expect(data.MetadataOptions?.HttpPutResponseHopLimit, lt.LaunchTemplateName).toBe(1);
      const ebs = (data.BlockDeviceMappings ?? []).map((b) => b.Ebs);
      expect(ebs.length).toBeGreaterThan(0);
      for (const e of ebs) expect(e?.Encrypted, lt.LaunchTemplateName).toBe(true);
    }
  });

  it('security groups: nothing open to the world but the public API listener (apiAccess 0.0.0.0/0) and 80/443 on loadbalancer nodes', async () => {
    const groups: SecurityGroup[] =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).SecurityGroups ?? [];
    expect(groups).toHaveLength(5);
    const open: string[] = [];
    for (const g of groups) {
      for (const p of g.IpPermissions ?? []) {
        const world = (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0') || (p.Ipv6Ranges ?? []).some((r) => r.CidrIpv6 === '::/0');
        if (world) open.push(`${tagOf(g.Tags, 'kubeaz:key')} ${p.IpProtocol} ${p.FromPort}-${p.ToPort}`);
      }
    }
    expect(open.sort()).toEqual(['sg/elb-public tcp 443-443', 'sg/loadbalancer tcp 443-443', 'sg/loadbalancer tcp 80-80']);
  });

  it('sg/master: the API (6443) from both load balancers, from the masters themselves and from the nodes — nothing else, no CIDR (issue 19, finding 7)', async () => {
    const groups: SecurityGroup[] =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).SecurityGroups ?? [];
    const idOf = (key: string) => groups.find((g) => tagOf(g.Tags, 'kubeaz:key') === key)?.GroupId;
    const master = groups.find((g) => tagOf(g.Tags, 'kubeaz:key') === 'sg/master')!;
    const api = (master.IpPermissions ?? []).filter((p) => p.FromPort === 6443);
    expect(api.map((p) => [p.IpProtocol, p.ToPort])).toEqual(api.map(() => ['tcp', 6443]));
    expect(api.flatMap((p) => p.IpRanges ?? [])).toEqual([]);
    const sources = api.flatMap((p) => (p.UserIdGroupPairs ?? []).map((u) => u.GroupId)).sort();
    expect(sources).toEqual(['sg/elb-public', 'sg/elb-internal', 'sg/master', 'sg/node'].map((k) => idOf(k)!).sort());
  });

  it('IAM: no wildcard action on every resource; S3 writes only in our bucket; Route53 changes only in our zones', async () => {
    const zones = ((await r53.send(new ListHostedZonesCommand({}))).HostedZones ?? []).map((z) => z.Id!.replace('/hostedzone/', ''));
    const roles = ((await iam.send(new ListRolesCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Roles ?? []).map((r) => r.RoleName!);
    const users = ((await iam.send(new ListUsersCommand({ PathPrefix: `/kubeaz/${ID}/` }))).Users ?? []).map((u) => u.UserName!);
    expect(roles).toHaveLength(3);
    expect(users).toHaveLength(1);
    const docs: Array<{ who: string; doc: { Statement: Statement[] } }> = [];
    for (const RoleName of roles) {
      expect(
        (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName }))).AttachedPolicies ?? [],
        `${RoleName} has managed policies`,
      ).toEqual([]);
      for (const PolicyName of (await iam.send(new ListRolePoliciesCommand({ RoleName }))).PolicyNames ?? []) {
        const p = await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }));
        docs.push({ who: `role ${RoleName}/${PolicyName}`, doc: JSON.parse(decodeURIComponent(p.PolicyDocument!)) });
      }
    }
    for (const UserName of users) {
      for (const PolicyName of (await iam.send(new ListUserPoliciesCommand({ UserName }))).PolicyNames ?? []) {
        const p = await iam.send(new GetUserPolicyCommand({ UserName, PolicyName }));
        docs.push({ who: `user ${UserName}/${PolicyName}`, doc: JSON.parse(decodeURIComponent(p.PolicyDocument!)) });
      }
    }
    expect(docs.length).toBeGreaterThanOrEqual(4);
    const problems: string[] = [];
    let s3Writes = 0;
    let r53Changes = 0;
    for (const { who, doc } of docs) {
      for (const st of list(doc.Statement)) {
        if (st.Effect !== 'Allow') continue;
        const actions = list(st.Action);
        const resources = list(st.Resource);
        if (st.NotResource !== undefined) problems.push(`${who}: NotResource`);
        if (resources.includes('*'))
          for (const a of actions) if (a === '*' || /^[a-z0-9-]+:\*$/i.test(a)) problems.push(`${who}: ${a} on *`);
        if (actions.some((a) => /^s3:(Put|Delete|Abort|Restore|\*)/i.test(a) || a === '*')) {
          s3Writes++;
          for (const r of resources) if (!r.startsWith(`${BUCKET_ARN}/`) && r !== BUCKET_ARN) problems.push(`${who}: S3 write on ${r}`);
        }
        if (actions.some((a) => /^route53:(Change|\*)/i.test(a))) {
          r53Changes++;
          for (const r of resources)
            if (!zones.some((z) => r === `arn:aws:route53:::hostedzone/${z}`)) problems.push(`${who}: Route53 change on ${r}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(s3Writes).toBeGreaterThan(0);
    expect(r53Changes).toBeGreaterThan(0);
  });

  it('no private key or bootstrap token in user-data, the state file, the bucket objects named in user-data, or any output', async () => {
    const lts =
      (await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).LaunchTemplates ??
      [];
    const userData: string[] = [];
    for (const lt of lts) {
      const v: LaunchTemplateVersion = (
        await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt.LaunchTemplateId!, Versions: ['$Latest'] }))
      ).LaunchTemplateVersions![0]!;
      userData.push(Buffer.from(v.LaunchTemplateData?.UserData ?? '', 'base64').toString('utf8'));
    }
    expect(userData.every((u) => u.length > 0)).toBe(true);
    const state = await readFile(path.join(w.dir, '.kubeaz', `${ID}.json`), 'utf8');
    // what kubeaz uploads for the instances (the agent, its configuration, the add-on manifests) is
    // code and settings, not secrets: none may carry any either; nor may the spec kept for get-spec (issue 21)
    const all = [
      ...((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'bootstrap/' }))).Contents ?? []),
      ...((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'agent/' }))).Contents ?? []),
      ...((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'spec/' }))).Contents ?? []),
    ];
    expect(all.map((o) => o.Key)).toEqual(
      expect.arrayContaining(['agent/config.json', 'bootstrap/master/addons/storageclass.yaml', 'spec/cluster.yaml']),
    );
    // the agent's bundle is our code (the SDK in it names credential fields in its own source): it is
    // held to be byte for byte what npm run build made, so nothing of this cluster is in it
    const bundles = all.filter((o) => /^agent\/kubeaz-agent-[a-f0-9]{64}\.mjs$/.test(o.Key!));
    expect(bundles).toHaveLength(1);
    const bundle = Buffer.from(
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: bundles[0]!.Key! }))).Body!.transformToByteArray(),
    );
    expect(bundle.equals(readFileSync(path.join(ROOT, 'dist', 'agent', 'kubeaz-agent.mjs')))).toBe(true);
    const objects = all.filter((o) => o !== bundles[0]);
    const scripts = await Promise.all(
      objects.map(async (o) => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: o.Key! }))).Body!.transformToString()),
    );
    const texts: Array<[string, string]> = [
      ...userData.map((u, i) => [`user-data of ${lts[i]!.LaunchTemplateName}`, u] as [string, string]),
      ['state file', state],
      ...scripts.map((s, i) => [`s3://${BUCKET}/${objects[i]!.Key}`, s] as [string, string]),
      ...outputs.map((o, i) => [`output ${i}`, o.stdout + o.stderr] as [string, string]),
    ];
    for (const [where, text] of texts) for (const re of SECRETS) expect(text, `${where} matches ${re}`).not.toMatch(re);
  });
});
