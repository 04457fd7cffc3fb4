/**
 * The bootstrap templates rendered through src/model/bootstrap.ts: shellcheck-clean, and run for
 * real (bash) in a sandbox with stand-in commands (test/helpers/stubs) to check what they do, in order.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterSchema } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { BOOTSTRAP_FILES, TEMPLATE_NAMES, USERDATA_TEMPLATE, clusterVars, renderBootstrapFiles, renderUserData } from '../../src/model/bootstrap.js';
import { planRetention, snapshotKey } from '../../src/etcd/retention.js';
import { parse as parseYaml } from 'yaml';
import { AUTOSCALER_ENABLED_TAG, autoscalerClusterTag } from '../../src/spec/autoscaler-tags.js';
import { CA_HASH, JOIN_TOKEN, STUB_DIR, Sandbox, expectSequence, findCall, line, type Call } from '../helpers/stubs/harness.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]));

const spec = clusterSchema.parse({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: {
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    kubernetesVersion: '1.31.4',
    network: { vpcCidr: '10.0.0.0/16' },
    dns: { publicDomain: 'example.com' },
    controlPlane: { instanceType: 'm6g.large' },
    nodeGroups: [
      { name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3, labels: { tier: 'apps' }, taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }] },
      { name: 'edge', role: 'loadbalancer', instanceType: 't3.medium', minSize: 2, maxSize: 2, elasticIps: 3, publicRecord: 'lb' },
      { name: 'ingress', role: 'loadbalancer', instanceType: 't3.medium', minSize: 1, maxSize: 2 },
    ],
    etcd: { backupIntervalMinutes: 15, backupRetentionDays: 30 },
  },
});
const names = naming(spec);
const BUCKET = names.bucket('123456789012');
const vars = clusterVars(spec, names, BUCKET);
const files = renderBootstrapFiles(templates, vars);
const CP_LABELS = { 'node-role.kubernetes.io/control-plane': '' };
const CP_TAINTS = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' as const }];
const userData = {
  master: renderUserData(templates, vars, 'master', 'master', CP_LABELS, CP_TAINTS),
  node: renderUserData(templates, vars, 'node', 'workers', { tier: 'apps' }, spec.spec.nodeGroups[0]!.taints),
  loadbalancer: renderUserData(templates, vars, 'loadbalancer', 'edge', { 'node-role.kubernetes.io/loadbalancer': '' }, []),
  /** a loadbalancer group without an elastic-IP pool */
  ingress: renderUserData(templates, vars, 'loadbalancer', 'ingress', { 'kubeaz.io/role': 'loadbalancer' }, []),
};
const body = (key: string) => files.find((f) => f.key === key)!.body;
/** The common scripts laid down in the sandbox as master.sh would have (for scripts run alone). */
function layDown(sb: Sandbox): void {
  const kdir = path.join(sb.root, 'opt/kubeaz');
  fs.mkdirSync(kdir, { recursive: true });
  for (const f of files.filter((x) => x.key.startsWith('bootstrap/common/'))) fs.writeFileSync(path.join(kdir, path.basename(f.key)), f.body);
}

const HAVE_SHELLCHECK = spawnSync('shellcheck', ['--version']).status === 0;

const sandboxes: Sandbox[] = [];
afterEach(() => {
  while (sandboxes.length) sandboxes.pop()!.cleanup();
});

