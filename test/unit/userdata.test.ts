/**
 * The one user-data template every group boots with (templates/userdata.sh, rendered by
 * renderUserData in src/model/bootstrap.ts): for a master (IRSA off and on), a node and a
 * loadbalancer — no placeholder left, small, no secret, shellcheck-clean, naming what must make a
 * new launch template version (the Kubernetes version; a node's labels and taints; a master's
 * issuer) — and the node's RUN for real by bash with stand-in `dnf`, `aws` and `node-22`: the right
 * bundle is exec'd as `node-22 <agent> boot`, a bundle of another SHA-256 is refused before it
 * runs, and a bucket that never answers is given up on after KUBEAZ_ATTEMPTS tries. Also the
 * shell left in templates/ is counted (issue: at most 100 lines).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentBundleKey, agentBundleOf } from '../../src/model/agent.js';
import { TEMPLATE_NAMES, TemplateError, USERDATA_TEMPLATE, clusterVars, renderUserData } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, naming } from '../../src/model/names.js';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';
import { NODEJS } from '../../src/spec/versions.js';
import { agentArgsOfUserData } from '../../src/devtools/boot-sim/sim.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]));
const ACCOUNT = '123456789012';
const HAVE_SHELLCHECK = spawnSync('shellcheck', ['--version']).status === 0;
if (!HAVE_SHELLCHECK) console.warn('shellcheck is not installed: the user-data shellcheck tests are SKIPPED (CI installs it: apt-get install shellcheck)');

const input = (irsa: boolean): ClusterSpecInput => ({
  apiVersion: 'kubeaz/v1',
  kind: 'Cluster',
  metadata: { name: 'demo', environment: 'dev' },
  spec: {
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    kubernetesVersion: '1.31.4',
    network: { vpcCidr: '10.0.0.0/16' },
    dns: { publicDomain: 'example.com' },
    controlPlane: { instanceType: 'm6g.large' },
    nodeGroups: [
      { name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3, labels: { tier: 'apps' }, taints: [{ key: 'dedicated', value: 'apps', effect: 'NoSchedule' }] },
      { name: 'edge', role: 'loadbalancer', instanceType: 't3.medium', minSize: 2, maxSize: 2, elasticIps: 2, publicRecord: 'lb' },
    ],
    ...(irsa ? { iam: { serviceAccountIssuerDiscovery: { enabled: true } } } : {}),
  },
});
const spec = clusterSchema.parse(input(false));
const specOn = clusterSchema.parse(input(true));
const names = naming(spec);
const BUCKET = names.bucket(ACCOUNT);
const ISSUER = `https://kubeaz-demo-dev-${ACCOUNT}-oidc.s3.us-east-1.amazonaws.com`;
const vars = clusterVars(spec, names, BUCKET, ACCOUNT);
const varsOn = clusterVars(specOn, naming(specOn), BUCKET, ACCOUNT);
/** the agent every user data below names (its key and SHA-256) */
const AGENT = agentBundleOf('// the kubeaz agent of this test\n');
const agentRef = { key: agentBundleKey(AGENT.sha256), sha256: AGENT.sha256 };
// the labels and taints the model gives each role (src/model/areas/compute.ts)
const MASTER_LABELS = { 'kubeaz.io/role': 'master' };
const WORKER_LABELS = { 'kubeaz.io/role': 'node', tier: 'apps' };
const WORKER_TAINTS = spec.spec.nodeGroups[0]!.taints;
const userData = {
  master: renderUserData(templates, vars, 'master', 'master', MASTER_LABELS, [], agentRef),
  'master-irsa': renderUserData(templates, varsOn, 'master', 'master', MASTER_LABELS, [], agentRef),
  node: renderUserData(templates, vars, 'node', 'workers', WORKER_LABELS, WORKER_TAINTS, agentRef),
  'node-irsa': renderUserData(templates, varsOn, 'node', 'workers', WORKER_LABELS, WORKER_TAINTS, agentRef),
  loadbalancer: renderUserData(templates, vars, 'loadbalancer', 'edge', { 'kubeaz.io/role': 'loadbalancer' }, [], agentRef, 2),
};
/** the group settings each user data passes to the agent (records/agent-config.ts GroupSettings), as its JSON */
const SETTINGS = {
  master: '{"elasticIps":0,"labels":{"kubeaz.io/role":"master"},"role":"master","taints":[]}',
  workers: '{"elasticIps":0,"labels":{"kubeaz.io/role":"node","tier":"apps"},"role":"node","taints":[{"effect":"NoSchedule","key":"dedicated","value":"apps"}]}',
  edge: '{"elasticIps":2,"labels":{"kubeaz.io/role":"loadbalancer"},"role":"loadbalancer","taints":[]}',
};

