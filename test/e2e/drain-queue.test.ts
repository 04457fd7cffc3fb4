/**
 * The drain set-up (issue 20, part 1: AWS's half) through the real CLI against moto, one cluster
 * for the file: the queue (encrypted, its policy), the EventBridge rules with kops' patterns and the
 * queue as their target, a termination lifecycle hook on every node group and none on the master;
 * the node termination handler's permissions on the master's role (this queue, these groups) and
 * the queue the masters are told; a re-run makes no mutating call; the queue made again on the
 * running cluster carries the note on the handler's switch; a hook changed by hand is drift that create puts back; destroy
 * removes them all and nothing of another cluster's (its queue and rule, made here beforehand,
 * survive — one of its rules even carries this cluster's rule prefix).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoScalingClient, DescribeLifecycleHooksCommand, PutLifecycleHookCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  ListQueuesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  EventBridgeClient,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import type { Plan } from '../../src/engine/compare.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const REGION = 'us-east-1';
const ID = 'drn-qa';
const ACCOUNT = '123456789012';
const QUEUE = `${ID}-drain`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:${QUEUE}`;
const OTHER_QUEUE = 'oth-qa-drain';

const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: drn, environment: qa }
spec:
  region: ${REGION}
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 172.22.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - name: workers
      instanceTypes: [m6i.large, m5.large]
      spot: { onDemandBase: 0, onDemandPercentage: 0 }
      minSize: 1
      maxSize: 4
    - { name: steady, instanceType: m5.large, minSize: 1, maxSize: 2 }
`;

/** The patterns kops renders (pkg/model/awsmodel/nodeterminationhandler.go), the lifecycle one narrowed to this cluster's groups. */
const PATTERNS: Record<string, unknown> = {
  [`${ID}-drain-asg-lifecycle`]: {
    source: ['aws.autoscaling'],
    'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
    detail: { AutoScalingGroupName: [`${ID}-steady`, `${ID}-workers`] },
  },
  [`${ID}-drain-spot-interruption`]: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
  [`${ID}-drain-rebalance-recommendation`]: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] },
  [`${ID}-drain-instance-state-change`]: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
  [`${ID}-drain-scheduled-change`]: {
    source: ['aws.health'],
    'detail-type': ['AWS Health Event'],
    detail: { service: ['EC2'], eventTypeCategory: ['scheduledChange'] },
  },
};

interface CreateJson {
  calls: { total: number; mutating: number; byAction: Record<string, number> };
}
type PlanJson = Plan & { calls: { mutating: number } };

