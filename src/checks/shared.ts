/** The reads two pre-flight checks share, each made at most once per pre-flight. */
import { DescribeAvailabilityZonesCommand } from '@aws-sdk/client-ec2';
import { ListHostedZonesByNameCommand } from '@aws-sdk/client-route-53';
import type { CheckContext, SharedReads } from './types.js';

export function sharedReads(ctx: CheckContext, region: string): SharedReads {
  let zones: Promise<Set<string>> | undefined;
  const byName = new Map<string, Promise<Array<{ id: string; comment: string }>>>();
  return {
    // every zone of the region, whatever a filter did (zones and instance-type both read it)
    regionZones: () =>
      (zones ??= ctx.aws
        .ec2()
        .then((ec2) => ec2.send(new DescribeAvailabilityZonesCommand({ AllAvailabilityZones: true })))
        .then(
          (out) =>
            new Set(
              (out.AvailabilityZones ?? []).filter((z) => z.RegionName === undefined || z.RegionName === region).map((z) => z.ZoneName!),
            ),
        )),
    // the public zones of that name (public-zone judges them, dns-record writes into the one usable)
    publicZones(domain) {
      let p = byName.get(domain);
      if (!p) {
        p = ctx.aws
          .route53()
          .then((r53) => r53.send(new ListHostedZonesByNameCommand({ DNSName: domain, MaxItems: 100 })))
          .then((out) =>
            (out.HostedZones ?? [])
              .filter((z) => z.Name?.replace(/\.$/, '').toLowerCase() === domain && !z.Config?.PrivateZone)
              .map((z) => ({ id: z.Id!.replace('/hostedzone/', ''), comment: z.Config?.Comment ?? '' })),
          );
        byName.set(domain, p);
      }
      return p;
    },
  };
}