describe('the user data of every role', () => {
  it('the template list is the one user-data template, and it exists', () => {
    expect(TEMPLATE_NAMES).toEqual([USERDATA_TEMPLATE]);
    expect(templates[USERDATA_TEMPLATE]).toMatch(/^#!\/bin\/bash\n/);
  });

  it('is what the model puts in each launch template', () => {
    const facts = { accountId: ACCOUNT, images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' }, templates, agent: AGENT };
    const lt = (g: ReturnType<typeof deriveGraph>, key: string) => (g.nodes.find((n) => n.key === key)!.props as { userData: string }).userData;
    const off = deriveGraph(spec, facts);
    const on = deriveGraph(specOn, facts);
    expect(lt(off, 'lt/master')).toBe(userData.master);
    expect(lt(on, 'lt/master')).toBe(userData['master-irsa']);
    expect(lt(off, 'lt/workers')).toBe(userData.node);
    expect(lt(off, 'lt/edge')).toBe(userData.loadbalancer);
  });

  it.each(Object.entries(userData))('%s: no placeholder left, under 4096 bytes, no secret, bash with set -euo pipefail', (_role, u) => {
    expect(u).not.toMatch(/\{\{[A-Z0-9_]*\}\}/);
    expect(u).not.toContain('{{');
    expect(Buffer.byteLength(u)).toBeLessThan(4096);
    expect(u.startsWith('#!/bin/bash\n')).toBe(true);
    expect(u).toMatch(/^set -euo pipefail$/m);
    // no key, no bootstrap token, no AWS credential: user data is readable by anyone who can describe the instance
    expect(u).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|--token|\b[a-z0-9]{6}\.[a-z0-9]{16}\b|aws_secret|AKIA[0-9A-Z]{16}|sha256:[0-9a-f]{64}/i);
    // the agent it runs is named by key and checked by its SHA-256
    expect(u).toContain(`retry dnf install -y -q '${NODEJS.package}'`);
    expect(u).toContain(`retry aws s3 cp --only-show-errors 's3://${BUCKET}/${agentRef.key}' "$dir/kubeaz-agent.mjs"`);
    expect(u).toContain(`echo '${AGENT.sha256}  '"$dir/kubeaz-agent.mjs" | sha256sum -c --quiet -`);
  });

  it('every role runs the agent: `node-22 <agent> boot` with the bucket and its own group (masters too)', () => {
    for (const [u, group] of [[userData.master, 'master'], [userData['master-irsa'], 'master'], [userData.node, 'workers'], [userData.loadbalancer, 'edge']] as const) {
      expect(u).toContain(`exec '${NODEJS.binary}' "$dir/kubeaz-agent.mjs" boot --bucket '${BUCKET}' --group '${group}' \\\n  --settings '${SETTINGS[group]}' \${root:+--root "$root"}\n`);
      // what boot-sim reads back from a launch template version: the same words
      expect(agentArgsOfUserData(u)).toEqual(['--bucket', BUCKET, '--group', group, '--settings', SETTINGS[group]]);
    }
    expect(userData.master).toContain('# kubeaz user data of group master (master) of demo-dev');
    expect(userData.loadbalancer).toContain('# kubeaz user data of group edge (loadbalancer) of demo-dev');
    expect(userData.node).toContain('# kubeaz user data of group workers (node) of demo-dev');
  });

  it("the master's names the Kubernetes version, and with IRSA on the issuer (a new issuer is a new launch template version)", () => {
    expect(userData.master).toContain('is named here: Kubernetes 1.31.4\n');
    expect(userData.master).not.toMatch(/issuer/i);
    expect(userData['master-irsa']).toContain('is named here: Kubernetes 1.31.4\n');
    expect(userData['master-irsa']).toContain(`\n# service-account issuer (IRSA) ${ISSUER}\n`);
    expect(userData['master-irsa']).not.toContain(DEFAULT_SERVICE_ACCOUNT_ISSUER);
    expect(userData['master-irsa']).not.toBe(userData.master);
    // another version is another text
    const v2 = clusterVars(clusterSchema.parse({ ...input(false), spec: { ...input(false).spec, kubernetesVersion: '1.32.1' } }), names, BUCKET, ACCOUNT);
    const master2 = renderUserData(templates, v2, 'master', 'master', MASTER_LABELS, [], agentRef);
    expect(master2).toContain('is named here: Kubernetes 1.32.1\n');
    expect(master2).not.toContain('1.31.4');
  });

  it("a node's names the Kubernetes version and passes its labels, taints and pool — and no issuer, IRSA on or off", () => {
    expect(userData.node).toContain('is named here: Kubernetes 1.31.4\n');
    expect(userData.node).toContain(`--settings '${SETTINGS.workers}'`);
    expect(userData.loadbalancer).toContain(`--settings '${SETTINGS.edge}'`);
    expect(userData['node-irsa']).toBe(userData.node);
    expect(userData.node).not.toMatch(/issuer/i);
  });

  it('IRSA on without the account id cannot name its issuer: refused', () => {
    expect(() => clusterVars(specOn, naming(specOn), BUCKET)).toThrow(TemplateError);
    expect(() => clusterVars(specOn, naming(specOn), BUCKET)).toThrow(/account id/);
  });

  it('refuses an agent key or SHA-256 user data could not name safely', () => {
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [], { key: agentRef.key, sha256: 'ABC' })).toThrow(/is not what user data can name/);
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [], { key: "agent/x'; reboot", sha256: AGENT.sha256 })).toThrow(/is not what user data can name/);
    expect(() => renderUserData({}, vars, 'node', 'w', {}, [])).toThrow(/template userdata\.sh is missing/);
  });

  describe.skipIf(!HAVE_SHELLCHECK)('shellcheck', () => {
    it.each(Object.entries(userData))('%s passes shellcheck', (role, u) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-sc-'));
      try {
        const file = path.join(dir, `userdata-${role}.sh`);
        fs.writeFileSync(file, u);
        const r = spawnSync('shellcheck', ['--shell=bash', file], { encoding: 'utf8' });
        expect(r.stdout + r.stderr).toBe('');
        expect(r.status).toBe(0);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('user-data: no label or taint can become a kubelet flag (issue 9 #5)', () => {
  it('refuses to render a label value with spaces, a comma, or a taint key with a space, whatever the caller validated', () => {
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'x --anonymous-auth=true' }, [])).toThrow(/labels entry "tier=x --anonymous-auth=true"/);
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'a,evil=1' }, [])).toThrow(/labels/);
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [{ key: 'a --b', effect: 'NoSchedule' }])).toThrow(/taints entry/);
    expect(() => renderUserData(templates, vars, 'node', 'w', { "it's": 'x' }, [])).toThrow(/labels/);
  });
  it('renders a valid list as one kubelet argument', () => {
    const ud = renderUserData(templates, vars, 'node', 'w', { 'example.com/a_b': 'v.1', z: '' }, [{ key: 'k', value: 'v', effect: 'NoExecute' }]);
    expect(ud).toContain(`--settings '{"elasticIps":0,"labels":{"example.com/a_b":"v.1","z":""},"role":"node","taints":[{"effect":"NoExecute","key":"k","value":"v"}]}'`);
  });
});

