/**
 * One master's whole boot (masterBootWith) as unit tests: the configuration is the one `create`
 * renders for a spec (agent/config.json of the derived graph), the bucket holds what create puts
 * there (the add-on manifests) and the CAs, S3 is one bucket in memory, Route 53 and auto scaling
 * are mocked, programs are recorded by a fake boundary and etcd is an in-memory stand-in.
 * Given / when / then, in the order the boot runs:
 *
 *  - a first boot with no snapshot: packages, pki, dns, `kubeadm init` (no restore, no etcdutl),
 *    the day jobs (timers, join token in join/) BEFORE any add-on, the first snapshot, the add-ons;
 *  - master.<internal domain> pointed at the master only when the zone has no alias for it;
 *  - a rebuild with snapshots: the newest VALID one restored (a corrupt newer one skipped, the older
 *    ones never fetched), then `kubeadm init` past the etcd-dir preflight;
 *  - snapshots but none valid: no `kubeadm init` over them, the boot fails at its restore phase;
 *  - IRSA on: the issuer patch is on disk before `kubeadm init` (and before a control-plane join,
 *    whose JoinConfiguration names the patches directory), the webhook's serving certificate chains
 *    to the cluster CA with the Service's names, the add-ons get the roles the model named.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../../helpers/sdk-mock.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { hostPath, type AgentAws, type AgentContext } from '../../../src/agent/context.js';
import type { Identity } from '../../../src/agent/identity.js';
import { joinControlPlane, masterBootWith, masterSettingsOf } from '../../../src/agent/master/boot.js';
import { registerMasterDns } from '../../../src/agent/master/dns.js';
import { ETCDUTL_ENV } from '../../../src/agent/master/etcd-tools.js';
import { ENABLED_UNITS, UNIT_NAMES } from '../../../src/agent/master/units.js';
import type { RunResult } from '../../../src/agent/programs.js';
import { BootReporter, ReportedFailure } from '../../../src/agent/report.js';
import { AUTOSCALER_ENABLED_TAG, autoscalerClusterTag } from '../../../src/spec/autoscaler-tags.js';
import { TEMPLATE_NAMES } from '../../../src/model/bootstrap.js';
import { deriveGraph } from '../../../src/model/derive.js';
import { masterSettings } from '../../../src/model/master-settings.js';
import { naming } from '../../../src/model/names.js';
import { caCertHash, generatePair, PKI_PAIRS } from '../../../src/pki/ca.js';
import { generateEncryptionKey } from '../../../src/pki/encryption-key.js';
import { parseAgentConfig } from '../../../src/records/agent-config.js';
import { parseBootReport } from '../../../src/records/boot.js';
import { parseSpec } from '../../../src/spec/load.js';
import { podIdentityWebhookImage } from '../../../src/spec/versions.js';
import { FAST_WAITS, FakeEtcd, FakePrograms, ok } from '../../helpers/agent-master.js';
import { MemoryBucket } from '../../helpers/memory-s3.js';
import type { Loose } from '../../helpers/loose.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const ACCOUNT = '123456789012';
const example = readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
const templates = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, readFileSync(path.join(ROOT, 'templates', t), 'utf8')]));
const IRSA_ON = example.replace('  iam:\n', '  iam:\n    serviceAccountIssuerDiscovery: { enabled: true }\n');
const specOf = (text: string) => parseSpec(text, 'cluster.yaml', new Date('2026-12-05T12:00:00Z')).spec;

const s3 = sdkMock(S3Client);
const r53 = sdkMock(Route53Client);
const asg = sdkMock(AutoScalingClient);
const ec2 = sdkMock(EC2Client);
const aws: AgentAws = {
  s3: async () => new S3Client({ region: 'us-east-1' }),
  ec2: async () => new EC2Client({ region: 'us-east-1' }),
  autoscaling: async () => new AutoScalingClient({ region: 'us-east-1' }),
  route53: async () => new Route53Client({ region: 'us-east-1' }),
};
const pki: Record<string, string> = {};
const roots: string[] = [];
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  for (const p of PKI_PAIRS) {
    const pair = await generatePair(p);
    pki[`pki/${p.cert}`] = pair.cert;
    pki[`pki/${p.key}`] = pair.key;
  }
  // the aescbc key of Secrets at rest (spec.encryption's default), made by create beside the CAs
  pki['pki/encryption/key1'] = generateEncryptionKey();
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
beforeEach(() => {
  s3.reset();
  r53.reset();
  asg.reset();
  ec2.reset();
});

interface Boot {
  ctx: AgentContext;
  bucket: MemoryBucket;
  programs: FakePrograms;
  etcd: FakeEtcd;
  /** programs run, S3 writes and Route 53 changes, in the order they happened */
  events: string[];
  logs: string[];
  reports: string[];
  route53Changes: unknown[];
}

/**
 * A master of `specText` as create would leave its bucket (the graph's objects, the CAs), booting
 * with the configuration create rendered. `alias`: whether the private zone aliases master.<domain>.
 */
