/**
 * Placing a cluster's entries in a kubeconfig (issue 12): merged next to a user's existing
 * contexts without touching them, read back by an independent reader (@kubernetes/client-node's
 * KubeConfig loader; kubectl itself, and the path check on a FIFO, in test/integration/kubeconfig-file.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { entriesFrom, isOwnKubeconfig, mergeKubeconfig, standaloneKubeconfig, summarize } from '../../src/pki/kubeconfig-file.js';
import { formatDuration, parseDuration } from '../../src/commands/duration.js';
import { EXISTING, entries, rendered } from '../helpers/kubeconfig.js';
import type { Loose } from '../helpers/loose.js';

function load(text: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}

describe('mergeKubeconfig', () => {
  it('adds one cluster, user and context next to the existing ones, leaves them untouched and switches the current context', () => {
    const merged = mergeKubeconfig(EXISTING, entries, { setCurrent: true });
    const kc = load(merged);
    expect(kc.getContexts().map((c) => c.name)).toEqual(['prod', 'kind-local', 'demo-dev']);
    expect(kc.getCurrentContext()).toBe('demo-dev');
    expect(kc.getCluster('demo-dev')?.server).toBe('https://master.dev.example.com:443');
    expect(kc.getUser('demo-dev-admin')?.certData).toBe(Buffer.from('CERT').toString('base64'));
    expect(kc.getContextObject('demo-dev')).toMatchObject({ cluster: 'demo-dev', user: 'demo-dev-admin' });
    // the others, exactly as they were
    const before = parse(EXISTING);
    const after = parse(merged);
    for (const list of ['clusters', 'users', 'contexts']) expect(after[list].slice(0, 2)).toEqual(before[list]);
    expect(after.preferences).toEqual({});
    expect(merged.startsWith('# my clusters — do not lose this comment\n')).toBe(true);
    expect(kc.getContextObject('prod')?.namespace).toBe('payments');
  });

  it('--no-set-current keeps the current context', () => {
    const merged = mergeKubeconfig(EXISTING, entries, { setCurrent: false });
    expect(load(merged).getCurrentContext()).toBe('prod');
    expect(summarize(merged).contexts).toContain('demo-dev');
  });

  it('a second merge replaces its own entries in place: no duplicates', () => {
    const once = mergeKubeconfig(EXISTING, entries, { setCurrent: true });
    const other = entriesFrom(rendered.replace('master.dev.example.com', 'master2.dev.example.com'), 'demo-dev', {
      cluster: 'demo-dev',
      user: 'demo-dev-admin',
      context: 'demo-dev',
    });
    const twice = mergeKubeconfig(once, other, { setCurrent: true });
    const s = summarize(twice);
    expect(s.contexts).toEqual(['prod', 'kind-local', 'demo-dev']);
    expect(s.clusters).toEqual(['prod', 'kind-local', 'demo-dev']);
    expect(s.users).toEqual(['prod-oidc', 'kind-local', 'demo-dev-admin']);
    expect(load(twice).getCluster('demo-dev')?.server).toBe('https://master2.dev.example.com:443');
  });

  it('an empty or missing file becomes a kubeconfig of its own', () => {
    const kc = load(mergeKubeconfig('', entries, { setCurrent: true }));
    expect(kc.getContexts().map((c) => c.name)).toEqual(['demo-dev']);
    expect(kc.getCurrentContext()).toBe('demo-dev');
  });

  it('refuses what is not a kubeconfig', () => {
    expect(() => mergeKubeconfig('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n', entries, { setCurrent: true })).toThrow(
      /not a kubeconfig/,
    );
    expect(() => mergeKubeconfig('just some text', entries, { setCurrent: true })).toThrow(/not a kubeconfig/);
    expect(() => mergeKubeconfig('contexts: {a: 1}\nkind: Config\n', entries, { setCurrent: true })).toThrow(/contexts is not a list/);
    expect(() => mergeKubeconfig('a: [\n', entries, { setCurrent: true })).toThrow(/not valid YAML/);
  });
  // kubectl reading the merged file: test/integration/kubeconfig-file.test.ts
});

describe('isOwnKubeconfig', () => {
  it('recognises a standalone kubeconfig kubeaz wrote for this cluster, and nothing else', () => {
    const own = standaloneKubeconfig(entries);
    expect(isOwnKubeconfig(own, 'demo-dev')).toBe(true);
    expect(isOwnKubeconfig(own, 'demo-prod')).toBe(false);
    expect(isOwnKubeconfig(EXISTING, 'demo-dev')).toBe(false);
    expect(isOwnKubeconfig(mergeKubeconfig(EXISTING, entries, { setCurrent: true }), 'demo-dev')).toBe(false);
    expect(isOwnKubeconfig('not: a kubeconfig\n', 'demo-dev')).toBe(false);
    expect(isOwnKubeconfig('', 'demo-dev')).toBe(true);
    expect(load(own).getCurrentContext()).toBe('demo-dev');
  });
});

describe('mergeKubeconfig: YAML anchors in a replaced entry (issue 23 #10)', () => {
  it('an alias elsewhere to an anchor inside the entry being replaced keeps its value; nothing else changes', () => {
    const withAnchors = `apiVersion: v1
kind: Config
clusters:
- name: demo-dev
  cluster: &shared
    server: https://old.example.com
    certificate-authority-data: &ca U0hBUkVELUNB
- name: staging
  cluster:
    server: https://staging.example.com
    certificate-authority-data: *ca
- name: staging-2
  cluster: *shared
users:
- name: demo-dev-admin
  user: &creds { token: old }
- name: other
  user: *creds
contexts:
- name: staging
  context: { cluster: staging, user: other }
current-context: staging
`;
    const before = parse(withAnchors);
    const merged = mergeKubeconfig(withAnchors, entries, { setCurrent: false });
    const after = parse(merged);
    expect(after.clusters.find((c: { name: string }) => c.name === 'staging')).toEqual(before.clusters[1]);
    expect(after.clusters.find((c: { name: string }) => c.name === 'staging-2')).toEqual(before.clusters[2]);
    expect(after.users.find((u: { name: string }) => u.name === 'other')).toEqual(before.users[1]);
    expect(after.clusters[0]).toEqual(entries.cluster);
    expect(after.users[0]).toEqual(entries.user);
    expect(load(merged).getCluster('staging')?.caData).toBe('U0hBUkVELUNB');
  });
});

describe("isOwnKubeconfig: anything kubeaz did not write makes the file not kubeaz's (issue 23 #9)", () => {
  const own = standaloneKubeconfig(entries);
  const edit = (f: (k: Loose) => void): string => {
    const k = parse(own) as Loose;
    f(k);
    return stringify(k);
  };
  it("another user's credentials, a token or exec plugin on kubeaz's user, a namespace, preferences or a foreign extension: not kubeaz's", () => {
    expect(
      isOwnKubeconfig(
        edit(() => {}),
        'demo-dev',
      ),
    ).toBe(true);
    const changed: Record<string, string> = {
      'a second user (unreferenced)': edit((k) => k.users.push({ name: 'alice', user: { token: 's3cr3t' } })),
      "a token on kubeaz's user": edit((k) => (k.users[0].user.token = 's3cr3t')),
      "an exec plugin on kubeaz's user": edit(
        (k) => (k.users[0].user.exec = { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws' }),
      ),
      'a namespace on the context': edit((k) => (k.contexts[0].context.namespace = 'payments')),
      preferences: edit((k) => (k.preferences = { colors: true })),
      'a top-level extension': edit((k) => (k.extensions = [{ name: 'x', extension: {} }])),
      'a foreign extension on the cluster': edit((k) =>
        k.clusters[0].cluster.extensions.push({ name: 'minikube', extension: { provider: 'x' } }),
      ),
      "a current context that is not kubeaz's": edit((k) => (k['current-context'] = 'prod')),
    };
    for (const [what, text] of Object.entries(changed)) expect(isOwnKubeconfig(text, 'demo-dev'), what).toBe(false);
  });
});

describe('durations', () => {
  it('reads Go-style durations (and days); refuses anything else', () => {
    expect(parseDuration('18h')).toBe(18 * 3600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    for (const bad of ['', '18', 'h', '-1h', '0s', '1y', '1 h']) expect(parseDuration(bad), bad).toBeUndefined();
    expect(formatDuration(18 * 3600_000)).toBe('18h');
  });
  it('refuses a duration out of range (issue 23 #10): no "Invalid time value", no date in 2300', () => {
    expect(parseDuration('36500d')).toBe(36_500 * 86_400_000);
    for (const bad of ['36501d', '100000d', '9999999999999h', `${'9'.repeat(400)}h`, '1'.repeat(70) + 's'])
      expect(parseDuration(bad), bad).toBeUndefined();
    expect(formatDuration(90 * 60_000)).toBe('1h30m');
  });
});
