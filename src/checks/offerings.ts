/**
 * What the region offers: every zone of the spec exists there, every instance type is offered in
 * every zone (groups span all zones of their tier), and the types of one node group agree on vCPUs
 * and memory (cluster-autoscaler sizes a group by its first type, so a smaller one would be
 * scheduled short).
 */
import { paginateDescribeInstanceTypeOfferings, paginateDescribeInstanceTypes } from '@aws-sdk/client-ec2';
import type { PreflightCheck } from './types.js';

/**
 * Zones: each must exist in the region (a missing one is named as such, not as "m5.large is not
 * offered in …"). Every zone of the region is listed and compared here, whatever a filter did.
 */
export const zones: PreflightCheck<{ zones: readonly string[]; region: string }> = {
  name: 'zones',
  calls: ['ec2:DescribeAvailabilityZones'],
  input: ({ spec }) => ({ zones: spec.spec.zones, region: spec.spec.region }),
  async run(_ctx, { zones, region }, shared, report) {
    const known = await shared.regionZones();
    const missing = zones.filter((z) => !known.has(z));
    if (missing.length)
      report(
        `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in ${region} (its zones: ${[...known]
          .filter((z) => /[a-z]$/.test(z) && z.startsWith(region))
          .sort()
          .join(', ')})`,
      );
  },
};

/** Instance types: every group's types in every zone of the spec that exists. */
export const instanceTypeOfferings: PreflightCheck<{ types: string[]; zones: readonly string[] }> = {
  name: 'instance-type',
  calls: ['ec2:DescribeAvailabilityZones', 'ec2:DescribeInstanceTypeOfferings'],
  input({ spec: { spec: s } }) {
    const types = [...new Set([s.controlPlane.instanceType, ...s.nodeGroups.flatMap((g) => g.instanceTypes ?? [g.instanceType])])].sort();
    return { types, zones: s.zones };
  },
  async run(ctx, { types, zones: wanted }, shared, report) {
    const ec2 = await ctx.aws.ec2();
    const known = await shared.regionZones().catch(() => undefined);
    const zones = known ? wanted.filter((z) => known.has(z)) : [...wanted];
    if (!zones.length) return;
    const offered = new Set<string>();
    for await (const page of paginateDescribeInstanceTypeOfferings(
      { client: ec2 },
      {
        LocationType: 'availability-zone',
        Filters: [
          { Name: 'instance-type', Values: types },
          { Name: 'location', Values: zones },
        ],
      },
    ))
      for (const o of page.InstanceTypeOfferings ?? []) offered.add(`${o.InstanceType}@${o.Location}`);
    for (const t of types) {
      const missing = zones.filter((z) => !offered.has(`${t}@${z}`));
      if (missing.length)
        report(`${t} is not offered in ${missing.join(', ')} (its groups span every zone): choose another type or other zones`);
    }
  },
};

/** The types of one group must be alike: the autoscaler plans with the first one's vCPUs and memory. */
export const instanceTypeSizes: PreflightCheck<{ groups: Array<{ name: string; types: string[] }> }> = {
  name: 'instance-type',
  calls: ['ec2:DescribeInstanceTypes'],
  input({ spec }) {
    const groups = spec.spec.nodeGroups
      .filter((g) => (g.instanceTypes?.length ?? 0) > 1)
      .map((g) => ({ name: g.name, types: g.instanceTypes! }));
    return groups.length ? { groups } : undefined;
  },
  async run(ctx, { groups }, _shared, report) {
    const ec2 = await ctx.aws.ec2();
    const wanted = [...new Set(groups.flatMap((g) => g.types))].sort();
    const sizes = new Map<string, { vcpus: number; memoryMiB: number }>();
    // A filter, not InstanceTypes: one unknown type would fail the whole call (the offerings check names it).
    for await (const page of paginateDescribeInstanceTypes({ client: ec2 }, { Filters: [{ Name: 'instance-type', Values: wanted }] }))
      for (const t of page.InstanceTypes ?? [])
        if (t.InstanceType && wanted.includes(t.InstanceType))
          sizes.set(t.InstanceType, { vcpus: t.VCpuInfo?.DefaultVCpus ?? 0, memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0 });
    for (const g of groups) {
      const known = g.types.filter((t) => sizes.has(t));
      const first = known[0];
      if (!first) continue;
      const want = sizes.get(first)!;
      const odd = known.filter((t) => sizes.get(t)!.vcpus !== want.vcpus || sizes.get(t)!.memoryMiB !== want.memoryMiB);
      if (!odd.length) continue;
      const show = (t: string) => `${t} ${sizes.get(t)!.vcpus} vCPU / ${sizes.get(t)!.memoryMiB} MiB`;
      report(
        `node group ${g.name}: its instance types differ in size (${[first, ...odd].map(show).join(', ')}); cluster-autoscaler sizes the group by its first type (${first}), so list types with the same vCPUs and memory`,
      );
    }
  },
};
