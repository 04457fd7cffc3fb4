/**
 * What every kubeaz instance needs before kubeadm, as templates/bootstrap/common.sh did it: kernel
 * modules and settings for Kubernetes networking, no swap, containerd from AL2023 with the systemd
 * cgroup driver, and kubelet/kubeadm/kubectl pinned to the cluster's version from pkgs.k8s.io.
 * Files are written under the context's root; programs go through the boundary.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hostPath, type AgentContext } from './context.js';
import { ProgramError, runChecked, type RunResult } from './programs.js';

export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';

export const KERNEL_MODULES = ['overlay', 'br_netfilter'] as const;
export const SYSCTLS: ReadonlyArray<[string, string]> = [
  ['net.bridge.bridge-nf-call-iptables', '1'],
  ['net.bridge.bridge-nf-call-ip6tables', '1'],
  ['net.ipv4.ip_forward', '1'],
  ['fs.inotify.max_user_instances', '8192'],
  ['fs.inotify.max_user_watches', '524288'],
];

/**
 * What kubeadm's preflight and the kubelet run, named: the AL2023 base image has no iptables and the
 * kubelet rpm only recommends it (a weak dependency AL2023 does not install), so iptables-nft is
 * asked for explicitly, as the EKS AL2023 image does.
 */
export const BASE_PACKAGES = [
  'containerd',
  'iptables-nft',
  'iproute',
  'iproute-tc',
  'conntrack-tools',
  'socat',
  'ethtool',
  'util-linux',
] as const;

export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');

/** The pkgs.k8s.io repository of a Kubernetes minor (its packages excluded unless asked for by name). */
export function kubernetesRepo(version: string): string {
  const minor = minorOf(version);
  return [
    '[kubernetes]',
    `name=Kubernetes v${minor}`,
    `baseurl=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/`,
    'enabled=1',
    'gpgcheck=1',
    `gpgkey=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/repodata/repomd.xml.key`,
    'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni',
    '',
  ].join('\n');
}

/** containerd's default configuration with the systemd cgroup driver (the kubelet's, on AL2023's systemd). */
export function containerdConfig(defaults: string): string {
  if (!/SystemdCgroup = false/.test(defaults)) throw new Error('containerd config default printed no "SystemdCgroup = false" to switch on');
  return defaults.replace(/SystemdCgroup = false/g, 'SystemdCgroup = true');
}

/** Writes a file of the instance (under the context's root); its path as written. */
export async function writeHostFile(ctx: AgentContext, file: string, text: string, mode = 0o644): Promise<string> {
  const p = hostPath(ctx, file);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text, { mode });
  return p;
}

/** Run until it succeeds, `attempts` times with `pauseMs` between; the last failure is thrown. */
export async function retried(
  ctx: AgentContext,
  attempts: number,
  pauseMs: number,
  what: string,
  fn: () => Promise<RunResult>,
): Promise<RunResult> {
  let last: unknown;
  for (let i = 1; i <= attempts; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      if (!(e instanceof ProgramError)) throw e;
      if (i < attempts) {
        ctx.log(`${what} failed (attempt ${i} of ${attempts}); again in ${pauseMs / 1000} s`);
        await ctx.sleep(pauseMs);
      }
    }
  }
  throw last;
}

/** Kernel modules, settings, no swap. */
export async function prepareKernel(ctx: AgentContext): Promise<void> {
  await writeHostFile(ctx, '/etc/modules-load.d/kubernetes.conf', `${KERNEL_MODULES.join('\n')}\n`);
  for (const m of KERNEL_MODULES) await runChecked(ctx.programs, 'modprobe', [m]);
  await writeHostFile(ctx, '/etc/sysctl.d/90-kubernetes.conf', `${SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  await runChecked(ctx.programs, 'sysctl', ['--system']);
  await runChecked(ctx.programs, 'swapoff', ['-a']);
}

/** containerd and the pinned Kubernetes packages, containerd running, kubelet enabled (kubeadm starts it). */
export async function installKubernetes(ctx: AgentContext): Promise<void> {
  const v = ctx.config.kubernetesVersion;
  await writeHostFile(ctx, '/etc/yum.repos.d/kubernetes.repo', kubernetesRepo(v));
  const { packageAttempts: n, packageRetryMs: ms } = ctx.waits;
  await retried(ctx, n, ms, 'dnf install (base)', () =>
    runChecked(ctx.programs, 'dnf', ['install', '-y', '-q', '--setopt=install_weak_deps=False', ...BASE_PACKAGES]),
  );
  await retried(ctx, n, ms, 'dnf install (kubernetes)', () =>
    runChecked(ctx.programs, 'dnf', [
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
    ]),
  );
  const defaults = await runChecked(ctx.programs, 'containerd', ['config', 'default']);
  await writeHostFile(ctx, '/etc/containerd/config.toml', containerdConfig(defaults.stdout));
  await runChecked(ctx.programs, 'systemctl', ['enable', '--now', 'containerd']);
  await runChecked(ctx.programs, 'systemctl', ['enable', 'kubelet']);
}
