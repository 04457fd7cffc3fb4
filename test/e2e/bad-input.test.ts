/**
 * Bad input, through the real CLI with every AWS call going through the counting proxy:
 *  - every command given a bad spec exits 2, lists every problem as `path (line N): message`,
 *    prints no stack trace, and makes ZERO AWS calls;
 *  - an access-denied error at run time (CreateNatGateway → 403 UnauthorizedOperation, injected by
 *    the proxy) is one readable line naming the resource and the AWS code, the stack only under
 *    --debug, exit 1, the state written; a re-run without the fault resumes and completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kubeaz, ROOT } from '../helpers/cli.js';
import { inventory } from '../helpers/inventory.js';
import { addedCounts, startFaultWorld, type FaultWorld } from '../helpers/fault-proxy.js';

const COMMANDS = ['validate', 'create', 'destroy', 'status', 'plan'] as const;
const STACK = /\n\s+at .+:\d+:\d+\)?/;
const example = await readFile(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
/** The 1-based line of the example spec that starts with `prefix`. */
const lineOf = (prefix: string): number => example.split('\n').findIndex((l) => l.startsWith(prefix)) + 1;

interface Case {
  name: string;
  /** undefined: the file does not exist */
  text?: string;
  /** each must appear as a line of the error output */
  expect: RegExp[];
}