/** A sandbox whose bucket holds what kubeaz uploads: the rendered bootstrap files and the PKI. */
function sandbox(): Sandbox {
  const sb = new Sandbox(BUCKET);
  sandboxes.push(sb);
  for (const f of files) sb.put(f.key, f.body);
  for (const f of ['ca.crt', 'ca.key', 'etcd/ca.crt', 'etcd/ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'sa.key', 'sa.pub']) sb.put(`pki/${f}`, `stub ${f}\n`);
  return sb;
}

/** The --set and --set-json values of a helm command line (JSON parsed). */
function helmValues(args: readonly string[]): { set: Record<string, string>; json: Record<string, unknown> } {
  const set: Record<string, string> = {};
  const json: Record<string, unknown> = {};
  args.forEach((a, i) => {
    const v = args[i + 1] ?? '';
    const eq = v.indexOf('=');
    if (a === '--set') set[v.slice(0, eq)] = v.slice(eq + 1);
    if (a === '--set-json') json[v.slice(0, eq)] = JSON.parse(v.slice(eq + 1));
  });
  return { set, json };
}

const is = (cmd: string, re: RegExp) => (c: Call) => c.cmd === cmd && re.test(c.args.join(' '));
const runOk = (r: { status: number | null; stdout: string; stderr: string }) => {
  if (r.status !== 0) throw new Error(`script failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
};

describe('rendering', () => {
  it('renders every template with no placeholder left', () => {
    for (const f of files) expect(f.body, f.key).not.toMatch(/\{\{[A-Z0-9_]+\}\}/);
    for (const u of Object.values(userData)) expect(u).not.toMatch(/\{\{[A-Z0-9_]+\}\}/);
    expect(files.map((f) => f.key)).toEqual(expect.arrayContaining(['bootstrap/common/common.sh', 'bootstrap/common/cluster.env', 'bootstrap/master/master.sh']));
    // nodes and loadbalancers run the agent (src/agent/node): no bootstrap script of theirs is left
    expect(files.filter((f) => f.key.startsWith('bootstrap/node/'))).toEqual([]);
  });

  it('keeps user-data small and free of secrets', () => {
    for (const [role, u] of Object.entries(userData)) {
      const size = Buffer.byteLength(u);
      console.log(`user-data (${role}): ${size} bytes`);
      expect(size).toBeLessThan(4096);
      expect(u.startsWith('#!/bin/bash\n')).toBe(true);
      expect(u).toMatch(/set -euo pipefail/);
      expect(u).not.toMatch(/BEGIN .*PRIVATE KEY|--token|aws_secret/i);
    }
    expect(userData.node).toContain("taints 'dedicated=apps:NoSchedule'");
    expect(userData.loadbalancer).toContain('of group edge (loadbalancer)');
    expect(userData.master).toContain("export ROLE='master'");
  });

  it('pins kubeadm packages and the kubeadm config to the spec', () => {
    const common = files.find((f) => f.key === 'bootstrap/common/common.sh')!.body;
    expect(common).toContain('https://pkgs.k8s.io/core:/stable:/v1.31/rpm/');
    expect(common).toContain('"kubelet-1.31.4" "kubeadm-1.31.4" "kubectl-1.31.4"');
    const master = files.find((f) => f.key === 'bootstrap/master/master.sh')!.body;
    expect(master).toContain('controlPlaneEndpoint: master.dev.kube:443');
    expect(master).toContain('podSubnet: 100.96.0.0/11');
    expect(master).toContain('serviceSubnet: 100.64.0.0/13');
    expect(master).toContain('kubernetesVersion: v1.31.4');
    expect(master).toContain('    - master.dev.example.com');
    const timer = files.find((f) => f.key === 'bootstrap/master/kubeaz-etcd-backup.timer')!.body;
    expect(timer).toMatch(/OnUnitActiveSec=15min/);
    expect(timer).toMatch(/Persistent=true/);
  });
});

describe.skipIf(!HAVE_SHELLCHECK)('shellcheck', () => {
  const scripts = [
    ...files.filter((f) => f.key.endsWith('.sh')).map((f) => ({ name: f.key, body: f.body })),
    ...Object.entries(userData).map(([role, body]) => ({ name: `userdata-${role}.sh`, body })),
  ];
  it.each(scripts.map((s) => [s.name, s.body]))('%s passes shellcheck', (name, body) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-sc-'));
    try {
      const file = path.join(dir, path.basename(name));
      fs.writeFileSync(file, body);
      const r = spawnSync('shellcheck', ['--shell=bash', file], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
if (!HAVE_SHELLCHECK) console.warn('shellcheck is not installed: the shellcheck tests are SKIPPED (CI installs it: apt-get install shellcheck)');

describe('master', () => {
  it('first boot with no snapshot: no restore, kubeadm init, timers, join token in join/', () => {
    const sb = sandbox();
    const r = sb.run('userdata.sh', userData.master);
    runOk(r);
    const calls = sb.calls();
    expectSequence(calls, [
      is('curl', /-X PUT .*\/latest\/api\/token/),
      is('curl', /X-aws-ec2-metadata-token: stub-imds-token .*meta-data\/instance-id/),
      is('aws', /^s3 cp .*--recursive s3:\/\/kubeaz-demo-dev-123456789012\/bootstrap\/common\//),
      is('aws', /^s3 cp .*--recursive s3:\/\/kubeaz-demo-dev-123456789012\/bootstrap\/master\//),
      is('dnf', /install .*kubelet-1\.31\.4 kubeadm-1\.31\.4 kubectl-1\.31\.4/),
      is('aws', /s3:\/\/kubeaz-demo-dev-123456789012\/pki\/sa\.pub/),
      is('aws', /^s3api list-objects-v2 .*--prefix etcd\//),
      is('kubeadm', /^init --config /),
      // backups, the join token and node roles come right after init, before any add-on
      is('systemctl', /^enable --now kubeaz-etcd-backup\.timer$/),
      is('systemctl', /^enable --now kubeaz-join-token\.timer$/),
      is('kubeadm', /^token create .*--ttl 48h .*--print-join-command/),
      is('aws', /^s3 cp .* - s3:\/\/kubeaz-demo-dev-123456789012\/join\/ca-cert-hash$/),
      is('aws', /^s3 cp .* - s3:\/\/kubeaz-demo-dev-123456789012\/join\/token$/),
      is('systemctl', /^enable --now kubeaz-node-roles\.service$/),
      is('helm', /upgrade --install cilium .*--version 1\.18\.12 .*tunnelProtocol=vxlan/),
      is('helm', /upgrade --install aws-cloud-controller-manager .*--version 0\.0\.11 .*--set image\.tag=v1\.31\.9 /),
      is('helm', /upgrade --install aws-ebs-csi-driver .*--version 2\.64\.0 /),
      is('kubectl', /-n kube-system patch deployment ebs-csi-controller /),
      is('kubectl', /apply -f \S+\/opt\/kubeaz\/storageclass\.yaml$/),
    ]);
    expect(r.stderr + r.stdout).toMatch(/master of demo-dev is up\n/);
    expect(findCall(calls, (c) => c.cmd === 'etcdutl' && c.args[0] === 'snapshot')).toBe(-1);
    const init = calls.find((c) => c.cmd === 'kubeadm' && c.args[0] === 'init')!;
    expect(init.args).not.toContain('--ignore-preflight-errors=DirAvailable--var-lib-etcd');
    // the alias to the internal load balancer exists: no record written
    expect(findCall(calls, is('aws', /change-resource-record-sets/))).toBe(-1);
    expect(sb.get('join/token')!.trim()).toBe(JOIN_TOKEN);
    expect(sb.get('join/ca-cert-hash')!.trim()).toBe(CA_HASH);
    expect(sb.file('etc/kubernetes/pki/sa.key')).toBe('stub sa.key\n');
    expect(fs.statSync(path.join(sb.root, 'etc/kubernetes/pki/ca.key')).mode & 0o777).toBe(0o600);
    const config = sb.file('etc/kubernetes/kubeadm.yaml');
    expect(config).toContain('apiVersion: kubeadm.k8s.io/v1beta4');
    expect(config).toContain('name: ip-10-0-32-10.ec2.internal');
    expect(config).toContain('advertiseAddress: 10.0.32.10');
    const kubelet = sb.file('etc/sysconfig/kubelet');
    expect(kubelet).toContain('--cloud-provider=external');
    expect(kubelet).toContain('topology.kubernetes.io/zone=us-east-1b');
    expect(kubelet).not.toContain('node-role.kubernetes.io/control-plane=');
    expect(kubelet).toContain('--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule');
    for (const u of ['kubeaz-etcd-backup.service', 'kubeaz-etcd-backup.timer', 'kubeaz-join-token.timer', 'kubeaz-node-roles.service']) expect(sb.exists(`etc/systemd/system/${u}`)).toBe(true);
  });

  it('installs iptables-nft and what kubeadm preflight runs by name, weak dependencies off', () => {
    const sb = sandbox();
    runOk(sb.run('userdata.sh', userData.master));
    const installs = sb.calls().filter((c) => c.cmd === 'dnf' && c.args[0] === 'install');
    expect(installs).toHaveLength(2);
    for (const c of installs) expect(c.args).toContain('--setopt=install_weak_deps=False');
    expect(installs[0]!.args).toEqual(expect.arrayContaining(['containerd', 'iptables-nft', 'iproute', 'iproute-tc', 'conntrack-tools', 'socat', 'ethtool', 'util-linux']));
    expect(installs[1]!.args).toEqual(expect.arrayContaining(['kubelet-1.31.4', 'kubeadm-1.31.4', 'kubectl-1.31.4', 'cri-tools', 'kubernetes-cni']));
    expect(body('bootstrap/common/common.sh')).toMatch(/dnf install .*\n\s+containerd iptables-nft /);
  });

  it("installs the etcd tools of the etcd kubeadm runs (from `kubeadm config images list`), not a pinned 3.5", () => {
    const sb = sandbox();
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    // a release tarball as etcd publishes it, whose tools are the stand-ins
    const rel = path.join(sb.dir, 'rel', `etcd-v3.6.6-linux-${arch}`);
    fs.mkdirSync(rel, { recursive: true });
    for (const t of ['etcdctl', 'etcdutl']) fs.writeFileSync(path.join(rel, t), `#!/bin/bash\nexec "${path.join(STUB_DIR, t)}" "$@"\n`, { mode: 0o755 });
    const tgz = path.join(sb.dir, 'etcd.tgz');
    expect(spawnSync('tar', ['-czf', tgz, '-C', path.dirname(rel), path.basename(rel)]).status).toBe(0);
    const base = 'https://github.com/etcd-io/etcd/releases/download/v3.6.6';
    const data = fs.readFileSync(tgz);
    sb.serve(`${base}/etcd-v3.6.6-linux-${arch}.tar.gz`, data);
    sb.serve(`${base}/SHA256SUMS`, `${createHash('sha256').update(data).digest('hex')}  etcd-v3.6.6-linux-${arch}.tar.gz\n${'0'.repeat(64)}  etcd-v3.6.6-linux-other.tar.gz\n`);
    // the tools found on the image are an older etcd: replaced
    runOk(sb.run('userdata.sh', userData.master, { STUB_ETCD_VERSION: '3.5.16', STUB_ETCD_IMAGE_TAG: '3.6.6-0' }));
    const calls = sb.calls();
    expectSequence(calls, [
      is('kubeadm', /^config images list --kubernetes-version v1\.31\.4$/),
      is('curl', /https:\/\/github\.com\/etcd-io\/etcd\/releases\/download\/v3\.6\.6\/SHA256SUMS$/),
      is('curl', new RegExp(`-o \\S+ https://github\\.com/etcd-io/etcd/releases/download/v3\\.6\\.6/etcd-v3\\.6\\.6-linux-${arch}\\.tar\\.gz$`)),
      is('kubeadm', /^init /),
    ]);
    for (const t of ['etcdctl', 'etcdutl']) expect(fs.statSync(path.join(sb.root, 'usr/local/bin', t)).mode & 0o111).toBeTruthy();
    expect(body('bootstrap/master/master.sh')).not.toContain('3.5.16');
  });

  it('etcd tools already matching kubeadm\'s etcd are kept; no etcd image in the list is fatal', () => {
    const sb = sandbox();
    runOk(sb.run('userdata.sh', userData.master, { STUB_ETCD_VERSION: '3.6.6', STUB_ETCD_IMAGE_TAG: '3.6.6-0' }));
    expect(findCall(sb.calls(), is('curl', /github\.com/))).toBe(-1);
    const sb2 = sandbox();
    const r = sb2.run('userdata.sh', userData.master, { STUB_ETCD_IMAGE_TAG: 'latest' });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/names no etcd image for v1\.31\.4/);
    expect(findCall(sb2.calls(), is('kubeadm', /^init /))).toBe(-1);
  });

  it('a Helm install that fails is retried; one that keeps failing is logged loudly and the rest still run', () => {
    const sb = sandbox();
    sb.setFail([
      { match: '^helm .*upgrade --install cilium ', times: 2 },
      { match: '^helm .*upgrade --install aws-cloud-controller-manager ', times: 99 },
    ]);
    const r = sb.run('userdata.sh', userData.master, { KUBEAZ_ADDON_ATTEMPTS: '4' });
    expect(r.status).not.toBe(0);
    const calls = sb.calls();
    const helm = (name: string) => calls.filter((c) => c.cmd === 'helm' && c.args.includes(name) && c.args.includes('--install'));
    expect(helm('cilium')).toHaveLength(3); // two failures, then installed
    expect(helm('aws-cloud-controller-manager')).toHaveLength(4); // every attempt failed
    expect(helm('aws-ebs-csi-driver')).toHaveLength(1); // still installed after that
    const [, timer, , token, , firstHelm] = expectSequence(calls, [
      is('kubeadm', /^init /),
      is('systemctl', /^enable --now kubeaz-etcd-backup\.timer$/),
      is('systemctl', /^enable --now kubeaz-join-token\.timer$/),
      is('aws', /^s3 cp .* - s3:\/\/\S+\/join\/ca-cert-hash$/),
      is('aws', /^s3 cp .* - s3:\/\/\S+\/join\/token$/),
      is('helm', /upgrade --install cilium/),
      is('helm', /upgrade --install aws-ebs-csi-driver/),
      is('kubectl', /apply -f \S+storageclass\.yaml$/),
    ]);
    expect(timer).toBeLessThan(firstHelm!);
    expect(token).toBeLessThan(firstHelm!);
    expect(sb.get('join/token')!.trim()).toBe(JOIN_TOKEN);
    const out = r.stderr + r.stdout;
    expect(out).toMatch(/ERROR: add-on aws-cloud-controller-manager FAILED after 4 attempts/);
    expect(out).toMatch(/ERROR: 1 add-on\(s\) of demo-dev FAILED: aws-cloud-controller-manager/);
    expect(out).toMatch(/add-on cilium installed/);
    expect(out).toMatch(/up, with backups and node joins, but NOT every add-on/);
  });

  it('cluster-autoscaler (issue 14): auto-discovery by the tags the model puts on node groups, image of the Kubernetes minor, on the control plane with host networking', () => {
    const sb = sandbox();
    runOk(sb.run('userdata.sh', userData.master));
    const calls = sb.calls();
    expectSequence(calls, [is('kubeadm', /^init /), is('helm', /upgrade --install cilium /), is('helm', /upgrade --install cluster-autoscaler cluster-autoscaler /), is('helm', /upgrade --install aws-node-termination-handler /)]);
    const ca = calls.find(is('helm', /upgrade --install cluster-autoscaler /))!;
    const v = helmValues(ca.args);
    expect(ca.args.join(' ')).toContain('--repo https://kubernetes.github.io/autoscaler --version 9.59.1 ');
    expect(v.set).toMatchObject({ cloudProvider: 'aws', awsRegion: 'us-east-1', 'image.tag': 'v1.31.5', 'autoDiscovery.clusterName': 'demo-dev', hostNetwork: 'true', replicaCount: '1' });
    // the discovery tags are exactly the two the model puts on every node group's ASG
    expect(v.json['autoDiscovery.tags']).toEqual([AUTOSCALER_ENABLED_TAG, autoscalerClusterTag('demo-dev')]);
    expect(v.json.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(v.json.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });
    expect(ca.args).toContain('--namespace');
    expect(ca.args[ca.args.indexOf('--namespace') + 1]).toBe('kube-system');
  });

  it('AWS Node Termination Handler (issue 14): IMDS mode (no queue), drains on spot interruption and rebalance recommendation, host network', () => {
    const sb = sandbox();
    runOk(sb.run('userdata.sh', userData.master));
    const nth = sb.calls().find(is('helm', /upgrade --install aws-node-termination-handler /))!;
    expect(nth.args.join(' ')).toContain('oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler --version 0.27.3 ');
    expect(helmValues(nth.args).set).toEqual({
      enableSqsTerminationDraining: 'false',
      useHostNetwork: 'true',
      enableSpotInterruptionDraining: 'true',
      enableRebalanceMonitoring: 'true',
      enableRebalanceDraining: 'true',
      enableScheduledEventDraining: 'true',
    });
  });

  it('a failing cluster-autoscaler install is retried and reported like every add-on; the termination handler still installs', () => {
    const sb = sandbox();
    sb.setFail([{ match: '^helm .*upgrade --install cluster-autoscaler ', times: 99 }]);
    const r = sb.run('userdata.sh', userData.master, { KUBEAZ_ADDON_ATTEMPTS: '3' });
    expect(r.status).not.toBe(0);
    const calls = sb.calls();
    expect(calls.filter(is('helm', /upgrade --install cluster-autoscaler /))).toHaveLength(3);
    expect(calls.filter(is('helm', /upgrade --install aws-node-termination-handler /))).toHaveLength(1);
    expect(r.stderr + r.stdout).toMatch(/ERROR: 1 add-on\(s\) of demo-dev FAILED: cluster-autoscaler/);
  });

  it('the default StorageClass: gp3, encrypted, WaitForFirstConsumer, EBS CSI', () => {
    const sc = parseYaml(body('bootstrap/master/storageclass.yaml'));
    expect(sc).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'gp3', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'ebs.csi.aws.com',
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
      parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
    });
  });

  it('registers master.<internal domain> only when no alias exists', () => {
    const sb = sandbox();
    sb.setDns({ zoneId: '/hostedzone/Z0PRIVATE' });
    runOk(sb.run('userdata.sh', userData.master));
    const calls = sb.calls();
    const [change, init] = expectSequence(calls, [is('aws', /^route53 change-resource-record-sets --hosted-zone-id \/hostedzone\/Z0PRIVATE/), is('kubeadm', /^init /)]);
    expect(line(calls[change!]!)).toContain('"Name":"master.dev.kube.","Type":"A","TTL":60,"ResourceRecords":[{"Value":"10.0.32.10"}]');
    expect(init).toBeGreaterThan(change!);
  });

  it('rebuild with snapshots: restores the newest VALID one, skipping a corrupt newer one', () => {
    const sb = sandbox();
    sb.putSnapshot('etcd/20261125T090000Z.db', 'etcd-snapshot older');
    sb.putSnapshot('etcd/20261125T094500Z.db', 'etcd-snapshot good');
    sb.putSnapshot('etcd/20261125T100000Z.db', 'etcd-snapshot newest-but-corrupt', { corrupt: true });
    runOk(sb.run('userdata.sh', userData.master));
    const calls = sb.calls();
    const [, , restore, init] = expectSequence(calls, [
      is('aws', /^s3api get-object .*--key etcd\/20261125T100000Z\.db/),
      is('aws', /^s3api get-object .*--key etcd\/20261125T094500Z\.db/),
      is('etcdutl', /^snapshot restore .* --data-dir \S+\/var\/lib\/etcd --name ip-10-0-32-10\.ec2\.internal --initial-cluster ip-10-0-32-10\.ec2\.internal=https:\/\/10\.0\.32\.10:2380/),
      is('kubeadm', /^init --config .*--ignore-preflight-errors=DirAvailable--var-lib-etcd/),
    ]);
    expect(restore).toBeLessThan(init!);
    expect(findCall(calls, is('aws', /get-object .*20261125T090000Z/))).toBe(-1);
    expect(sb.file('var/lib/etcd/member/restored-from-snapshot')).toBe('etcd-snapshot good');
    // the revision jumps past anything a watcher saw, older revisions read as compacted (kubernetes #118501)
    const args = calls[restore!]!.args;
    expect(args[args.indexOf('--bump-revision') + 1]).toBe('1000000000');
    expect(args).toContain('--mark-compacted');
    // the corrupt one was never restored
    expect(calls.filter((c) => c.cmd === 'etcdutl' && c.args[1] === 'restore')).toHaveLength(1);
  });

  it('refuses to start an empty cluster when snapshots exist but none is valid', () => {
    const sb = sandbox();
    sb.putSnapshot('etcd/20261125T100000Z.db', 'etcd-snapshot x', { corrupt: true });
    const r = sb.run('userdata.sh', userData.master);
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/none is valid/);
    expect(findCall(sb.calls(), (c) => c.cmd === 'kubeadm' && c.args[0] === 'init')).toBe(-1);
  });
});

