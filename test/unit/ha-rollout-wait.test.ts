/**
 * rollout's wait between masters (issue 13) against a local HTTPS stand-in for the API server:
 * a replaced master is back only when /readyz/etcd and /readyz answer 200 and a node of its group
 * created since the refresh started is Ready — a stale Ready node of the old instance does not count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, signClientCert } from '../../src/pki/ca.js';
import { renderKubeconfig } from '../../src/pki/kubeconfig.js';
import { waitForMasterBack } from '../../src/kube/api.js';
import { list, node, systemPods, VERSION } from '../fixtures/k8s-api.js';
import { startFakeApi, type FakeApi } from '../helpers/k8s-api-server.js';

let api: FakeApi;
let kubeconfig: string;
beforeAll(async () => {
  const ca = await generateCa('kubernetes');
  api = await startFakeApi(ca.cert, ca.key);
  const client = await signClientCert(ca.cert, ca.key, 'kubernetes-admin', ['system:masters'], 1);
  kubeconfig = renderKubeconfig({
    clusterName: 'ha-qa',
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

const OLD = 'ip-172-20-0-10.us-west-2.compute.internal';
const NEW = 'ip-172-20-0-99.us-west-2.compute.internal';
const since = new Date('2026-11-28T20:00:00Z'); // after the fixtures' nodes were made (18:00)
const fresh = (ready: boolean) => {
  const n = node(NEW, 'master-2', { master: true, ready });
  n.metadata.creationTimestamp = '2026-11-28T20:05:00Z';
  return n;
};
const serve = (readyz: Record<string, number>, nodes: unknown[]) =>
  api.serve({ version: VERSION, nodes: list('NodeList', nodes), pods: list('PodList', systemPods(OLD, [])), readyz });
const wait = (maxSeconds = 0.3) => waitForMasterBack(kubeconfig, 'master-2', since, { pollSeconds: 0.05, maxSeconds });

describe('waitForMasterBack', () => {
  it('returns once etcd is healthy, the API Ready and the group has a new Ready node', async () => {
    serve({ '/readyz/etcd': 200, '/readyz': 200 }, [node(OLD, 'master-2', { master: true }), fresh(true)]);
    await expect(wait()).resolves.toBeUndefined();
    expect(api.requests).toContain('/readyz/etcd');
  });

  it('etcd not healthy: keeps waiting, then says so', async () => {
    serve({ '/readyz/etcd': 500, '/readyz': 500 }, [fresh(true)]);
    await expect(wait()).rejects.toThrow(/master-2 is not back after 0\.3s: etcd not healthy \(\/readyz\/etcd: HTTP 500\)/);
  });

  it("only the old instance's node (still Ready, created before the refresh) does not count", async () => {
    serve({ '/readyz/etcd': 200, '/readyz': 200 }, [node(OLD, 'master-2', { master: true })]);
    await expect(wait()).rejects.toThrow(/no new node of master-2 registered yet/);
  });

  it('the new node registered but not Ready yet', async () => {
    serve({ '/readyz/etcd': 200, '/readyz': 200 }, [fresh(false)]);
    await expect(wait()).rejects.toThrow(/the new node of master-2 is not Ready yet/);
  });
});