function master(
  specText: string,
  o: { alias?: boolean; group?: string; ip?: string; answer?: (cmd: string, args: string[], b: Boot) => RunResult | undefined } = {},
): Boot {
  const spec = specOf(specText);
  const g = deriveGraph(spec, { accountId: ACCOUNT, images: { x86_64: 'ami-0123456789abcdef0' }, templates });
  const bucket = new MemoryBucket(naming(spec).bucket(ACCOUNT));
  for (const n of g.nodes) {
    const p = n.props as { objectKey?: string; body?: unknown };
    if (n.kind === 'bucket-object' && typeof p.body === 'string') bucket.put(p.objectKey!, p.body);
  }
  for (const [k, v] of Object.entries(pki)) bucket.put(k, v);
  const config = parseAgentConfig(bucket.text('agent/config.json')!);
  if (config instanceof Error) throw config;
  const events: string[] = [];
  const logs: string[] = [];
  const reports: string[] = [];
  const route53Changes: unknown[] = [];
  bucket.attach(s3);
  bucket.beforePut = (key) => void events.push(`s3 put ${key}`);
  const zoneName = `${config.internalDomain}.`;
  r53
    .on(ListHostedZonesByNameCommand)
    .resolves({ HostedZones: [{ Id: '/hostedzone/Z0PRIVATE', Name: zoneName, CallerReference: 'x', Config: { PrivateZone: true } }] });
  r53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets:
      o.alias === false
        ? []
        : [
            {
              Name: `master.${zoneName}`,
              Type: 'A',
              AliasTarget: {
                DNSName: 'internal-demo-dev-api-int-1.us-east-1.elb.amazonaws.com.',
                HostedZoneId: 'Z35SXDOTRQ7X7K',
                EvaluateTargetHealth: false,
              },
            },
          ],
  });
  r53.on(ChangeResourceRecordSetsCommand).callsFake((i: { ChangeBatch: { Changes: Array<{ ResourceRecordSet: { Name: string } }> } }) => {
    route53Changes.push(i.ChangeBatch);
    events.push(`route53 change ${i.ChangeBatch.Changes[0]!.ResourceRecordSet.Name}`);
    return {};
  });
  const ip = o.ip ?? '10.0.32.10';
  const identity: Identity = {
    instanceId: 'i-0123456789abcdef0',
    region: 'us-east-1',
    zone: 'us-east-1b',
    privateIp: ip,
    hostname: `ip-${ip.replace(/\./g, '-')}.ec2.internal`,
    group: o.group ?? 'master',
    role: 'master',
    settings: { role: 'master', labels: { 'kubeaz.io/role': 'master' }, taints: [], elasticIps: 0 },
  };
  const etcd = new FakeEtcd();
  const b = { bucket, etcd, events, logs, reports, route53Changes } as unknown as Boot;
  const programs = new FakePrograms((cmd, args) => {
    events.push([cmd, ...args].join(' '));
    const a = o.answer?.(cmd, args, b);
    if (a) return a;
    if (cmd === 'kubeadm' && args[0] === 'init') etcd.add(identity.privateIp, identity.hostname);
    return undefined;
  });
  const log = (l: string) => void logs.push(l);
  const now = () => new Date();
  const root = mkdtempSync(path.join(tmpdir(), 'kubeaz-master-boot-'));
  roots.push(root);
  const ctx: AgentContext = {
    identity,
    config,
    programs,
    aws,
    root,
    waits: { ...FAST_WAITS, addonAttempts: 2, addonRetryMs: 0 },
    log,
    reporter: new BootReporter({
      instanceId: identity.instanceId,
      group: identity.group,
      role: 'master',
      sink: { put: async (_k, body) => void reports.push(body) },
      log,
      now,
    }),
    now,
    sleep: async () => {},
  };
  return Object.assign(b, { ctx, programs });
}

const deps = (b: Boot) => ({ etcd: b.etcd, apiUp: async () => false, agentCommand: ['/usr/bin/node-22', '/opt/kubeaz/kubeaz-agent.mjs'] });
/** the index of the first event matching each pattern, in order (fails naming the one not found after the previous) */
function sequence(events: string[], patterns: RegExp[]): number[] {
  const at: number[] = [];
  let from = 0;
  for (const p of patterns) {
    const i = events.findIndex((e, k) => k >= from && p.test(e));
    expect(i, `${p} after event ${from}:\n${events.join('\n')}`).toBeGreaterThanOrEqual(0);
    at.push(i);
    from = i + 1;
  }
  return at;
}
const initDocs = (b: Boot) =>
  parseAllDocuments(readFileSync(hostPath(b.ctx, '/etc/kubernetes/kubeadm.yaml'), 'utf8')).map((d) => d.toJS() as Loose);

