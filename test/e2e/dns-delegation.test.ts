/**
 * DNS that resolves (issue 21): a public zone kubeaz makes answers nobody until its parent domain
 * delegates to it. `create` prints the zone's name servers and says the parent must delegate to
 * them; `status` checks the delegation when the parent zone is in the same account (its NS records
 * at the domain against the zone's name servers) and otherwise says it could not. Against moto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { useMoto } from '../helpers/moto.js';
import { kubeaz } from '../helpers/cli.js';

const DOMAIN = 'k8s.example.org';
const spec = `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: dn, environment: qa }
spec:
  region: us-east-1
  zones: [us-east-1a, us-east-1b]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.70.0.0/20, nat: single, apiAccess: [203.0.113.0/24] }
  dns: { publicDomain: ${DOMAIN} }
  controlPlane: { instanceType: t3.medium }
`;

const moto = useMoto({ processEnv: true });

interface StatusJson {
  warnings: string[];
  dns?: { domain: string; zoneId: string; nameServers: string[]; delegation: { state: string }; text: string };
}

describe('the public zone kubeaz makes, and its delegation', { shuffle: false }, () => {
  let dir: string;
  let file: string;
  let r53: Route53Client;
  let zoneId: string;
  let nameServers: string[];
  let parentId: string;

  const status = async () => {
    const r = await kubeaz(['status', '-f', file, '--output', 'json'], moto.env);
    return { json: r.json<StatusJson>(), r, text: await kubeaz(['status', '-f', file], moto.env) };
  };
  const setParentNs = async (values: string[]) =>
    r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: parentId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: `${DOMAIN}.`, Type: 'NS', TTL: 300, ResourceRecords: values.map((Value) => ({ Value })) },
            },
          ],
        },
      }),
    );

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubeaz-dns-'));
    file = path.join(dir, 'cluster.yaml');
    await writeFile(file, spec);
    r53 = new Route53Client({ region: 'us-east-1' });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create: the zone’s name servers, and that the parent domain must delegate to them (text and JSON)', async () => {
    const r = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(r.code, r.stderr).toBe(0);
    const zones = (await r53.send(new ListHostedZonesByNameCommand({ DNSName: `${DOMAIN}.` }))).HostedZones ?? [];
    const zone = zones.find((z) => z.Name === `${DOMAIN}.` && !z.Config?.PrivateZone)!;
    zoneId = zone.Id!.replace('/hostedzone/', '');
    nameServers = ((await r53.send(new GetHostedZoneCommand({ Id: zoneId }))).DelegationSet?.NameServers ?? [])
      .map((n) => n.replace(/\.$/, ''))
      .sort();
    expect(nameServers.length).toBeGreaterThan(0);
    expect(r.json<{ publicZone: unknown }>().publicZone).toEqual({ domain: DOMAIN, zoneId, nameServers });
    expect(r.stderr.replace(/\s+/g, ' ')).toContain(
      `kubeaz made the public zone ${DOMAIN} (${zoneId}): its parent domain must delegate ${DOMAIN} to its name servers (NS records at the parent zone or the registrar): ${nameServers.join(', ')} — kubeaz status checks it`,
    );
    // said on the run that made the zone: a create with nothing to do makes no extra call for it
    const again = await kubeaz(['create', '-f', file, '--yes', '--output', 'json'], moto.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ publicZone?: unknown }>()).not.toHaveProperty('publicZone');
    expect(again.stderr).not.toContain('kubeaz made the public zone');
  }, 240_000);

  it('status, the parent zone not in the account: says it could not check, and what the parent must do', async () => {
    const { json, text } = await status();
    expect(json.dns).toMatchObject({ domain: DOMAIN, zoneId, nameServers, delegation: { state: 'unknown' } });
    expect(json.dns!.text).toBe(
      `could not check the delegation of ${DOMAIN} (the parent zone example.org is not in this account): the parent domain must delegate ${DOMAIN} to ${nameServers.join(', ')}`,
    );
    expect(json.warnings.join('\n')).not.toContain('NOT delegated');
    expect(text.stdout.replace(/\s+/g, ' ')).toContain(`dns: could not check the delegation of ${DOMAIN}`);
  }, 60_000);

  it('status, the parent zone in the account: no NS record → a warning; other name servers → a warning; the zone’s own → delegated', async () => {
    parentId = (
      await r53.send(new CreateHostedZoneCommand({ Name: 'example.org', CallerReference: 'parent-of-k8s' }))
    ).HostedZone!.Id!.replace('/hostedzone/', '');
    let { json, text } = await status();
    expect(json.dns?.delegation.state).toBe('not-delegated');
    const missing = `${DOMAIN} is NOT delegated: the parent zone example.org (${parentId}) has no NS record for it; add an NS record ${DOMAIN} → ${nameServers.join(', ')} there, or its names never resolve`;
    expect(json.warnings).toContain(missing);
    expect(text.stdout.replace(/\s+/g, ' ')).toContain(`warning: ${missing}`);

    await setParentNs(['ns-1.elsewhere.net', 'ns-2.elsewhere.net']);
    ({ json } = await status());
    expect(json.dns?.delegation.state).toBe('not-delegated');
    expect(json.warnings.join('\n')).toContain(
      `the parent zone example.org (${parentId}) names other name servers (ns-1.elsewhere.net, ns-2.elsewhere.net)`,
    );

    await setParentNs(nameServers.map((n) => `${n}.`));
    ({ json, text } = await status());
    expect(json.dns?.delegation.state).toBe('delegated');
    expect(json.warnings.join('\n')).not.toContain('NOT delegated');
    expect(text.stdout.replace(/\s+/g, ' ')).toContain(
      `dns: ${DOMAIN} is delegated to its zone's name servers by the parent zone example.org (${parentId})`,
    );
  }, 120_000);
});
