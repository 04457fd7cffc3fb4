/**
 * The add-ons as typed invocations (master.sh's order and values), the manifests the model renders
 * at create (StorageClass, pod-identity webhook without its caBundle), the certificates the
 * master's agent makes itself (the webhook's serving certificate; kubeadm's CA hash against openssl is
 * test/integration/agent/master-addons.test.ts), and the
 * runner's recovery of a helm release left pending-* before each try.
 */
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { AgentAws } from '../../../src/agent/context.js';
import type { RunResult } from '../../../src/agent/programs.js';
import { runSteps } from '../../../src/agent/master/addon-runner.js';
import { addonSteps, type AddonInput } from '../../../src/agent/master/addons.js';
import { addonManifestFiles, podIdentityWebhookManifest, storageClassManifest } from '../../../src/model/addon-manifests.js';
import { chainsTo, generateCa, signServerCert, validFor, x509 } from '../../../src/pki/ca.js';
import { S3Client } from '@aws-sdk/client-s3';
import { sdkMock } from '../../helpers/sdk-mock.js';
import { installAddons } from '../../../src/agent/master/addon-runner.js';
import { KubeazFailure } from '../../../src/errors.js';
import { fail, FakePrograms, MASTER_SETTINGS, ok, testMaster } from '../../helpers/agent-master.js';
import { MemoryBucket } from '../../helpers/memory-s3.js';

const input: AddonInput = {
  clusterId: 'demo-dev',
  region: 'eu-west-1',
  masterDns: 'master.demo-dev.internal',
  adminKubeconfig: '/etc/kubernetes/admin.conf',
  versions: {
    cilium: '1.19.6',
    awsCcmChart: '0.0.11',
    awsCcmImage: 'v1.34.3',
    ebsCsiChart: '2.64.0',
    clusterAutoscalerChart: '9.59.1',
    clusterAutoscalerImage: 'v1.34.5',
    nthChart: '0.27.3',
  },
  storageClassFile: '/opt/kubeaz/addons/storageclass.yaml',
};
const argOf = (args: string[], flag: string, prefix: string) =>
  args.filter((_, i) => args[i - 1] === flag).find((a) => a.startsWith(prefix));

describe('add-ons as typed invocations', () => {
  it('without IRSA: master.sh`s order, controllers with host networking for the instance role', () => {
    const steps = addonSteps(input);
    expect(steps.map((s) => s.name)).toEqual([
      'cilium',
      'aws-cloud-controller-manager',
      'aws-ebs-csi-driver',
      'storage-class',
      'cluster-autoscaler',
      'aws-node-termination-handler',
    ]);
    for (const s of steps) for (const r of s.run) expect(r.args.slice(0, 2)).toEqual(['--kubeconfig', '/etc/kubernetes/admin.conf']);
    const cilium = steps[0]!.run[0]!;
    expect(cilium.cmd).toBe('helm');
    expect(argOf(cilium.args, '--version', '')).toBe('1.19.6');
    expect(argOf(cilium.args, '--set', 'k8sServiceHost=')).toBe('k8sServiceHost=master.demo-dev.internal');
    const ccm = steps[1]!.run[0]!.args;
    expect(JSON.parse(argOf(ccm, '--set-json', 'args=')!.slice(5))).toContain('--cluster-name=demo-dev');
    const ebs = steps[2]!.run;
    expect(ebs[1]!.args).toContain(
      JSON.stringify({ spec: { template: { spec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } } } }),
    );
    expect(steps[3]!.run[0]!.args).toEqual([
      '--kubeconfig',
      '/etc/kubernetes/admin.conf',
      'apply',
      '-f',
      '/opt/kubeaz/addons/storageclass.yaml',
    ]);
    const ca = steps[4]!.run[0]!.args;
    expect(ca).toContain('hostNetwork=true');
    expect(JSON.parse(argOf(ca, '--set-json', 'autoDiscovery.tags=')!.slice('autoDiscovery.tags='.length))).toEqual([
      'k8s.io/cluster-autoscaler/enabled',
      'k8s.io/cluster-autoscaler/demo-dev',
    ]);
    expect(steps[5]!.run[0]!.args).toContain('oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler');
  });

  it('with IRSA: the webhook right after Cilium, EBS CSI and cluster-autoscaler on their own roles off the host network', () => {
    const steps = addonSteps({
      ...input,
      irsa: {
        webhookManifestFile: '/w.yaml',
        webhookSecretFile: '/s.yaml',
        ebsCsiRoleArn: 'arn:aws:iam::1:role/ebs',
        clusterAutoscalerRoleArn: 'arn:aws:iam::1:role/ca',
      },
    });
    expect(steps.map((s) => s.name).slice(0, 2)).toEqual(['cilium', 'pod-identity-webhook']);
    expect(steps[1]!.run.map((r) => r.args.slice(2, 5))).toEqual([
      ['apply', '-f', '/s.yaml'],
      ['apply', '-f', '/w.yaml'],
      ['-n', 'kube-system', 'rollout'],
    ]);
    const ebs = steps.find((s) => s.name === 'aws-ebs-csi-driver')!.run;
    expect(ebs[0]!.args).toContain('controller.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/ebs');
    expect(ebs[1]!.args).toContain(JSON.stringify({ spec: { template: { spec: { hostNetwork: false, dnsPolicy: 'ClusterFirst' } } } }));
    const ca = steps.find((s) => s.name === 'cluster-autoscaler')!.run[0]!.args;
    expect(ca).toContain('hostNetwork=false');
    expect(ca).toContain('rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/ca');
  });
});

