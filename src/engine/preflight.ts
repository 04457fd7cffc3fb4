/**
 * Pre-flight: before the first mutating call of a create, check in one pass what would make it fail
 * half-way, and report every failure at once. Reads only.
 *
 * - elastic IPs: the region's quota (Service Quotas L-0263D0A3, else EC2's vpc-max-elastic-ips
 *   account attribute) against what the account already holds plus what this create still makes;
 * - VPCs per region (Service Quotas L-F678F1CE, else AWS's default 5) when the VPC is still to make;
 * - every zone of the spec exists in the region (DescribeAvailabilityZones, compared here);
 * - every instance type offered in every zone that exists (one DescribeInstanceTypeOfferings);
 * - the types of one node group (instanceTypes) agree on vCPUs and memory (DescribeInstanceTypes):
 *   cluster-autoscaler sizes a group by its first type, so a smaller one would be scheduled short;
 * - the AMIs exist (DescribeImages) and none is an AL2023 release older than the first whose
 *   repository carries the agent's Node.js (NODEJS in spec/versions.ts); the key pair exists (DescribeKeyPairs);
 * - the public zone, when named and not already ours, is unambiguous (one public zone of that name)
 *   and not another cluster's (a zone kubeaz made for another cluster: its comment names it);
 * - every record this run makes in the public zone has a name nobody else holds (another cluster's
 *   TXT marker, or a record without a kubeaz marker);
 * - every IAM user this run makes has a name no one holds (IAM user names are account-wide);
 * - IRSA's discovery bucket can be public: the account's own Block Public Access (S3 Control)
 *   neither blocks public bucket policies nor restricts public buckets.
 */
import { describeAwsError } from '../aws/errors.js';
import { ENV_TAG, isRef, NAME_TAG, REGION_TAG, type AnyNode, type DesiredGraph } from '../model/types.js';
import type { RunContext } from '../resources/types.js';
import type { ClusterSpec } from '../spec/schema.js';
import type { Plan } from './compare.js';
import { al2023ReleaseBefore, al2023ReleaseOf, NODEJS } from '../spec/versions.js';

/**
 * Why an image cannot run the node agent, or undefined: an AL2023 release (by its name) older than
 * the first whose locked repository carries NODEJS.package. An image whose name is not an AL2023
 * release name (one built by the user) is not judged here.
 */
export function nodejsImageProblem(imageId: string, name: string): string | undefined {
  const release = al2023ReleaseOf(name);
  if (!release || !al2023ReleaseBefore(release, NODEJS.firstAl2023Release)) return undefined;
  return (
    `the image ${imageId} (${name}) is AL2023 ${release}, older than ${NODEJS.firstAl2023Release}, the first release whose repository kubeaz knows to carry ` +
    `${NODEJS.package}: its instances could not install Node.js ${NODEJS.major} to run the kubeaz agent. Use a newer image (or leave spec.ami unset for the latest AL2023)`
  );
}

export interface PreflightFailure {
  check: 'elastic-ips' | 'vpcs' | 'zones' | 'instance-type' | 'ami' | 'key-pair' | 'public-zone' | 'dns-record' | 'iam-user' | 'public-access';
  message: string;
}

export const EIP_QUOTA_CODE = 'L-0263D0A3';
export const VPC_QUOTA_CODE = 'L-F678F1CE';
/** AWS's default VPCs per region, when Service Quotas cannot tell */
export const DEFAULT_VPC_QUOTA = 5;

/** The applied quota value from Service Quotas, or undefined when it does not know (or may not be asked). */
async function serviceQuota(ctx: RunContext, quotaCode: string): Promise<number | undefined> {
  try {
    const { GetServiceQuotaCommand } = await import('@aws-sdk/client-service-quotas');
    const out = await (await ctx.aws.serviceQuotas()).send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quotaCode }));
    return out.Quota?.Value;
  } catch {
    return undefined;
  }
}

async function eipQuota(ctx: RunContext): Promise<{ value: number; source: string }> {
  const q = await serviceQuota(ctx, EIP_QUOTA_CODE);
  if (q !== undefined) return { value: q, source: `Service Quotas ${EIP_QUOTA_CODE}` };
  const { DescribeAccountAttributesCommand } = await import('@aws-sdk/client-ec2');
  const out = await (await ctx.aws.ec2()).send(new DescribeAccountAttributesCommand({}));
  const v = out.AccountAttributes?.find((a) => a.AttributeName === 'vpc-max-elastic-ips')?.AttributeValues?.[0]?.AttributeValue;
  return { value: v !== undefined ? Number(v) : 5, source: v !== undefined ? 'EC2 account attribute vpc-max-elastic-ips' : 'the AWS default' };
}

