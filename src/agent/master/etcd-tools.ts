/**
 * `etcdutl` for a restore, fetched as master.sh fetched it: the release of the etcd kubeadm itself
 * runs for the pinned Kubernetes version (the etcd image of `kubeadm config images list -o json`,
 * e.g. registry.k8s.io/etcd:3.6.6-0 → 3.6.6), from etcd's GitHub release, checked against its
 * published SHA256SUMS. Only a master that restores needs it. KUBEAZ_ETCDUTL names a binary to use
 * instead (boot-sim's stand-in over etcd 3.4).
 */
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, copyFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostPath, type AgentContext } from '../context.js';
import { runChecked } from '../programs.js';
import { ETCD_TOOLS_DIR } from './paths.js';

export const ETCDUTL_ENV = 'KUBEAZ_ETCDUTL';

/** The etcd version of kubeadm's etcd image, from `kubeadm config images list -o json`'s document. */
export function etcdVersionFromImages(json: string): string {
  let doc: { images?: unknown };
  try {
    doc = JSON.parse(json) as { images?: unknown };
  } catch {
    throw new Error('kubeadm config images list -o json did not answer JSON');
  }
  const images = Array.isArray(doc.images) ? doc.images.filter((i): i is string => typeof i === 'string') : [];
  for (const i of images) {
    const m = /\/etcd:v?(\d+\.\d+\.\d+)(?:-\d+)?$/.exec(i);
    if (m) return m[1]!;
  }
  throw new Error(`kubeadm names no etcd image (images: ${images.join(', ') || 'none'})`);
}

export const goArch = (arch: string = process.arch): string => (arch === 'arm64' ? 'arm64' : 'amd64');

/** The digest SHA256SUMS gives for `file`, or undefined. */
export function digestOf(sums: string, file: string): string | undefined {
  for (const line of sums.split('\n')) {
    const [sum, name] = line.trim().split(/\s+/);
    if (name === file && sum && /^[0-9a-f]{64}$/.test(sum)) return sum;
  }
  return undefined;
}

export async function ensureEtcdutl(ctx: AgentContext, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env[ETCDUTL_ENV]) return env[ETCDUTL_ENV]!;
  const images = await runChecked(ctx.programs, 'kubeadm', [
    'config',
    'images',
    'list',
    '--kubernetes-version',
    `v${ctx.config.kubernetesVersion}`,
    '-o',
    'json',
  ]);
  const version = etcdVersionFromImages(images.stdout);
  const dir = hostPath(ctx, path.posix.join(ETCD_TOOLS_DIR, version));
  const bin = path.join(dir, 'etcdutl');
  if (
    await access(bin).then(
      () => true,
      () => false,
    )
  )
    return bin;
  ctx.log(`fetching etcdutl ${version} (the etcd kubeadm runs for v${ctx.config.kubernetesVersion})`);
  const arch = goArch();
  const base = `https://github.com/etcd-io/etcd/releases/download/v${version}`;
  const tarName = `etcd-v${version}-linux-${arch}.tar.gz`;
  const work = await mkdtemp(path.join(tmpdir(), 'kubeaz-etcd-'));
  try {
    await runChecked(ctx.programs, 'curl', ['-fsSL', '--retry', '5', '-o', path.join(work, 'SHA256SUMS'), `${base}/SHA256SUMS`]);
    const want = digestOf(await readFile(path.join(work, 'SHA256SUMS'), 'utf8'), tarName);
    if (!want) throw new Error(`no published checksum for ${tarName}`);
    await runChecked(ctx.programs, 'curl', ['-fsSL', '--retry', '5', '-o', path.join(work, tarName), `${base}/${tarName}`]);
    const got = createHash('sha256')
      .update(await readFile(path.join(work, tarName)))
      .digest('hex');
    if (got !== want) throw new Error(`checksum mismatch for ${tarName}: ${got}, published ${want}`);
    await runChecked(ctx.programs, 'tar', ['-xzf', path.join(work, tarName), '-C', work, '--strip-components=1']);
    await mkdir(dir, { recursive: true });
    await copyFile(path.join(work, 'etcdutl'), bin);
    await chmod(bin, 0o755);
    return bin;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
