/** The agent's skeleton: usage, the program boundary, redaction, the boot reporter, identity parsing, waits. */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WAITS, waitsFrom } from '../../../src/agent/context.js';
import { imdsIdentity, parseInjectedIdentity, privateDnsName, resolveIdentity } from '../../../src/agent/identity.js';
import { main, USAGE } from '../../../src/agent/main.js';
import { ProgramError, TailBuffer } from '../../../src/agent/programs.js';
import { Redactor, redactedTail } from '../../../src/agent/redact.js';
import { BootReporter, ReportedFailure } from '../../../src/agent/report.js';
import { parseGroupSettings } from '../../../src/records/agent-config.js';
import { groupSettingsDoc, renderGroupSettings } from '../../../src/model/agent.js';
import { parseBootReport } from '../../../src/records/boot.js';

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), env: {} } };
};

describe('kubeaz-agent main', () => {
  it('--help prints the usage and exits 0 without building a context', async () => {
    const t = io();
    expect(await main(['--help'], t.io)).toBe(0);
    expect(t.out.join('')).toBe(USAGE);
    for (const c of ['boot', 'backup', 'join-token', 'node-roles']) expect(USAGE).toContain(`  ${c} `);
  });

  it('refuses no command, an unknown one, two, and an unknown flag with exit 2 and the usage', async () => {
    for (const argv of [[], ['frobnicate'], ['boot', 'backup'], ['boot', '--nope']]) {
      const t = io();
      expect(await main(argv, t.io)).toBe(2);
      expect(t.err.join('')).toContain('usage: kubeaz-agent');
    }
  });

  it('refuses a timer command with no bucket given or kept (exit 2), before any network', async () => {
    const t = io();
    expect(await main(['backup', '--root', mkdtempSync(path.join(tmpdir(), 'agent-'))], t.io)).toBe(2);
    expect(t.err.join('')).toContain('no bucket');
  });
});

describe('the program boundary', () => {
  it('keeps the last lines across chunk boundaries', () => {
    const t = new TailBuffer(2);
    t.push('a\nb');
    t.push('c\nd\ne');
    expect(t.text()).toBe('d\ne');
  });
});

