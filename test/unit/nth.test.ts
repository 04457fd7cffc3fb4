/**
 * The AWS Node Termination Handler in queue-processor mode (issue 20 §1, the handler's half): the
 * Helm values the master's add-on step installs it with (IRSA on and off), its permissions scoped
 * to this cluster's drain queue and node groups (on the master's role, or on its own IRSA role),
 * the masters' settings and user data that carry the switch, the add-ons fingerprint, and the note
 * plan and create give when the drain set-up comes to a running cluster. The AWS half (queue,
 * rules, hooks) is test/unit/drain-model.test.ts and test/e2e/drain-queue.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addonSteps, type AddonInput } from '../../src/agent/master/addons.js';
import { addonsFingerprint, canonicalJson } from '../../src/agent/decide/addons.js';
import { clusterSchema, type ClusterSpecInput } from '../../src/spec/schema.js';
import { naming } from '../../src/model/names.js';
import { clusterVars, renderUserData, TEMPLATE_NAMES } from '../../src/model/bootstrap.js';
import { deriveGraph, drainSwitchNote, DRAIN_QUEUE_KEY } from '../../src/model/derive.js';
import { masterSettings } from '../../src/model/master-settings.js';
import { nthPolicy, nthStatements } from '../../src/model/policies.js';
import { parseMasterSettings } from '../../src/records/master-settings.js';
import type { AnyNode } from '../../src/model/types.js';
import { MASTER_SETTINGS } from '../helpers/agent-master.js';

const TEMPLATE_DIR = path.resolve(import.meta.dirname, '../../templates');
const templates: Record<string, string> = Object.fromEntries(
  TEMPLATE_NAMES.map((t) => [t, fs.readFileSync(path.join(TEMPLATE_DIR, t), 'utf8')]),
);
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const facts = { accountId: ACCOUNT, images: { x86_64: 'ami-0123456789abcdef0' }, templates };
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:demo-dev-drain`;
const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/demo-dev-drain`;
/** CompleteLifecycleAction on the groups that carry this cluster's ownership tag (kops' condition), whatever their number */
const OWN_GROUPS = [{ Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': 'demo-dev' } } }];
const NTH_ROLE = `arn:aws:iam::${ACCOUNT}:role/kubeaz/demo-dev/demo-dev-irsa-nth`;

const spec = (opts: { irsa?: boolean; groups?: boolean } = {}) =>
  clusterSchema.parse({
    apiVersion: 'kubeaz/v1',
    kind: 'Cluster',
    metadata: { name: 'demo', environment: 'dev' },
    spec: {
      region: REGION,
      zones: ['eu-west-1a', 'eu-west-1b'],
      kubernetesVersion: '1.33.2',
      network: { vpcCidr: '10.0.0.0/16' },
      controlPlane: { instanceType: 'm5.large' },
      nodeGroups:
        opts.groups === false
          ? []
          : [
              { name: 'workers', instanceType: 'm5.large', minSize: 1, maxSize: 3 },
              {
                name: 'spot',
                instanceTypes: ['m5.large', 'm6i.large'],
                spot: { onDemandBase: 0, onDemandPercentage: 0 },
                minSize: 0,
                maxSize: 3,
              },
            ],
      ...(opts.irsa ? { iam: { serviceAccountIssuerDiscovery: { enabled: true } } } : {}),
    },
  } satisfies ClusterSpecInput);

type St = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const graph = (opts: { irsa?: boolean; groups?: boolean } = {}) => deriveGraph(spec(opts), facts).nodes;
const node = (nodes: AnyNode[], key: string) => nodes.find((n) => n.key === key);
const statements = (nodes: AnyNode[], key: string, policy: string): St[] =>
  (node(nodes, key)!.props as { policies: Record<string, { Statement: St[] }> }).policies[policy]!.Statement;
const actions = (s: St) => [s.Action].flat();

/**
 * What every statement that grants one of the handler's changing calls covers: the queue's resources
 * (SQS), and for lifecycle actions each statement's resource with its condition.
 */
function nthResources(sts: readonly St[]): { queue: unknown[]; groups: unknown[] } {
  const granting = (a: string) => sts.filter((s) => s.Effect === 'Allow' && actions(s).includes(a));
  const of = (a: string) => granting(a).flatMap((s) => [s.Resource].flat());
  const rcv = of('sqs:ReceiveMessage');
  expect(of('sqs:DeleteMessage')).toEqual(rcv);
  return {
    queue: rcv,
    groups: granting('autoscaling:CompleteLifecycleAction').map((s) => ({ Resource: s.Resource, Condition: s.Condition })),
  };
}

const input: AddonInput = {
  clusterId: 'demo-dev',
  region: REGION,
  masterDns: 'master.demo-dev.internal',
  adminKubeconfig: '/etc/kubernetes/admin.conf',
  versions: MASTER_SETTINGS.addons,
  storageClassFile: '/opt/kubeaz/addons/storageclass.yaml',
};
const nthRun = (i: AddonInput) => addonSteps(i).find((s) => s.name === 'aws-node-termination-handler')!.run;
/** `--set`, `--set-string` and `--set-json` values of an invocation, by name. */
function values(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  args.forEach((a, i) => {
    if (['--set', '--set-string', '--set-json'].includes(args[i - 1]!)) out[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
  });
  return out;
}

describe("the handler's Helm values (chart values.yaml @ v1.25.6)", () => {
  const CP_SELECTOR = JSON.stringify({ 'node-role.kubernetes.io/control-plane': '' });
  const queueValues = {
    enableSqsTerminationDraining: 'true',
    queueURL: QUEUE_URL,
    awsRegion: REGION,
    replicas: '1',
    checkTagBeforeDraining: 'true',
    managedTag: 'kubernetes.io/cluster/demo-dev',
    nodeSelector: CP_SELECTOR,
    tolerations: JSON.stringify([
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
    ]),
    strategy: JSON.stringify({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }),
  };
  const patchOf = (run: ReturnType<typeof nthRun>) => {
    const a = run[1]!.args;
    expect(a.slice(2, 9)).toEqual(['-n', 'kube-system', 'patch', 'deployment', 'aws-node-termination-handler', '--type', 'merge']);
    return JSON.parse(a[a.indexOf('-p') + 1]!) as unknown;
  };

  it('IRSA off: queue-processor mode on the control plane, then the Deployment onto the host network (the master role from IMDS, hop limit 1)', () => {
    const run = nthRun({ ...input, nth: { queueUrl: QUEUE_URL } });
    expect(run.map((r) => r.cmd)).toEqual(['helm', 'kubectl']);
    expect(run[0]!.args.slice(2, 10)).toEqual([
      'upgrade',
      '--install',
      'aws-node-termination-handler',
      'oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler',
      '--version',
      MASTER_SETTINGS.addons.nthChart,
      '--namespace',
      'kube-system',
    ]);
    expect(values(run[0]!.args)).toEqual(queueValues);
    expect(patchOf(run)).toEqual({ spec: { template: { spec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } } } });
  });

  it('IRSA on: its own role on its service account, off the host network', () => {
    const run = nthRun({ ...input, nth: { queueUrl: QUEUE_URL, roleArn: NTH_ROLE } });
    expect(values(run[0]!.args)).toEqual({
      ...queueValues,
      'serviceAccount.name': 'aws-node-termination-handler',
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn': NTH_ROLE,
    });
    expect(patchOf(run)).toEqual({ spec: { template: { spec: { hostNetwork: false, dnsPolicy: 'ClusterFirst' } } } });
  });

  it('no queue (a cluster of masters alone): IMDS mode, the DaemonSet, as before', () => {
    const run = nthRun(input);
    expect(run).toHaveLength(1);
    expect(values(run[0]!.args)).toMatchObject({ enableSqsTerminationDraining: 'false', useHostNetwork: 'true' });
    expect(values(run[0]!.args)).not.toHaveProperty('queueURL');
  });
});

describe("the masters' settings carry the queue (and the role with IRSA on); the agent reads them back", () => {
  it.each([
    ['IRSA off', false, { queueUrl: QUEUE_URL }],
    ['IRSA on', true, { queueUrl: QUEUE_URL, roleArn: NTH_ROLE }],
  ])('%s', (_n, irsa, nth) => {
    const s = spec({ irsa });
    const ms = masterSettings(s, naming(s), ACCOUNT);
    expect(ms.nth).toEqual(nth);
    expect(parseMasterSettings(JSON.parse(JSON.stringify(ms)))).toEqual(ms);
  });

  it('without node groups there is no queue: no nth settings', () => {
    const s = spec({ groups: false });
    expect(masterSettings(s, naming(s), ACCOUNT).nth).toBeUndefined();
    expect(parseMasterSettings({ ...MASTER_SETTINGS, nth: { queueUrl: 'not a url' } })).toBeInstanceOf(Error);
  });
});

describe("the handler's permissions: this queue and these groups, nothing else", () => {
  it("IRSA off: the master role receives and deletes on this queue only and completes lifecycle actions of this cluster's groups only", () => {
    const master = statements(graph(), 'role/master', 'kubeaz-master');
    expect(nthResources(master)).toEqual({ queue: [QUEUE_ARN], groups: OWN_GROUPS });
    expect(node(graph(), 'role/irsa-nth')).toBeUndefined();
  });

  it('IRSA on: its own role (trusting its service account only) holds them, and the master role none', () => {
    const on = graph({ irsa: true });
    expect(nthResources(statements(on, 'role/master', 'kubeaz-master'))).toEqual({ queue: [], groups: [] });
    const own = statements(on, 'role/irsa-nth', 'kubeaz-node-termination-handler');
    expect(own).toEqual([
      { Sid: 'NthDescribeInstances', Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' },
      { Sid: 'NthDrainQueue', Effect: 'Allow', Action: ['sqs:DeleteMessage', 'sqs:ReceiveMessage'], Resource: [QUEUE_ARN] },
      { Sid: 'NthCompleteLifecycleActions', Effect: 'Allow', Action: ['autoscaling:CompleteLifecycleAction'], ...OWN_GROUPS[0] },
    ]);
    const trust = (
      node(on, 'role/irsa-nth')!.props as { trust: { Statement: Array<{ Condition: { StringEquals: Record<string, string> } }> } }
    ).trust;
    expect(Object.entries(trust.Statement[0]!.Condition.StringEquals).find(([k]) => k.endsWith(':sub'))![1]).toBe(
      'system:serviceaccount:kube-system:aws-node-termination-handler',
    );
  });

  it("no unconditioned wildcard: the queue calls name this queue, lifecycle actions need this cluster's tag on the group", () => {
    for (const sts of [
      statements(graph(), 'role/master', 'kubeaz-master'),
      nthPolicy({ queueArn: QUEUE_ARN, clusterId: 'demo-dev' }).Statement,
    ]) {
      const { queue, groups } = nthResources(sts as St[]);
      expect(queue).toEqual([QUEUE_ARN]);
      expect(groups).toEqual(OWN_GROUPS);
    }
    // the check sees a wildcard: a queue statement on `*`, or lifecycle actions without the tag condition, are caught
    const wide = [
      ...nthStatements({ queueArn: QUEUE_ARN, clusterId: 'demo-dev' }),
      { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'], Resource: '*' },
      { Effect: 'Allow', Action: ['autoscaling:CompleteLifecycleAction'], Resource: '*' },
    ];
    expect(nthResources(wide as St[]).queue).toContain('*');
    expect(nthResources(wide as St[]).groups).not.toEqual(OWN_GROUPS);
  });

  it("its service account is the add-on's: a spec may not give it a role of its own", () => {
    const r = clusterSchema.safeParse({
      ...spec({ irsa: true }),
      spec: {
        ...spec({ irsa: true }).spec,
        iam: {
          serviceAccountIssuerDiscovery: { enabled: true },
          serviceAccounts: [{ namespace: 'kube-system', name: 'aws-node-termination-handler', policyArns: ['arn:aws:iam::aws:policy/X'] }],
        },
      },
    });
    expect(r.success ? [] : r.error.issues.map((i) => i.message)).toContain(
      "service account kube-system/aws-node-termination-handler is an add-on's: kubeaz gives it its own role",
    );
  });

  it('no node groups: no handler statements anywhere, no handler role', () => {
    for (const irsa of [false, true]) {
      const nodes = graph({ groups: false, irsa });
      expect(nthResources(statements(nodes, 'role/master', 'kubeaz-master'))).toEqual({ queue: [], groups: [] });
      expect(node(nodes, 'role/irsa-nth')).toBeUndefined();
    }
  });
});

describe('the switch reaches the masters: a new master launch template version, and the add-ons fingerprint', () => {
  const userData = (opts: { groups?: boolean }, role: 'master' | 'node') => {
    const s = spec(opts);
    return renderUserData(
      templates,
      clusterVars(s, naming(s), 'kubeaz-demo-dev-123456789012', ACCOUNT),
      role,
      role === 'master' ? 'master' : 'workers',
      {},
      [],
    );
  };

  it("the master's user data names the queue-processor mode (a new version when it comes), a node's does not", () => {
    expect(userData({}, 'master')).toContain('\n# node termination handler in queue-processor mode, queue demo-dev-drain\n');
    expect(userData({ groups: false }, 'master')).not.toContain('node termination handler');
    expect(userData({}, 'node')).not.toContain('node termination handler');
  });

  it('the fingerprint changes with the queue and the role; without them it is what it was before the handler had settings', () => {
    const fp = (over: Partial<typeof MASTER_SETTINGS>) => addonsFingerprint({ ...MASTER_SETTINGS, ...over }, '1.34.2');
    const changed = [fp({}), fp({ nth: { queueUrl: QUEUE_URL } }), fp({ nth: { queueUrl: QUEUE_URL, roleArn: NTH_ROLE } })];
    expect(new Set(changed).size).toBe(3);
    const before = createHash('sha256')
      .update(
        canonicalJson({
          kubernetesVersion: '1.34.2',
          helmVersion: MASTER_SETTINGS.helmVersion,
          addons: MASTER_SETTINGS.addons,
          irsa: null,
          encryption: MASTER_SETTINGS.encryption.fingerprint,
        }),
      )
      .digest('hex');
    expect(fp({})).toBe(before);
  });
});

describe('the note of plan and create when the drain set-up comes to a running cluster', () => {
  const creates = [
    { key: DRAIN_QUEUE_KEY, action: 'create' },
    { key: 'hook/workers', action: 'create' },
  ];
  it('the queue is created and a master group exists: the hooks only delay terminations until a master rollout', () => {
    expect(drainSwitchNote(creates, ['vpc', 'asg/master', 'asg/workers'])).toBe(
      "until a master rollout (kubeaz rollout) switches the node termination handler to queue-processor mode, the lifecycle hooks only delay each node's termination by their heartbeat (300 s) and nothing drains it",
    );
    expect(drainSwitchNote(creates, ['asg/master-2'])).toBeDefined();
  });
  it('a new cluster (no master group yet), or the queue already there: no note', () => {
    expect(drainSwitchNote(creates, ['vpc'])).toBeUndefined();
    expect(drainSwitchNote(creates, ['asg/workers', 'asg/masters'])).toBeUndefined();
    expect(drainSwitchNote([{ key: 'hook/new', action: 'create' }], ['asg/master', DRAIN_QUEUE_KEY])).toBeUndefined();
    expect(drainSwitchNote([{ key: DRAIN_QUEUE_KEY, action: 'update' }], ['asg/master', DRAIN_QUEUE_KEY])).toBeUndefined();
  });
});
