/**
 * The add-on version table (src/spec/versions.ts): one row per Kubernetes minor, given to the masters'
 * agent (agent/config.json's master settings), printed in docs/agent.md (What the instances run), and what `validate` warns about.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ADDON_KUBERNETES_SUPPORT,
  ADDON_VERSIONS_BY_MINOR,
  CILIUM_KUBERNETES_SUPPORT,
  SUPPORTED_MINORS,
  addonVersionWarning,
  addonVars,
  addonsFor,
  HELM_PINS,
  helmFor,
  helmSupports,
  versionTableMarkdown,
  type MinorAddons,
} from '../../src/spec/versions.js';
import { clusterSchema, KUBERNETES_EOL } from '../../src/spec/schema.js';
import { TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { addonSteps } from '../../src/agent/master/addons.js';
import { parseAgentConfig } from '../../src/records/agent-config.js';
import { parseMasterSettings } from '../../src/records/master-settings.js';
import { parseSpec } from '../../src/spec/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('add-on versions per Kubernetes minor', () => {
  it('covers consecutive minors', () => {
    expect(SUPPORTED_MINORS.length).toBeGreaterThan(2);
    SUPPORTED_MINORS.forEach((m, i) => i > 0 && expect(Number(m.split('.')[1])).toBe(Number(SUPPORTED_MINORS[i - 1]!.split('.')[1]) + 1));
  });

  it.each(Object.entries(ADDON_VERSIONS_BY_MINOR))(
    '%s: CCM image minor = Kubernetes minor, Cilium inside its support matrix',
    (minor, row) => {
      expect(row.awsCloudControllerManager.image).toMatch(new RegExp(`^v${minor.replace('.', '\\.')}\\.\\d+$`));
      const ciliumMinor = row.cilium.chart.split('.').slice(0, 2).join('.');
      expect(CILIUM_KUBERNETES_SUPPORT[ciliumMinor], `Cilium ${ciliumMinor}`).toContain(minor);
      expect(row.awsEbsCsiDriver.chart).toMatch(/^2\.\d+\.\d+$/);
      expect(Number(row.awsEbsCsiDriver.chart.split('.')[1])).toBeGreaterThanOrEqual(60);
      // cluster-autoscaler's minor must be the cluster's (its own compatibility rule)
      expect(row.clusterAutoscaler.image).toMatch(new RegExp(`^v${minor.replace('.', '\\.')}\\.\\d+$`));
      expect(row.awsNodeTerminationHandler.chart).toMatch(/^0\.\d+\.\d+$/);
    },
  );

  it('every pin of every row is inside the Kubernetes minors its add-on supports', () => {
    for (const [minor, row] of Object.entries(ADDON_VERSIONS_BY_MINOR))
      for (const [addon, pin] of Object.entries(row) as Array<[keyof MinorAddons, MinorAddons[keyof MinorAddons]]>)
        expect(ADDON_KUBERNETES_SUPPORT[addon].supports(minor, pin), `${addon} ${JSON.stringify(pin)} on Kubernetes ${minor}`).toBe(true);
    // the statements can refuse: a CCM or autoscaler image of another minor, Cilium 1.18 on 1.35, anything on 1.15
    expect(ADDON_KUBERNETES_SUPPORT.awsCloudControllerManager.supports('1.34', { image: 'v1.35.2' })).toBe(false);
    expect(ADDON_KUBERNETES_SUPPORT.clusterAutoscaler.supports('1.31', { image: 'v1.30.7' })).toBe(false);
    expect(ADDON_KUBERNETES_SUPPORT.cilium.supports('1.35', { chart: '1.18.12' })).toBe(false);
    expect(ADDON_KUBERNETES_SUPPORT.awsNodeTerminationHandler.supports('1.15', { chart: '0.27.6' })).toBe(false);
    expect(ADDON_KUBERNETES_SUPPORT.awsEbsCsiDriver.supports('1.19', { chart: '2.64.0' })).toBe(false);
  });

  it("every row's Helm is inside Helm's support policy (n-3 of its client) and the newest pin that is", () => {
    // helm.sh/docs/topics/version_skew: 3.20.x 1.35–1.32, 3.19.x 1.34–1.31, 3.18.x 1.33–1.30, 3.16.x 1.31–1.28
    expect(helmSupports({ kubernetesClient: '1.35' }, '1.32')).toBe(true);
    expect(helmSupports({ kubernetesClient: '1.35' }, '1.31')).toBe(false);
    expect(helmSupports({ kubernetesClient: '1.35' }, '1.36')).toBe(false);
    expect(helmSupports({ kubernetesClient: '1.31' }, '1.32')).toBe(false); // 3.16.4, pinned before, on 1.32
    for (const minor of SUPPORTED_MINORS) {
      const v = helmFor(`${minor}.0`);
      const pin = HELM_PINS.find((p) => p.version === v)!;
      expect(helmSupports(pin, minor), `Helm ${v} on ${minor}`).toBe(true);
      const newer = HELM_PINS.slice(HELM_PINS.indexOf(pin) + 1);
      expect(
        newer.filter((p) => helmSupports(p, minor)),
        `a newer pin fits ${minor}`,
      ).toEqual([]);
      expect(addonVars(`${minor}.0`).HELM_VERSION).toBe(v);
    }
    expect(SUPPORTED_MINORS.map((m) => helmFor(m))).toEqual(['3.18.6', '3.19.5', '3.20.2', '3.21.4', '3.21.4', '3.21.4']);
    for (const p of HELM_PINS) expect(p.tag.startsWith(`v${p.version} `), p.tag).toBe(true);
  });

  it('every Kubernetes minor the spec accepts has a row whose add-ons all support it, or validate warns', () => {
    const accepts = (v: string) =>
      !clusterSchema
        .safeParse({
          apiVersion: 'kubeaz/v1',
          kind: 'Cluster',
          metadata: { name: 'demo', environment: 'dev' },
          spec: {
            region: 'us-east-1',
            zones: ['us-east-1a', 'us-east-1b'],
            kubernetesVersion: v,
            network: { vpcCidr: '10.0.0.0/16' },
            controlPlane: { instanceType: 'm5.large' },
          },
        })
        .error?.issues.some((i) => i.path.join('.') === 'spec.kubernetesVersion');
    let oldest = 20;
    while (!accepts(`1.${oldest}.0`) && oldest < 60) oldest++;
    expect(oldest, 'the oldest minor the spec accepts').toBeLessThanOrEqual(Number(SUPPORTED_MINORS[0]!.split('.')[1]));
    const known = Object.keys(KUBERNETES_EOL).map((m) => Number(m.split('.')[1]));
    const newest = Math.max(...known, ...SUPPORTED_MINORS.map((m) => Number(m.split('.')[1])));
    // the spec has no newest minor: one past the table stands for all of them
    expect(accepts(`1.${newest + 1}.0`)).toBe(true);
    for (let n = oldest; n <= newest + 1; n++) {
      const minor = `1.${n}`;
      const row = ADDON_VERSIONS_BY_MINOR[minor];
      if (!row) {
        expect(addonVersionWarning(`${minor}.0`), minor).toMatch(/not chosen for/);
        continue;
      }
      expect(addonVersionWarning(`${minor}.0`), minor).toBeUndefined();
      for (const [addon, pin] of Object.entries(row) as Array<[keyof MinorAddons, MinorAddons[keyof MinorAddons]]>)
        expect(ADDON_KUBERNETES_SUPPORT[addon].supports(minor, pin), `${addon} on ${minor}`).toBe(true);
    }
  });

  it('falls back to the nearest row outside the table, and says so', () => {
    expect(addonsFor('1.35.4')).toMatchObject({ minor: '1.35', exact: true });
    expect(addonsFor('1.36.1')).toMatchObject({ minor: '1.35', exact: false });
    expect(addonsFor('1.28.3')).toMatchObject({ minor: '1.30', exact: false });
  });

  it("the masters install the row of the spec minor (CCM image v1.35.x on 1.35, v1.32.x on 1.32): agent/config.json's master settings, the add-on invocations the agent runs", () => {
    const templates = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(ROOT, 'templates', t), 'utf8')]));
    for (const [version, ccm, cilium, autoscaler] of [
      ['1.35.4', 'v1.35.2', '1.19.6', 'v1.35.2'],
      ['1.32.9', 'v1.32.8', '1.19.6', 'v1.32.7'],
      ['1.30.2', 'v1.30.10', '1.18.12', 'v1.30.7'],
    ] as const) {
      const spec = clusterSchema.parse({
        apiVersion: 'kubeaz/v1',
        kind: 'Cluster',
        metadata: { name: 'demo', environment: 'dev' },
        spec: {
          region: 'us-east-1',
          zones: ['us-east-1a', 'us-east-1b'],
          kubernetesVersion: version,
          network: { vpcCidr: '10.0.0.0/16' },
          controlPlane: { instanceType: 'm5.large' },
        },
      });
      // what create puts in the bucket, read as the agent reads it
      const g = deriveGraph(spec, { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates });
      const config = parseAgentConfig((g.nodes.find((n) => n.key === 'object/agent/config.json')!.props as { body: string }).body);
      if (config instanceof Error) throw config;
      const ms = parseMasterSettings(config.master);
      if (ms instanceof Error) throw ms;
      expect(config.kubernetesVersion).toBe(version);
      const args = addonSteps({
        clusterId: 'demo-dev',
        region: 'us-east-1',
        masterDns: ms.masterDns,
        adminKubeconfig: '/etc/kubernetes/admin.conf',
        versions: ms.addons,
        storageClassFile: '/sc.yaml',
      })
        .flatMap((st) => st.run)
        .map((r) => r.args.join(' '));
      const line = (release: string) => args.find((a) => a.includes(`upgrade --install ${release} `))!;
      expect(line('aws-cloud-controller-manager'), version).toContain(`--set image.tag=${ccm}`);
      expect(line('cilium'), version).toContain(`--repo https://helm.cilium.io --version ${cilium} `);
      expect(line('aws-cloud-controller-manager'), version).toContain(
        '--repo https://kubernetes.github.io/cloud-provider-aws --version 0.0.11 ',
      );
      expect(line('aws-ebs-csi-driver'), version).toContain(
        '--repo https://kubernetes-sigs.github.io/aws-ebs-csi-driver --version 2.64.0 ',
      );
      expect(line('cluster-autoscaler'), version).toContain(`--set image.tag=${autoscaler} --set replicaCount=1`);
      // no etcd version pinned anywhere: the etcd tools are the ones kubeadm's etcd image names (agent/master/etcd-tools.ts)
      expect(JSON.stringify(config)).not.toMatch(/etcdVersion|3\.5\.16/i);
    }
  });

  it('docs/agent.md prints the table as it is', () => {
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'agent.md'), 'utf8')).toContain(versionTableMarkdown());
  });

  it("the example's kubernetesVersion is of a minor in the table, and validates without a warning", () => {
    const text = fs.readFileSync(path.join(ROOT, 'cluster.example.yaml'), 'utf8');
    const { spec, warnings } = parseSpec(text, 'cluster.example.yaml', new Date('2026-11-28'));
    expect(SUPPORTED_MINORS).toContain(spec.spec.kubernetesVersion.split('.').slice(0, 2).join('.'));
    expect(spec.spec.kubernetesVersion).toBe('1.35.4');
    expect(warnings).toEqual([]);
  });
});
