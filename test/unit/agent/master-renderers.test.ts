import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  apiserverIssuerPatch,
  kubeadmApiVersion,
  privateDnsName,
  renderInitConfig,
  renderJoinConfig,
  type MasterKubeadmInput,
} from '../../../src/agent/master/kubeadm-config.js';
import { ENABLED_UNITS, execWord, masterUnits } from '../../../src/agent/master/units.js';
import type { Loose } from '../../helpers/loose.js';

const input: MasterKubeadmInput = {
  kubernetesVersion: '1.34.2',
  clusterId: 'demo-dev',
  masterDns: 'master.demo-dev.internal',
  podCidr: '100.64.0.0/16',
  serviceCidr: '100.65.0.0/16',
  apiCertSans: ['master.demo-dev.internal', 'master.dev.example.com'],
  nodeName: 'ip-10-0-1-5.eu-west-1.compute.internal',
  privateIp: '10.0.1.5',
};
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Loose);

describe('kubeadm configuration from typed objects', () => {
  it('picks v1beta4 from 1.31 on, v1beta3 before', () => {
    expect(kubeadmApiVersion('1.30.9')).toBe('kubeadm.k8s.io/v1beta3');
    expect(kubeadmApiVersion('1.31.0')).toBe('kubeadm.k8s.io/v1beta4');
    expect(kubeadmApiVersion('1.35.1')).toBe('kubeadm.k8s.io/v1beta4');
    expect(() => kubeadmApiVersion('latest')).toThrow(/MAJOR.MINOR/);
  });

  it('init: InitConfiguration, ClusterConfiguration and KubeletConfiguration as master.sh wrote them', () => {
    const [init, cluster, kubelet] = docs(renderInitConfig(input));
    expect(init).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      localAPIEndpoint: { advertiseAddress: '10.0.1.5', bindPort: 6443 },
      nodeRegistration: {
        name: input.nodeName,
        criSocket: 'unix:///run/containerd/containerd.sock',
        taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      },
    });
    expect(cluster).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: 'demo-dev',
      kubernetesVersion: 'v1.34.2',
      controlPlaneEndpoint: 'master.demo-dev.internal:443',
      networking: { podSubnet: '100.64.0.0/16', serviceSubnet: '100.65.0.0/16' },
      apiServer: { certSANs: ['master.demo-dev.internal', 'master.dev.example.com', '10.0.1.5'] },
      etcd: { local: { dataDir: '/var/lib/etcd' } },
    });
    expect(kubelet).toEqual({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd' });
  });

  it('a restore keeps its data dir past preflight, and IRSA adds the patches directory', () => {
    const [init] = docs(renderInitConfig({ ...input, patchesDir: '/etc/kubernetes/patches' }, { restoredData: true }));
    expect(init!.nodeRegistration.ignorePreflightErrors).toEqual(['DirAvailable--var-lib-etcd']);
    expect(init!.patches).toEqual({ directory: '/etc/kubernetes/patches' });
  });

  it('a value cannot become a key: odd names stay one string', () => {
    const [, cluster] = docs(renderInitConfig({ ...input, clusterId: 'x\nkind: Evil', apiCertSans: ['a: b'] }));
    expect(cluster!.clusterName).toBe('x\nkind: Evil');
    expect(cluster!.kind).toBe('ClusterConfiguration');
    expect(cluster!.apiServer.certSANs[0]).toBe('a: b');
  });

  it('join --control-plane: the token, the CA hash and this master as an API endpoint', () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const [join, kubelet] = docs(renderJoinConfig({ ...input, kubernetesVersion: '1.30.4' }, 'abcdef.0123456789abcdef', hash));
    expect(join).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta3',
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: { apiServerEndpoint: 'master.demo-dev.internal:443', token: 'abcdef.0123456789abcdef', caCertHashes: [hash] },
      },
      nodeRegistration: {
        name: input.nodeName,
        criSocket: 'unix:///run/containerd/containerd.sock',
        taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
      },
      controlPlane: { localAPIEndpoint: { advertiseAddress: '10.0.1.5', bindPort: 6443 } },
    });
    expect(kubelet!.kind).toBe('KubeletConfiguration');
    expect(() => renderJoinConfig(input, 'not-a-token', hash)).toThrow(/bootstrap token/);
    expect(() => renderJoinConfig(input, 'abcdef.0123456789abcdef', 'md5:x')).toThrow(/sha256/);
  });

  it('names the node as EC2 does', () => {
    expect(privateDnsName('10.0.1.5', 'us-east-1')).toBe('ip-10-0-1-5.ec2.internal');
    expect(privateDnsName('10.0.1.5', 'eu-west-1')).toBe('ip-10-0-1-5.eu-west-1.compute.internal');
  });

  it('the IRSA issuer patch puts the new issuer first and keeps the default audience', () => {
    const p = JSON.parse(
      apiserverIssuerPatch('https://b.s3.eu-west-1.amazonaws.com', 'https://kubernetes.default.svc.cluster.local'),
    ) as Array<{ path: string; value: string }>;
    expect(p.map((o) => o.path)).toEqual(['/spec/containers/0/command/1', '/spec/containers/0/command/-', '/spec/containers/0/command/-']);
    expect(p[0]!.value).toBe('--service-account-issuer=https://b.s3.eu-west-1.amazonaws.com');
    expect(p[2]!.value).toBe('--api-audiences=https://kubernetes.default.svc.cluster.local');
  });
});

