/** The node and loadbalancer flows with a fake program boundary and mocked SDK clients. */
import { existsSync, readFileSync } from 'node:fs';
import { AssociateAddressCommand, DescribeAddressesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../../helpers/sdk-mock.js';
import { parse } from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import { hostPath } from '../../../src/agent/context.js';
import { containerdConfig, kubernetesRepo } from '../../../src/agent/host.js';
import { claimElasticIp } from '../../../src/agent/node/eip.js';
import { JOIN_CONFIG_FILE, nodeBoot, waitForJoin } from '../../../src/agent/node/index.js';
import { formatNodeLabels, kubeletLabels, renderJoinConfiguration } from '../../../src/agent/node/join-config.js';
import { ProgramError } from '../../../src/agent/programs.js';
import { ReportedFailure } from '../../../src/agent/report.js';
import { parseBootReport } from '../../../src/records/boot.js';
import { FakePrograms, testContext } from '../../helpers/agent.js';

const s3 = sdkMock(S3Client);
const ec2 = sdkMock(EC2Client);
const TOKEN = 'abcdef.0123456789abcdef';
const TOKEN2 = 'zyxwvu.fedcba9876543210';
const HASH = `sha256:${'a'.repeat(64)}`;
// what GetObject's Body gives the agent: transformToString
const body = (text: string) => ({ transformToString: async () => text }) as never;
const noKey = () => new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
const DEFAULTS = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n';

function joinRecord(token = TOKEN) {
  s3.on(GetObjectCommand, { Key: 'join/token' }).callsFake(async () => ({ Body: body(`${token}\n`) }));
  s3.on(GetObjectCommand, { Key: 'join/ca-cert-hash' }).callsFake(async () => ({ Body: body(`${HASH}\n`) }));
}

beforeEach(() => {
  s3.reset();
  ec2.reset();
});

describe('the JoinConfiguration renderer', () => {
  const j = {
    kubernetesVersion: '1.31.4',
    apiEndpoint: 'master.dev.kube:443',
    token: TOKEN,
    caCertHash: HASH,
    nodeName: 'ip-10-0-1-5.ec2.internal',
    nodeIp: '10.0.1.5',
    labels: { 'kubeaz.io/role': 'node', tier: 'apps' },
    taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' as const }],
  };

  it('renders kubeadm.k8s.io/v1beta4 from 1.31: discovery by token and CA hash, node name and IP, labels and taints', () => {
    expect(parse(renderJoinConfiguration(j))).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      discovery: { bootstrapToken: { apiServerEndpoint: 'master.dev.kube:443', token: TOKEN, caCertHashes: [HASH] } },
      nodeRegistration: {
        name: 'ip-10-0-1-5.ec2.internal',
        criSocket: 'unix:///run/containerd/containerd.sock',
        kubeletExtraArgs: [
          { name: 'cloud-provider', value: 'external' },
          { name: 'node-ip', value: '10.0.1.5' },
          { name: 'node-labels', value: 'kubeaz.io/role=node,tier=apps' },
        ],
        taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }],
      },
    });
  });

  it('renders v1beta3 (kubeletExtraArgs as a map) for 1.30', () => {
    const doc = parse(renderJoinConfiguration({ ...j, kubernetesVersion: '1.30.9', taints: [] }));
    expect(doc.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(doc.nodeRegistration.kubeletExtraArgs).toEqual({
      'cloud-provider': 'external',
      'node-ip': '10.0.1.5',
      'node-labels': 'kubeaz.io/role=node,tier=apps',
    });
    expect(doc.nodeRegistration.taints).toEqual([]);
  });

  it('leaves out node-role.kubernetes.io/* labels (NodeRestriction) and refuses a label that could add a flag', () => {
    expect(kubeletLabels({ 'node-role.kubernetes.io/worker': '', b: '1' }, { zone: 'a' })).toEqual({
      labels: { b: '1', zone: 'a' },
      skipped: ['node-role.kubernetes.io/worker'],
    });
    expect(() => formatNodeLabels({ tier: 'x --anonymous-auth=true' })).toThrow(/cannot take safely/);
    expect(() => formatNodeLabels({ tier: 'a,evil=1' })).toThrow(/cannot take safely/);
  });
});

