/**
 * `kubeaz ssh` against moto (issue 21, "Reach the nodes"): moto has no StartSession, so a stand-in
 * `aws` on PATH records the arguments it is run with (and a stand-in session-manager-plugin is
 * there or not). A group resolves to one of its InService instances, by instance id, `--index` to
 * another; an instance id is checked to be the cluster's; without `aws` or the plugin kubeaz says
 * where to get them and exits 1 before any AWS call. Every role may open sessions; no security
 * group admits port 22 from anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const REGION = 'eu-west-1';
const ID = 'sh-qa';
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: sh, environment: qa }
spec:
  region: ${REGION}
  zones: [eu-west-1a, eu-west-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.60.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: workers, instanceType: m5.large, minSize: 2, maxSize: 3 }
`;

const moto = useMoto({ processEnv: true });

describe('kubeaz ssh', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  /** PATH with a stand-in aws and session-manager-plugin; one with aws only; one with neither */
  let both: string;
  let awsOnly: string;
  let neither: string;
  let argsFile: string;

  const standIn = async (bin: string, name: string, body: string) => {
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(path.join(bin, name), 0o755);
  };
  const ssh = (args: string[], PATH: string, extra: Record<string, string> = {}) =>
    kubeaz(['ssh', '-f', file, ...args], { ...moto.env, PATH, AWS_ARGS_FILE: argsFile, ...extra });
  const recorded = async () => (await readFile(argsFile, 'utf8')).split('\n').filter(Boolean);
  const inService = async (group: string) => {
    const asg = new AutoScalingClient({ region: REGION });
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({}));
    const g = (out.AutoScalingGroups ?? []).find((x) => x.Tags?.some((t) => t.Key === 'kubeaz:node-group' && t.Value === group));
    return (g?.Instances ?? [])
      .filter((i) => i.LifecycleState === 'InService')
      .map((i) => i.InstanceId!)
      .sort();
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-ssh-'));
    file = path.join(dir, 'cluster.yaml');
    argsFile = path.join(dir, 'aws-args');
    await writeFile(file, spec);
    both = path.join(dir, 'bin-both');
    awsOnly = path.join(dir, 'bin-aws');
    neither = path.join(dir, 'bin-none');
    // the stand-in records one argument a line and exits with STANDIN_EXIT (default 0)
    const aws = 'for a in "$@"; do printf \'%s\\n\' "$a"; done > "$AWS_ARGS_FILE"\nexit "${STANDIN_EXIT:-0}"';
    await standIn(both, 'aws', aws);
    await standIn(both, 'session-manager-plugin', 'exit 0');
    await standIn(awsOnly, 'aws', aws);
    await mkdir(neither, { recursive: true });
    const r = await kubeaz(['create', '-f', file, '--yes'], moto.env);
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a group: its first InService instance by id, through aws ssm start-session in the spec’s region; the others listed', async () => {
    const ids = await inService('workers');
    expect(ids).toHaveLength(2);
    const r = await ssh(['workers'], both);
    expect(r.code, r.stderr).toBe(0);
    expect(await recorded()).toEqual(['ssm', 'start-session', '--target', ids[0], '--region', REGION]);
    expect(r.stderr).toContain(`the group workers has 2 instances in service (pick another with --index N)`);
    expect(r.stderr).toMatch(new RegExp(`\\* \\[0\\] ${ids[0]} \\(eu-west-1[ab]\\)`));
    expect(r.stderr).toMatch(new RegExp(` {3}\\[1\\] ${ids[1]} \\(eu-west-1[ab]\\)`));

    const second = await ssh(['workers', '--index', '1'], both);
    expect(second.code, second.stderr).toBe(0);
    expect((await recorded())[3]).toBe(ids[1]);
    const over = await ssh(['workers', '--index', '2'], both);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('--index 2: the group workers has 2 InService instance(s) (--index 0–1)');
  });

  it("an instance id: the cluster's own is opened (the session's exit code is kubeaz's), one that is not is refused", async () => {
    const [master] = await inService('master');
    await rm(argsFile, { force: true });
    const r = await ssh([master!], both, { STANDIN_EXIT: '3' });
    expect(r.code, r.stderr).toBe(3);
    expect(await recorded()).toEqual(['ssm', 'start-session', '--target', master, '--region', REGION]);
    expect(r.stderr).toContain(`opening a Session Manager session to ${master} (master)`);

    await rm(argsFile, { force: true });
    const gone = await ssh(['i-0123456789abcdef0'], both);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('i-0123456789abcdef0 is not running (EC2 no longer lists it): no session to open');
    expect(existsSync(argsFile)).toBe(false);
    const notGroup = await ssh(['nosuchgroup'], both);
    expect(notGroup.code).toBe(2);
    expect(notGroup.stderr).toContain('nosuchgroup: not an instance id (i-…) nor a group of sh-qa (groups: master, workers)');
  });

  it('the plugin missing, or aws too: says how to install them (AWS docs), exit 1, before any AWS call', async () => {
    await rm(argsFile, { force: true });
    // an endpoint nobody listens on: an AWS call would fail otherwise
    const noAws = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    const plugin = await ssh(['workers'], awsOnly, noAws);
    expect(plugin.code).toBe(1);
    expect(plugin.stderr).toContain(
      'the Session Manager plugin (session-manager-plugin) is not on PATH: install it (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html)',
    );
    expect(plugin.stderr).not.toContain('the AWS CLI (aws) is not on PATH');
    expect(existsSync(argsFile)).toBe(false);
    const none = await ssh(['workers'], neither, noAws);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      'the AWS CLI (aws) is not on PATH: install version 2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)',
    );
    expect(none.stderr).toContain('the Session Manager plugin (session-manager-plugin) is not on PATH');
  });

  it("every instance role may open sessions (the SSM agent's channel); no security group admits port 22 from an address range", async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const roles = ((await iam.send(new ListRolesCommand({}))).Roles ?? []).filter((r) => r.Path?.includes(ID));
    const instanceRoles = roles.filter(
      (r) => r.AssumeRolePolicyDocument && decodeURIComponent(r.AssumeRolePolicyDocument).includes('ec2.amazonaws.com'),
    );
    expect(instanceRoles.length).toBeGreaterThanOrEqual(2);
    for (const role of instanceRoles) {
      const names = (await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName! }))).PolicyNames ?? [];
      const actions = new Set<string>();
      for (const PolicyName of names) {
        const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: role.RoleName!, PolicyName }))).PolicyDocument!;
        for (const st of (JSON.parse(decodeURIComponent(doc)) as { Statement: Array<{ Effect: string; Action: string | string[] }> })
          .Statement)
          if (st.Effect === 'Allow') for (const a of [st.Action].flat()) actions.add(a);
      }
      for (const a of ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:OpenDataChannel'])
        expect(actions.has(a), `${role.RoleName}: ${a}`).toBe(true);
    }
    const ec2 = new EC2Client({ region: REGION });
    const groups =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: [ID] }] }))).SecurityGroups ?? [];
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups)
      for (const p of g.IpPermissions ?? []) {
        const ranges = [...(p.IpRanges ?? []), ...(p.Ipv6Ranges ?? [])];
        const covers22 = p.IpProtocol === '-1' || (p.FromPort! <= 22 && 22 <= p.ToPort! && p.IpProtocol !== 'icmp');
        expect(ranges.length && covers22, `${g.GroupName}: ${JSON.stringify(p)}`).toBeFalsy();
      }
  });
});