describe('redaction of failure output', () => {
  const token = 'abcdef.0123456789abcdef';
  const key = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nqwerty\n-----END RSA PRIVATE KEY-----';

  it('hides bootstrap tokens, certificate keys, PEM blocks (whole or cut), base64 PEM and key: value secrets', () => {
    const r = new Redactor();
    const text = [
      `kubeadm join master:443 --token ${token} --discovery-token-ca-cert-hash sha256:${key}`,
      `--certificate-key ${key}`,
      pem,
      'client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=',
      'token: "sometokenvalue123"',
      '-----BEGIN CERTIFICATE-----\nMIIC cut off here',
    ].join('\n');
    const out = r.redact(text);
    expect(out).not.toContain(token);
    expect(out).not.toContain(key);
    expect(out).not.toContain('MIIEowIBAAKCAQEA');
    expect(out).not.toContain('LS0tLS1CRUdJTiBSU0E');
    expect(out).not.toContain('sometokenvalue123');
    expect(out).not.toContain('MIIC cut off');
    expect(out).toContain('kubeadm join master:443 --token <redacted token>');
  });

  it('hides exact values read from pki/, also when the tail cut them', () => {
    const r = new Redactor();
    const secret = 'opaque-service-account-signing-material-0001\nsecond-line-of-the-secret-material';
    r.add(secret);
    expect(r.redact(`before ${secret} after`)).toBe('before <redacted secret> after');
    expect(r.redact('…second-line-of-the-secret-material')).toBe('…<redacted secret>');
  });

  it('keeps the last lines and a bounded length', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(200)}`).join('\n');
    const t = redactedTail(text, new Redactor(), 40, 4000);
    expect(t.length).toBe(4000);
    expect(t.endsWith(`line 99 ${'x'.repeat(200)}`)).toBe(true);
  });
});

describe('the boot reporter', () => {
  const clock = () => {
    let t = Date.parse('2026-12-01T10:00:00Z');
    return () => new Date((t += 1000));
  };
  const setup = () => {
    const writes: Array<{ key: string; body: string }> = [];
    const lines: string[] = [];
    const rep = new BootReporter({
      instanceId: 'i-0abc',
      group: 'nodes',
      role: 'node',
      sink: { put: async (key, body) => void writes.push({ key, body }) },
      log: (l) => void lines.push(l),
      now: clock(),
    });
    return { writes, lines, rep };
  };

  it('writes boot/<id>.json at each phase start and end, logs each phase, ends ready', async () => {
    const { writes, lines, rep } = setup();
    expect(await rep.phase('packages', async () => 7)).toBe(7);
    await rep.phase('join', async () => {});
    await rep.ready();
    expect(writes.map((w) => w.key)).toEqual(Array(5).fill('boot/i-0abc.json'));
    const last = parseBootReport(writes.at(-1)!.body);
    if (last instanceof Error) throw last;
    expect(last).toMatchObject({ instanceId: 'i-0abc', group: 'nodes', role: 'node', result: 'ready' });
    expect(last.phases.map((p) => p.name)).toEqual(['packages', 'join']);
    expect(last.phases.every((p) => p.end && p.end > p.start)).toBe(true);
    const first = parseBootReport(writes[0]!.body) as { result: string; phases: Array<{ end?: string }> };
    expect(first.result).toBe('running');
    expect(first.phases[0]!.end).toBeUndefined();
    // the test clock ticks a second per reading: start, the write at start, end
    expect(lines).toEqual([
      'phase packages: start',
      'phase packages: done in 2.0 s',
      'phase join: start',
      'phase join: done in 2.0 s',
      'ready',
    ]);
  });

  it('reports a failing program at its phase with the redacted tail of its output, and rethrows it once', async () => {
    const { writes, lines, rep } = setup();
    const result = {
      code: 1,
      stdout: '',
      stderr: '',
      tail: 'preflight\n--token abcdef.0123456789abcdef\nerror: connection refused',
      timedOut: false,
    };
    const err = await rep
      .phase('join', async () => {
        throw new ProgramError('kubeadm', ['join', '--token', 'abcdef.0123456789abcdef'], result);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReportedFailure);
    const last = parseBootReport(writes.at(-1)!.body);
    if (last instanceof Error) throw last;
    expect(last.result).toBe('failed');
    expect(last.error).toEqual({
      phase: 'join',
      message: 'kubeadm join --token <redacted token> exited 1',
      output: 'preflight\n--token <redacted token>\nerror: connection refused',
    });
    expect(writes.map((w) => w.body).join('')).not.toContain('0123456789abcdef');
    expect(lines.join('\n')).not.toContain('0123456789abcdef');
    // an outer phase does not report it a second time
    const outer = await rep.phase('boot', () => Promise.reject(err)).catch((e: unknown) => e);
    expect(outer).toBe(err);
  });

  it('keeps going when the bucket cannot take the report, saying so on the console', async () => {
    const lines: string[] = [];
    const rep = new BootReporter({
      instanceId: 'i-1',
      group: 'g',
      role: 'node',
      sink: { put: () => Promise.reject(new Error('AccessDenied')) },
      log: (l) => void lines.push(l),
      now: clock(),
    });
    await rep.phase('packages', async () => {});
    expect(lines).toContain('could not store the boot report boot/i-1.json: AccessDenied');
  });
});

describe('identity', () => {
  it('parses an injected identity, naming the host as EC2 would', () => {
    expect(parseInjectedIdentity('{"instanceId":"i-0abc","zone":"us-east-1a","privateIp":"127.0.0.2","region":"us-east-1"}')).toEqual({
      instanceId: 'i-0abc',
      zone: 'us-east-1a',
      privateIp: '127.0.0.2',
      region: 'us-east-1',
      hostname: 'ip-127-0-0-2.ec2.internal',
    });
    expect(privateDnsName('10.0.1.5', 'eu-west-1')).toBe('ip-10-0-1-5.eu-west-1.compute.internal');
    expect(() => parseInjectedIdentity('{"instanceId":"x"}')).toThrow(/KUBEAZ_AGENT_IDENTITY: instanceId/);
    expect(() => parseInjectedIdentity('nope')).toThrow(/not JSON/);
  });

  it('takes the group from the injection, then --group; the role (labels, taints, pool) from the group settings the user data passes', () => {
    const raw = parseInjectedIdentity('{"instanceId":"i-0abc","zone":"us-east-1a","privateIp":"127.0.0.2","region":"us-east-1"}');
    const node = { role: 'node' as const, labels: { 'kubeaz.io/role': 'node' }, taints: [], elasticIps: 0 };
    const master = { ...node, role: 'master' as const };
    expect(resolveIdentity({ ...raw, group: 'master' }, 'nodes', master)).toMatchObject({
      group: 'master',
      role: 'master',
      settings: master,
    });
    expect(resolveIdentity(raw, 'nodes', node)).toMatchObject({ group: 'nodes', role: 'node' });
    expect(() => resolveIdentity(raw, undefined, node)).toThrow(/i-0abc: no group was given \(the user data passes --group\)/);
    expect(() => resolveIdentity(raw, 'nodes', undefined)).toThrow(
      /group nodes: no group settings were given \(the user data passes --settings\)/,
    );
  });

  it('reads the group settings the user data renders, and refuses any other shape', () => {
    const text = renderGroupSettings(
      groupSettingsDoc('loadbalancer', { 'kubeaz.io/role': 'loadbalancer', z: '' }, [{ key: 'k', effect: 'NoSchedule' }], 2),
    );
    expect(text).toBe(
      '{"elasticIps":2,"labels":{"kubeaz.io/role":"loadbalancer","z":""},"role":"loadbalancer","taints":[{"effect":"NoSchedule","key":"k"}]}',
    );
    expect(parseGroupSettings(text)).toEqual({
      role: 'loadbalancer',
      labels: { 'kubeaz.io/role': 'loadbalancer', z: '' },
      taints: [{ key: 'k', effect: 'NoSchedule' }],
      elasticIps: 2,
    });
    expect(parseGroupSettings('{"role":"boss","labels":{},"taints":[],"elasticIps":0}')).toBeInstanceOf(Error);
    expect((parseGroupSettings('nope') as Error).message).toMatch(/not JSON/);
  });

  it('reads IMDSv2: a token by PUT, then every read carrying it', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
        return res.end('TOKEN');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN') return res.writeHead(401).end();
      const md: Record<string, string> = {
        'instance-id': 'i-0123',
        'placement/availability-zone': 'eu-west-1b',
        'placement/region': 'eu-west-1',
        'local-ipv4': '10.0.3.4',
        'local-hostname': 'ip-10-0-3-4.eu-west-1.compute.internal other.name',
      };
      const v = md[req.url!.replace('/latest/meta-data/', '')];
      return v ? res.end(v) : res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const id = await imdsIdentity({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: 1 });
      expect(id).toEqual({
        instanceId: 'i-0123',
        zone: 'eu-west-1b',
        region: 'eu-west-1',
        privateIp: '10.0.3.4',
        hostname: 'ip-10-0-3-4.eu-west-1.compute.internal',
      });
      expect(seen[0]).toBe('PUT /latest/api/token');
    } finally {
      server.close();
    }
  });

  it('gives up on IMDS after its attempts with the reason', async () => {
    await expect(imdsIdentity({ endpoint: 'http://127.0.0.1:9', attempts: 2, retryMs: 1 })).rejects.toThrow(/after 2 attempts/);
  });
});

describe('waits', () => {
  it('takes overrides of known waits and refuses unknown names or bad values', () => {
    expect(waitsFrom('{"joinRetryMs":5}')).toEqual({ ...DEFAULT_WAITS, joinRetryMs: 5 });
    expect(waitsFrom(undefined)).toEqual(DEFAULT_WAITS);
    expect(() => waitsFrom('{"nope":1}')).toThrow(/unknown wait nope/);
    expect(() => waitsFrom('{"joinRetryMs":"1"}')).toThrow(/must be a number/);
  });
});
