/**
 * The one user-data template every group boots with (templates/userdata.sh, rendered by
 * renderUserData in src/model/bootstrap.ts): for a master (IRSA off and on), a node and a
 * loadbalancer — no placeholder left, small, no secret, naming what must make a new launch
 * template version (the Kubernetes version; a node's labels and taints; a master's issuer). Also
 * the shell left in templates/ is counted (issue: at most 100 lines). shellcheck and the node's
 * user data RUN by bash are test/integration/userdata.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonPinsDigest } from '../../src/model/addon-versions.js';
import { TEMPLATE_NAMES, TemplateError, USERDATA_TEMPLATE, clusterVars, renderUserData } from '../../src/model/bootstrap.js';
import { deriveGraph } from '../../src/model/derive.js';
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, naming } from '../../src/model/names.js';
import { clusterSchema } from '../../src/spec/schema.js';
import { NODEJS } from '../../src/spec/versions.js';
import { agentArgsOfUserData } from '../../src/devtools/boot-sim/userdata-args.js';
import {
  ACCOUNT,
  AGENT,
  BUCKET,
  ISSUER,
  MASTER_LABELS,
  SETTINGS,
  TEMPLATE_DIR,
  agentRef,
  input,
  names,
  spec,
  specOn,
  templates,
  userData,
  vars,
} from '../helpers/userdata.js';

describe('the user data of every role', () => {
  it('the template list is the one user-data template, and it exists', () => {
    expect(TEMPLATE_NAMES).toEqual([USERDATA_TEMPLATE]);
    expect(templates[USERDATA_TEMPLATE]).toMatch(/^#!\/bin\/bash\n/);
  });

  it('is what the model puts in each launch template', () => {
    const facts = {
      accountId: ACCOUNT,
      images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' },
      templates,
      agent: AGENT,
    };
    const lt = (g: ReturnType<typeof deriveGraph>, key: string) =>
      (g.nodes.find((n) => n.key === key)!.props as { userData: string }).userData;
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
    expect(u).not.toMatch(
      /PRIVATE KEY|BEGIN CERTIFICATE|--token|\b[a-z0-9]{6}\.[a-z0-9]{16}\b|aws_secret|AKIA[0-9A-Z]{16}|sha256:[0-9a-f]{64}/i,
    );
    // the agent it runs is named by key and checked by its SHA-256
    expect(u).toContain(`retry dnf install -y -q '${NODEJS.package}'`);
    expect(u).toContain(`retry aws s3 cp --only-show-errors 's3://${BUCKET}/${agentRef.key}' "$dir/kubeaz-agent.mjs"`);
    expect(u).toContain(`echo '${AGENT.sha256}  '"$dir/kubeaz-agent.mjs" | sha256sum -c --quiet -`);
  });

  it('every role runs the agent: `node-22 <agent> boot` with the bucket and its own group (masters too)', () => {
    for (const [u, group] of [
      [userData.master, 'master'],
      [userData['master-irsa'], 'master'],
      [userData.node, 'workers'],
      [userData.loadbalancer, 'edge'],
    ] as const) {
      expect(u).toContain(
        `exec '${NODEJS.binary}' "$dir/kubeaz-agent.mjs" boot --bucket '${BUCKET}' --group '${group}' \\\n  --settings '${SETTINGS[group]}' \${root:+--root "$root"}\n`,
      );
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
    const v2 = clusterVars(
      clusterSchema.parse({ ...input(false), spec: { ...input(false).spec, kubernetesVersion: '1.32.1' } }),
      names,
      BUCKET,
      ACCOUNT,
    );
    const master2 = renderUserData(templates, v2, 'master', 'master', MASTER_LABELS, [], agentRef);
    expect(master2).toContain('is named here: Kubernetes 1.32.1\n');
    expect(master2).not.toContain('1.31.4');
    // the add-on pins' digest: new pins (another row here) are a new master version, whose add-on step installs them
    expect(userData.master).toContain(`\n# add-on versions ${addonPinsDigest('1.31.4')}\n`);
    expect(master2).toContain(`\n# add-on versions ${addonPinsDigest('1.32.1')}\n`);
    expect(addonPinsDigest('1.32.1')).not.toBe(addonPinsDigest('1.31.4'));
    expect(userData.node).not.toContain('# add-on versions');
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
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [], { key: agentRef.key, sha256: 'ABC' })).toThrow(
      /is not what user data can name/,
    );
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [], { key: "agent/x'; reboot", sha256: AGENT.sha256 })).toThrow(
      /is not what user data can name/,
    );
    expect(() => renderUserData({}, vars, 'node', 'w', {}, [])).toThrow(/template userdata\.sh is missing/);
  });
});

describe('user-data: no label or taint can become a kubelet flag (issue 9 #5)', () => {
  it('refuses to render a label value with spaces, a comma, or a taint key with a space, whatever the caller validated', () => {
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'x --anonymous-auth=true' }, [])).toThrow(
      /labels entry "tier=x --anonymous-auth=true"/,
    );
    expect(() => renderUserData(templates, vars, 'node', 'w', { tier: 'a,evil=1' }, [])).toThrow(/labels/);
    expect(() => renderUserData(templates, vars, 'node', 'w', {}, [{ key: 'a --b', effect: 'NoSchedule' }])).toThrow(/taints entry/);
    expect(() => renderUserData(templates, vars, 'node', 'w', { "it's": 'x' }, [])).toThrow(/labels/);
  });
  it('renders a valid list as one kubelet argument', () => {
    const ud = renderUserData(templates, vars, 'node', 'w', { 'example.com/a_b': 'v.1', z: '' }, [
      { key: 'k', value: 'v', effect: 'NoExecute' },
    ]);
    expect(ud).toContain(
      `--settings '{"elasticIps":0,"labels":{"example.com/a_b":"v.1","z":""},"role":"node","taints":[{"effect":"NoExecute","key":"k","value":"v"}]}'`,
    );
  });
});

describe('the shell left in templates/', () => {
  it('every file under templates/ totals at most 100 lines (the rest is the TypeScript agent)', () => {
    const walk = (d: string): string[] =>
      fs.readdirSync(d).flatMap((f) => (fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]));
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