const CASES: Case[] = [
  {
    name: 'YAML syntax error (line shown)',
    text: 'apiVersion: kubeaz/v1\nkind: Cluster\nmetadata:\n  name: demo\n  environment: dev\nspec:\n  region: us-east-1\n  zones: [us-east-1a, us-east-1b\n',
    expect: [/^ {2}\(file\) \(line \d+\): YAML syntax error: .+/m],
  },
  { name: 'empty file', text: '', expect: [/^ {2}\(file\): the file is empty/m] },
  { name: 'a file that is a list', text: '- a\n- b\n', expect: [/^ {2}\(file\) \(line 1\): the file holds a list/m] },
  { name: 'missing file', expect: [/^ {2}\(file\): .*does not exist/m] },
  {
    name: 'wrong apiVersion and kind',
    text: example.replace('apiVersion: kubeaz/v1', 'apiVersion: kubeaz/v2').replace('kind: Cluster', 'kind: Clustr'),
    // the example starts with the yaml-language-server comment: find the lines rather than count them
    expect: [
      new RegExp(`^ {2}apiVersion \\(line ${lineOf('apiVersion:')}\\): .*kubeaz\\/v1`, 'm'),
      new RegExp(`^ {2}kind \\(line ${lineOf('kind:')}\\): .*Cluster`, 'm'),
    ],
  },
  {
    name: 'misspelled fields, with the right name suggested',
    text: example
      .replace('  controlPlane:\n    instanceType:', '  controlPlane:\n    instanceTyp:')
      .replace('backupRetentionDays', 'backupRetentionDay'),
    expect: [
      /^ {2}spec\.controlPlane\.instanceTyp \(line \d+\): .*did you mean instanceType\?/m,
      /^ {2}spec\.etcd\.backupRetentionDay \(line \d+\): .*did you mean backupRetentionDays\?/m,
    ],
  },
  {
    name: 'bad values: name, version, NAT mode, apiAccess CIDR, size, taint effect, a non-number',
    text: `apiVersion: kubeaz/v1
kind: Cluster
metadata:
  name: Demo_Cluster
  environment: dev
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "banana"
  network:
    vpcCidr: 10.0.0.0/16
    nat: everywhere
    apiAccess: [300.1.1.1/8]
  controlPlane:
    instanceType: m5.large
    volumeSize: -5
  nodeGroups:
    - name: workers
      instanceType: m5.large
      minSize: three
      maxSize: 3
      taints: [{ key: a, value: b, effect: Sometimes }]
`,
    expect: [
      /^ {2}metadata\.name \(line 4\): /m,
      /^ {2}spec\.kubernetesVersion \(line 9\): /m,
      /^ {2}spec\.network\.nat \(line 12\): .*perZone, single, none/m,
      /^ {2}spec\.network\.apiAccess\[0\] \(line 13\): .*CIDR/m,
      /^ {2}spec\.controlPlane\.volumeSize \(line 16\): /m,
      /^ {2}spec\.nodeGroups\[0\]\.minSize \(line 20\): .*number/m,
      /^ {2}spec\.nodeGroups\[0\]\.taints\[0\]\.effect \(line 22\): .*NoSchedule/m,
    ],
  },
  {
    name: 'cross-field rules: zones, CIDR too small, sizes, loadbalancer-only fields, publicDomain, duplicate groups',
    text: `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: demo, environment: dev }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 10.0.0.0/27
  controlPlane: { instanceType: m5.large }
  nodeGroups:
    - name: workers
      instanceType: m5.large
      minSize: 5
      maxSize: 3
      desiredCapacity: 9
      elasticIps: 2
      publicRecord: lb
    - name: workers
      instanceType: m5.large
      minSize: 1
      maxSize: 3
`,
    expect: [
      /^ {2}spec\.zones\[1\] \(line 6\): .*twice/m,
      /^ {2}spec\.zones\[2\] \(line 6\): .*not in region us-east-1/m,
      /^ {2}spec\.network\.vpcCidr \(line 9\): .*too small/m,
      /^ {2}spec\.nodeGroups\[0\]\.maxSize \(line 15\): .*less than minSize/m,
      /^ {2}spec\.nodeGroups\[0\]\.desiredCapacity \(line 16\): /m,
      /^ {2}spec\.nodeGroups\[0\]\.elasticIps \(line 17\): .*loadbalancer/m,
      /^ {2}spec\.nodeGroups\[0\]\.publicRecord \(line 18\): .*publicDomain/m,
      /^ {2}spec\.nodeGroups\[1\]\.name \(line 19\): .*twice/m,
    ],
  },
  {
    name: 'issue 9 #5/#8/#13, issue 10 #14: flags in a label, a label the kubelet refuses, a bad taint key, aws: tags, a multicast VPC, another partition',
    text: `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: demo, environment: dev }
spec:
  region: cn-north-1
  zones: [cn-north-1a, cn-north-1b]
  kubernetesVersion: "1.35.0"
  network:
    vpcCidr: 224.0.0.0/16
  controlPlane: { instanceType: m5.large }
  tags:
    AWS:created-by: me
    "bad;char": x
  nodeGroups:
    - name: workers
      instanceType: m5.large
      minSize: 1
      maxSize: 3
      labels:
        tier: "x --anonymous-auth=true --authorization-mode=AlwaysAllow"
        kubernetes.io/role: web
      taints:
        - { key: "a b", effect: NoSchedule }
`,
    expect: [
      /^ {2}spec\.region \(line 5\): .*aws-cn partition/m,
      /^ {2}spec\.network\.vpcCidr \(line 9\): .*224\.0\.0\.0\/4 \(multicast\)/m,
      /^ {2}spec\.tags\.AWS:created-by \(line 12\): .*reserved/m,
      /^ {2}spec\.tags\.bad;char \(line 13\): .*IAM and S3/m,
      /^ {2}spec\.nodeGroups\[0\]\.labels\.tier \(line 20\): .*may hold only letters/m,
      /^ {2}spec\.nodeGroups\[0\]\.labels\.kubernetes\.io\/role \(line 21\): .*NodeRestriction/m,
      /^ {2}spec\.nodeGroups\[0\]\.taints\[0\]\.key \(line 23\): .*not a valid Kubernetes key/m,
    ],
  },
  {
    name: "issue 23 #1: spec.tags that hand every group to another cluster's autoscaler and cloud controller",
    text: example.replace(
      /^ {2}tags: \{ team: platform \}\n/m,
      '  tags:\n    team: platform\n    k8s.io/cluster-autoscaler/enabled: "true"\n    k8s.io/cluster-autoscaler/alpha-dev: owned\n    kubernetes.io/cluster/alpha-dev: owned\n    EKS:cluster-name: alpha\n',
    ),
    expect: [
      new RegExp(
        `^ {2}spec\\.tags\\.k8s\\.io/cluster-autoscaler/enabled \\(line ${lineOf('  tags:') + 2}\\): .*reserved: .*autoscaler .*terminate`,
        'm',
      ),
      new RegExp(`^ {2}spec\\.tags\\.k8s\\.io/cluster-autoscaler/alpha-dev \\(line ${lineOf('  tags:') + 3}\\): .*reserved`, 'm'),
      new RegExp(
        `^ {2}spec\\.tags\\.kubernetes\\.io/cluster/alpha-dev \\(line ${lineOf('  tags:') + 4}\\): .*reserved: .*cloud controller`,
        'm',
      ),
      new RegExp(`^ {2}spec\\.tags\\.EKS:cluster-name \\(line ${lineOf('  tags:') + 5}\\): .*reserved`, 'm'),
    ],
  },
  (() => {
    // a 253-character service account name is valid Kubernetes; its role's kubeaz:service-account
    // tag (namespace/name) would be 317 characters, and IAM takes 256: create would fail half-built
    const ns = 'n'.repeat(63);
    const sa = `${`${'s'.repeat(62)}.`.repeat(4)}s`;
    const text = example.replace(
      '  iam:\n',
      `  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n    serviceAccounts:\n      - namespace: ${ns}\n        name: ${sa}\n        policyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n`,
    );
    const line = text.split('\n').findIndex((l) => l.includes(`name: ${sa}`)) + 1;
    return {
      name: 'issue 23 #5: a 253-character service account name (valid Kubernetes) whose derived IAM tag is over AWS limits',
      text,
      expect: [
        new RegExp(
          `^ {2}spec\\.iam\\.serviceAccounts\\[0\\]\\.name \\(line ${line}\\): .*tag kubeaz:service-account \\(value\\) of iam-role .*'${ns}/${sa.replace(/\./g, '\\.')}' — 317 characters, and AWS allows at most 256`,
          'm',
        ),
      ],
    };
  })(),
  {
    name: 'issue 9 #8: a spec file far over the size cap (refused before parsing)',
    text: `${example}\n${'# padding\n'.repeat(60_000)}`,
    expect: [/^ {2}\(file\): the file is \d+ bytes; a cluster spec may be at most \d+ bytes/m],
  },
  {
    name: 'fewer than 2 zones, a required section missing',
    text: 'apiVersion: kubeaz/v1\nkind: Cluster\nmetadata: {name: demo, environment: dev}\nspec:\n  region: us-east-1\n  zones: [us-east-1a]\n  kubernetesVersion: "1.35.0"\n  nodeGroups: [{name: w, instanceType: m5.large, minSize: 1, maxSize: 2}]\n',
    expect: [/^ {2}spec\.zones \(line 6\): .*at least 2 zones/m, /^ {2}spec\.controlPlane( \(line \d+\))?: .*required/m],
  },
];

