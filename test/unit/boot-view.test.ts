/** The boot reports as status and logs show them (pure): entries, verdicts, text; and when the API is judged at all. */
import { describe, expect, it } from 'vitest';
import { renderBoot } from '../../src/commands/boot-view.js';
import { bootEntries, bootPhrase, bootProblems, bootTimes, phaseSeconds, type LiveInstance } from '../../src/operations/boots.js';
import { kubernetesMode } from '../../src/operations/status.js';
import type { BootReport } from '../../src/records/boot.js';
import type { StoredBoot } from '../../src/records/boot-store.js';

const NOW = new Date('2026-12-05T12:00:00Z');
const at = (minAgo: number) => new Date(NOW.getTime() - minAgo * 60_000).toISOString();

const report = (id: string, group: string, over: Partial<BootReport>): BootReport => ({
  instanceId: id,
  group,
  role: group.startsWith('master') ? 'master' : 'node',
  result: 'running',
  updatedAt: at(1),
  phases: [{ name: 'identity', start: at(5), end: at(4) }],
  ...over,
});

const instances: LiveInstance[] = [
  { id: 'i-0master1', group: 'master', zone: 'us-east-1a', lifecycleState: 'InService' },
  { id: 'i-0master2', group: 'master-2', zone: 'us-east-1b', lifecycleState: 'InService' },
  { id: 'i-0node1', group: 'general', lifecycleState: 'InService' },
  { id: 'i-0node2', group: 'general', lifecycleState: 'InService' },
  { id: 'i-0node3', group: 'general', lifecycleState: 'Pending' },
  { id: 'i-0gone', group: 'general', lifecycleState: 'Terminating' },
];

const stored = new Map<string, StoredBoot>([
  [
    'i-0master1',
    {
      report: report('i-0master1', 'master', {
        result: 'failed',
        updatedAt: at(2),
        phases: [
          { name: 'identity', start: at(9), end: at(8) },
          { name: 'kubeadm-init', start: at(8), end: at(2) },
        ],
        error: {
          phase: 'kubeadm-init',
          message: 'kubeadm init exited 1 (3 tries)',
          output: 'line 1\nline 2\n[ERROR CRI]: container runtime is not running\n',
        },
      }),
    },
  ],
  [
    'i-0master2',
    {
      report: report('i-0master2', 'master-2', {
        result: 'ready',
        phases: [
          { name: 'identity', start: at(9), end: at(8) },
          { name: 'kubeadm-join', start: at(8), end: at(3) },
        ],
      }),
    },
  ],
  [
    'i-0node1',
    { report: report('i-0node1', 'general', { result: 'running', updatedAt: at(11), phases: [{ name: 'kubeadm-join', start: at(12) }] }) },
  ],
  ['i-0node2', { invalid: 'boot report is not JSON: Unexpected token' }],
  ['i-0gone', { report: report('i-0gone', 'general', { result: 'failed', error: { phase: 'join', message: 'gone anyway' } }) }],
]);