describe('the IRSA issuer patch applied to the kube-apiserver command kubeadm writes', () => {
  it('the new issuer first (it signs new tokens), kubeadm`s default issuer kept after it (older tokens still verify), the JWKS URI, the default audience', () => {
    const ISSUER = 'https://kubeaz-demo-dev-123456789012-oidc.s3.eu-west-1.amazonaws.com';
    const DEFAULT = 'https://kubernetes.default.svc.cluster.local';
    const patch = JSON.parse(apiserverIssuerPatch(ISSUER, DEFAULT)) as Array<{ op: string; path: string; value: string }>;
    // kubeadm's static pod command: the binary, then its flags sorted, the default issuer among them
    const command = [
      'kube-apiserver',
      '--advertise-address=10.0.0.5',
      `--service-account-issuer=${DEFAULT}`,
      '--service-account-key-file=/etc/kubernetes/pki/sa.pub',
      '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
    ];
    for (const p of patch) {
      expect(p.op).toBe('add');
      const at = p.path.replace('/spec/containers/0/command/', '');
      if (at === '-') command.push(p.value);
      else command.splice(Number(at), 0, p.value);
    }
    expect(command[0]).toBe('kube-apiserver');
    expect(command[1]).toBe(`--service-account-issuer=${ISSUER}`);
    expect(command.filter((c) => c.startsWith('--service-account-issuer='))).toEqual([
      `--service-account-issuer=${ISSUER}`,
      `--service-account-issuer=${DEFAULT}`,
    ]);
    expect(command).toContain(`--service-account-jwks-uri=${ISSUER}/openid/v1/jwks`);
    expect(command).toContain(`--api-audiences=${DEFAULT}`);
    expect(command).toHaveLength(8);
  });
});

describe('systemd units rendered from TS', () => {
  const units = masterUnits({
    clusterId: 'demo-dev',
    bucket: 'kubeaz-demo-dev-123',
    backupIntervalMinutes: 30,
    agent: ['/usr/bin/node-22', '/opt/kubeaz/kubeaz-agent.mjs'],
  });
  const byName = Object.fromEntries(units.map((u) => [u.name, u.text]));

  it('the backup timer runs the agent`s backup on the interval; the first snapshot is the agent`s own at boot', () => {
    expect(byName['kubeaz-etcd-backup.service']).toContain('ExecStart=/usr/bin/node-22 /opt/kubeaz/kubeaz-agent.mjs backup\n');
    expect(byName['kubeaz-etcd-backup.service']).toContain('Type=oneshot');
    expect(byName['kubeaz-etcd-backup.timer']).toContain('OnActiveSec=30min\nOnUnitActiveSec=30min\n');
    // a run missed while the master was down is made up when it is back (Persistent)
    expect(byName['kubeaz-etcd-backup.timer']).toContain('Persistent=true\n');
    expect(byName['kubeaz-etcd-backup.timer']).toContain('WantedBy=timers.target');
  });

  it('the join token every 12 hours, and the node-role labeller every 30 seconds', () => {
    expect(byName['kubeaz-join-token.service']).toContain('ExecStart=/usr/bin/node-22 /opt/kubeaz/kubeaz-agent.mjs join-token\n');
    expect(byName['kubeaz-join-token.timer']).toContain('OnActiveSec=12h\nOnUnitActiveSec=12h\n');
    expect(byName['kubeaz-node-roles.service']).toContain('ExecStart=/usr/bin/node-22 /opt/kubeaz/kubeaz-agent.mjs node-roles\n');
    expect(byName['kubeaz-node-roles.timer']).toContain('OnUnitActiveSec=30s');
    expect(ENABLED_UNITS).toEqual(['kubeaz-etcd-backup.timer', 'kubeaz-join-token.timer', 'kubeaz-node-roles.timer']);
  });

  it('the backup timer`s run is leader-only; the CLI`s run (through SSM) is not', () => {
    expect(byName['kubeaz-etcd-backup.service']).toContain('Environment=KUBEAZ_BACKUP_LEADER_ONLY=1\n');
  });

  it('quotes ExecStart words systemd would split or expand', () => {
    expect(execWord('/opt/kubeaz/agent.mjs')).toBe('/opt/kubeaz/agent.mjs');
    expect(execWord('/tmp/my dir/a$b%c')).toBe('"/tmp/my dir/a$$b%%c"');
    expect(() => masterUnits({ clusterId: 'c', bucket: 'b', backupIntervalMinutes: 0, agent: ['node'] })).toThrow(/interval/);
  });
});