describe('node roles', () => {
  it('the master labels nodes node-role.kubernetes.io/<role> from the kubeaz.io/role their kubelet set', () => {
    const sb = sandbox();
    layDown(sb);
    sb.setNodes({
      'ip-10-0-0-1.ec2.internal': { 'kubeaz.io/role': 'master', 'node-role.kubernetes.io/control-plane': '' },
      'ip-10-0-0-2.ec2.internal': { 'kubeaz.io/role': 'node', 'kubeaz.io/node-group': 'workers' },
      'ip-10-0-0-3.ec2.internal': { 'kubeaz.io/role': 'loadbalancer', 'kubeaz.io/node-group': 'edge' },
      'ip-10-0-0-4.ec2.internal': { 'kubeaz.io/role': 'node', 'node-role.kubernetes.io/node': '' },
      'ip-10-0-0-5.ec2.internal': {},
    });
    const r = sb.run('node-roles.sh', body('bootstrap/master/node-roles.sh'));
    runOk(r);
    const n = sb.nodes();
    expect(n['ip-10-0-0-2.ec2.internal']).toMatchObject({ 'node-role.kubernetes.io/node': '' });
    expect(n['ip-10-0-0-3.ec2.internal']).toMatchObject({ 'node-role.kubernetes.io/loadbalancer': '' });
    expect(Object.keys(n['ip-10-0-0-1.ec2.internal']!).filter((k) => k.startsWith('node-role.'))).toEqual(['node-role.kubernetes.io/control-plane']);
    expect(n['ip-10-0-0-5.ec2.internal']).toEqual({});
    // only the unlabelled ones are touched
    const labels = sb.calls().filter((c) => c.cmd === 'kubectl' && c.args.includes('label'));
    expect(labels.map((c) => c.args.slice(-3).join(' ')).sort()).toEqual([
      'node/ip-10-0-0-2.ec2.internal node-role.kubernetes.io/node= --overwrite',
      'node/ip-10-0-0-3.ec2.internal node-role.kubernetes.io/loadbalancer= --overwrite',
    ]);
    // a second pass changes nothing
    runOk(sb.run('node-roles.sh', body('bootstrap/master/node-roles.sh')));
    expect(sb.calls().filter((c) => c.cmd === 'kubectl' && c.args.includes('label'))).toHaveLength(2);
    // the unit the master enables runs it in a loop
    expect(body('bootstrap/master/kubeaz-node-roles.service')).toMatch(/ExecStart=\/opt\/kubeaz\/node-roles\.sh --loop\nRestart=always/);
  });
});