describe('host preparation renderers', () => {
  it('the pkgs.k8s.io repository of the minor, its packages excluded unless named', () => {
    expect(kubernetesRepo('1.31.4')).toContain('baseurl=https://pkgs.k8s.io/core:/stable:/v1.31/rpm/\n');
    expect(kubernetesRepo('1.31.4')).toContain('exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n');
  });
  it('containerd with the systemd cgroup driver, or a clear refusal when the default has no switch', () => {
    expect(containerdConfig(DEFAULTS)).toContain('SystemdCgroup = true');
    expect(() => containerdConfig('version = 3\n')).toThrow(/SystemdCgroup/);
  });
});

describe('node boot', () => {
  const programsWith = (join: (n: number, config: string) => number, seen: string[] = []) =>
    new FakePrograms((c, n) => {
      if (c.cmd === 'containerd') return { stdout: DEFAULTS };
      if (c.cmd === 'kubeadm' && c.args[0] === 'join') {
        const cfg = readFileSync(c.args[2]!, 'utf8');
        seen.push(cfg);
        const code = join(n, cfg);
        return {
          code,
          stderr: code ? `[preflight] Running pre-flight checks\nerror execution phase kubelet-start: token ${TOKEN} rejected\n` : '',
        };
      }
      return undefined;
    });

  it('prepares the host, waits for join/, joins with the rendered configuration (0600, removed after), reports each phase', async () => {
    joinRecord();
    const seen: string[] = [];
    const ctx = testContext({ programs: programsWith(() => 0, seen) });
    await nodeBoot(ctx);
    expect(ctx.programs.lines()).toEqual([
      'modprobe overlay',
      'modprobe br_netfilter',
      'sysctl --system',
      'swapoff -a',
      'dnf install -y -q --setopt=install_weak_deps=False containerd iptables-nft iproute iproute-tc conntrack-tools socat ethtool util-linux',
      'dnf install -y -q --setopt=install_weak_deps=False --disableexcludes=kubernetes kubelet-1.31.4 kubeadm-1.31.4 kubectl-1.31.4 cri-tools kubernetes-cni',
      'containerd config default',
      'systemctl enable --now containerd',
      'systemctl enable kubelet',
      `kubeadm join --config ${hostPath(ctx, JOIN_CONFIG_FILE)}`,
    ]);
    const cfg = parse(seen[0]!);
    expect(cfg.discovery.bootstrapToken).toEqual({ apiServerEndpoint: 'master.dev.kube:443', token: TOKEN, caCertHashes: [HASH] });
    expect(cfg.nodeRegistration.name).toBe('ip-10-0-1-5.ec2.internal');
    expect(cfg.nodeRegistration.kubeletExtraArgs).toContainEqual({
      name: 'node-labels',
      value: 'kubeaz.io/role=node,tier=apps,topology.kubernetes.io/zone=us-east-1a,kubeaz.io/node-group=workers',
    });
    expect(cfg.nodeRegistration.taints).toEqual([{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }]);
    expect(existsSync(hostPath(ctx, JOIN_CONFIG_FILE))).toBe(false);
    expect(readFileSync(hostPath(ctx, '/etc/sysctl.d/90-kubernetes.conf'), 'utf8')).toContain('net.ipv4.ip_forward = 1\n');
    expect(readFileSync(hostPath(ctx, '/etc/containerd/config.toml'), 'utf8')).toContain('SystemdCgroup = true');
    const last = parseBootReport(ctx.reports.at(-1)!.body);
    if (last instanceof Error) throw last;
    expect(last.phases.map((p) => p.name)).toEqual(['host', 'join-record', 'join']);
    expect(last.result).toBe('running');
    expect(ctx.reports.every((r) => r.key === 'boot/i-0123456789abcdef0.json')).toBe(true);
  });

  it('a join that fails part-way is reset (kubeadm reset -f) and retried with join/ read again', async () => {
    let token = TOKEN;
    s3.on(GetObjectCommand, { Key: 'join/token' }).callsFake(async () => ({ Body: body(token) }));
    s3.on(GetObjectCommand, { Key: 'join/ca-cert-hash' }).callsFake(async () => ({ Body: body(HASH) }));
    const seen: string[] = [];
    const ctx = testContext({
      programs: programsWith((n) => {
        token = TOKEN2; // the master renewed the token meanwhile
        return n === 1 ? 1 : 0;
      }, seen),
    });
    await nodeBoot(ctx);
    const lines = ctx.programs.lines().slice(-3);
    expect(lines).toEqual([
      `kubeadm join --config ${hostPath(ctx, JOIN_CONFIG_FILE)}`,
      'kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock',
      `kubeadm join --config ${hostPath(ctx, JOIN_CONFIG_FILE)}`,
    ]);
    expect(parse(seen[0]!).discovery.bootstrapToken.token).toBe(TOKEN);
    expect(parse(seen[1]!).discovery.bootstrapToken.token).toBe(TOKEN2);
  });

  it('gives up after its join attempts: failed at phase join with the output redacted, the file removed', async () => {
    joinRecord();
    const ctx = testContext({ programs: programsWith(() => 1), waits: { joinAttempts: 3 } });
    const err = await nodeBoot(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportedFailure);
    expect((err as ReportedFailure).cause).toBeInstanceOf(ProgramError);
    expect(ctx.programs.lines().filter((l) => l.startsWith('kubeadm join'))).toHaveLength(3);
    expect(ctx.programs.lines().filter((l) => l.startsWith('kubeadm reset'))).toHaveLength(2);
    const last = parseBootReport(ctx.reports.at(-1)!.body);
    if (last instanceof Error) throw last;
    expect(last.result).toBe('failed');
    expect(last.error?.phase).toBe('join');
    expect(last.error?.output).toContain('error execution phase kubelet-start: token <redacted secret> rejected');
    expect(ctx.reports.map((r) => r.body).join('')).not.toContain(TOKEN);
    expect(existsSync(hostPath(ctx, JOIN_CONFIG_FILE))).toBe(false);
  });

  it('waits for the master to write join/, then goes on', async () => {
    let reads = 0;
    s3.on(GetObjectCommand, { Key: 'join/token' }).callsFake(async () => {
      if (++reads < 3) throw noKey();
      return { Body: body(TOKEN) };
    });
    s3.on(GetObjectCommand, { Key: 'join/ca-cert-hash' }).callsFake(async () => ({ Body: body(HASH) }));
    const ctx = testContext({ waits: { joinRecordRetryMs: 7 } });
    expect(await waitForJoin(ctx)).toEqual({ token: TOKEN, caCertHash: HASH });
    expect(ctx.slept).toEqual([7, 7]);
  });

  it('fails the join-record phase when join/ never comes', async () => {
    s3.on(GetObjectCommand).rejects(noKey());
    const ctx = testContext({ waits: { joinRecordAttempts: 2 } });
    await expect(waitForJoin(ctx)).rejects.toThrow(
      /no join record in s3:\/\/kubeaz-demo-dev-123456789012-us-east-1\/join\/ after 2 attempts/,
    );
  });
});

