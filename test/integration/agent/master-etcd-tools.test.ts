/**
 * The etcd tools a restoring master fetches (src/agent/master/etcd-tools.ts): the release of the
 * etcd kubeadm itself runs for the cluster's Kubernetes version — read from `kubeadm config images
 * list`, never pinned —, from etcd's GitHub release, checked against its SHA256SUMS. The programs
 * are a fake boundary whose `curl` serves prepared files and whose `tar` is the real one.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostPath } from '../../../src/agent/context.js';
import { digestOf, ensureEtcdutl, etcdVersionFromImages, goArch } from '../../../src/agent/master/etcd-tools.js';
import { fail, FakePrograms, ok, testMaster } from '../../helpers/agent-master.js';

const work = mkdtempSync(path.join(tmpdir(), 'kubeaz-etcd-tools-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const arch = goArch();
const images = (etcd: string) =>
  JSON.stringify({
    kind: 'Images',
    apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
    images: [
      'registry.k8s.io/kube-apiserver:v1.34.2',
      'registry.k8s.io/coredns/coredns:v1.12.1',
      'registry.k8s.io/pause:3.10.1',
      `registry.k8s.io/etcd:${etcd}`,
    ],
  });

/** etcd's release tarball for `version` as etcd publishes it: etcd-v<version>-linux-<arch>/{etcd,etcdctl,etcdutl} */
function release(version: string): { tarName: string; data: Buffer } {
  const top = `etcd-v${version}-linux-${arch}`;
  const dir = path.join(work, `rel-${version}`, top);
  mkdirSync(dir, { recursive: true });
  for (const t of ['etcd', 'etcdctl', 'etcdutl']) {
    writeFileSync(path.join(dir, t), `#!/bin/sh\necho "${t} ${version}"\n`);
    chmodSync(path.join(dir, t), 0o755);
  }
  const tgz = path.join(work, `${top}.tar.gz`);
  execFileSync('tar', ['-czf', tgz, '-C', path.dirname(dir), top]);
  return { tarName: `${top}.tar.gz`, data: readFileSync(tgz) };
}

/** A master whose kubeadm names etcd `imageTag`, whose curl serves `served` (URL → body) and whose tar is real. */
function master(imageTag: string, served: Record<string, Buffer | string>) {
  const programs = new FakePrograms((cmd, args) => {
    if (cmd === 'kubeadm' && args.slice(0, 3).join(' ') === 'config images list') return ok(images(imageTag));
    if (cmd === 'curl') {
      const url = args.at(-1)!;
      if (!(url in served)) return fail(22, `curl: (22) The requested URL returned error: 404 (${url})`);
      writeFileSync(args[args.indexOf('-o') + 1]!, served[url]!);
      return ok();
    }
    if (cmd === 'tar') {
      execFileSync('tar', args);
      return ok();
    }
    return undefined;
  });
  return testMaster({
    instanceId: 'i-0000000000000e7d',
    group: 'master',
    ip: '10.0.1.5',
    aws: {} as never,
    bucket: 'b',
    sink: { put: async () => {} },
    programs,
  });
}
const base = (v: string) => `https://github.com/etcd-io/etcd/releases/download/v${v}`;
const sums = (entries: Array<[string, Buffer | string]>) =>
  entries.map(([name, data]) => `${createHash('sha256').update(data).digest('hex')}  ${name}\n`).join('');
const lines = (p: FakePrograms) => p.calls.map((c) => [c.cmd, ...c.args].join(' '));