const nodesOf = <K extends AnyNode['kind']>(graph: DesiredGraph, kind: K) => graph.nodes.filter((n) => n.kind === kind) as Array<Extract<AnyNode, { kind: K }>>;

export async function preflight(
  ctx: RunContext,
  spec: ClusterSpec,
  graph: DesiredGraph,
  plan: Plan,
  opts: { publicZoneOwned: boolean; /** the public zone the cluster uses already (owned or adopted) */ publicZoneId?: string },
): Promise<PreflightFailure[]> {
  const ec2Mod = await import('@aws-sdk/client-ec2');
  const ec2 = await ctx.aws.ec2();
  const s = spec.spec;
  const creates = new Set(plan.changes.filter((c) => c.action === 'create').map((c) => c.key));
  const touched = new Set(plan.changes.filter((c) => c.action === 'create' || c.action === 'update').map((c) => c.key));
  const failures: PreflightFailure[] = [];
  const checks: Array<Promise<void>> = [];
  const guard = (check: PreflightFailure['check'], fn: () => Promise<void>) =>
    checks.push(fn().catch((e: unknown) => void failures.push({ check, message: `could not check: ${describeAwsError(e)}` })));

  // Elastic IPs: what the account holds in the region (ours included) plus what is still to make.
  const eipsNeeded = nodesOf(graph, 'elastic-ip').filter((n) => creates.has(n.key)).length;
  if (eipsNeeded) {
    guard('elastic-ips', async () => {
      const [quota, held] = await Promise.all([eipQuota(ctx), ec2.send(new ec2Mod.DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] }))]);
      const used = held.Addresses?.length ?? 0;
      if (used + eipsNeeded > quota.value)
        failures.push({
          check: 'elastic-ips',
          message: `this create needs ${eipsNeeded} more elastic IP${eipsNeeded === 1 ? '' : 's'} (NAT gateways and loadbalancer groups) but the account holds ${used} of its ${quota.value} in ${s.region} (${quota.source}): ${used + eipsNeeded} > ${quota.value}. Ask for a higher quota, release unused addresses, or use nat: single.`,
        });
    });
  }

  // VPCs per region, when ours is still to make.
  if (creates.has('vpc')) {
    guard('vpcs', async () => {
      const [q, vpcs] = await Promise.all([serviceQuota(ctx, VPC_QUOTA_CODE), ec2.send(new ec2Mod.DescribeVpcsCommand({}))]);
      const quota = q ?? DEFAULT_VPC_QUOTA;
      const used = vpcs.Vpcs?.length ?? 0;
      if (used + 1 > quota) failures.push({ check: 'vpcs', message: `the account has ${used} VPCs in ${s.region} and its quota is ${quota}${q === undefined ? ' (AWS default)' : ''}: no room for the cluster's VPC` });
    });
  }

  // Zones: each must exist in the region (a missing one is named as such, not as "m5.large is
  // not offered in …"). Every zone of the region is listed and compared here, whatever a filter did.
  const existing = ec2.send(new ec2Mod.DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true })).then(
    (out) => new Set((out.AvailabilityZones ?? []).filter((z) => z.RegionName === undefined || z.RegionName === s.region).map((z) => z.ZoneName!)),
  );
  guard('zones', async () => {
    const known = await existing;
    const missing = s.zones.filter((z) => !known.has(z));
    if (missing.length)
      failures.push({
        check: 'zones',
        message: `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in ${s.region} (its zones: ${[...known].filter((z) => /[a-z]$/.test(z) && z.startsWith(s.region)).sort().join(', ')})`,
      });
  });

  // Instance types: every group's types in every zone (groups span all zones of their tier).
  const types = [...new Set([s.controlPlane.instanceType, ...s.nodeGroups.flatMap((g) => g.instanceTypes ?? [g.instanceType])])].sort();
  guard('instance-type', async () => {
    const known = await existing.catch(() => undefined);
    const zones = known ? s.zones.filter((z) => known.has(z)) : [...s.zones];
    if (!zones.length) return;
    const offered = new Set<string>();
    for await (const page of ec2Mod.paginateDescribeInstanceTypeOfferings(
      { client: ec2 },
      { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: types }, { Name: 'location', Values: zones }] },
    ))
      for (const o of page.InstanceTypeOfferings ?? []) offered.add(`${o.InstanceType}@${o.Location}`);
    for (const t of types) {
      const missing = zones.filter((z) => !offered.has(`${t}@${z}`));
      if (missing.length) failures.push({ check: 'instance-type', message: `${t} is not offered in ${missing.join(', ')} (its groups span every zone): choose another type or other zones` });
    }
  });

  // The types of one group must be alike: the autoscaler plans with the first one's vCPUs and memory.
  const mixed = s.nodeGroups.filter((g) => (g.instanceTypes?.length ?? 0) > 1);
  if (mixed.length) {
    guard('instance-type', async () => {
      const wanted = [...new Set(mixed.flatMap((g) => g.instanceTypes!))].sort();
      const sizes = new Map<string, { vcpus: number; memoryMiB: number }>();
      // A filter, not InstanceTypes: one unknown type would fail the whole call (the offerings check names it).
      for await (const page of ec2Mod.paginateDescribeInstanceTypes({ client: ec2 }, { Filters: [{ Name: 'instance-type', Values: wanted }] }))
        for (const t of page.InstanceTypes ?? [])
          if (t.InstanceType && wanted.includes(t.InstanceType)) sizes.set(t.InstanceType, { vcpus: t.VCpuInfo?.DefaultVCpus ?? 0, memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0 });
      for (const g of mixed) {
        const known = g.instanceTypes!.filter((t) => sizes.has(t));
        const first = known[0];
        if (!first) continue;
        const want = sizes.get(first)!;
        const odd = known.filter((t) => sizes.get(t)!.vcpus !== want.vcpus || sizes.get(t)!.memoryMiB !== want.memoryMiB);
        if (odd.length) {
          const show = (t: string) => `${t} ${sizes.get(t)!.vcpus} vCPU / ${sizes.get(t)!.memoryMiB} MiB`;
          failures.push({
            check: 'instance-type',
            message: `node group ${g.name}: its instance types differ in size (${[first, ...odd].map(show).join(', ')}); cluster-autoscaler sizes the group by its first type (${first}), so list types with the same vCPUs and memory`,
          });
        }
      }
    });
  }

  // Images of the launch templates this run makes or changes.
  const images = [...new Set(nodesOf(graph, 'launch-template').filter((n) => touched.has(n.key)).map((n) => n.props.imageId))];
  if (images.length) {
    guard('ami', async () => {
      // A filter, not ImageIds: one unknown id would fail the whole call.
      const out = await ec2.send(new ec2Mod.DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: images }] }));
      const found = new Set((out.Images ?? []).map((i) => i.ImageId));
      for (const id of images) if (!found.has(id)) failures.push({ check: 'ami', message: `the image ${id} does not exist in ${s.region} or is not visible to this account` });
      for (const i of out.Images ?? []) {
        const problem = i.ImageId && images.includes(i.ImageId) ? nodejsImageProblem(i.ImageId, i.Name ?? '') : undefined;
        if (problem) failures.push({ check: 'ami', message: problem });
      }
    });
  }

  if (s.sshKeyName) {
    const name = s.sshKeyName;
    guard('key-pair', async () => {
      const out = await ec2.send(new ec2Mod.DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] }));
      if (!out.KeyPairs?.length) failures.push({ check: 'key-pair', message: `the key pair ${name} does not exist in ${s.region}` });
    });
  }

  // Records this run makes in the public zone, by name.
  const publicRecords = nodesOf(graph, 'dns-record').filter((n) => creates.has(n.key) && isRef(n.props.zoneId) && n.props.zoneId.$ref === 'zone/public');
  const checkRecords = async (zoneId: string) => {
    if (!publicRecords.length) return;
    const { listRecordSets } = await import('../aws/route53.js');
    const { recordHolder } = await import('../resources/dns-record.js');
    const sets = await listRecordSets(ctx, zoneId);
    for (const n of publicRecords) {
      const who = recordHolder(ctx, sets, n.props.name);
      if (who) failures.push({ check: 'dns-record', message: `the record ${n.props.name} (${n.key}) in the public zone ${zoneId} belongs to ${who}: kubeaz will not overwrite it; choose another publicRecord` });
    }
  };

  if (s.dns.publicDomain && !opts.publicZoneOwned) {
    const domain = s.dns.publicDomain.replace(/\.$/, '').toLowerCase();
    guard('public-zone', async () => {
      const { ListHostedZonesByNameCommand } = await import('@aws-sdk/client-route-53');
      const out = await (await ctx.aws.route53()).send(new ListHostedZonesByNameCommand({ DNSName: domain, MaxItems: 100 }));
      const same = (out.HostedZones ?? []).filter((z) => z.Name?.replace(/\.$/, '').toLowerCase() === domain && !z.Config?.PrivateZone);
      if (same.length > 1) {
        failures.push({ check: 'public-zone', message: `${same.length} public hosted zones are named ${domain} (${same.map((z) => z.Id?.replace('/hostedzone/', '')).join(', ')}): kubeaz cannot tell which to use; delete the extra ones` });
        return;
      }
      const zone = same[0];
      if (!zone) return;
      const id = zone.Id!.replace('/hostedzone/', '');
      // A zone kubeaz made for another cluster (its comment `kubeaz:<id> <key>`): adopting it would put
      // our records in a zone that cluster deletes.
      const owner = /^kubeaz:(\S+) /.exec(zone.Config?.Comment ?? '')?.[1];
      if (owner !== undefined && owner !== ctx.clusterId) {
        failures.push({ check: 'public-zone', message: `the public zone ${domain} (${id}) belongs to cluster ${owner} (kubeaz made it for that cluster; its comment says so): kubeaz will not use it for ${ctx.clusterId}; use another publicDomain` });
        return;
      }
      guard('dns-record', () => checkRecords(id));
    });
  } else if (opts.publicZoneId) {
    const id = opts.publicZoneId;
    guard('dns-record', () => checkRecords(id));
  }

  // IAM users: the names are account-wide; one that exists and is not ours (it would be observed) is someone else's.
  const users = nodesOf(graph, 'iam-user').filter((n) => creates.has(n.key));
  if (users.length) {
    guard('iam-user', async () => {
      const { existingUsers } = await import('../resources/iam-user.js');
      for (const u of await existingUsers(ctx, users.map((n) => n.props.name))) {
        const t = u.tags;
        const who =
          t[NAME_TAG] && t[ENV_TAG]
            ? `cluster ${t[NAME_TAG]}/${t[ENV_TAG]}${t[REGION_TAG] ? ` (in ${t[REGION_TAG]})` : ''}`
            : /^\/kubeaz\/([^/]+)\/$/.test(u.path)
              ? `cluster ${/^\/kubeaz\/([^/]+)\/$/.exec(u.path)![1]}`
              : 'someone other than kubeaz';
        failures.push({ check: 'iam-user', message: `the IAM user ${u.name} already exists (path ${u.path}) and belongs to ${who}: IAM user names are account-wide; choose another name in spec.iam.users` });
      }
    });
  }

  // IRSA: STS reads the issuer's documents anonymously. The account's Block Public Access wins over
  // the bucket's: BlockPublicPolicy refuses the bucket's public policy, RestrictPublicBuckets makes
  // it void (anonymous reads denied). Either way the issuer would be unreadable: refuse now.
  const discovery = nodesOf(graph, 'discovery-bucket').filter((n) => touched.has(n.key));
  if (discovery.length) {
    guard('public-access', async () => {
      const { accountPublicAccessBlock } = await import('../resources/discovery-bucket.js');
      const { config } = await accountPublicAccessBlock(ctx);
      const blocking = (['BlockPublicPolicy', 'RestrictPublicBuckets'] as const).filter((k) => config?.[k]);
      if (blocking.length)
        failures.push({
          check: 'public-access',
          message:
            `the account's S3 Block Public Access has ${blocking.join(' and ')} on: the service-account issuer's discovery bucket ${discovery[0]!.props.name} ` +
            `cannot be made publicly readable (STS reads its two documents anonymously). Turn ${blocking.join(' and ')} off at account level ` +
            `(aws s3control put-public-access-block --account-id ${ctx.accountId} …; the ACL blocks may stay on), or set spec.iam.serviceAccountIssuerDiscovery.enabled: false`,
        });
    });
  }

  // checks may add checks (the records, once the public zone is known): wait for all of them
  for (let done = 0; done < checks.length; ) {
    const batch = checks.slice(done);
    done = checks.length;
    await Promise.all(batch);
  }
  const order: PreflightFailure['check'][] = ['elastic-ips', 'vpcs', 'zones', 'instance-type', 'ami', 'key-pair', 'public-zone', 'dns-record', 'iam-user', 'public-access'];
  return failures.sort((a, b) => order.indexOf(a.check) - order.indexOf(b.check));
}
