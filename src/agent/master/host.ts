/**
 * A master's host preparation, as master.sh/common.sh did it: the packages (containerd, the tools
 * kubeadm's preflight runs — each named, weak dependencies off —, kubelet/kubeadm/kubectl pinned),
 * the kernel settings, the kubelet's flags, and installing systemd units. File contents are rendered
 * here (PURE functions), programs run through the context's boundary.
 */
import path from 'node:path';
import type { AgentContext } from '../context.js';
import { runChecked } from '../programs.js';
import { writeHostFile } from '../host.js';
import { SYSTEMD_DIR } from './paths.js';
import type { UnitFile } from './units.js';

export const KUBELET_SYSCONFIG = '/etc/sysconfig/kubelet';

// One way to write a host file, install the packages and set the kernel up for every role (../host.ts).
export { writeHostFile, installKubernetes as installPackages, prepareKernel as kernelSettings } from '../host.js';

/**
 * The kubelet's flags through the rpm drop-in's /etc/sysconfig/kubelet. node-role.kubernetes.io/*
 * labels are left out: NodeRestriction forbids a kubelet to set them (the node-roles job does).
 */
export function kubeletSysconfig(o: {
  privateIp: string;
  zone: string;
  group: string;
  role: string;
  labels: Readonly<Record<string, string>>;
  taints: ReadonlyArray<{ key: string; value?: string; effect: string }>;
}): string {
  const labels = Object.keys(o.labels)
    .sort()
    .filter((k) => !k.startsWith('node-role.kubernetes.io/'))
    .map((k) => `${k}=${o.labels[k]}`);
  labels.push(`topology.kubernetes.io/zone=${o.zone}`, `kubeaz.io/node-group=${o.group}`, `kubeaz.io/role=${o.role}`);
  for (const l of labels)
    if (!/^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*$/.test(l))
      throw new Error(`kubelet label ${JSON.stringify(l)} holds characters the flag cannot take safely`);
  const taints = o.taints.map((t) => `${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect}`);
  const args = [
    '--cloud-provider=external',
    `--node-ip=${o.privateIp}`,
    `--node-labels=${labels.join(',')}`,
    ...(taints.length ? [`--register-with-taints=${taints.join(',')}`] : []),
  ];
  return `KUBELET_EXTRA_ARGS=${args.join(' ')}\n`;
}

export async function writeKubeletArgs(ctx: AgentContext): Promise<void> {
  const g = ctx.identity.settings;
  await writeHostFile(
    ctx,
    KUBELET_SYSCONFIG,
    kubeletSysconfig({
      privateIp: ctx.identity.privateIp,
      zone: ctx.identity.zone,
      group: ctx.identity.group,
      role: ctx.identity.role,
      labels: g.labels,
      taints: g.taints,
    }),
  );
}

/** Units into /etc/systemd/system, a daemon-reload, then `enable --now` of the ones named. */
export async function installUnits(ctx: AgentContext, units: readonly UnitFile[], enable: readonly string[]): Promise<void> {
  for (const u of units) await writeHostFile(ctx, path.posix.join(SYSTEMD_DIR, u.name), u.text);
  await runChecked(ctx.programs, 'systemctl', ['daemon-reload']);
  for (const u of enable) await runChecked(ctx.programs, 'systemctl', ['enable', '--now', u]);
}