describe('one master, first boot, no snapshot', () => {
  it('packages, pki, dns, kubeadm init (no restore), then timers and the join token BEFORE the first add-on, then the first snapshot and the add-ons', async () => {
    const b = master(example);
    expect(await masterBootWith(b.ctx, deps(b))).toEqual({ action: 'init' });
    const token = b.bucket.text('join/token')!.trim();
    sequence(b.events, [
      /^dnf install -y -q --setopt=install_weak_deps=False containerd iptables-nft iproute iproute-tc conntrack-tools socat ethtool util-linux$/,
      /^dnf install -y -q --setopt=install_weak_deps=False --disableexcludes=kubernetes kubelet-1\.35\.4 kubeadm-1\.35\.4 kubectl-1\.35\.4 cri-tools kubernetes-cni$/,
      /^kubeadm init --config \S+\/etc\/kubernetes\/kubeadm\.yaml$/,
      // backups, the join token and node roles come right after init, before any add-on
      /^systemctl daemon-reload$/,
      /^systemctl enable --now kubeaz-etcd-backup\.timer$/,
      /^systemctl enable --now kubeaz-join-token\.timer$/,
      /^systemctl enable --now kubeaz-node-roles\.timer$/,
      new RegExp(`^kubeadm token create ${token.replace('.', '\\.')} --kubeconfig \\S+/etc/kubernetes/admin\\.conf --ttl 48h `),
      /^s3 put join\/ca-cert-hash$/,
      /^s3 put join\/token$/,
      /^s3 put etcd\/\d{8}T\d{6}Z\.db$/,
      /^helm --kubeconfig \S+ upgrade --install cilium /,
      /^helm --kubeconfig \S+ upgrade --install aws-cloud-controller-manager .*--set image\.tag=v1\.35\.\d+ /,
      /^helm --kubeconfig \S+ upgrade --install aws-ebs-csi-driver /,
      /^kubectl --kubeconfig \S+ -n kube-system patch deployment ebs-csi-controller /,
      /^kubectl --kubeconfig \S+ apply -f \S+\/opt\/kubeaz\/addons\/storageclass\.yaml$/,
      /^helm --kubeconfig \S+ upgrade --install cluster-autoscaler /,
      // node groups: queue-processor mode on the drain queue the model named, on the host network (IRSA off)
      /^helm --kubeconfig \S+ upgrade --install aws-node-termination-handler .*--set enableSqsTerminationDraining=true --set-string queueURL=https:\/\/sqs\.us-east-1\.amazonaws\.com\/\d{12}\/demo-dev-drain /,
      /^kubectl --kubeconfig \S+ -n kube-system patch deployment aws-node-termination-handler .*"hostNetwork":true/,
    ]);
    // no snapshot: nothing restored, etcdutl not even fetched
    expect(b.events.filter((e) => /etcdutl|snapshot restore|config images list|github\.com/.test(e))).toEqual([]);
    const [init, cluster] = initDocs(b);
    expect(init!.nodeRegistration.ignorePreflightErrors).toBeUndefined();
    expect(init!.nodeRegistration).toMatchObject({
      name: 'ip-10-0-32-10.ec2.internal',
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    });
    expect(init!.localAPIEndpoint.advertiseAddress).toBe('10.0.32.10');
    // the encryption patch's directory (Secrets encrypted at rest, on by default); no IRSA patch without IRSA
    expect(init!.patches).toEqual({ directory: hostPath(b.ctx, '/etc/kubernetes/patches') });
    expect(existsSync(hostPath(b.ctx, '/etc/kubernetes/patches/kube-apiserver1+json.json'))).toBe(true);
    expect(existsSync(hostPath(b.ctx, '/etc/kubernetes/patches/kube-apiserver0+json.json'))).toBe(false);
    expect(cluster).toMatchObject({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      clusterName: 'demo-dev',
      kubernetesVersion: 'v1.35.4',
      controlPlaneEndpoint: `master.${b.ctx.config.internalDomain}:443`,
      networking: { podSubnet: '100.96.0.0/11', serviceSubnet: '100.64.0.0/13' },
      // the example names no publicDomain: no public master name among the SANs (test/unit/pki.test.ts has both)
      apiServer: { certSANs: [`master.${b.ctx.config.internalDomain}`, '10.0.32.10'] },
    });
    expect(statSync(hostPath(b.ctx, '/etc/kubernetes/kubeadm.yaml')).mode & 0o777).toBe(0o600);
    // the alias to the internal load balancer exists: no record written
    expect(b.route53Changes).toEqual([]);
    // join/: the token handed to kubeadm and the CA's hash
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(b.bucket.text('join/ca-cert-hash')!.trim()).toBe(caCertHash(pki['pki/ca.crt']!));
    // the CAs from pki/, keys 0600
    expect(readFileSync(hostPath(b.ctx, '/etc/kubernetes/pki/sa.key'), 'utf8')).toBe(pki['pki/sa.key']);
    for (const k of ['ca.key', 'etcd/ca.key', 'front-proxy-ca.key', 'sa.key'])
      expect(statSync(hostPath(b.ctx, `/etc/kubernetes/pki/${k}`)).mode & 0o777, k).toBe(0o600);
    // the kubelet: external cloud provider, its zone; node-role labels are not its to set
    const kubelet = readFileSync(hostPath(b.ctx, '/etc/sysconfig/kubelet'), 'utf8');
    expect(kubelet).toContain('--cloud-provider=external');
    expect(kubelet).toContain('--node-ip=10.0.32.10');
    expect(kubelet).toContain('topology.kubernetes.io/zone=us-east-1b');
    expect(kubelet).toContain('kubeaz.io/node-group=master');
    expect(kubelet).not.toContain('node-role.kubernetes.io/');
    // the units are installed and their timers enabled
    for (const u of Object.values(UNIT_NAMES)) expect(existsSync(hostPath(b.ctx, `/etc/systemd/system/${u}`)), u).toBe(true);
    expect(b.events.filter((e) => e.startsWith('systemctl enable --now kubeaz-'))).toEqual(
      ENABLED_UNITS.map((u) => `systemctl enable --now ${u}`),
    );
    // the first snapshot: conditional, its sha256 in the metadata
    const snap = b.bucket.keys('etcd/').filter((k) => /^etcd\/\d{8}T\d{6}Z\.db$/.test(k));
    expect(snap).toHaveLength(1);
    expect(b.bucket.log).toContain(`put ${snap[0]} if-none-match`);
    const o = b.bucket.objects.get(snap[0]!)!;
    expect(o.metadata?.sha256).toBe(sha(o.body));
    // the report: ready phases in order (the reporter's caller sets ready: every phase ended)
    const last = parseBootReport(b.reports.at(-1)!);
    if (last instanceof Error) throw last;
    expect(last.phases.map((p) => p.name)).toEqual([
      'packages',
      'kernel',
      'pki',
      'election',
      'dns',
      'restore',
      'init',
      'day-jobs',
      'first-backup',
      'addons',
    ]);
    expect(last.phases.every((p) => p.end !== undefined)).toBe(true);
    expect(last.result).toBe('running');
  });

  it('cluster-autoscaler: auto-discovery by the two tags the model puts on every node group, the image of the spec minor, on the control plane', async () => {
    const b = master(example);
    await masterBootWith(b.ctx, deps(b));
    const spec = specOf(example);
    const ms = masterSettings(spec, naming(spec), ACCOUNT);
    const ca = b.programs.calls.find((c) => c.cmd === 'helm' && c.args.includes('upgrade') && c.args.includes('cluster-autoscaler'))!.args;
    const set = (flag: string, name: string) =>
      ca
        .filter((_, i) => ca[i - 1] === flag)
        .find((a) => a.startsWith(`${name}=`))
        ?.slice(name.length + 1);
    expect(set('--set', 'image.tag')).toBe(ms.addons.clusterAutoscalerImage);
    expect(ms.addons.clusterAutoscalerImage).toMatch(/^v1\.35\.\d+$/);
    expect(set('--set', 'autoDiscovery.clusterName')).toBe('demo-dev');
    expect(set('--set', 'awsRegion')).toBe('us-east-1');
    expect(JSON.parse(set('--set-json', 'autoDiscovery.tags')!)).toEqual([AUTOSCALER_ENABLED_TAG, autoscalerClusterTag('demo-dev')]);
    // …and those are the tags on the node groups' auto scaling groups
    const g = deriveGraph(spec, { accountId: ACCOUNT, images: { x86_64: 'ami-0123456789abcdef0' }, templates });
    const workers = g.nodes.find((n) => n.key === 'asg/workers')!;
    const tags = JSON.stringify(workers);
    expect(tags).toContain(AUTOSCALER_ENABLED_TAG);
    expect(tags).toContain(autoscalerClusterTag('demo-dev'));
    expect(JSON.parse(set('--set-json', 'nodeSelector')!)).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(JSON.parse(set('--set-json', 'tolerations')!)).toContainEqual({
      key: 'node-role.kubernetes.io/control-plane',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    expect(set('--set', 'hostNetwork')).toBe('true');
  });
});

describe('master.<internal domain>', () => {
  it('is pointed at the master (before kubeadm init) only when the private zone has no alias for it', async () => {
    const b = master(example, { alias: false });
    await masterBootWith(b.ctx, deps(b));
    const [change, init] = sequence(b.events, [/^route53 change master\./, /^kubeadm init /]);
    expect(change).toBeLessThan(init!);
    expect(b.route53Changes).toEqual([
      {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: `master.${b.ctx.config.internalDomain}.`,
              Type: 'A',
              TTL: 60,
              ResourceRecords: [{ Value: '10.0.32.10' }],
            },
          },
        ],
      },
    ]);
  });

  it('alias: left alone; no private zone: nothing registered', async () => {
    const b = master(example);
    expect(await registerMasterDns(b.ctx, `master.${b.ctx.config.internalDomain}`)).toBe('alias');
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    r53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        { Id: '/hostedzone/ZPUBLIC', Name: `${b.ctx.config.internalDomain}.`, CallerReference: 'y', Config: { PrivateZone: false } },
      ],
    });
    expect(await registerMasterDns(b.ctx, `master.${b.ctx.config.internalDomain}`)).toBe('no-zone');
    expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
  });
});

