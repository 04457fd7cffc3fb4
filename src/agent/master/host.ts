/**
 * A master's host preparation, as master.sh/common.sh did it: the packages (containerd, the tools
 * kubeadm's preflight runs — each named, weak dependencies off —, kubelet/kubeadm/kubectl pinned),
 * the kernel settings, the kubelet's flags, and installing systemd units. File contents are rendered
 * here (PURE functions), programs run through the context's boundary.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostPath, type AgentContext } from '../context.js';
import { runChecked } from '../programs.js';
import { BASE_PACKAGES as HOST_PACKAGES, KERNEL_MODULES, SYSCTLS, containerdConfig, kubernetesRepo } from '../host.js';
import { SYSTEMD_DIR } from './paths.js';
import type { UnitFile } from './units.js';

export const KUBERNETES_REPO_FILE = '/etc/yum.repos.d/kubernetes.repo';
export const MODULES_FILE = '/etc/modules-load.d/kubernetes.conf';
export const SYSCTL_FILE = '/etc/sysctl.d/90-kubernetes.conf';
export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const KUBELET_SYSCONFIG = '/etc/sysconfig/kubelet';

// One list of packages, kernel settings and the pkgs.k8s.io repository for every role (../host.ts).
export { KERNEL_MODULES, SYSCTLS, kubernetesRepo, BASE_PACKAGES as HOST_PACKAGES } from '../host.js';

export const dnfHostArgs = (): string[] => ['install', '-y', '-q', '--setopt=install_weak_deps=False', ...HOST_PACKAGES];
export const dnfKubernetesArgs = (v: string): string[] => [
  'install',
  '-y',
  '-q',
  '--setopt=install_weak_deps=False',
  '--disableexcludes=kubernetes',
  `kubelet-${v}`,
  `kubeadm-${v}`,
  `kubectl-${v}`,
  'cri-tools',
  'kubernetes-cni',
];
export const modulesFile = (): string => `${KERNEL_MODULES.join('\n')}\n`;
export const sysctlFile = (): string => SYSCTLS.map(([k, v]) => `${k} = ${v}\n`).join('');

/** containerd's default configuration with the systemd cgroup driver (the kubelet's, from KubeletConfiguration). */
export const systemdCgroup = containerdConfig;

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

export async function writeHostFile(ctx: AgentContext, file: string, text: string, mode = 0o644): Promise<string> {
  const p = hostPath(ctx, file);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text, { mode });
  return p;
}

/** A program run with the agent's retry budget for packages (a mirror can fail for a moment). */
async function retried(ctx: AgentContext, cmd: string, args: string[]): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await runChecked(ctx.programs, cmd, args);
      return;
    } catch (e) {
      if (i >= ctx.waits.packageAttempts) throw e;
      ctx.log(`${cmd} ${args[0] ?? ''} failed (attempt ${i} of ${ctx.waits.packageAttempts}); trying again`);
      await ctx.sleep(ctx.waits.packageRetryMs);
    }
  }
}

export async function installPackages(ctx: AgentContext): Promise<void> {
  const v = ctx.config.kubernetesVersion;
  await writeHostFile(ctx, KUBERNETES_REPO_FILE, kubernetesRepo(v));
  await retried(ctx, 'dnf', dnfHostArgs());
  await retried(ctx, 'dnf', dnfKubernetesArgs(v));
  const def = await runChecked(ctx.programs, 'containerd', ['config', 'default']);
  await writeHostFile(ctx, CONTAINERD_CONFIG, systemdCgroup(def.stdout));
  await runChecked(ctx.programs, 'systemctl', ['enable', '--now', 'containerd']);
  await runChecked(ctx.programs, 'systemctl', ['enable', 'kubelet']);
}

export async function kernelSettings(ctx: AgentContext): Promise<void> {
  await writeHostFile(ctx, MODULES_FILE, modulesFile());
  for (const m of KERNEL_MODULES) await runChecked(ctx.programs, 'modprobe', [m]);
  await writeHostFile(ctx, SYSCTL_FILE, sysctlFile());
  await runChecked(ctx.programs, 'sysctl', ['--system']);
  await runChecked(ctx.programs, 'swapoff', ['-a']);
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