const moto = useMoto({ processEnv: true });

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('the drain queue, its rules and the node groups’ lifecycle hooks', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let env: Record<string, string>;
  let sqs: SQSClient;
  let events: EventBridgeClient;
  let asg: AutoScalingClient;
  let iam: IAMClient;
  let s3: S3Client;
  let before: Inventory;
  const hooksOf = async (group: string) =>
    (await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: `${ID}-${group}` }))).LifecycleHooks ?? [];
  const ourRules = async () =>
    ((await events.send(new ListRulesCommand({ NamePrefix: `${ID}-drain-` }))).Rules ?? []).filter((r) => r.Name !== `${ID}-drain-foreign`);
  const plan = async () => {
    const r = await kubeaz(['plan', '-f', file, '--detailed-exitcode', '--output', 'json'], env);
    return { code: r.code, p: r.json<PlanJson>(), stderr: r.stderr };
  };

  beforeAll(async () => {
    env = moto.env;
    sqs = new SQSClient({ region: REGION });
    events = new EventBridgeClient({ region: REGION });
    asg = new AutoScalingClient({ region: REGION });
    iam = new IAMClient({ region: REGION });
    s3 = new S3Client({ region: REGION });
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-drain-'));
    file = path.join(dir, 'cluster.yaml');
    // Another cluster's queue and rules: one rule under this cluster's rule prefix, and a queue
    // whose name starts with this cluster's queue name — found by the lists, never taken.
    const otherTags = { 'kubeaz:cluster': 'oth-qa', 'kubeaz:name': 'oth', 'kubeaz:environment': 'qa', 'kubeaz:key': 'queue/drain' };
    await sqs.send(new CreateQueueCommand({ QueueName: OTHER_QUEUE, tags: otherTags }));
    await sqs.send(new CreateQueueCommand({ QueueName: `${QUEUE}-lookalike`, tags: otherTags }));
    for (const name of ['oth-qa-drain-spot-interruption', `${ID}-drain-foreign`]) {
      await events.send(
        new PutRuleCommand({
          Name: name,
          EventPattern: JSON.stringify(PATTERNS[`${ID}-drain-spot-interruption`]),
          Tags: Object.entries({ ...otherTags, 'kubeaz:key': 'rule/drain/spot-interruption' }).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      await events.send(
        new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'drain-queue', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${OTHER_QUEUE}` }] }),
      );
    }
    before = await inventory(REGION);
    await writeFile(file, spec);
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the queue: encrypted (SQS-managed keys), messages kept 300 s, only EventBridge of this account may send, tagged', async () => {
    const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))).QueueUrl!;
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes!;
    expect(a.SqsManagedSseEnabled).toBe('true');
    expect(a.MessageRetentionPeriod).toBe('300');
    expect(a.QueueArn).toBe(QUEUE_ARN);
    expect(JSON.parse(a.Policy!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EventBridgeSends',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: QUEUE_ARN,
          Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        },
      ],
    });
    const tags = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags!;
    expect(tags).toMatchObject({ 'kubeaz:cluster': ID, 'kubeaz:key': 'queue/drain', 'kubeaz:region': REGION });
    console.log(`queue ${QUEUE}: ${JSON.stringify({ SqsManagedSseEnabled: a.SqsManagedSseEnabled, Policy: JSON.parse(a.Policy!) })}`);
  });

  it("the rules: kops' patterns, enabled, tagged, each with the queue as its one target", async () => {
    const rules = await ourRules();
    expect(rules.map((r) => r.Name).sort()).toEqual(Object.keys(PATTERNS).sort());
    for (const r of rules) {
      expect(JSON.parse(r.EventPattern!), r.Name).toEqual(PATTERNS[r.Name!]);
      expect(r.State, r.Name).toBe('ENABLED');
      const targets = (await events.send(new ListTargetsByRuleCommand({ Rule: r.Name! }))).Targets ?? [];
      expect(
        targets.map((t) => ({ Id: t.Id, Arn: t.Arn })),
        r.Name,
      ).toEqual([{ Id: 'drain-queue', Arn: QUEUE_ARN }]);
      const tags = Object.fromEntries(
        ((await events.send(new ListTagsForResourceCommand({ ResourceARN: r.Arn! }))).Tags ?? []).map((t) => [t.Key, t.Value]),
      );
      expect(tags, r.Name).toMatchObject({ 'kubeaz:cluster': ID, 'kubeaz:key': `rule/drain/${r.Name!.slice(`${ID}-drain-`.length)}` });
    }
  });

  it('a termination hook on every node group (CONTINUE after 300 s, no notification target or role), none on the master', async () => {
    for (const g of ['workers', 'steady']) {
      const hooks = await hooksOf(g);
      expect(
        hooks.map((h) => ({
          name: h.LifecycleHookName,
          transition: h.LifecycleTransition,
          heartbeat: h.HeartbeatTimeout,
          result: h.DefaultResult,
          target: h.NotificationTargetARN,
          role: h.RoleARN,
        })),
        g,
      ).toEqual([
        {
          name: 'kubeaz-drain',
          transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          heartbeat: 300,
          result: 'CONTINUE',
          target: undefined,
          role: undefined,
        },
      ]);
    }
    expect(await hooksOf('master')).toEqual([]);
  });

  it("the node termination handler (IRSA off): the master's role receives and deletes on this queue only and completes lifecycle actions of these groups only; the masters are told the queue", async () => {
    const doc = JSON.parse(
      decodeURIComponent(
        (await iam.send(new GetRolePolicyCommand({ RoleName: `${ID}-master`, PolicyName: 'kubeaz-master' }))).PolicyDocument!,
      ),
    ) as { Statement: Array<{ Sid?: string; Action: string | string[]; Resource: string | string[] }> };
    const resourcesOf = (action: string) =>
      doc.Statement.filter((st) => [st.Action].flat().includes(action)).flatMap((st) => [st.Resource].flat());
    expect(resourcesOf('sqs:ReceiveMessage')).toEqual([QUEUE_ARN]);
    expect(resourcesOf('sqs:DeleteMessage')).toEqual([QUEUE_ARN]);
    // lifecycle actions on the groups that carry this cluster's ownership tag only (kops' condition)
    expect(doc.Statement.filter((st) => [st.Action].flat().includes('autoscaling:CompleteLifecycleAction'))).toEqual([
      expect.objectContaining({ Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/kubeaz:cluster': ID } } }),
    ]);
    // nothing of the other cluster's, whose queue and rules share the account
    expect(JSON.stringify(doc)).not.toContain('oth-qa');
    const config = await s3.send(new GetObjectCommand({ Bucket: `kubeaz-${ID}-${ACCOUNT}`, Key: 'agent/config.json' }));
    const nth = (JSON.parse(await config.Body!.transformToString()) as { master: { nth?: { queueUrl: string; roleArn?: string } } }).master
      .nth;
    expect(nth).toEqual({ queueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${QUEUE}` });
    // the URL SQS gives for the queue ends the same (moto answers with its own host)
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))).QueueUrl).toMatch(new RegExp(`/${ACCOUNT}/${QUEUE}$`));
  });

  it('a re-run makes no mutating call and plan shows nothing to do', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], env);
    expect(r.code, r.stderr).toBe(0);
    const calls = r.json<CreateJson>().calls;
    expect(calls.mutating, JSON.stringify(calls.byAction)).toBe(0);
    // the set-up's reads: the queue in three calls, the rules in two, one DescribeLifecycleHooks per node group
    expect(calls.byAction['sqs:ListQueues']).toBe(1);
    expect(calls.byAction['sqs:ListQueueTags']).toBe(2); // ours, and the look-alike (not taken)
    expect(calls.byAction['sqs:GetQueueAttributes']).toBe(1);
    expect(calls.byAction['events:ListRules']).toBe(1);
    expect(calls.byAction['events:ListRuleNamesByTarget']).toBe(1);
    expect(calls.byAction['events:ListTagsForResource']).toBe(1); // the foreign rule under our prefix: not ours
    expect(calls.byAction['autoscaling:DescribeLifecycleHooks']).toBe(2);
    const { code, stderr } = await plan();
    expect(code, stderr).toBe(0);
  });

  it('a hook changed by hand is drift: plan shows the update, create puts it back', async () => {
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: `${ID}-steady`,
        LifecycleHookName: 'kubeaz-drain',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 3600,
        DefaultResult: 'ABANDON',
      }),
    );
    const { code, p } = await plan();
    expect(code).toBe(4);
    expect(p.changes.map((c) => `${c.action} ${c.key}`)).toEqual(['update hook/steady']);
    expect(p.changes[0]!.fields).toEqual([
      { field: 'heartbeatTimeout', from: 3600, to: 300 },
      { field: 'defaultResult', from: 'ABANDON', to: 'CONTINUE' },
    ]);
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect((await hooksOf('steady')).map((h) => [h.HeartbeatTimeout, h.DefaultResult])).toEqual([[300, 'CONTINUE']]);
  });

  it('the queue made on a cluster whose masters run (here: deleted by hand): plan and create say the hooks only delay terminations until a master rollout', async () => {
    const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE }))).QueueUrl!;
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    const { code, p } = await plan();
    expect(code).toBe(4);
    const q = p.changes.find((c) => c.key === 'queue/drain')!;
    expect(q.action).toBe('create');
    const note =
      "until a master rollout (kubeaz rollout) switches the node termination handler to queue-processor mode, the lifecycle hooks only delay each node's termination by their heartbeat (300 s) and nothing drains it";
    expect(q.note).toBe(note);
    // no other change carries it
    expect(p.changes.filter((c) => c.note === note).map((c) => c.key)).toEqual(['queue/drain']);
    const r = await kubeaz(['create', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    // create shows its plan on stdout (its result, as plan's), progress on stderr
    expect(r.stdout).toContain(`note: ${note}`);
    // made: the next plan has nothing to say
    const again = await plan();
    expect(again.code, again.stderr).toBe(0);
    expect(again.p.changes).toEqual([]);
  });

  it("destroy removes the queue, the rules and the hooks, and nothing of another cluster's", async () => {
    const r = await kubeaz(['destroy', '-f', file, '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await ourRules()).toEqual([]);
    const queues = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    expect(queues.map((u) => u.slice(u.lastIndexOf('/') + 1)).sort()).toEqual([`${QUEUE}-lookalike`, OTHER_QUEUE]);
    const left = ((await events.send(new ListRulesCommand({}))).Rules ?? []).map((x) => x.Name).sort();
    expect(left).toEqual([`${ID}-drain-foreign`, 'oth-qa-drain-spot-interruption']);
    for (const name of left) {
      const targets = (await events.send(new ListTargetsByRuleCommand({ Rule: name! }))).Targets ?? [];
      expect(targets.map((t) => t.Arn)).toEqual([`arn:aws:sqs:${REGION}:${ACCOUNT}:${OTHER_QUEUE}`]);
    }
    expect(await inventory(REGION)).toEqual(before);
  });
});
