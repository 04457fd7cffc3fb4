/** IAM: a role and instance profile per instance role (the policy documents are in ../policies.ts), and the spec's users. */
import { loadbalancerPolicy, masterPolicy, nodePolicy, userPolicy } from '../policies.js';
import { nthScopeOf } from './drain.js';
import { kmsKeyArnOf } from '../encryption.js';
import { ref, type PolicyDocument, type Ref } from '../types.js';
import { irsaGrantsOf, type Area } from './builder.js';
import type { Zones } from './dns.js';

export function iam({ s, id, names, facts, b }: Area, bucketArn: string, { publicZone }: Zones): void {
  // the master may change records in the cluster's zones: its policy references their ARNs
  const zoneArns: Ref[] = [ref('zone/private', 'arn'), ...(publicZone ? [ref('zone/public', 'arn')] : [])];
  const addonsOnMaster = irsaGrantsOf({ s, facts }).masterAddonStatements;
  const nth = nthScopeOf({ s, id, facts });
  const roles: Array<['master' | 'node' | 'loadbalancer', PolicyDocument]> = [
    [
      'master',
      masterPolicy(
        bucketArn,
        zoneArns,
        id,
        s.region,
        facts.accountId,
        !addonsOnMaster,
        kmsKeyArnOf({ spec: s }),
        addonsOnMaster ? nth : undefined,
      ),
    ],
    ['node', nodePolicy(bucketArn)],
  ];
  if (s.nodeGroups.some((g) => g.role === 'loadbalancer'))
    roles.push(['loadbalancer', loadbalancerPolicy(bucketArn, s.region, facts.accountId, id)]);
  for (const [role, policy] of roles) {
    const roleName = names.role(role);
    b.add('iam-role', `role/${role}`, roleName, {
      name: roleName,
      path: names.iamPath,
      assumeService: 'ec2.amazonaws.com',
      policies: { [`kubeaz-${role}`]: policy },
    });
    b.add('instance-profile', `profile/${role}`, roleName, { name: roleName, path: names.iamPath, roleName: ref(`role/${role}`, 'name') });
  }
  for (const u of s.iam.users) {
    b.add('iam-user', `user/${u.name}`, u.name, {
      name: u.name,
      path: names.iamPath,
      policies: { [`kubeaz-bucket-${u.bucketAccess}`]: userPolicy(bucketArn, u.bucketAccess) },
    });
  }
}