describe('boot entries and verdicts', () => {
  const entries = bootEntries(instances, stored, NOW);

  it('one entry per live instance: phase, result, error, stalled; no report → null result', () => {
    expect(entries.map((e) => [e.instanceId, e.phase, e.result, e.stalled])).toEqual([
      ['i-0master1', 'kubeadm-init', 'failed', false],
      ['i-0master2', 'kubeadm-join', 'ready', false],
      ['i-0node1', 'kubeadm-join', 'running', true],
      ['i-0node2', null, null, false],
      ['i-0node3', null, null, false],
      ['i-0gone', 'join', 'failed', false],
    ]);
    expect(entries[0]!.error).toMatchObject({ phase: 'kubeadm-init', message: 'kubeadm init exited 1 (3 tries)' });
    expect(entries[3]!.invalid).toMatch(/not JSON/);
  });

  it('problems: failed, stalled, unreadable; an instance leaving the group does not count; no report counts only when the boots are the verdict', () => {
    const problems = bootProblems(entries, { requireReady: false, now: NOW });
    expect(problems).toEqual([
      'master i-0master1: boot failed at kubeadm-init: kubeadm init exited 1 (3 tries)',
      'general i-0node1: boot stalled at kubeadm-join (no update for 11m)',
      'general i-0node2: boot report unreadable: boot report is not JSON: Unexpected token',
    ]);
    expect(bootProblems(entries, { requireReady: true, now: NOW })).toEqual([...problems, 'general i-0node3: no boot report yet']);
  });

  it('a boot still running (not stalled) is not done; all ready is', () => {
    const running = bootEntries(
      [instances[0]!],
      new Map([['i-0master1', { report: report('i-0master1', 'master', { phases: [{ name: 'kubeadm-init', start: at(2) }] }) }]]),
      NOW,
    );
    expect(bootProblems(running, { requireReady: false, now: NOW })).toEqual(['master i-0master1: still booting (kubeadm-init)']);
    const ready = bootEntries([instances[1]!], stored, NOW);
    expect(bootProblems(ready, { requireReady: true, now: NOW })).toEqual([]);
    expect(bootPhrase(ready)).toBe('all 1 instances booted (ready)');
  });

  it('no reports at all (an older kubeaz, or moto): no problem unless the boots are the verdict', () => {
    const none = bootEntries(instances.slice(0, 2), new Map(), NOW);
    expect(bootProblems(none, { requireReady: false, now: NOW })).toEqual([]);
    expect(bootProblems(none, { requireReady: true, now: NOW })).toHaveLength(2);
    expect(bootPhrase(none)).toBe('no boot report yet from 2 instances');
    expect(renderBoot(none, NOW)).toEqual(["boot: no reports from the 2 instances yet (an older kubeaz's instances write none)"]);
  });

  it('the phrase puts masters first and failures before the rest, and leaves out instances leaving their group', () => {
    expect(bootPhrase(entries)).toBe(
      '1/5 booted; master i-0master1 at kubeadm-init (failed); general i-0node1 at kubeadm-join (stalled); general i-0node2 has an unreadable report; 1 more',
    );
  });

  it('text: a table within 100 columns, each failure with the tail of its output, and where to look next', () => {
    const lines = renderBoot(entries, NOW, 2);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(100);
    expect(lines[0]).toBe('boot: 1/6 ready, 1 running, 1 stalled, 2 failed');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}master +i-0master1 +kubeadm-init +FAILED +2m ago$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}general +i-0node1 +kubeadm-join +STALLED +11m ago$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}general +i-0node3 +- +no report +-$/));
    const fail = lines.indexOf('  FAIL master i-0master1 at kubeadm-init: kubeadm init exited 1 (3 tries)');
    expect(fail).toBeGreaterThan(0);
    expect(lines.slice(fail + 1, fail + 3)).toEqual(['      | line 2', '      | [ERROR CRI]: container runtime is not running']);
    expect(lines.at(-1)).toMatch(/kubeaz logs INSTANCE-ID/);
  });

  it('phase durations: finished phases from start to end, a running one until now', () => {
    const r = report('i-1', 'general', {
      phases: [
        { name: 'a', start: at(10), end: at(7) },
        { name: 'b', start: at(7) },
      ],
    });
    expect(phaseSeconds(r, NOW)).toEqual([
      { name: 'a', seconds: 180, done: true },
      { name: 'b', seconds: 420, done: false },
    ]);
  });
});

describe('when the Kubernetes API is judged', () => {
  it.each([
    [{}, ['203.0.113.0/24'], { required: false, bootJudged: false }],
    [{ wait: '10m' }, ['203.0.113.0/24'], { required: true, bootJudged: false }],
    [{ apiEndpoint: 'https://127.0.0.1:6443' }, ['203.0.113.0/24'], { required: true, bootJudged: false }],
    [{ wait: '10m' }, [], { required: true, bootJudged: true }],
    [{ wait: '10m', apiEndpoint: 'https://127.0.0.1:6443' }, [], { required: true, bootJudged: false }],
    [{}, [], { required: false, bootJudged: false }],
  ])('%o with apiAccess %o → %o', (opts, apiAccess, want) => {
    expect(kubernetesMode(opts, apiAccess)).toEqual(want);
  });
});