describe('elastic IP claim (loadbalancer)', () => {
  const addr = (n: number, extra: Record<string, unknown> = {}, pool = 'edge', cluster = 'demo-dev') => ({
    AllocationId: `eipalloc-${n}`,
    PublicIp: `203.0.113.${n}`,
    Tags: [
      { Key: 'kubeaz:cluster', Value: cluster },
      { Key: 'kubeaz:eip-pool', Value: pool },
    ],
    ...extra,
  });
  const taken = () =>
    Object.assign(new Error('resource is already associated'), { name: 'Resource.AlreadyAssociated', $metadata: { httpStatusCode: 400 } });
  const lbCtx = () => testContext({ identity: { group: 'edge', instanceId: 'i-000000000000000a0' } });

  it('asks with the pool filters and AllowReassociation=false; a lost race takes the next free address', async () => {
    ec2
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [addr(1, { AssociationId: 'eipassoc-x', InstanceId: 'i-other' }), addr(2), addr(3)] });
    ec2.on(AssociateAddressCommand).rejectsOnce(taken()).resolves({ AssociationId: 'eipassoc-mine' });
    const ctx = lbCtx();
    const got = await claimElasticIp(ctx);
    const calls = ec2.commandCalls(AssociateAddressCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.AllowReassociation === false && c.InstanceId === 'i-000000000000000a0')).toBe(true);
    expect(new Set(calls.map((c) => c.AllocationId))).toEqual(new Set(['eipalloc-2', 'eipalloc-3']));
    expect(got).toBe(calls[1]!.AllocationId);
    expect(ec2.commandCalls(DescribeAddressesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'tag:kubeaz:cluster', Values: ['demo-dev'] },
      { Name: 'tag:kubeaz:eip-pool', Values: ['edge'] },
    ]);
  });

  it('keeps an address that is already ours (a rebooted agent) and never touches another pool or cluster', async () => {
    ec2.on(DescribeAddressesCommand).resolves({
      Addresses: [
        addr(9, {}, 'other'),
        addr(8, {}, 'edge', 'another-cluster'),
        addr(2, { AssociationId: 'a', InstanceId: 'i-000000000000000a0' }),
      ],
    });
    expect(await claimElasticIp(lbCtx())).toBe('eipalloc-2');
    expect(ec2.commandCalls(AssociateAddressCommand)).toHaveLength(0);
  });

  it('fails clearly when no address of the pool is free; rethrows an error that is not a lost race', async () => {
    ec2
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [addr(1, { AssociationId: 'x', InstanceId: 'i-other' }), addr(7, {}, 'other')] });
    await expect(claimElasticIp(lbCtx())).rejects.toThrow(/no free elastic IP in pool edge of demo-dev \(1 in the pool, all held\)/);
    ec2.reset();
    ec2.on(DescribeAddressesCommand).resolves({ Addresses: [addr(2)] });
    ec2
      .on(AssociateAddressCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }));
    await expect(claimElasticIp(lbCtx())).rejects.toThrow(/not allowed/);
  });

  it('lists again after a round where every free address was taken, then gives up after its rounds', async () => {
    ec2.on(DescribeAddressesCommand).resolves({ Addresses: [addr(2)] });
    ec2.on(AssociateAddressCommand).rejects(taken());
    const ctx = testContext({ identity: { group: 'edge' }, waits: { eipRounds: 3, eipRetryMs: 5 } });
    await expect(claimElasticIp(ctx)).rejects.toThrow(/could not claim an elastic IP of pool edge in 3 rounds/);
    expect(ec2.commandCalls(DescribeAddressesCommand)).toHaveLength(3);
    expect(ctx.slept).toEqual([5, 5]);
  });

  it('a loadbalancer with a pool claims its address before anything else; one without a pool claims nothing', async () => {
    joinRecord();
    ec2.on(DescribeAddressesCommand).resolves({ Addresses: [addr(2)] });
    ec2.on(AssociateAddressCommand).resolves({});
    const programs = new FakePrograms((c) => (c.cmd === 'containerd' ? { stdout: DEFAULTS } : undefined));
    const ctx = testContext({ identity: { group: 'edge' }, programs });
    await nodeBoot(ctx);
    const last = parseBootReport(ctx.reports.at(-1)!.body) as { phases: Array<{ name: string }> };
    expect(last.phases.map((p) => p.name)).toEqual(['elastic-ip', 'host', 'join-record', 'join']);
    const ctx2 = testContext({
      identity: { group: 'edge', settings: { ...ctx.identity.settings, elasticIps: 0 } },
      programs: new FakePrograms((c) => (c.cmd === 'containerd' ? { stdout: DEFAULTS } : undefined)),
    });
    ec2.reset();
    await nodeBoot(ctx2);
    expect(ec2.commandCalls(DescribeAddressesCommand)).toHaveLength(0);
  });
});
