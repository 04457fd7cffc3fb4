/**
 * Never touch another cluster (issue 9), end to end through the real CLI against moto:
 *   1. the same spec in another region: plan/create refuse, status/destroy say where the cluster
 *      is, and nothing of it changes — both directions, and for a cluster made before the region
 *      tag existed (recognised by its bucket's location);
 *   2. ids that coincide (`a-b`/`c` and `a`/`b-c`): the second spec is refused and touches nothing;
 *   3. two clusters of one name (staging, production) in one account and region live side by side;
 *   4. status/destroy of a cluster that does not exist: one line;
 *   6. a duplicate (two resources claiming one key): create/status name it, destroy deletes both;
 *   9. things kubeaz did not make inside its bucket, role and user are named before destroy asks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRouteTableCommand, DescribeRouteTablesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListRolesCommand,
  ListUsersCommand,
  UntagInstanceProfileCommand,
  UntagRoleCommand,
  UntagUserCommand,
} from '@aws-sdk/client-iam';
import { ChangeTagsForResourceCommand, ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  GetBucketTaggingCommand,
  ListObjectVersionsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';
import { inventory, type Inventory } from '../helpers/inventory.js';

const ACCOUNT = '123456789012';

const spec = (name: string, environment: string, region: string, extra = '') => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: ${name}, environment: ${environment} }
spec:
  region: ${region}
  zones: [${region}a, ${region}b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.${region === 'us-east-1' ? 1 : 2}.0.0/16, nat: single }
  controlPlane: { instanceType: t3.medium }
  nodeGroups:
    - { name: workers, instanceType: t3.medium, minSize: 1, maxSize: 2 }
${extra}`;

interface Calls {
  total: number;
  mutating: number;
}

// The tests of this suite are the steps of one story on one cluster (create, look, change,
// destroy), each building on the one before: declared in order, so a shuffled run keeps it.
describe('never touch another cluster', { shuffle: false, timeout: 900_000 }, () => {
  const moto = useMoto();
  let dir: string;
  let env: Record<string, string>;
  let iam: IAMClient;
  let r53: Route53Client;
  let s3: S3Client;

  /** Writes a spec file and runs a command on it; returns the result and the run's AWS call counts. */
  async function run(cmd: string, file: string, text: string, args: string[] = []) {
    const f = path.join(dir, file);
    await writeFile(f, text);
    const callsFile = path.join(dir, `${file}.calls.json`);
    await rm(callsFile, { force: true });
    const r = await kubeaz([cmd, '-f', f, ...(cmd === 'plan' || cmd === 'status' ? [] : ['--yes']), ...args], {
      ...env,
      KUBEAZ_CALLS_FILE: callsFile,
    });
    let calls: Calls = { total: -1, mutating: -1 };
    try {
      calls = JSON.parse(await readFile(callsFile, 'utf8')) as Calls;
    } catch {
      /* a run that stopped before any call writes none */
    }
    return { ...r, calls };
  }

  /** Everything in both regions (IAM, Route 53 and S3 are global), plus every object version in every bucket. */
  async function world(): Promise<Record<string, unknown>> {
    const [east, west] = await Promise.all([inventory('us-east-1'), inventory('us-west-2')]);
    const objects: Record<string, string[]> = {};
    for (const b of east.buckets ?? []) {
      const v = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
      objects[b] = [
        ...(v.Versions ?? []).map((x) => `${x.Key}@${x.VersionId}`),
        ...(v.DeleteMarkers ?? []).map((x) => `${x.Key}@${x.VersionId} (deleted)`),
      ].sort();
    }
    return {
      east,
      west: { ...west, roles: [], instanceProfiles: [], users: [], hostedZones: [], records: [], buckets: [] } satisfies Inventory,
      objects,
    };
  }

  beforeAll(async () => {
    env = moto.env;
    Object.assign(process.env, env);
    delete process.env.AWS_PROFILE;
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-own-'));
    iam = new IAMClient({ region: 'us-east-1' });
    r53 = new Route53Client({ region: 'us-east-1' });
    s3 = new S3Client({ region: 'us-east-1', forcePathStyle: true });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** plan, create, status and destroy of `text` change nothing anywhere; status/destroy name where the cluster is. */
  async function touchesNothing(text: string, file: string, notFound: RegExp, refused: RegExp) {
    const before = await world();
    const plan = await run('plan', file, text);
    expect(plan.code, plan.stdout + plan.stderr).toBe(1);
    expect(plan.stderr).toMatch(refused);
    const create = await run('create', file, text);
    expect(create.code, create.stderr).toBe(1);
    expect(create.stderr).toMatch(refused);
    expect(create.calls.mutating).toBe(0);
    const status = await run('status', file, text);
    expect(status.code, status.stdout + status.stderr).toBe(3);
    expect(status.stdout.trim().split('\n')).toHaveLength(1);
    expect(status.stdout).toMatch(notFound);
    const destroy = await run('destroy', file, text);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(destroy.stderr).toMatch(notFound);
    expect(destroy.stderr).not.toMatch(/deleted|remains/);
    expect(destroy.calls.mutating).toBe(0);
    expect(await world()).toEqual(before);
  }

  it('4. status and destroy of a cluster that does not exist say so in one line and do nothing', async () => {
    const text = spec('ghost', 'dev', 'us-east-1');
    const status = await run('status', 'ghost.yaml', text);
    expect(status.code).toBe(3);
    expect(status.stdout).toBe('cluster ghost-dev not found in us-east-1\n');
    const json = await run('status', 'ghost.yaml', text, ['--output', 'json']);
    expect(json.code).toBe(3);
    expect(json.json()).toMatchObject({ found: false, message: 'cluster ghost-dev not found in us-east-1' });
    const destroy = await run('destroy', 'ghost.yaml', text);
    expect(destroy.code, destroy.stderr).toBe(0);
    expect(destroy.stderr.trim()).toBe('cluster ghost-dev not found in us-east-1');
    expect(destroy.calls.mutating).toBe(0);
  });

  describe('1. the same spec in another region', () => {
    const east = spec('beta', 'dev', 'us-east-1', '  iam: { users: [{ name: beta-backup, bucketAccess: read }] }\n');
    const west = spec('beta', 'dev', 'us-west-2', '  iam: { users: [{ name: beta-backup, bucketAccess: read }] }\n');

    it('a us-west-2 copy of a us-east-1 cluster touches nothing of it', async () => {
      const c = await run('create', 'beta-east.yaml', east);
      expect(c.code, c.stderr).toBe(0);
      await touchesNothing(
        west,
        'beta-west.yaml',
        /^cluster beta-dev not found in us-west-2 \(cluster beta-dev exists in us-east-1\)$/m,
        /cluster beta-dev exists in us-east-1: kubeaz will not touch it/,
      );
    });

    it('a cluster made before the region tag (recognised by its bucket) is left alone too, and gets the tags on its next create', async () => {
      const old = ['kubeaz:region', 'kubeaz:name', 'kubeaz:environment'];
      const roles = (await iam.send(new ListRolesCommand({ PathPrefix: '/kubeaz/beta-dev/' }))).Roles ?? [];
      for (const r of roles) await iam.send(new UntagRoleCommand({ RoleName: r.RoleName!, TagKeys: old }));
      const profiles = ((await iam.send(new ListInstanceProfilesCommand({}))).InstanceProfiles ?? []).filter(
        (p) => p.Path === '/kubeaz/beta-dev/',
      );
      for (const p of profiles)
        await iam.send(new UntagInstanceProfileCommand({ InstanceProfileName: p.InstanceProfileName!, TagKeys: old }));
      await iam.send(new UntagUserCommand({ UserName: 'beta-backup', TagKeys: old }));
      const zones = ((await r53.send(new ListHostedZonesCommand({}))).HostedZones ?? []).filter((z) =>
        z.Config?.Comment?.startsWith('kubeaz:beta-dev '),
      );
      expect(zones.length).toBeGreaterThan(0);
      for (const z of zones)
        await r53.send(
          new ChangeTagsForResourceCommand({
            ResourceType: 'hostedzone',
            ResourceId: z.Id!.replace('/hostedzone/', ''),
            RemoveTagKeys: old,
          }),
        );
      const Bucket = `kubeaz-beta-dev-${ACCOUNT}`;
      const tags = (await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet ?? [];
      await s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: tags.filter((t) => !old.includes(t.Key!)) } }));

      await touchesNothing(
        west,
        'beta-west.yaml',
        /^cluster beta-dev not found in us-west-2 \(cluster beta-dev exists in us-east-1\)$/m,
        /exists in us-east-1/,
      );

      // Its own spec still owns it: the missing tags are added in place, then nothing changes.
      const again = await run('create', 'beta-east.yaml', east, ['--output', 'json']);
      expect(again.code, again.stderr).toBe(0);
      const out = again.json<{ actions: Array<{ action: string }> }>();
      expect(out.actions.some((a) => a.action === 'create')).toBe(false);
      expect(out.actions.some((a) => a.action === 'update')).toBe(true);
      const third = await run('create', 'beta-east.yaml', east);
      expect(third.code, third.stderr).toBe(0);
      expect(third.calls.mutating).toBe(0);
      const roleTags = (await iam.send(new ListRolesCommand({ PathPrefix: '/kubeaz/beta-dev/' }))).Roles ?? [];
      expect(roleTags.length).toBeGreaterThan(0);
    });

    it('and the reverse: a us-east-1 copy of a us-west-2 cluster touches nothing of it', async () => {
      const d = await run('destroy', 'beta-east.yaml', east);
      expect(d.code, d.stderr).toBe(0);
      const c = await run('create', 'beta-west.yaml', west);
      expect(c.code, c.stderr).toBe(0);
      await touchesNothing(
        east,
        'beta-east.yaml',
        /^cluster beta-dev not found in us-east-1 \(cluster beta-dev exists in us-west-2\)$/m,
        /cluster beta-dev exists in us-west-2/,
      );
      const d2 = await run('destroy', 'beta-west.yaml', west);
      expect(d2.code, d2.stderr).toBe(0);
      expect(d2.stderr).toMatch(/nothing of beta-dev remains/);
    });
  });

  it("2. a spec whose id coincides with another cluster's (a-b/c and a/b-c) is refused and touches nothing", async () => {
    const first = spec('a-b', 'c', 'us-east-1');
    const c = await run('create', 'ab-c.yaml', first);
    expect(c.code, c.stderr).toBe(0);
    await touchesNothing(
      spec('a', 'b-c', 'us-east-1'),
      'a-bc.yaml',
      /^cluster a-b-c not found in us-east-1 \(the cluster id a-b-c is held by cluster a-b\/c \(name a-b, environment c\)\)$/m,
      /the cluster id a-b-c is held by cluster a-b\/c \(name a-b, environment c\)/,
    );
    const d = await run('destroy', 'ab-c.yaml', first);
    expect(d.code, d.stderr).toBe(0);
  });

  it('2. a name derived inside a cluster that another cluster holds (group web-a of coll/dev, group a of coll/dev-web) is refused, naming the holder, and touches nothing', async () => {
    const withGroup = (t: string, g: string) =>
      t.replace('    - { name: workers,', `    - { name: ${g}, instanceType: t3.medium, minSize: 1, maxSize: 1 }\n    - { name: workers,`);
    const first = withGroup(spec('coll', 'dev', 'us-east-1'), 'web-a');
    const c = await run('create', 'coll-dev.yaml', first);
    expect(c.code, c.stderr).toBe(0);
    // today's names are kept: the first cluster's group is coll-dev-web-a
    expect(JSON.stringify(await inventory('us-east-1'))).toMatch(/"coll-dev-web-a"/);
    await touchesNothing(
      withGroup(spec('coll', 'dev-web', 'us-east-1'), 'a'),
      'coll-devweb.yaml',
      /^cluster coll-dev-web not found in us-east-1$/m,
      /auto-scaling-group coll-dev-web-a \(asg\/a\) already exists and belongs to cluster coll\/dev \(in us-east-1\).*launch-template coll-dev-web-a \(lt\/a\) already exists and belongs to cluster coll\/dev/,
    );
    // the holder is whole and plans clean, then goes on its own
    const plan = await run('plan', 'coll-dev.yaml', first, ['--output', 'json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json<{ summary: Record<string, number> }>().summary).toMatchObject({ create: 0, update: 0, delete: 0, refuse: 0 });
    const d = await run('destroy', 'coll-dev.yaml', first);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.stringify(await world())).not.toMatch(/coll-dev/);
  });

  it('3. staging and production of one name create, re-run with zero mutating calls, plan clean and destroy independently', async () => {
    const staging = spec('duo', 'staging', 'us-east-1');
    const production = spec('duo', 'production', 'us-east-1').replace('10.1.0.0/16', '10.3.0.0/16');
    for (const [f, t] of [
      ['duo-s.yaml', staging],
      ['duo-p.yaml', production],
    ] as const) {
      const r = await run('create', f, t);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const [f, t] of [
      ['duo-s.yaml', staging],
      ['duo-p.yaml', production],
    ] as const) {
      const again = await run('create', f, t);
      expect(again.code, again.stderr).toBe(0);
      expect(again.calls.mutating).toBe(0);
      const plan = await run('plan', f, t, ['--output', 'json']);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.json<{ summary: Record<string, number> }>().summary).toMatchObject({ create: 0, update: 0, delete: 0, refuse: 0 });
    }
    const withBoth = await world();
    const d = await run('destroy', 'duo-s.yaml', staging);
    expect(d.code, d.stderr).toBe(0);
    // production is whole: every IAM entity, zone and bucket of it is still there, and it plans clean
    const after = await world();
    const prod = (inv: Record<string, unknown>) =>
      JSON.stringify(inv)
        .match(/[^"]*duo-production[^"]*/g)
        ?.sort();
    expect(prod(after)).toEqual(prod(withBoth));
    expect(prod(after)!.length).toBeGreaterThan(5);
    const plan = await run('plan', 'duo-p.yaml', production, ['--output', 'json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json<{ summary: Record<string, number> }>().summary).toMatchObject({ create: 0, update: 0, delete: 0 });
    const d2 = await run('destroy', 'duo-p.yaml', production);
    expect(d2.code, d2.stderr).toBe(0);
    expect(JSON.stringify(await world())).not.toMatch(/duo-/);
  });

  it('6. a duplicate of a resource is named by create and status, and destroy deletes both', async () => {
    const text = spec('dup', 'dev', 'us-east-1');
    const c = await run('create', 'dup.yaml', text);
    expect(c.code, c.stderr).toBe(0);
    const ec2 = new EC2Client({ region: 'us-east-1' });
    const owned =
      (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:kubeaz:cluster', Values: ['dup-dev'] }] }))).RouteTables ??
      [];
    const original = owned.find((t) => t.Tags?.some((x) => x.Key === 'kubeaz:key' && x.Value === 'rt/public'))!;
    expect(original).toBeDefined();
    // what a repeated create leaves: a second table with the same ownership and key tags
    const dup = await ec2.send(
      new CreateRouteTableCommand({ VpcId: original.VpcId!, TagSpecifications: [{ ResourceType: 'route-table', Tags: original.Tags }] }),
    );
    const dupId = dup.RouteTable!.RouteTableId!;

    const status = await run('status', 'dup.yaml', text, ['--output', 'json']);
    expect(status.json<{ warnings: string[] }>().warnings.join('\n')).toMatch(
      new RegExp(`two route-table resources claim the key rt/public: .*${dupId}`),
    );
    const again = await run('create', 'dup.yaml', text);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/two route-table resources claim the key rt\/public/);
    expect(again.calls.mutating).toBe(0);

    const d = await run('destroy', 'dup.yaml', text);
    expect(d.code, d.stderr).toBe(0);
    const left = (await ec2.send(new DescribeRouteTablesCommand({})))?.RouteTables?.filter(
      (t) => t.RouteTableId === dupId || t.RouteTableId === original.RouteTableId,
    );
    expect(left).toEqual([]);
  });

  it('9. things kubeaz did not make inside its bucket, role and user are named before destroy asks, and in its summary', async () => {
    const text = spec('inside', 'dev', 'us-east-1', '  iam: { users: [{ name: inside-backup, bucketAccess: read }] }\n');
    const c = await run('create', 'inside.yaml', text);
    expect(c.code, c.stderr).toBe(0);
    await s3.send(new PutObjectCommand({ Bucket: `kubeaz-inside-dev-${ACCOUNT}`, Key: 'notes/someone.txt', Body: 'hello' }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'inside-backup' }))).AccessKey!.AccessKeyId!;
    const policy = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'by-hand',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }],
        }),
      }),
    );
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'inside-dev-node', PolicyArn: policy.Policy!.Arn! }));

    // Without a terminal and without --yes, destroy lists them and then refuses to go on.
    const f = path.join(dir, 'inside.yaml');
    const asked = await kubeaz(['destroy', '-f', f], env);
    expect(asked.code).not.toBe(0);
    const before = asked.stderr.slice(0, asked.stderr.indexOf('refusing'));
    expect(before).toContain(`object s3://kubeaz-inside-dev-${ACCOUNT}/notes/someone.txt`);
    expect(before).toContain(`access key ${key} of user inside-backup`);
    expect(before).toContain(`managed policy ${policy.Policy!.Arn!} attached to role inside-dev-node`);
    expect(before).not.toMatch(/bootstrap\/|pki\//);

    const d = await run('destroy', 'inside.yaml', text);
    expect(d.code, d.stderr).toBe(0);
    const summary = d.stderr.slice(d.stderr.indexOf('deleted with their containers'));
    expect(summary).toContain('notes/someone.txt');
    expect(summary).toContain(key);
    expect(summary).toContain('attached to role inside-dev-node');
    expect((await iam.send(new ListUsersCommand({}))).Users?.some((u) => u.UserName === 'inside-backup')).toBe(false);
  });
});