describe('bad input', () => {
  let w: FaultWorld;

  beforeAll(async () => {
    w = await startFaultWorld();
    await w.reset();
  });
  afterAll(async () => {
    await w?.close();
  });

  for (const c of CASES) {
    it(`${c.name}: every command exits 2, lists every problem, no stack, no AWS call`, async () => {
      // a directory of its own: another test of this file (access denied at run time) writes a
      // state file beside w.file, and this one asserts that nothing is written beside its spec
      const dir = await mkdtemp(path.join(w.dir, 'bad-input-'));
      const file = path.join(dir, `bad-${CASES.indexOf(c)}.yaml`);
      if (c.text !== undefined) await writeFile(file, c.text);
      w.proxy.resetCounts();
      const results = await Promise.all(
        COMMANDS.map((cmd) => kubeaz([cmd, '-f', file, ...(cmd === 'create' || cmd === 'destroy' ? ['--yes'] : [])], w.env)),
      );
      results.forEach((r, i) => {
        const out = r.stdout + r.stderr;
        expect(r.code, `${COMMANDS[i]}: ${out}`).toBe(2);
        expect(r.stderr, COMMANDS[i]).toMatch(new RegExp(`^\\S*${path.basename(file).replace('.', '\\.')}: \\d+ problems?$`, 'm'));
        for (const e of c.expect) expect(r.stderr, `${COMMANDS[i]}: ${r.stderr}`).toMatch(e);
        // every listed problem has the path (line N): message shape
        for (const line of r.stderr.split('\n').filter((l) => l.startsWith('  '))) expect(line).toMatch(/^ {2}\S+( \(line \d+\))?: \S/);
        expect(out, COMMANDS[i]).not.toMatch(STACK);
      });
      expect(w.proxy.counts().total).toBe(0);
      expect(existsSync(path.join(dir, '.kubeaz'))).toBe(false);
    });
  }

  it('usage errors (issue 9 #10): exit 2, one line naming the help to read, no AWS call, nothing locked or written', async () => {
    const dir = await mkdtemp(path.join(w.dir, 'usage-'));
    const f = path.join(dir, 'cluster.yaml');
    await writeFile(f, await readFile(w.file, 'utf8'));
    const cases: Array<[string[], RegExp]> = [
      [['create', '-f', f, '--yes', '--concurrency', 'abc'], /--concurrency.*'abc' is invalid.*; see 'kubeaz create --help'$/],
      [['create', '-f', f, '--yes', '--concurrency', '0'], /--concurrency.*'0' is invalid.*; see 'kubeaz create --help'$/],
      [['destroy', '-f', f, '--yes', '--poll-interval', 'soon'], /--poll-interval.*'soon' is invalid.*; see 'kubeaz destroy --help'$/],
      [['rollout', '-f', f, '--yes', '--min-healthy-percentage', '150'], /'150' is invalid.*; see 'kubeaz rollout --help'$/],
      [['plan', '-f', f, '--output', 'yaml'], /'yaml' is invalid.*; see 'kubeaz plan --help'$/],
      [['status', '-f', f, '--nosuch'], /unknown option '--nosuch'; see 'kubeaz status --help'$/],
      // no -f and no ./cluster.yaml where it runs (the repository's root holds cluster.example.yaml only)
      [
        ['create', '--yes'],
        /^error: no spec file: pass -f FILE, or run where \.\/cluster\.yaml is \(there is none in \/\S*\); see 'kubeaz create --help'$/,
      ],
      [['nosuch', '-f', f], /unknown command 'nosuch'; see 'kubeaz --help'$/],
      [
        ['create', '-f', f, '--yes', '--state', 'ftp://bucket/x'],
        /--state ftp:\/\/bucket\/x: expected s3:\/\/bucket\/prefix; see 'kubeaz create --help'$/,
      ],
    ];
    w.proxy.resetCounts();
    for (const [args, want] of cases) {
      const r = await kubeaz(args, w.env);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0], args.join(' ')).toMatch(/^error: /);
      expect(lines[0], args.join(' ')).toMatch(want);
      expect(r.stdout).toBe('');
    }
    expect(w.proxy.counts().total).toBe(0);
    expect(existsSync(path.join(dir, '.kubeaz'))).toBe(false);
  });

  it('access denied at run time: one readable line naming the resource and the code, stack only with --debug, state written; the re-run completes', async () => {
    const baseline = await w.reset();
    w.proxy.configure({
      rules: [
        {
          match: 'ec2:CreateNatGateway',
          status: 403,
          code: 'UnauthorizedOperation',
          message: 'You are not authorized to perform this operation.',
        },
      ],
    });
    const r = await kubeaz(['create', '-f', w.file, '--yes'], w.env);
    const injected = w.proxy.counts();
    expect(r.code, r.stderr).toBe(1);
    expect(injected.injected.rule).toBeGreaterThanOrEqual(1);
    // no retry of a permission error: one call per NAT gateway
    expect(injected.calls['ec2:CreateNatGateway']).toBe(injected.injected.rule);
    const lines = r.stderr.split('\n').filter((l) => /UnauthorizedOperation/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatch(/nat\/us-east-1[abc].*UnauthorizedOperation: You are not authorized/);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toMatch(/run create again/);
    const state = JSON.parse(await readFile(path.join(w.dir, '.kubeaz', 'demo-dev.json'), 'utf8'));
    expect(state.phase).toBe('creating');
    expect(state.resources.vpc.id).toMatch(/^vpc-/);
    expect(existsSync(path.join(w.dir, '.kubeaz', 'demo-dev.lock'))).toBe(false);

    w.proxy.configure({
      rules: [
        {
          match: 'ec2:CreateNatGateway',
          status: 403,
          code: 'UnauthorizedOperation',
          message: 'You are not authorized to perform this operation.',
        },
      ],
    });
    const debug = await kubeaz(['create', '-f', w.file, '--yes', '--debug'], w.env);
    expect(debug.code).toBe(1);
    expect(debug.stderr, debug.stderr).toMatch(STACK);

    w.proxy.quiet();
    w.proxy.resetCounts();
    const again = await kubeaz(['create', '-f', w.file, '--yes'], w.env);
    expect(again.code, again.stderr).toBe(0);
    const counts = addedCounts(await inventory(), baseline);
    expect(counts).toMatchObject({
      vpcs: 1,
      subnets: 6,
      natGateways: 3,
      elasticIps: 5,
      autoScalingGroups: 3,
      loadBalancers: 2,
      instances: 6,
    });
    process.stdout.write(
      `[faults] access denied: ${JSON.stringify({ injected: injected.faults, exit: r.code, errorLines: lines.length, resumeMutating: w.proxy.counts().mutating, after: counts })}\n`,
    );
  });
});
