/**
 * Regions (issue 9 #13): the table kubeaz validates against is the SDK's own partition data, the
 * new regions are accepted, other partitions refused with the reason, zones checked per region,
 * and the alias hosted-zone id comes from AWS's answer with the table only as a fallback.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_REGIONS } from '../../src/spec/regions.js';
import { ELB_HOSTED_ZONE_IDS } from '../../src/model/elb-zones.js';
import { aliasZoneOf } from '../../src/resources/load-balancer.js';
import { parseSpec, SpecError } from '../../src/spec/load.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const spec = (region: string, zones: string[]) => `apiVersion: kubeaz/v1
kind: Cluster
metadata: { name: demo, environment: dev }
spec:
  region: ${region}
  zones: [${zones.join(', ')}]
  kubernetesVersion: "1.35.0"
  network: { vpcCidr: 10.0.0.0/16 }
  controlPlane: { instanceType: m5.large }
`;
const issues = (text: string): string[] => {
  try {
    parseSpec(text, 'cluster.yaml', NOW);
    return [];
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('regions', () => {
  it("the table is exactly the installed SDK's aws partition (fails when the SDK knows a region we do not)", () => {
    const require = createRequire(import.meta.url);
    const core = path.dirname(require.resolve('@aws-sdk/core/package.json'));
    const text = readFileSync(path.join(core, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js'), 'utf8');
    const data = JSON.parse(text.replace(/^export const partitionsInfo = /, '').replace(/;\s*$/, '')) as {
      partitions: Array<{ id: string; regions: Record<string, unknown> }>;
    };
    const sdk = Object.keys(data.partitions.find((p) => p.id === 'aws')!.regions).filter((r) => r !== 'aws-global');
    expect([...AWS_REGIONS].sort()).toEqual(sdk.sort());
  });

  it('accepts eu-central-2, il-central-1, ap-southeast-5, ca-west-1 (refused before)', () => {
    for (const r of ['eu-central-2', 'il-central-1', 'ap-southeast-5', 'ca-west-1'])
      expect(issues(spec(r, [`${r}a`, `${r}b`])), r).toEqual([]);
  });

  it('refuses other partitions with the reason, and names that are no region', () => {
    expect(issues(spec('cn-north-1', ['cn-north-1a', 'cn-north-1b']))).toEqual([
      'spec.region: region is in the aws-cn partition; kubeaz builds only in the commercial aws partition',
    ]);
    expect(issues(spec('us-gov-west-1', ['us-gov-west-1a', 'us-gov-west-1b']))[0]).toMatch(/aws-us-gov partition/);
    expect(issues(spec('us-east-9', ['us-east-9a', 'us-east-9b']))[0]).toMatch(
      /^spec\.region: region is not an AWS region \(known: .*il-central-1/,
    );
  });

  it('checks zone names per region: the region and one letter', () => {
    const got = issues(spec('il-central-1', ['il-central-1a', 'il-central-1-tlv-1a', 'eu-central-2a']));
    expect(got).toEqual([
      "spec.zones[1]: zone 'il-central-1-tlv-1a' is not in region il-central-1 (expected il-central-1a, il-central-1b, …)",
      "spec.zones[2]: zone 'eu-central-2a' is not in region il-central-1 (expected il-central-1a, il-central-1b, …)",
    ]);
  });
});

describe('load balancer alias hosted-zone id', () => {
  it("AWS's answer wins over the table; the table serves an emulator that omits it; unknown is '' (refused by the record), never undefined", () => {
    expect(aliasZoneOf('us-east-1', 'ZANSWERED')).toBe('ZANSWERED');
    expect(aliasZoneOf('us-east-1', undefined)).toBe(ELB_HOSTED_ZONE_IDS['us-east-1']);
    expect(aliasZoneOf('il-central-1', 'ZFROMAWS')).toBe('ZFROMAWS');
    expect(aliasZoneOf('il-central-1', undefined)).toBe('');
  });
});
