/**
 * master.<internal domain> is normally an alias to the internal API load balancer (made by kubeaz).
 * Only when the private zone has no alias record for it does the master point the name at itself
 * (Route 53 through the SDK, as register_dns did with the CLI).
 */
import { ChangeResourceRecordSetsCommand, ListHostedZonesByNameCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { AgentContext } from '../context.js';

const dot = (n: string) => (n.endsWith('.') ? n : `${n}.`);

export async function registerMasterDns(ctx: AgentContext, masterDns: string): Promise<'alias' | 'no-zone' | 'registered'> {
  const r53 = await ctx.aws.route53();
  const domain = dot(ctx.config.internalDomain);
  const zones = await r53.send(new ListHostedZonesByNameCommand({ DNSName: domain }));
  const zone = (zones.HostedZones ?? []).find((z) => z.Name === domain && z.Config?.PrivateZone);
  if (!zone?.Id) {
    ctx.log(`no private zone ${domain}; not registering ${masterDns}`);
    return 'no-zone';
  }
  const name = dot(masterDns);
  const sets = await r53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id, StartRecordName: name, StartRecordType: 'A', MaxItems: 1 }),
  );
  const alias = (sets.ResourceRecordSets ?? []).find((s) => s.Name === name && s.Type === 'A' && s.AliasTarget);
  if (alias) {
    ctx.log(`${masterDns} is an alias to ${alias.AliasTarget!.DNSName}; leaving it`);
    return 'alias';
  }
  ctx.log(`pointing ${masterDns} at ${ctx.identity.privateIp}`);
  await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone.Id,
      ChangeBatch: {
        Changes: [
          { Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: ctx.identity.privateIp }] } },
        ],
      },
    }),
  );
  return 'registered';
}
