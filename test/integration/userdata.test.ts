/**
 * The user data of every role (test/helpers/userdata.ts), run by real programs: shellcheck-clean,
 * and the node's RUN by bash with stand-in `dnf`, `aws` and `node-22`: the right bundle is exec'd
 * as `node-22 <agent> boot`, a bundle of another SHA-256 is refused before it runs, and a bucket
 * that never answers is given up on after KUBEAZ_ATTEMPTS tries. What the text says is
 * test/unit/userdata.test.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODEJS } from '../../src/spec/versions.js';
import { AGENT, BUCKET, SETTINGS, agentRef, userData } from '../helpers/userdata.js';

const HAVE_SHELLCHECK = spawnSync('shellcheck', ['--version']).status === 0;
if (!HAVE_SHELLCHECK)
  console.warn('shellcheck is not installed: the user-data shellcheck tests are SKIPPED (CI installs it: apt-get install shellcheck)');

describe('the user data of every role', () => {
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
    expect(sb.read('node-argv')).toBe(
      [
        `${sb.root}/opt/kubeaz/kubeaz-agent.mjs`,
        'boot',
        '--bucket',
        BUCKET,
        '--group',
        'workers',
        '--settings',
        SETTINGS.workers,
        '--root',
        sb.root,
        '',
      ].join('\n'),
    );
    expect(fs.readFileSync(path.join(sb.root, 'opt/kubeaz/kubeaz-agent.mjs'), 'utf8')).toBe(AGENT.body);
    // the boot's output is kept on the instance
    expect(fs.existsSync(path.join(sb.root, 'var/log/kubeaz-bootstrap.log'))).toBe(true);
  });

  it('the master runs the same way, under its own group', () => {
    const sb = sandbox({ [`${BUCKET}/${agentRef.key}`]: AGENT.body });
    const r = sb.run(userData['master-irsa']);
    expect(r.status, r.out).toBe(0);
    expect(sb.read('node-argv')).toBe(
      [
        `${sb.root}/opt/kubeaz/kubeaz-agent.mjs`,
        'boot',
        '--bucket',
        BUCKET,
        '--group',
        'master',
        '--settings',
        SETTINGS.master,
        '--root',
        sb.root,
        '',
      ].join('\n'),
    );
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
    for (const i of [1, 2, 3, 4])
      expect(r.out).toContain(`kubeaz: attempt ${i} failed: aws s3 cp --only-show-errors s3://${BUCKET}/${agentRef.key}`);
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
