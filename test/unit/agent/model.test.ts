/** The agent in the desired graph: its bundle under its hash, its configuration (the records' schema), user data naming both, the AMI check. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodejsImageProblem } from '../../../src/checks/images.js';
import { AGENT_CONFIG_OBJECT, agentBundleKey, agentBundleOf } from '../../../src/model/agent.js';
import { deriveGraph, type Facts } from '../../../src/model/derive.js';
import { AGENT_CONFIG_KEY, agentConfigSchema, groupSettingsSchema } from '../../../src/records/agent-config.js';
import { agentArgsOfUserData } from '../../../src/devtools/boot-sim/userdata-args.js';
import { parseSpec } from '../../../src/spec/load.js';
import { al2023ReleaseBefore, al2023ReleaseOf, NODEJS } from '../../../src/spec/versions.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
const tdir = join(ROOT, 'templates');
const templates = Object.fromEntries(walk(tdir).map((p) => [relative(tdir, p), readFileSync(p, 'utf8')]));
const agent = agentBundleOf('// a pretend agent\nconsole.log("hi");\n');
const facts: Facts = {
  accountId: '123456789012',
  images: { x86_64: 'ami-0123456789abcdef0', arm64: 'ami-0fedcba9876543210' },
  templates,
  agent,
};
const example = readFileSync(join(ROOT, 'cluster.example.yaml'), 'utf8');
const spec = (text = example) => parseSpec(text, 'c.yaml', new Date('2026-01-15T00:00:00Z')).spec;
type Obj = { key: string; kind: string; props: { objectKey: string; body: string; contentType: string } };
type Lt = { key: string; kind: string; props: { userData: string } };

describe('the agent in the graph', () => {
  const g = deriveGraph(spec(), facts);
  const objects = g.nodes.filter((n) => n.kind === 'bucket-object') as unknown as Obj[];

  it('uploads the bundle under agent/kubeaz-agent-<sha256>.mjs and its configuration under agent/config.json', () => {
    const key = agentBundleKey(agent.sha256);
    expect(key).toBe(`agent/kubeaz-agent-${agent.sha256}.mjs`);
    expect(objects.find((o) => o.props.objectKey === key)?.props.body).toBe(agent.body);
    expect(AGENT_CONFIG_OBJECT).toBe(AGENT_CONFIG_KEY);
    expect(objects.map((o) => o.props.objectKey)).toContain(AGENT_CONFIG_KEY);
  });

  it("renders a configuration the agent accepts (records/agent-config.ts): the cluster's facts, the same text for the same spec", () => {
    const text = objects.find((o) => o.props.objectKey === AGENT_CONFIG_KEY)!.props.body;
    const c = agentConfigSchema.parse(JSON.parse(text));
    expect(c.apiEndpoint).toBe(`master.${c.internalDomain}:443`);
    expect(JSON.parse(text)).not.toHaveProperty('groups');
    // stable: the same spec renders the same text (no drift, no upload on a re-run)
    expect(objects.find((o) => o.props.objectKey === AGENT_CONFIG_KEY)!.props.body).toBe(
      (deriveGraph(spec(), facts).nodes.find((n) => n.key === `object/${AGENT_CONFIG_KEY}`) as unknown as Obj).props.body,
    );
  });

  it("each group's user data passes its own settings (role, labels, taints, pool) as the agent reads them; adding a group leaves agent/config.json as it was", () => {
    const s = spec().spec;
    const settingsOf = (graph: ReturnType<typeof deriveGraph>, group: string) => {
      const ud = (graph.nodes.find((n) => n.key === `lt/${group}`) as unknown as Lt).props.userData;
      const args = agentArgsOfUserData(ud);
      expect(args.slice(0, 4)).toEqual(['--bucket', expect.stringMatching(/^kubeaz-/), '--group', group]);
      return groupSettingsSchema.parse(JSON.parse(args[args.indexOf('--settings') + 1]!));
    };
    expect(settingsOf(g, 'master')).toEqual({ role: 'master', labels: { 'kubeaz.io/role': 'master' }, taints: [], elasticIps: 0 });
    for (const ng of s.nodeGroups) {
      expect(settingsOf(g, ng.name)).toEqual({
        role: ng.role,
        labels: { 'kubeaz.io/role': ng.role, ...ng.labels },
        taints: ng.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect })),
        elasticIps: ng.role === 'loadbalancer' ? ng.elasticIps : 0,
      });
    }
    const more = deriveGraph(
      spec(
        example.replace(
          '  nodeGroups:\n',
          '  nodeGroups:\n    - {name: extra, instanceType: m5.large, minSize: 1, maxSize: 1, labels: {x: y}}\n',
        ),
      ),
      facts,
    );
    expect(settingsOf(more, 'extra')).toEqual({ role: 'node', labels: { 'kubeaz.io/role': 'node', x: 'y' }, taints: [], elasticIps: 0 });
    const config = (graph: ReturnType<typeof deriveGraph>) =>
      (graph.nodes.find((n) => n.key === `object/${AGENT_CONFIG_KEY}`) as unknown as Obj).props.body;
    expect(config(more)).toBe(config(g));
  });

  it('gives each master of a three-master spec its own group and launch template', () => {
    const ha = deriveGraph(spec(example.replace('  controlPlane:\n', '  controlPlane:\n    count: 3\n')), facts);
    const masters = (ha.nodes.filter((n) => n.kind === 'launch-template') as unknown as Lt[]).filter((l) => /^lt\/master/.test(l.key));
    expect(masters.map((l) => agentArgsOfUserData(l.props.userData)[3]).sort()).toEqual(['master', 'master-2', 'master-3']);
  });

  it("every group's user data — masters' too — installs nodejs22, fetches the agent by its key, checks its SHA-256 and runs node-22 … boot", () => {
    const lts = g.nodes.filter((n) => n.kind === 'launch-template') as unknown as Lt[];
    expect(lts.map((l) => l.key).sort()).toEqual(['lt/edge', 'lt/master', 'lt/workers']);
    for (const l of lts) {
      const ud = l.props.userData;
      expect(ud).toContain(`retry dnf install -y -q '${NODEJS.package}'`);
      expect(ud).toContain(`/${agentBundleKey(agent.sha256)}' "$dir/kubeaz-agent.mjs"`);
      expect(ud).toContain(`echo '${agent.sha256}  '"$dir/kubeaz-agent.mjs" | sha256sum -c --quiet -`);
      expect(ud).toMatch(
        new RegExp(`exec '${NODEJS.binary}' "\\$dir/kubeaz-agent.mjs" boot --bucket 'kubeaz-[^']+' --group '${l.key.slice(3)}'`),
      );
    }
    // the master runs the same agent: no bootstrap script, nothing of the bucket but the agent's object
    const master = lts.find((l) => l.key === 'lt/master')!.props.userData;
    expect(master).toContain(`Kubernetes ${spec().spec.kubernetesVersion}`);
    expect(master).toContain(
      `exec '${NODEJS.binary}' "$dir/kubeaz-agent.mjs" boot --bucket 'kubeaz-demo-dev-123456789012' --group 'master' `,
    );
    expect(master).not.toMatch(/master\.sh|bootstrap\/|cluster\.env/);
    expect(master.match(/s3:\/\/[^' ]+/g)).toEqual([
      `s3://kubeaz-demo-dev-123456789012/${agentBundleKey(agent.sha256)}`,
      `s3://kubeaz-demo-dev-123456789012/${agentBundleKey(agent.sha256)}`,
    ]);
    // a new bundle is a new launch template version for every group, masters included (rollout replaces them)
    const g2 = deriveGraph(spec(), { ...facts, agent: agentBundleOf('// another build\n') });
    for (const l of lts) {
      const ud2 = (g2.nodes.find((n) => n.key === l.key) as unknown as Lt).props.userData;
      expect(ud2, l.key).not.toBe(l.props.userData);
    }
  });
});

describe('pre-flight: an AMI whose repository has no nodejs22', () => {
  it.each([
    ['al2023-ami-2023.6.20241209.0-kernel-6.1-x86_64', '2023.6.20241209', true],
    ['al2023-ami-2023.6.20250317.0-kernel-6.1-arm64', '2023.6.20250317', true],
    ['al2023-ami-2023.7.20250331.0-kernel-6.1-x86_64', '2023.7.20250331', false],
    ['al2023-ami-minimal-2023.9.20251014.0-kernel-6.12-x86_64', '2023.9.20251014', false],
    ['al2023-ami-2024.0.20240101.0-kernel-6.1-x86_64', '2024.0.20240101', false],
    ['my-golden-image-42', undefined, false],
  ] as const)('%s → release %s, refused: %s', (name, release, refused) => {
    expect(al2023ReleaseOf(name)).toBe(release);
    const p = nodejsImageProblem('ami-1', name);
    if (refused)
      expect(p).toBe(
        `the image ami-1 (${name}) is AL2023 ${release}, older than ${NODEJS.firstAl2023Release}, the first release whose repository kubeaz knows to carry nodejs22: its instances could not install Node.js 22 to run the kubeaz agent. Use a newer image (or leave spec.ami unset for the latest AL2023)`,
      );
    else expect(p).toBeUndefined();
  });

  it('compares releases as numbers, field by field', () => {
    expect(al2023ReleaseBefore('2023.6.20250317', '2023.7.20250331')).toBe(true);
    expect(al2023ReleaseBefore('2023.10.20251201', '2023.9.20251014')).toBe(false);
    expect(al2023ReleaseBefore('2023.7.20250331', '2023.7.20250331')).toBe(false);
  });
});
