/**
 * kubeaz version: the CLI's version, the git commit it runs from (a checkout), Node, and what a
 * cluster it creates installs (pinned add-on versions, supported Kubernetes minors). No AWS.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADDON_VERSIONS_BY_MINOR, helmFor, SUPPORTED_MINORS } from '../spec/versions.js';
import { respond } from '../operations/envelope.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One pin as text: its chart version, the image kubeaz sets over the chart's, or (no chart: a manifest) the image alone. */
export function pinText(pin: { chart?: string; image?: string }): string {
  if (!pin.chart) return pin.image ? `image ${pin.image}` : '(none)';
  return pin.image ? `${pin.chart} (image ${pin.image})` : pin.chart;
}

/**
 * The pinned versions of what the master installs, by component. The one hook for the add-on
 * table: point it at another table and `version` (text and JSON) follows.
 */
export function addonVersions(): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const minor of SUPPORTED_MINORS) {
    const row = ADDON_VERSIONS_BY_MINOR[minor]!;
    out[minor] = {
      ...Object.fromEntries(Object.entries(row).map(([name, pin]) => [name, pinText(pin)])),
      // Helm per row: inside Helm's own Kubernetes support policy (spec/versions.ts HELM_PINS)
      helm: helmFor(minor),
    };
  }
  out['*'] = { etcd: 'the etcd kubeadm runs for the Kubernetes version (derived at boot)' };
  return out;
}

/** The commit of the checkout kubeaz runs from (with "-dirty" when it has local changes), or undefined. */
async function gitCommit(): Promise<string | undefined> {
  const git = promisify(execFile);
  try {
    const { stdout } = await git('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { timeout: 3000 });
    const { stdout: dirty } = await git('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], { timeout: 3000 });
    return `${stdout.trim()}${dirty.trim() ? '-dirty' : ''}`;
  } catch {
    return undefined;
  }
}

export interface VersionInfo {
  version: string;
  gitCommit: string | null;
  node: string;
  platform: string;
  kubernetes: { supportedMinors: string[] };
  /** per Kubernetes minor (and '*' for every minor): add-on → pinned version */
  addons: Record<string, Record<string, string>>;
}

export async function versionInfo(): Promise<VersionInfo> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    version: pkg.version,
    gitCommit: (await gitCommit()) ?? null,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    kubernetes: { supportedMinors: [...SUPPORTED_MINORS] },
    addons: addonVersions(),
  };
}

export async function versionCommand(opts: { output?: string }): Promise<number> {
  const v = await versionInfo();
  if (opts.output === 'json') return respond(0, { ...v }, { cluster: null });
  const minors = v.kubernetes.supportedMinors;
  const lines = [
    `kubeaz ${v.version}${v.gitCommit ? ` (commit ${v.gitCommit})` : ''}`,
    `node ${v.node} ${v.platform}`,
    `kubernetes ${minors[0]}–${minors[minors.length - 1]} (spec.kubernetesVersion)`,
    ...Object.entries(v.addons).map(
      ([minor, row]) =>
        `${minor === '*' ? 'every minor' : `add-ons for ${minor}`}: ${Object.entries(row)
          .map(([k, x]) => `${k} ${x}`)
          .join(', ')}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
