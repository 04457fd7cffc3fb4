/**
 * The public hosted zone kubeaz made for the cluster (not one it adopted): a zone nobody delegates
 * to answers nobody, so `create` prints its name servers and that the parent domain must delegate
 * to them, and `status` checks that it does when the parent zone is in the same account.
 */
import { delegationOf, delegationText, zoneNameServers, type Delegation } from '../aws/route53.js';
import type { Actual } from '../resources/types.js';
import type { Session } from './session.js';

export interface PublicZoneDns {
  domain: string;
  zoneId: string;
  nameServers: string[];
  /** present when checked (status) */
  delegation?: Delegation;
  /** what to tell the user */
  text: string;
}

/** The cluster's own public zone, its name servers, and (`check`) the parent's delegation; undefined without one. */
export async function publicZoneDns(s: Session, actuals: ReadonlyMap<string, Actual>, check: boolean): Promise<PublicZoneDns | undefined> {
  const zone = actuals.get('zone/public');
  if (!zone || zone.attrs.adopted === 'true') return undefined;
  const domain = zone.attrs.name ?? s.spec.spec.dns.publicDomain ?? zone.id;
  const nameServers = await zoneNameServers(s.ctx, zone.id);
  const base = { domain, zoneId: zone.id, nameServers };
  if (!check)
    return {
      ...base,
      text:
        `kubeaz made the public zone ${domain} (${zone.id}): its parent domain must delegate ${domain} to its name servers ` +
        `(NS records at the parent zone or the registrar): ${nameServers.join(', ')} — kubeaz status checks it`,
    };
  const delegation = await delegationOf(s.ctx, domain, nameServers);
  return { ...base, delegation, text: delegationText(domain, nameServers, delegation) };
}