describe('etcdutl for a restore', () => {
  it("is the release of the etcd kubeadm runs for the cluster's version (its image tag), checked against SHA256SUMS, installed under its version", async () => {
    const rel = release('3.6.6');
    const m = master('3.6.6-0', {
      [`${base('3.6.6')}/SHA256SUMS`]: sums([
        [rel.tarName, rel.data],
        [`etcd-v3.6.6-linux-other.tar.gz`, 'x'],
      ]),
      [`${base('3.6.6')}/${rel.tarName}`]: rel.data,
    });
    const bin = await ensureEtcdutl(m.ctx, {});
    expect(bin).toBe(hostPath(m.ctx, '/usr/local/lib/kubeaz/etcd/3.6.6/etcdutl'));
    expect(readFileSync(bin, 'utf8')).toBe('#!/bin/sh\necho "etcdutl 3.6.6"\n');
    expect(statSync(bin).mode & 0o111).toBeTruthy();
    const l = lines(m.programs);
    expect(l[0]).toBe('kubeadm config images list --kubernetes-version v1.34.2 -o json');
    expect(l[1]).toMatch(new RegExp(`^curl -fsSL --retry 5 -o \\S+ ${base('3.6.6')}/SHA256SUMS$`));
    expect(l[2]).toMatch(new RegExp(`^curl -fsSL --retry 5 -o \\S+ ${base('3.6.6')}/etcd-v3\\.6\\.6-linux-${arch}\\.tar\\.gz$`));
    expect(l[3]).toMatch(/^tar -xzf \S+ -C \S+ --strip-components=1$/);
    expect(m.logs.join('\n')).toContain('fetching etcdutl 3.6.6 (the etcd kubeadm runs for v1.34.2)');

    // kept: a second restore on this master fetches nothing
    const again = await ensureEtcdutl(m.ctx, {});
    expect(again).toBe(bin);
    expect(lines(m.programs).filter((x) => x.startsWith('curl'))).toHaveLength(2);
  });

  it('another Kubernetes version whose kubeadm runs another etcd gets that etcd`s tools, not a pinned one', async () => {
    const rel = release('3.5.21');
    const m = master('3.5.21-0', {
      [`${base('3.5.21')}/SHA256SUMS`]: sums([[rel.tarName, rel.data]]),
      [`${base('3.5.21')}/${rel.tarName}`]: rel.data,
    });
    const bin = await ensureEtcdutl(m.ctx, {});
    expect(bin).toBe(hostPath(m.ctx, '/usr/local/lib/kubeaz/etcd/3.5.21/etcdutl'));
    expect(readFileSync(bin, 'utf8')).toContain('etcdutl 3.5.21');
    expect(
      lines(m.programs)
        .filter((x) => x.startsWith('curl'))
        .every((x) => x.includes('/v3.5.21/')),
    ).toBe(true);
  });

  it('no etcd image in kubeadm`s list is fatal, before any download', async () => {
    const m = master('latest', {});
    await expect(ensureEtcdutl(m.ctx, {})).rejects.toThrow(/kubeadm names no etcd image/);
    expect(lines(m.programs).filter((x) => x.startsWith('curl'))).toEqual([]);
    expect(() => etcdVersionFromImages('not json')).toThrow(/did not answer JSON/);
    expect(etcdVersionFromImages(images('v3.6.6'))).toBe('3.6.6');
  });

  it('a tarball whose digest is not the published one, or that has no published digest, is refused and not installed', async () => {
    const rel = release('3.6.7');
    const tampered = Buffer.concat([rel.data, Buffer.from('x')]);
    const bad = master('3.6.7-0', {
      [`${base('3.6.7')}/SHA256SUMS`]: sums([[rel.tarName, rel.data]]),
      [`${base('3.6.7')}/${rel.tarName}`]: tampered,
    });
    await expect(ensureEtcdutl(bad.ctx, {})).rejects.toThrow(new RegExp(`checksum mismatch for ${rel.tarName.replace(/\./g, '\\.')}`));
    expect(existsSync(hostPath(bad.ctx, '/usr/local/lib/kubeaz/etcd/3.6.7/etcdutl'))).toBe(false);
    expect(lines(bad.programs).filter((x) => x.startsWith('tar'))).toEqual([]);
    const unlisted = master('3.6.7-0', {
      [`${base('3.6.7')}/SHA256SUMS`]: sums([['etcd-v3.6.7-linux-other.tar.gz', 'x']]),
      [`${base('3.6.7')}/${rel.tarName}`]: rel.data,
    });
    await expect(ensureEtcdutl(unlisted.ctx, {})).rejects.toThrow(`no published checksum for ${rel.tarName}`);
    expect(digestOf(`${'a'.repeat(64)}  x.tgz\n${'b'.repeat(63)}  y.tgz\n`, 'y.tgz')).toBeUndefined();
  });

  it('KUBEAZ_ETCDUTL names a binary to use instead (boot-sim): nothing asked, nothing fetched', async () => {
    const m = master('3.6.6-0', {});
    expect(await ensureEtcdutl(m.ctx, { KUBEAZ_ETCDUTL: '/opt/etcdutl' })).toBe('/opt/etcdutl');
    expect(m.programs.calls).toEqual([]);
  });
});