describe('the AWS Node Termination Handler (issue 14)', () => {
  it('IMDS mode (no queue): drains on spot interruption, rebalance recommendation and scheduled events, on the host network', () => {
    const nth = addonSteps(input).find((s) => s.name === 'aws-node-termination-handler')!.run;
    expect(nth).toHaveLength(1);
    const a = nth[0]!.args;
    expect(a.join(' ')).toContain(
      'upgrade --install aws-node-termination-handler oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler --version 0.27.3 --namespace kube-system ',
    );
    const set = Object.fromEntries(
      a.filter((_, i) => a[i - 1] === '--set').map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)]),
    );
    expect(set).toEqual({
      enableSqsTerminationDraining: 'false',
      useHostNetwork: 'true',
      enableSpotInterruptionDraining: 'true',
      enableRebalanceMonitoring: 'true',
      enableRebalanceDraining: 'true',
      enableScheduledEventDraining: 'true',
    });
    expect(a).not.toContain('--set-json');
  });
});

describe('installing the add-ons: retried one by one, a failing one does not stop the others', () => {
  const s3 = sdkMock(S3Client);
  const s3aws = { s3: async () => new S3Client({ region: 'eu-west-1' }) } as never;
  /** a master whose helm fails `times` times for each named release */
  const withFailures = (failures: Record<string, number>, attempts: number) => {
    const seen: Record<string, number> = {};
    const programs = new FakePrograms((cmd, args) => {
      const release = cmd === 'helm' && args.includes('--install') ? args[args.indexOf('--install') + 1]! : undefined;
      if (!release || !(release in failures)) return undefined;
      seen[release] = (seen[release] ?? 0) + 1;
      return seen[release]! <= failures[release]!
        ? fail(1, `Error: INSTALLATION FAILED: ${release}: context deadline exceeded`)
        : undefined;
    });
    const m = testMaster({
      instanceId: 'i-0000000000000add',
      group: 'master',
      ip: '10.0.1.5',
      aws: s3aws,
      bucket: 'kubeaz-demo-dev-123',
      sink: { put: async () => {} },
      programs,
      waits: { addonAttempts: attempts, addonRetryMs: 0 },
    });
    const helm = (release: string) =>
      programs.calls.filter((c) => c.cmd === 'helm' && c.args.includes('--install') && c.args[c.args.indexOf('--install') + 1] === release);
    return { m, programs, helm };
  };

  it('a Helm install that fails is retried; one that keeps failing is logged loudly, the rest still run, and the phase fails naming it', async () => {
    s3.reset();
    const bucket = new MemoryBucket('kubeaz-demo-dev-123');
    bucket.put('bootstrap/master/addons/storageclass.yaml', 'kind: StorageClass\n');
    bucket.attach(s3);
    const { m, programs, helm } = withFailures({ cilium: 2, 'aws-cloud-controller-manager': 99 }, 4);
    const e = await installAddons(m.ctx, MASTER_SETTINGS).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KubeazFailure);
    expect((e as Error).message).toBe(
      '1 add-on(s) of demo-dev FAILED: aws-cloud-controller-manager (the control plane, backups and node joins run)',
    );
    expect(helm('cilium')).toHaveLength(3); // two failures, then installed
    expect(helm('aws-cloud-controller-manager')).toHaveLength(4); // every attempt failed
    for (const r of ['aws-ebs-csi-driver', 'cluster-autoscaler', 'aws-node-termination-handler']) expect(helm(r), r).toHaveLength(1); // still installed after that
    expect(programs.calls.filter((c) => c.cmd === 'kubectl' && c.args.includes('apply')).map((c) => c.args.at(-1))).toEqual([
      `${m.ctx.root}/opt/kubeaz/addons/storageclass.yaml`,
    ]);
    const logs = m.logs.join('\n');
    expect(logs).toMatch(/add-on cilium: .* \(attempt 2 of 4\)/);
    expect(logs).toContain('add-on cilium installed');
    expect(logs).toContain('ERROR: add-on aws-cloud-controller-manager FAILED after 4 attempts; the cluster runs without it');
    expect(logs).not.toContain('add-on aws-cloud-controller-manager installed');
  });

  it('a failing cluster-autoscaler install is retried and reported like every add-on; the termination handler still installs', async () => {
    const { m, helm } = withFailures({ 'cluster-autoscaler': 99 }, 3);
    const failed = await runSteps(m.ctx, addonSteps(input));
    expect(failed).toEqual(['cluster-autoscaler']);
    expect(helm('cluster-autoscaler')).toHaveLength(3);
    expect(helm('aws-node-termination-handler')).toHaveLength(1);
    expect(m.logs.join('\n')).toContain('ERROR: add-on cluster-autoscaler FAILED after 3 attempts');
  });

  it('everything installed: nothing failed, each step once', async () => {
    const { m, programs } = withFailures({}, 3);
    expect(await runSteps(m.ctx, addonSteps(input))).toEqual([]);
    // each release asked for its state once (a pending-* is rolled back first), then upgraded once
    expect(programs.calls.filter((c) => c.cmd === 'helm' && c.args.includes('upgrade'))).toHaveLength(5);
    expect(programs.calls.filter((c) => c.cmd === 'helm' && c.args.includes('status'))).toHaveLength(5);
  });
});