describe('logs text', () => {
  it('an empty console says so; a report without phases and an unreadable one are named', async () => {
    const { renderLogs } = await import('../../src/commands/logs.js');
    const text = renderLogs(
      [
        {
          instanceId: 'i-0a',
          group: 'master',
          state: 'running',
          zone: 'us-east-1a',
          boot: report('i-0a', 'master', { phases: [] }),
          console: { output: '\n', timestamp: '2026-12-05T11:59:00.000Z' },
        },
        {
          instanceId: 'i-0b',
          group: 'general',
          state: 'pending',
          boot: null,
          bootInvalid: 'boot report is not JSON',
          console: null,
          consoleError: 'GetConsoleOutput: throttled',
        },
      ],
      NOW,
    );
    expect(text).toContain('== i-0a (master, us-east-1a, running) ==\nboot report: running, role master, updated');
    expect(text).toContain(
      'console output: empty (as of 2026-12-05T11:59:00.000Z) — the instance has written nothing to its serial console yet',
    );
    expect(text).toContain(
      '== i-0b (general, pending) ==\nboot report: unreadable: boot report is not JSON\nconsole output: GetConsoleOutput: throttled',
    );
  });
});

describe('time to Ready per phase (the acceptance run)', () => {
  const at = (s: number) => new Date(Date.parse('2026-12-01T10:00:00Z') + s * 1000).toISOString();
  const report = (
    id: string,
    group: string,
    result: BootReport['result'],
    phases: Array<[string, number, number | undefined]>,
  ): BootReport =>
    ({
      instanceId: id,
      group,
      role: group === 'master' ? 'master' : 'node',
      result,
      updatedAt: at(999),
      phases: phases.map(([name, s, e]) => ({ name, start: at(s), ...(e !== undefined ? { end: at(e) } : {}) })),
    }) as BootReport;
  it('per instance: first start to last end when ready (null otherwise); per phase: count, min, median, max over the phases that ended', () => {
    const t = bootTimes(
      [
        {
          instanceId: 'i-1',
          group: 'master',
          boot: report('i-1', 'master', 'ready', [
            ['host', 0, 40],
            ['init', 40, 100],
          ]),
        },
        {
          instanceId: 'i-2',
          group: 'workers',
          boot: report('i-2', 'workers', 'ready', [
            ['host', 5, 25],
            ['join', 25, 30],
          ]),
        },
        {
          instanceId: 'i-3',
          group: 'workers',
          boot: report('i-3', 'workers', 'ready', [
            ['host', 0, 30],
            ['join', 30, 50],
          ]),
        },
        {
          instanceId: 'i-4',
          group: 'workers',
          boot: report('i-4', 'workers', 'running', [
            ['host', 0, 60],
            ['join', 60, undefined],
          ]),
        },
        { instanceId: 'i-5', group: 'workers', boot: null },
      ],
      new Date(at(500)),
    );
    expect(t.instances).toEqual([
      {
        instanceId: 'i-1',
        group: 'master',
        result: 'ready',
        toReadySeconds: 100,
        phases: [
          { name: 'host', seconds: 40 },
          { name: 'init', seconds: 60 },
        ],
      },
      {
        instanceId: 'i-2',
        group: 'workers',
        result: 'ready',
        toReadySeconds: 25,
        phases: [
          { name: 'host', seconds: 20 },
          { name: 'join', seconds: 5 },
        ],
      },
      {
        instanceId: 'i-3',
        group: 'workers',
        result: 'ready',
        toReadySeconds: 50,
        phases: [
          { name: 'host', seconds: 30 },
          { name: 'join', seconds: 20 },
        ],
      },
      // still running: its open phase is not counted, and it has no time to Ready
      { instanceId: 'i-4', group: 'workers', result: 'running', toReadySeconds: null, phases: [{ name: 'host', seconds: 60 }] },
    ]);
    expect(t.phases).toEqual([
      { name: 'host', count: 4, min: 20, median: 35, max: 60 },
      { name: 'init', count: 1, min: 60, median: 60, max: 60 },
      { name: 'join', count: 2, min: 5, median: 12.5, max: 20 },
    ]);
    expect(bootTimes([], new Date())).toEqual({ instances: [], phases: [] });
  });
});