describe('a rebuild with snapshots in the bucket', () => {
  /** etcdutl (named by KUBEAZ_ETCDUTL): reads any snapshot; a restore lays down the data dir with what it restored */
  const etcdutl = (cmd: string, args: string[]) => {
    if (cmd !== '/opt/etcdutl' || args[1] !== 'restore') return undefined;
    const dir = args[args.indexOf('--data-dir') + 1]!;
    mkdirSync(`${dir}/member`, { recursive: true });
    copyFileSync(args[2]!, `${dir}/member/restored-from-snapshot`);
    return ok();
  };
  const snapshot = (b: Boot, key: string, body: string, corrupt = false) =>
    b.bucket.put(key, body, { sha256: corrupt ? sha(`${body} before the bitrot`) : sha(body) });

  it('restores the newest VALID snapshot (a corrupt newer one skipped, older ones never fetched), then kubeadm init past the etcd-dir preflight', async () => {
    vi.stubEnv(ETCDUTL_ENV, '/opt/etcdutl');
    try {
      const b = master(example, { answer: etcdutl });
      snapshot(b, 'etcd/20261125T090000Z.db', 'etcd-snapshot older');
      snapshot(b, 'etcd/20261125T094500Z.db', 'etcd-snapshot good');
      snapshot(b, 'etcd/20261125T100000Z.db', 'etcd-snapshot newest-but-corrupt', true);
      await masterBootWith(b.ctx, deps(b));
      expect(b.bucket.log.filter((l) => /^get etcd\/\d/.test(l))).toEqual(['get etcd/20261125T100000Z.db', 'get etcd/20261125T094500Z.db']);
      const [restore, init] = sequence(b.events, [
        /^\/opt\/etcdutl snapshot restore \S+ --data-dir \S+\/var\/lib\/etcd --name ip-10-0-32-10\.ec2\.internal --initial-cluster ip-10-0-32-10\.ec2\.internal=https:\/\/10\.0\.32\.10:2380 /,
        /^kubeadm init --config /,
      ]);
      expect(restore).toBeLessThan(init!);
      // only the good one was restored; the revision jumps past anything a watcher saw (kubernetes #118501)
      expect(b.events.filter((e) => / snapshot restore /.test(e))).toHaveLength(1);
      expect(b.events[restore!]).toMatch(/ --bump-revision 1000000000 --mark-compacted$/);
      expect(readFileSync(hostPath(b.ctx, '/var/lib/etcd/member/restored-from-snapshot'), 'utf8')).toBe('etcd-snapshot good');
      expect(b.logs.some((l) => /skipping etcd\/20261125T100000Z\.db: sha256 [0-9a-f]{64} does not match its metadata/.test(l))).toBe(true);
      const [initConfig] = initDocs(b);
      expect(initConfig!.nodeRegistration.ignorePreflightErrors).toEqual(['DirAvailable--var-lib-etcd']);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('snapshots exist but none is valid: refuses to start an empty cluster over them (no kubeadm init), failed at phase restore', async () => {
    vi.stubEnv(ETCDUTL_ENV, '/opt/etcdutl');
    try {
      const b = master(example, { answer: etcdutl });
      snapshot(b, 'etcd/20261125T100000Z.db', 'etcd-snapshot x', true);
      const e = await masterBootWith(b.ctx, deps(b)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ReportedFailure);
      expect((e as Error).message).toMatch(/holds snapshots but none is valid; refusing to start an empty cluster over them/);
      expect(b.events.filter((x) => /^kubeadm init|snapshot restore/.test(x))).toEqual([]);
      const last = parseBootReport(b.reports.at(-1)!);
      if (last instanceof Error) throw last;
      expect(last).toMatchObject({ result: 'failed', error: { phase: 'restore' } });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('three masters, quorum lost for good', () => {
  const THREE = example.replace('  controlPlane:\n', '  controlPlane:\n    count: 3\n');
  const LONG_AGO = '2026-01-05T10:00:00Z';
  const rec = (o: Record<string, string>) => `${JSON.stringify(o, null, 2)}\n`;

  it('every recorded instance gone and no member answering: this master wins the restore claim, restores the newest valid snapshot as one member, inits, and records restore.json', async () => {
    vi.stubEnv(ETCDUTL_ENV, '/opt/etcdutl');
    try {
      const b = master(THREE, {
        group: 'master-2',
        ip: '10.0.2.10',
        answer: (cmd, args) => {
          if (cmd !== '/opt/etcdutl' || args[1] !== 'restore') return undefined;
          const dir = args[args.indexOf('--data-dir') + 1]!;
          mkdirSync(`${dir}/member`, { recursive: true });
          copyFileSync(args[2]!, `${dir}/member/restored-from-snapshot`);
          return ok();
        },
      });
      b.bucket.put('etcd/control-plane/init.json', rec({ group: 'master', instanceId: 'i-old1', time: LONG_AGO }));
      for (const [g, id, ip] of [
        ['master', 'i-old1', '10.0.1.5'],
        ['master-2', 'i-old2', '10.0.2.5'],
        ['master-3', 'i-old3', '10.0.3.5'],
      ] as const)
        b.bucket.put(
          `etcd/control-plane/members/${g}.json`,
          rec({
            group: g,
            memberId: `a${id.slice(-1)}`,
            name: `ip-${ip}`,
            peerURL: `https://${ip}:2380`,
            clientURL: `https://${ip}:2379`,
            instanceId: id,
            time: LONG_AGO,
          }),
        );
      for (const [k, body, good] of [
        ['etcd/20261125T090000Z.db', 'etcd-snapshot older', true],
        ['etcd/20261125T094500Z.db', 'etcd-snapshot good', true],
        ['etcd/20261125T100000Z.db', 'etcd-snapshot newest-but-corrupt', false],
      ] as const)
        b.bucket.put(k, body, { sha256: good ? sha(body) : sha('something else') });
      // i-old3 is not listed by EC2 any more (recorded long ago: gone)
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-old1', State: { Name: 'terminated', Code: 48 } },
              { InstanceId: 'i-old2', State: { Name: 'shutting-down', Code: 32 } },
            ],
          },
        ],
      });

      expect(await masterBootWith(b.ctx, deps(b))).toEqual({
        action: 'restore',
        lost: 'i-old1',
        claimKey: 'etcd/control-plane/restore-claims/i-old1.json',
      });
      expect(b.logs.join('\n')).toContain(
        `won s3://${b.bucket.name}/etcd/control-plane/restore-claims/i-old1.json: this master restores the cluster as one member; the others join it`,
      );
      const [claim, restore, init, restoreJson] = sequence(b.events, [
        /^s3 put etcd\/control-plane\/restore-claims\/i-old1\.json$/,
        /^\/opt\/etcdutl snapshot restore \S+ --data-dir \S+\/var\/lib\/etcd --name ip-10-0-2-10\.ec2\.internal --initial-cluster ip-10-0-2-10\.ec2\.internal=https:\/\/10\.0\.2\.10:2380 .*--bump-revision 1000000000 --mark-compacted$/,
        /^kubeadm init --config /,
        /^s3 put etcd\/control-plane\/restore\.json$/,
      ]);
      expect([claim, restore, init, restoreJson]).toEqual([...[claim, restore, init, restoreJson]].sort((x, y) => x! - y!));
      expect(b.bucket.log).toContain('put etcd/control-plane/restore-claims/i-old1.json if-none-match');
      expect(JSON.parse(b.bucket.text('etcd/control-plane/restore-claims/i-old1.json')!)).toMatchObject({
        by: 'i-0123456789abcdef0',
        group: 'master-2',
      });
      expect(readFileSync(hostPath(b.ctx, '/var/lib/etcd/member/restored-from-snapshot'), 'utf8')).toBe('etcd-snapshot good');
      expect(initDocs(b)[0]!.nodeRegistration.ignorePreflightErrors).toEqual(['DirAvailable--var-lib-etcd']);
      const rj = JSON.parse(b.bucket.text('etcd/control-plane/restore.json')!) as Record<string, string>;
      expect(rj).toMatchObject({
        snapshot: 'etcd/20261125T094500Z.db',
        snapshotTime: '2026-11-25T09:45:00Z',
        by: 'i-0123456789abcdef0',
        group: 'master-2',
        lost: 'i-old1',
      });
      expect(rj.restoredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      // its group's record now names this instance and its new member
      expect(JSON.parse(b.bucket.text('etcd/control-plane/members/master-2.json')!)).toMatchObject({
        group: 'master-2',
        instanceId: 'i-0123456789abcdef0',
        peerURL: 'https://10.0.2.10:2380',
        memberId: b.etcd.members[0]!.idHex,
      });
      // the master that restored takes the first snapshot and installs the add-ons
      expect(b.events.some((e) => /^helm .*upgrade --install cilium /.test(e))).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('IRSA on', () => {
  const ISSUER = `https://kubeaz-demo-dev-${ACCOUNT}-oidc.s3.us-east-1.amazonaws.com`;
  const PATCH = '/etc/kubernetes/patches/kube-apiserver0+json.json';

  it('the issuer patch is on disk before kubeadm init, which reads the patches directory; the webhook and the add-ons` roles are the model`s', async () => {
    let patchAtInit: string | undefined;
    const b = master(IRSA_ON, {
      answer: (cmd, args, self) => {
        if (cmd === 'kubeadm' && args[0] === 'init')
          patchAtInit = existsSync(hostPath(self.ctx, PATCH)) ? readFileSync(hostPath(self.ctx, PATCH), 'utf8') : undefined;
        return undefined;
      },
    });
    await masterBootWith(b.ctx, deps(b));
    const ms = masterSettingsOf(b.ctx);
    expect(ms.irsa).toEqual({
      serviceAccountIssuer: ISSUER,
      defaultServiceAccountIssuer: 'https://kubernetes.default.svc.cluster.local',
      ebsCsiRoleArn: `arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-ebs-csi`,
      clusterAutoscalerRoleArn: `arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-cluster-autoscaler`,
    });
    expect(patchAtInit).toBeDefined();
    const patch = JSON.parse(patchAtInit!) as Array<{ path: string; value: string }>;
    expect(patch[0]).toMatchObject({ path: '/spec/containers/0/command/1', value: `--service-account-issuer=${ISSUER}` });
    expect(initDocs(b)[0]!.patches).toEqual({ directory: hostPath(b.ctx, '/etc/kubernetes/patches') });

    // the webhook: installed right after Cilium, its serving certificate from the cluster CA with the Service's names
    const helmOrApply = b.events
      .filter((e) => /^(helm .*upgrade --install|kubectl .* apply -f)/.test(e))
      .map((e) => /upgrade --install (\S+)|apply -f (\S+)/.exec(e)!.slice(1).find(Boolean)!);
    expect(helmOrApply.slice(0, 3).map((x) => path.basename(x))).toEqual(['cilium', 'secret.yaml', 'manifests.yaml']);
    const dir = hostPath(b.ctx, '/opt/kubeaz/addons/pod-identity-webhook');
    const secret = parse(readFileSync(`${dir}/secret.yaml`, 'utf8')) as { type: string; data: Record<string, string> };
    expect(secret.type).toBe('kubernetes.io/tls');
    const certFile = `${dir}/served.crt`;
    writeFileSync(certFile, Buffer.from(secret.data['tls.crt']!, 'base64'));
    const caFile = hostPath(b.ctx, '/etc/kubernetes/pki/ca.crt');
    // Node's X509Certificate is OpenSSL's (the command-line check of a cert signed the same way: test/integration/agent/master-addons.test.ts)
    const served = new X509Certificate(readFileSync(certFile));
    const caCert = new X509Certificate(readFileSync(caFile));
    expect(served.checkIssued(caCert)).toBe(true);
    expect(served.verify(caCert.publicKey)).toBe(true);
    expect(new Date(served.validFrom).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(served.validTo).getTime()).toBeGreaterThan(Date.now());
    const sans = served.subjectAltName!.split(', ');
    for (const n of [
      'pod-identity-webhook',
      'pod-identity-webhook.kube-system',
      'pod-identity-webhook.kube-system.svc',
      'pod-identity-webhook.kube-system.svc.cluster.local',
    ])
      expect(sans).toContain(`DNS:${n}`);
    // TLS Web Server Authentication
    expect(served.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(statSync(`${dir}/secret.yaml`).mode & 0o777).toBe(0o600);
    // its MutatingWebhookConfiguration trusts exactly the cluster CA; no host network; the image of the spec minor
    const docs = parseAllDocuments(readFileSync(`${dir}/manifests.yaml`, 'utf8')).map((d) => d.toJS() as Loose);
    const hook = docs.find((d) => d.kind === 'MutatingWebhookConfiguration')!.webhooks[0];
    expect(Buffer.from(hook.clientConfig.caBundle, 'base64').toString()).toBe(pki['pki/ca.crt']);
    expect(hook.clientConfig.service).toEqual({ name: 'pod-identity-webhook', namespace: 'kube-system', path: '/mutate' });
    const pod = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.containers[0].image).toBe(podIdentityWebhookImage('1.35.4'));
    // the EBS CSI controller's and cluster-autoscaler's service accounts carry the roles the model named
    const helm = (name: string) =>
      b.programs.calls.find((c) => c.cmd === 'helm' && c.args.includes('upgrade') && c.args.includes(name))!.args;
    expect(helm('aws-ebs-csi-driver')).toContain(
      `controller.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${ms.irsa!.ebsCsiRoleArn}`,
    );
    expect(helm('cluster-autoscaler')).toContain(
      `rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${ms.irsa!.clusterAutoscalerRoleArn}`,
    );
    // …and the node termination handler's (queue-processor mode), off the host network
    expect(ms.nth!.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-nth`);
    expect(helm('aws-node-termination-handler')).toContain(`serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${ms.nth!.roleArn}`);
    expect(b.events).toContain(
      `kubectl --kubeconfig ${hostPath(b.ctx, '/etc/kubernetes/admin.conf')} -n kube-system patch deployment aws-node-termination-handler --type merge -p {"spec":{"template":{"spec":{"hostNetwork":false,"dnsPolicy":"ClusterFirst"}}}}`,
    );
    expect(b.events).toContain(
      `kubectl --kubeconfig ${hostPath(b.ctx, '/etc/kubernetes/admin.conf')} -n kube-system patch deployment ebs-csi-controller --type merge -p {"spec":{"template":{"spec":{"hostNetwork":false,"dnsPolicy":"ClusterFirst"}}}}`,
    );
  });

  it("a joining master's JoinConfiguration carries the patches directory, so its kube-apiserver gets the issuer flags (and the encryption flag, with IRSA or without)", async () => {
    const joinConfigs: string[] = [];
    const answer = (cmd: string, args: string[]) => {
      if (cmd === 'kubeadm' && args[0] === 'join') joinConfigs.push(readFileSync(args[2]!, 'utf8'));
      return undefined;
    };
    for (const text of [IRSA_ON, example]) {
      const b = master(text, { answer });
      b.bucket.put('join/token', 'abcdef.0123456789abcdef\n');
      b.bucket.put('join/ca-cert-hash', `${caCertHash(pki['pki/ca.crt']!)}\n`);
      await joinControlPlane(b.ctx, masterSettingsOf(b.ctx));
    }
    const [on, off] = joinConfigs.map((c) => parseAllDocuments(c)[0]!.toJS() as Loose);
    expect(on!.kind).toBe('JoinConfiguration');
    expect(on!.controlPlane.localAPIEndpoint.advertiseAddress).toBe('10.0.32.10');
    expect(on!.patches.directory).toMatch(/\/etc\/kubernetes\/patches$/);
    expect(off!.kind).toBe('JoinConfiguration');
    expect(off!.patches.directory).toMatch(/\/etc\/kubernetes\/patches$/);
  });
});

describe('Secrets encrypted at rest', () => {
  it('before kubeadm init: the configuration assembled with the key from pki/ (0600), the API server patch; after the add-ons every Secret is rewritten once and recorded', async () => {
    const admin = (b: Boot) => hostPath(b.ctx, '/etc/kubernetes/admin.conf');
    let configAtInit: string | undefined;
    const secrets: Record<string, string> = {
      default: '{"kind":"List","items":[]}',
      'kube-system': '{"kind":"List","items":[{"kind":"Secret","metadata":{"name":"s","namespace":"kube-system"}}]}',
    };
    const b = master(example, {
      answer: (cmd, args, self) => {
        const file = hostPath(self.ctx, '/etc/kubernetes/encryption/config.yaml');
        if (cmd === 'kubeadm' && args[0] === 'init') configAtInit = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
        if (cmd === 'kubectl' && args.includes('namespaces')) return ok('default kube-system');
        if (cmd === 'kubectl' && args.includes('secrets')) return ok(secrets[args[args.indexOf('--namespace') + 1]!]!);
        return undefined;
      },
    });
    await masterBootWith(b.ctx, deps(b));
    expect(configAtInit).toBeDefined();
    expect(parse(configAtInit!)).toEqual({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [
        {
          resources: ['secrets'],
          providers: [{ aescbc: { keys: [{ name: 'key1', secret: pki['pki/encryption/key1'] }] } }, { identity: {} }],
        },
      ],
    });
    expect(statSync(hostPath(b.ctx, '/etc/kubernetes/encryption/config.yaml')).mode & 0o777).toBe(0o600);
    const patch = JSON.parse(readFileSync(hostPath(b.ctx, '/etc/kubernetes/patches/kube-apiserver1+json.json'), 'utf8')) as Array<{
      value: unknown;
    }>;
    expect(patch[0]!.value).toBe('--encryption-provider-config=/etc/kubernetes/encryption/config.yaml');
    // the rewrite: after the last add-on, the namespace with Secrets only, its JSON written back from stdin
    const [nth, ns, replace, record] = sequence(b.events, [
      /^helm --kubeconfig \S+ upgrade --install aws-node-termination-handler /,
      /^kubectl --kubeconfig \S+ get namespaces /,
      /^kubectl --kubeconfig \S+ replace --filename -$/,
      /^s3 put etcd\/control-plane\/secrets-encryption\.json$/,
    ]);
    expect(nth! < ns! && replace! < record!).toBe(true);
    const replaced = b.programs.calls.filter((c) => c.cmd === 'kubectl' && c.args.includes('replace'));
    expect(replaced).toHaveLength(1);
    expect(replaced[0]!.args).toEqual(['--kubeconfig', admin(b), 'replace', '--filename', '-']);
    expect(replaced[0]!.input).toBe(secrets['kube-system']);
    const rec = JSON.parse(b.bucket.text('etcd/control-plane/secrets-encryption.json')!) as Record<string, string>;
    expect(rec).toMatchObject({
      fingerprint: masterSettingsOf(b.ctx).encryption.fingerprint,
      by: b.ctx.identity.instanceId,
      group: 'master',
    });
    // the key is in no log line and no boot report
    for (const line of [...b.logs, ...b.reports]) expect(line.includes(pki['pki/encryption/key1']!.trim())).toBe(false);
  });

  it('a master without its key in pki/ fails at pki, before kubeadm: an API server without it could read no Secret', async () => {
    const b = master(example);
    b.bucket.objects.delete('pki/encryption/key1');
    await expect(masterBootWith(b.ctx, deps(b))).rejects.toThrow(/pki\/encryption\/key1 is missing/);
    expect(b.events.some((e) => e.startsWith('kubeadm init'))).toBe(false);
  });
});
