/**
 * State inside the cluster's own bucket (issue 23, item 4): `destroy` would delete the state with the
 * bucket and every re-run fail on NoSuchBucket. Every command that takes `--state` (or reads the
 * spec's `state:`) refuses such a location as a usage error (exit 2) before any lock or write: a
 * counting proxy in front of moto sees no mutating call at all, and no lock object appears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { motoEnv } from '../../src/devtools/moto.js';

const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: own, environment: qa }
spec:
  region: us-west-2
  zones: [us-west-2a, us-west-2b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.20.0.0/20, nat: single, apiAccess: [] }
  controlPlane: { instanceType: t3.medium }
`;

describe("state in the cluster's own bucket", () => {
  const moto = useMoto();
  let proxy: FaultProxy;
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let own: string;

  beforeAll(async () => {
    proxy = await startFaultProxy(moto.url, {});
    env = motoEnv(proxy.url);
    const sts = new STSClient({
      region: 'us-west-2',
      endpoint: moto.url,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const account = (await sts.send(new GetCallerIdentityCommand({}))).Account!;
    own = `kubeaz-own-qa-${account}`;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-ownstate-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
  });
  afterAll(async () => {
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const commands: Array<[string, string[]]> = [
    ['create', ['create', '--yes']],
    ['destroy', ['destroy', '--yes']],
    ['plan', ['plan']],
    ['status', ['status']],
  ];
  for (const [name, args] of commands) {
    for (const which of ['the private bucket', 'the discovery bucket'] as const) {
      it(`${name} --state s3://<${which}>/…: exit 2 saying why, zero mutating calls, no lock`, async () => {
        const bucket = which === 'the private bucket' ? own : `${own}-oidc`;
        proxy.resetCounts();
        const r = await kubeaz([...args, '-f', file, '--state', `s3://${bucket}/state`], env);
        expect(r.code, r.stdout + r.stderr).toBe(2);
        expect(r.stderr).toContain(`--state s3://${bucket}/state: s3://${bucket} is this cluster's own bucket, which destroy deletes`);
        expect(r.stderr).toMatch(/Keep the state in a bucket the cluster does not own/);
        expect(proxy.counts().mutatingCalls).toEqual({});
        expect(Object.keys(proxy.counts().calls).filter((c) => c.startsWith('s3:'))).toEqual([]);
        expect(existsSync(path.join(dir, '.kubeaz'))).toBe(false);
      });
    }
  }

  it("the spec's state: naming the cluster's bucket is refused the same way", async () => {
    const specFile = path.join(dir, 'with-state.yaml');
    await writeFile(specFile, spec.replace('  controlPlane:', `  state: s3://${own}/kubeaz\n  controlPlane:`));
    proxy.resetCounts();
    const r = await kubeaz(['create', '--yes', '-f', specFile], env);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`spec.state s3://${own}/kubeaz: s3://${own} is this cluster's own bucket`);
    expect(proxy.counts().mutatingCalls).toEqual({});
  });

  it("another bucket is still accepted (the refusal is about the cluster's own bucket only)", async () => {
    proxy.resetCounts();
    const r = await kubeaz(['plan', '-f', file, '--state', `s3://kubeaz-own-qa-elsewhere/state`], env);
    expect(r.stderr).not.toMatch(/own bucket/);
    expect(r.code).not.toBe(2);
  });
});