describe('etcd backup', () => {
  it('uploads with --if-none-match and sha256 metadata, then deletes what the retention plan says', () => {
    const sb = sandbox();
    const now = new Date('2026-11-25T10:15:07Z');
    const existing = [
      'etcd/20261001T000000Z.db',
      'etcd/20261120T030000Z.db',
      'etcd/20261120T031500Z.db',
      'etcd/20261125T000000Z.db',
      'etcd/20261125T001500Z.db',
      'etcd/20261125T100000Z.db',
      'etcd/notes.txt',
    ];
    for (const k of existing) sb.putSnapshot(k, `etcd-snapshot ${k}`);
    // what master.sh would have laid down
    const kdir = path.join(sb.root, 'opt/kubeaz');
    fs.mkdirSync(kdir, { recursive: true });
    for (const f of files.filter((x) => x.key.startsWith('bootstrap/common/'))) fs.writeFileSync(path.join(kdir, path.basename(f.key)), f.body);
    const backup = files.find((f) => f.key === 'bootstrap/master/etcd-backup.sh')!.body;
    runOk(sb.run('etcd-backup.sh', backup, { KUBEAZ_NOW: String(now.getTime() / 1000), INSTANCE_ID: 'i-1', PRIVATE_IP: '10.0.32.10', AVAIL_ZONE: 'us-east-1b' }));

    const newKey = snapshotKey(now);
    expect(newKey).toBe('etcd/20261125T101507Z.db');
    const plan = planRetention([...existing, newKey], now, 30);
    expect(plan.delete.length).toBeGreaterThan(0);
    const calls = sb.calls();
    const [save, , put] = expectSequence(calls, [
      is('etcdctl', /--cacert \S+\/etc\/kubernetes\/pki\/etcd\/ca\.crt .*snapshot save /),
      is('etcdutl', /^snapshot status /),
      is('aws', /^s3api put-object --bucket kubeaz-demo-dev-123456789012 --key etcd\/20261125T101507Z\.db --body \S+ --if-none-match \* --metadata sha256=[0-9a-f]{64}/),
      is('aws', /^s3api list-objects-v2 .*--prefix etcd\//),
    ]);
    expect(save).toBeLessThan(put!);
    const body = sb.get(newKey)!;
    const meta = JSON.parse(fs.readFileSync(path.join(sb.s3, BUCKET, `${newKey}.__meta.json`), 'utf8'));
    expect(meta.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const deletes = calls.filter((c) => c.cmd === 'aws' && c.args[1] === 'delete-object').map((c) => c.args[c.args.indexOf('--key') + 1]);
    expect(deletes.sort()).toEqual(plan.delete);
    for (const d of deletes) expect(findCall(calls, (c) => c.cmd === 'aws' && c.args[1] === 'delete-object' && c.args.includes(d!))).toBeGreaterThan(put!);
    expect(sb.keys('etcd/')).toEqual([...plan.keep, 'etcd/notes.txt'].sort());
  });

  it('never overwrites: a second upload to the same key fails', () => {
    const sb = sandbox();
    const now = new Date('2026-11-25T10:15:07Z');
    sb.putSnapshot(snapshotKey(now), 'etcd-snapshot earlier');
    const kdir = path.join(sb.root, 'opt/kubeaz');
    fs.mkdirSync(kdir, { recursive: true });
    for (const f of files.filter((x) => x.key.startsWith('bootstrap/common/'))) fs.writeFileSync(path.join(kdir, path.basename(f.key)), f.body);
    const backup = files.find((f) => f.key === 'bootstrap/master/etcd-backup.sh')!.body;
    const r = sb.run('etcd-backup.sh', backup, { KUBEAZ_NOW: String(now.getTime() / 1000) });
    expect(r.status).not.toBe(0);
    expect(sb.get(snapshotKey(now))).toBe('etcd-snapshot earlier');
    expect(findCall(sb.calls(), (c) => c.cmd === 'aws' && c.args[1] === 'delete-object')).toBe(-1);
  });
});

describe('template list', () => {
  it('every bootstrap file has a template and the user-data template exists', () => {
    expect(Object.keys(templates)).toContain(USERDATA_TEMPLATE);
    for (const f of BOOTSTRAP_FILES) expect(templates[f.template], f.template).toBeDefined();
  });
});

describe('user-data: no label or taint can become a kubelet flag (issue 9 #5)', () => {
  it('refuses to render a label value with spaces, a comma, or a taint key with a space, whatever the caller validated', () => {
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'x --anonymous-auth=true' }, [])).toThrow(/labels entry "tier=x --anonymous-auth=true"/);
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'a,evil=1' }, [])).toThrow(/labels/);
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [{ key: 'a --b', effect: 'NoSchedule' }])).toThrow(/taints entry/);
    expect(() => renderUserData(templates, vars, 'node', 'w', { "it's": 'x' }, [])).toThrow(/labels/);
  });
  it('renders a valid list as one kubelet argument', () => {
    const ud = renderUserData(templates, vars, 'node', 'w', { 'example.com/a_b': 'v.1', z: '' }, [{ key: 'k', value: 'v', effect: 'NoExecute' }]);
    expect(ud).toContain("labels 'example.com/a_b=v.1,z=' taints 'k=v:NoExecute'");
  });
});
