/**
 * Kubernetes health (issue 12): kops `validate cluster` semantics evaluated on API responses read
 * through @kubernetes/client-node from a local HTTPS server serving fixtures shaped as the API
 * returns them: healthy, a node NotReady, CoreDNS CrashLoopBackOff, the API down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, signClientCert } from '../../src/pki/ca.js';
import { renderKubeconfig } from '../../src/pki/kubeconfig.js';
import { evaluateKubernetes } from '../../src/kube/health.js';
import { readKubernetes } from '../../src/kube/probe.js';
import { renderKubernetes } from '../../src/commands/status-view.js';
import { list, node, systemPods, VERSION } from '../fixtures/k8s-api.js';
import { startFakeApi, type FakeApi } from '../helpers/k8s-api-server.js';

const MASTER = 'ip-172-20-0-10.us-west-2.compute.internal';
const WORKER = 'ip-172-20-1-20.us-west-2.compute.internal';
const GROUPS = [
  { name: 'master', want: 1 },
  { name: 'general', want: 1 },
];
const healthy = () => ({
  version: VERSION,
  nodes: list('NodeList', [node(MASTER, 'master', { master: true }), node(WORKER, 'general')]),
  pods: list('PodList', systemPods(MASTER, [WORKER])),
});

let api: FakeApi;
let kubeconfig: string;
let ca: { cert: string; key: string };
beforeAll(async () => {
  ca = await generateCa('kubernetes');
  api = await startFakeApi(ca.cert, ca.key);
  const client = await signClientCert(ca.cert, ca.key, 'kubernetes-admin', ['system:masters'], 1);
  kubeconfig = renderKubeconfig({
    clusterName: 'pk-qa',
    server: api.url,
    caCert: ca.cert,
    user: 'kubernetes-admin',
    clientCert: client.cert,
    clientKey: client.key,
  });
});
afterAll(async () => {
  await api?.stop();
});

async function check(f: ReturnType<typeof healthy>) {
  api.serve(f);
  const read = await readKubernetes(kubeconfig);
  if (!read.reachable) throw new Error(`not reachable: ${read.reason}`);
  return evaluateKubernetes({ serverVersion: read.serverVersion, nodes: read.nodes, pods: read.pods, groups: GROUPS });
}

describe('Kubernetes health through @kubernetes/client-node', () => {
  it('healthy: every group has its nodes Ready, every system component runs', async () => {
    const h = await check(healthy());
    expect(h.problems).toEqual([]);
    expect(h.ok).toBe(true);
    expect(h.serverVersion).toBe('v1.35.0');
    expect(h.groups).toEqual([
      { name: 'master', want: 1, have: 1, ready: 1 },
      { name: 'general', want: 1, have: 1, ready: 1 },
    ]);
    expect(h.components.every((c) => c.pods > 0 && c.ready === c.pods)).toBe(true);
    expect(api.requests).toEqual(expect.arrayContaining(['/version', '/api/v1/nodes', '/api/v1/namespaces/kube-system/pods']));
  });

  it('a node NotReady: its group is short, the node and its condition are named', async () => {
    const f = healthy();
    f.nodes = list('NodeList', [node(MASTER, 'master', { master: true }), node(WORKER, 'general', { ready: false })]);
    const h = await check(f);
    expect(h.ok).toBe(false);
    expect(h.groups[1]).toEqual({ name: 'general', want: 1, have: 1, ready: 0 });
    expect(h.problems).toEqual([
      'node group general: 0 of 1 nodes Ready (1 registered but not Ready)',
      `node ${WORKER} is not Ready: NodeStatusUnknown`,
    ]);
  });

  it('a node group short of nodes (not registered yet)', async () => {
    const f = healthy();
    f.nodes = list('NodeList', [node(MASTER, 'master', { master: true })]);
    const h = await check(f);
    expect(h.problems).toContain('node group general: 0 of 1 nodes Ready (1 not registered)');
  });

  it('CoreDNS in CrashLoopBackOff: the pod, the reason and the restarts', async () => {
    const f = healthy();
    f.pods = list('PodList', systemPods(MASTER, [WORKER], { reason: 'CrashLoopBackOff', restarts: 7 }));
    const h = await check(f);
    expect(h.ok).toBe(false);
    expect(h.problems).toEqual(['pod kube-system/coredns-668d6bf9bc-5mzlk: CrashLoopBackOff (restarts 7)']);
    expect(h.components.find((c) => c.name === 'coredns')).toMatchObject({ pods: 2, ready: 1 });
  });

  it('a missing add-on and a kubelet too old for the API server (skew policy: at most 3 minors older, never newer)', async () => {
    const f = healthy();
    f.nodes = list('NodeList', [node(MASTER, 'master', { master: true }), node(WORKER, 'general', { kubelet: 'v1.31.4' })]);
    f.pods = list(
      'PodList',
      systemPods(MASTER, [WORKER]).filter((p) => !p.metadata.name.startsWith('ebs-csi-controller')),
    );
    const h = await check(f);
    expect(h.problems).toEqual([
      `node ${WORKER}: kubelet v1.31.4 is more than 3 minor versions older than the API server v1.35.0`,
      'ebs-csi-controller: no pod in kube-system',
    ]);
    f.nodes = list('NodeList', [node(MASTER, 'master', { master: true }), node(WORKER, 'general', { kubelet: 'v1.32.0' })]);
    expect((await check(f)).ok).toBe(false); // still the missing controller
    f.pods = list('PodList', systemPods(MASTER, [WORKER]));
    expect((await check(f)).problems).toEqual([]); // 3 minors older is within the policy
  });

  it('the API down: not reachable, said in one line, nothing thrown', async () => {
    const down = await startFakeApi(ca.cert, ca.key);
    const url = down.url;
    await down.stop();
    const read = await readKubernetes(kubeconfig.replace(api.url, url));
    expect(read).toMatchObject({ reachable: false, server: url, reason: 'ECONNREFUSED' });
    const lines = renderKubernetes(
      {
        checked: true,
        reachable: false,
        server: url,
        reason: 'ECONNREFUSED',
        required: false,
        boot: 'no boot report yet from 2 instances',
      },
      false,
    );
    expect(lines).toEqual([`Kubernetes: API ${url} not reachable (ECONNREFUSED); only the AWS side is shown`]);
    // asked for (--wait, --api-endpoint): the cluster is not up, and the boots say where it stands
    const asked = renderKubernetes(
      {
        checked: true,
        reachable: false,
        server: url,
        reason: 'ECONNREFUSED',
        required: true,
        boot: '0/1 booted; master i-0a at kubeadm-init (running)',
      },
      false,
    );
    expect(asked).toEqual([`Kubernetes: API ${url} NOT reachable (ECONNREFUSED); boot: 0/1 booted; master i-0a at kubeadm-init (running)`]);
  });

  it('a client certificate from another CA is refused by the API: reported, not thrown', async () => {
    const other = await generateCa('kubernetes');
    const client = await signClientCert(other.cert, other.key, 'kubernetes-admin', ['system:masters'], 1);
    const text = renderKubeconfig({
      clusterName: 'x',
      server: api.url,
      caCert: ca.cert,
      user: 'kubernetes-admin',
      clientCert: client.cert,
      clientKey: client.key,
    });
    api.serve(healthy());
    const read = await readKubernetes(text);
    expect(read.reachable).toBe(false);
  });
});