describe('add-on manifests rendered at create', () => {
  it('the default StorageClass: encrypted gp3, WaitForFirstConsumer', () => {
    const [sc] = parseAllDocuments(storageClassManifest('demo-dev')).map((d) => d.toJS());
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

  it('the webhook: its objects, the region, no host network, caBundle left for the master', () => {
    const docs = parseAllDocuments(
      podIdentityWebhookManifest('public.ecr.aws/eks/amazon-eks-pod-identity-webhook:3a28f52', 'eu-west-1'),
    ).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual([
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Service',
      'MutatingWebhookConfiguration',
    ]);
    const pod = docs[3].spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.containers[0].command).toContain('--aws-default-region=eu-west-1');
    expect(docs[5].webhooks[0].clientConfig.caBundle).toBeUndefined();
    expect(addonManifestFiles('c', 'eu-west-1', undefined).map((f) => f.key)).toEqual(['bootstrap/master/addons/storageclass.yaml']);
    expect(addonManifestFiles('c', 'eu-west-1', 'img').map((f) => f.key)).toEqual([
      'bootstrap/master/addons/storageclass.yaml',
      'bootstrap/master/addons/pod-identity-webhook.yaml',
    ]);
  });
});

describe('certificates the master makes', () => {
  it('the webhook`s serving certificate chains to the cluster CA and names its Service', async () => {
    const ca = await generateCa('kubernetes');
    const s = await signServerCert(ca.cert, ca.key, 'pod-identity-webhook.kube-system.svc', [
      'pod-identity-webhook',
      'pod-identity-webhook.kube-system.svc',
    ]);
    expect(await chainsTo(s.cert, ca.cert)).toBe(true);
    const c = new x509.X509Certificate(s.cert);
    expect(c.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value)).toEqual([
      'pod-identity-webhook',
      'pod-identity-webhook.kube-system.svc',
    ]);
    expect(validFor(s.cert, 30)).toBe(true);
    expect(validFor(s.cert, 4000)).toBe(false);
  });
  // kubeadm's CA hash against openssl's: test/integration/agent/master-addons.test.ts
});