describe('the node user data, run by bash', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeaz-userdata-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  let n = 0;

  /**
   * A sandbox: a root for KUBEAZ_ROOT, a stand-in bucket directory, and stand-ins first on PATH —
   * `dnf` (succeeds), `aws` (`s3 cp s3://B/K DEST` copies <bucket dir>/B/K; each call counted; fails
   * every time with AWS_FAIL=1) and `node-22` (records its argv, one per line).
   */
  function sandbox(objects: Record<string, string | Buffer>) {
    const dir = path.join(work, `run-${++n}`);
    const root = path.join(dir, 'root');
    const s3 = path.join(dir, 's3');
    const bin = path.join(dir, 'bin');
    for (const d of [root, s3, bin]) fs.mkdirSync(d, { recursive: true });
    for (const [key, body] of Object.entries(objects)) {
      fs.mkdirSync(path.dirname(path.join(s3, key)), { recursive: true });
      fs.writeFileSync(path.join(s3, key), body);
    }
    const stand = (name: string, text: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${text}`, { mode: 0o755 });
    stand('dnf', `echo "dnf $*" >>"${dir}/dnf.log"\n`);
    stand(
      'aws',
      `echo "aws $*" >>"${dir}/aws.log"
[ "\${AWS_FAIL:-}" = 1 ] && { echo "stand-in aws: unable to locate credentials" >&2; exit 255; }
args=()
for a in "$@"; do case "$a" in --*) ;; *) args+=("$a") ;; esac; done
[ "\${args[0]} \${args[1]}" = "s3 cp" ] || { echo "stand-in aws: unexpected $*" >&2; exit 2; }
src="\${args[2]#s3://}"
[ -f "${s3}/$src" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \\"\${src#*/}\\" does not exist" >&2; exit 1; }
cp "${s3}/$src" "\${args[3]}"
`,
    );
    stand(NODEJS.binary, `printf '%s\\n' "$@" >"${dir}/node-argv"\n`);
    const run = (u: string, env: Record<string, string> = {}) => {
      const file = path.join(dir, 'userdata.sh');
      fs.writeFileSync(file, u, { mode: 0o755 });
      const r = spawnSync('bash', [file], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, KUBEAZ_ROOT: root, KUBEAZ_RETRY_SLEEP: '0', ...env },
      });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : undefined);
    return { root, run, read };
  }

  it('with the right bundle: installs Node.js, fetches the agent, checks it and execs `node-22 <root>/opt/kubeaz/kubeaz-agent.mjs boot --bucket B --group G --root <root>`', () => {
    const sb = sandbox({ [`${BUCKET}/${agentRef.key}`]: AGENT.body });
    const r = sb.run(userData.node);
    expect(r.status, r.out).toBe(0);
    expect(sb.read('dnf.log')).toBe(`dnf install -y -q ${NODEJS.package}\n`);
    expect(sb.read('aws.log')).toBe(`aws s3 cp --only-show-errors s3://${BUCKET}/${agentRef.key} ${sb.root}/opt/kubeaz/kubeaz-agent.mjs\n`);
    expect(sb.read('node-argv')).toBe([`${sb.root}/opt/kubeaz/kubeaz-agent.mjs`, 'boot', '--bucket', BUCKET, '--group', 'workers', '--settings', SETTINGS.workers, '--root', sb.root, ''].join('\n'));
    expect(fs.readFileSync(path.join(sb.root, 'opt/kubeaz/kubeaz-agent.mjs'), 'utf8')).toBe(AGENT.body);
    // the boot's output is kept on the instance
    expect(fs.existsSync(path.join(sb.root, 'var/log/kubeaz-bootstrap.log'))).toBe(true);
  });

  it('the master runs the same way, under its own group', () => {
    const sb = sandbox({ [`${BUCKET}/${agentRef.key}`]: AGENT.body });
    const r = sb.run(userData['master-irsa']);
    expect(r.status, r.out).toBe(0);
    expect(sb.read('node-argv')).toBe([`${sb.root}/opt/kubeaz/kubeaz-agent.mjs`, 'boot', '--bucket', BUCKET, '--group', 'master', '--settings', SETTINGS.master, '--root', sb.root, ''].join('\n'));
  });

  it('a bundle whose SHA-256 differs: exits non-zero saying it is not the agent the launch template names; node-22 never runs', () => {
    const sb = sandbox({ [`${BUCKET}/${agentRef.key}`]: `${AGENT.body}// one line more\n` });
    const r = sb.run(userData.node);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain(`kubeaz: s3://${BUCKET}/${agentRef.key} is not the agent this launch template names`);
    expect(sb.read('node-argv')).toBeUndefined();
    // fetched once: a wrong object is not retried into being right
    expect(sb.read('aws.log')!.trim().split('\n')).toHaveLength(1);
  });

  it('an `aws` that fails every time: given up after KUBEAZ_ATTEMPTS attempts, non-zero, node-22 never runs', () => {
    const sb = sandbox({ [`${BUCKET}/${agentRef.key}`]: AGENT.body });
    const r = sb.run(userData.node, { AWS_FAIL: '1', KUBEAZ_ATTEMPTS: '4' });
    expect(r.status).not.toBe(0);
    expect(sb.read('aws.log')!.trim().split('\n')).toHaveLength(4);
    for (const i of [1, 2, 3, 4]) expect(r.out).toContain(`kubeaz: attempt ${i} failed: aws s3 cp --only-show-errors s3://${BUCKET}/${agentRef.key}`);
    expect(r.out).not.toContain('attempt 5 failed');
    expect(sb.read('node-argv')).toBeUndefined();
  });

  it('a missing object is retried like any failure, and the default is 30 attempts', () => {
    const sb = sandbox({});
    const r = sb.run(userData.node);
    expect(r.status).not.toBe(0);
    expect(sb.read('aws.log')!.trim().split('\n')).toHaveLength(30);
    expect(sb.read('node-argv')).toBeUndefined();
  });
});

describe('the shell left in templates/', () => {
  it('every file under templates/ totals at most 100 lines (the rest is the TypeScript agent)', () => {
    const walk = (d: string): string[] => fs.readdirSync(d).flatMap((f) => (fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]));
    const files = walk(TEMPLATE_DIR);
    expect(files.length).toBeGreaterThan(0);
    // a line is what ends with a newline, plus a last one without it
    const lineCount = (t: string) => (t.match(/\n/g)?.length ?? 0) + (t !== '' && !t.endsWith('\n') ? 1 : 0);
    const lines = files.reduce((sum, f) => sum + lineCount(fs.readFileSync(f, 'utf8')), 0);
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(2);
    console.log(`templates/: ${files.length} file(s), ${lines} lines`);
    expect(lines).toBeLessThanOrEqual(100);
  });
});