describe('a helm release left pending-* by a master killed mid-upgrade', () => {
  const KC = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
  const cilium = () => addonSteps(input).filter((s) => s.name === 'cilium');
  const status = (st: string) => ok(JSON.stringify({ name: 'cilium', info: { status: st }, namespace: 'kube-system', version: 3 }));
  const history = (...st: string[]) =>
    ok(JSON.stringify(st.map((status, i) => ({ revision: i + 1, status, chart: 'cilium-1.19.6', description: '' }))));
  /** helm answers by subcommand; the calls, each as `helm <subcommand> <release> [revision]` */
  const run = async (answers: Record<string, RunResult | (() => RunResult)>, steps = cilium()) => {
    const programs = new FakePrograms((cmd, args) => {
      const a = cmd === 'helm' ? answers[args[2]!] : undefined;
      return typeof a === 'function' ? a() : a;
    });
    const m = testMaster({
      instanceId: 'i-0123456789abcdef9',
      group: 'master-2',
      ip: '10.0.2.5',
      aws: {} as AgentAws,
      bucket: 'b',
      sink: { put: async () => {} },
      programs,
      waits: { addonAttempts: 2 },
    });
    const failed = await runSteps(m.ctx, steps);
    return {
      failed,
      logs: m.logs,
      calls: programs.calls.map((c) =>
        c.args
          .slice(2)
          .filter((a) => !a.startsWith('--') && a !== 'kube-system' && a !== 'json' && a !== '-o')
          .slice(0, 3)
          .join(' '),
      ),
      raw: programs.calls,
    };
  };

  it('every helm step names its release and namespace as its upgrade does', () => {
    for (const irsa of [
      undefined,
      { webhookManifestFile: '/w', webhookSecretFile: '/s', ebsCsiRoleArn: 'arn:a', clusterAutoscalerRoleArn: 'arn:b' },
    ]) {
      const steps = addonSteps({ ...input, ...(irsa ? { irsa } : {}) });
      for (const s of steps) {
        const upgrade = s.run.find((r) => r.cmd === 'helm' && r.args.includes('upgrade'));
        if (!upgrade) {
          expect(s.release, s.name).toBeUndefined();
          continue;
        }
        expect(s.release, s.name).toEqual({
          name: upgrade.args[upgrade.args.indexOf('--install') + 1],
          namespace: upgrade.args[upgrade.args.indexOf('--namespace') + 1],
          kubeconfig: '/etc/kubernetes/admin.conf',
        });
      }
      expect(steps.filter((s) => s.release).map((s) => s.release!.name)).toEqual([
        'cilium',
        'aws-cloud-controller-manager',
        'aws-ebs-csi-driver',
        'cluster-autoscaler',
        'aws-node-termination-handler',
      ]);
    }
  });

  it('pending-upgrade: helm status and history as JSON, rollback to the deployed revision, then the upgrade', async () => {
    const r = await run({ status: status('pending-upgrade'), history: history('superseded', 'deployed', 'pending-upgrade') });
    expect(r.failed).toEqual([]);
    expect(r.calls).toEqual(['status cilium', 'history cilium', 'rollback cilium 2', 'upgrade cilium cilium']);
    expect(r.raw[0]!.args).toEqual([...KC, 'status', 'cilium', '-o', 'json', '--namespace', 'kube-system']);
    expect(r.raw[2]!.args).toEqual([...KC, 'rollback', 'cilium', '2', '--namespace', 'kube-system']);
    expect(r.logs.join('\n')).toMatch(/cilium is pending-upgrade \(an upgrade was interrupted\): rolling back to revision 2/);
  });

  it('pending-install (never deployed): uninstall, then the upgrade installs it afresh', async () => {
    const r = await run({ status: status('pending-install'), history: history('pending-install') });
    expect(r.calls).toEqual(['status cilium', 'history cilium', 'uninstall cilium', 'upgrade cilium cilium']);
    expect(r.raw[2]!.args).toEqual([...KC, 'uninstall', 'cilium', '--namespace', 'kube-system']);
  });

  it('no such release (helm status fails) or a deployed one: straight to the upgrade, no history asked', async () => {
    expect((await run({ status: fail(1, 'Error: release: not found') })).calls).toEqual(['status cilium', 'upgrade cilium cilium']);
    expect((await run({ status: status('deployed') })).calls).toEqual(['status cilium', 'upgrade cilium cilium']);
  });

  it('a recovery that fails fails the try, which is retried as a whole (status asked again)', async () => {
    let n = 0;
    const r = await run({
      status: status('pending-rollback'),
      history: history('deployed', 'pending-rollback'),
      rollback: () => (++n === 1 ? fail(1, 'Error: timed out') : ok()),
    });
    expect(r.failed).toEqual([]);
    expect(r.calls).toEqual([
      'status cilium',
      'history cilium',
      'rollback cilium 1',
      'status cilium',
      'history cilium',
      'rollback cilium 1',
      'upgrade cilium cilium',
    ]);
  });

  it('steps without a release (kubectl) ask helm nothing', async () => {
    const r = await run(
      {},
      addonSteps(input).filter((s) => s.name === 'storage-class'),
    );
    expect(r.raw.map((c) => c.cmd)).toEqual(['kubectl']);
  });
});
