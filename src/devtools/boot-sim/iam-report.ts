/**
 * boot-sim's `--iam-report FILE`: every AWS call the agents made (recorded by their proxies), named
 * as IAM sees it (iam.ts) while the emulator still knows the tags, with the policies of each
 * instance's role read back from the emulator (inline and attached). The IAM test evaluates it.
 */
import { readFile } from 'node:fs/promises';
import { DescribeAutoScalingInstancesCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAddressesCommand, DescribeInstancesCommand, DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../aws/clients.js';
import { iamRequest, type IamRequest, type PolicyStatement, type RecordedCall } from './iam.js';

export interface IamReport {
  /** role name → its statements (every policy, inline and attached) */
  roles: Record<string, PolicyStatement[]>;
  calls: Array<{ instanceId: string; group: string; agentRole: string; iamRole: string; call: string; request: IamRequest | null }>;
}

const tagsOf = (t: Array<{ Key?: string; Value?: string }> | undefined) =>
  Object.fromEntries((t ?? []).map((x) => [x.Key ?? '', x.Value ?? '']));

function statementsOf(docText: string): PolicyStatement[] {
  const doc = JSON.parse(decodeURIComponent(docText)) as { Statement: PolicyStatement | PolicyStatement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

export async function iamReport(
  aws: AwsClients,
  region: string,
  callsFile: string,
  instances: Array<{ id: string; group: string; role: string }>,
  asgNames: Record<string, string>,
): Promise<IamReport> {
  const lines = (await readFile(callsFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const calls = lines.map((l) => JSON.parse(l) as RecordedCall);
  const ec2 = await aws.ec2();
  const asg = await aws.autoscaling();
  const iam = await aws.iam();
  const account = (await (await aws.sts()).send(new GetCallerIdentityCommand({}))).Account ?? '123456789012';
  // group → instance role, through the launch template's instance profile
  const groupAsg = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: Object.values(asgNames) }));
  const roleOfGroup: Record<string, string> = {};
  const roles: Record<string, PolicyStatement[]> = {};
  const asgTags: Record<string, Record<string, string>> = {};
  for (const g of groupAsg.AutoScalingGroups ?? []) {
    const group = Object.keys(asgNames).find((k) => asgNames[k] === g.AutoScalingGroupName)!;
    asgTags[group] = tagsOf(g.Tags);
    const lt = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    const v = await ec2.send(
      new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt?.LaunchTemplateId, Versions: [lt?.Version ?? '$Latest'] }),
    );
    const prof = v.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.IamInstanceProfile;
    const name = prof?.Name ?? prof?.Arn?.split('/').pop();
    if (!name) continue;
    const ip = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    const role = ip.InstanceProfile?.Roles?.[0]?.RoleName;
    if (!role) continue;
    roleOfGroup[group] = role;
    if (roles[role]) continue;
    const st: PolicyStatement[] = [];
    for (const p of (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []) {
      st.push(...statementsOf((await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: p }))).PolicyDocument!));
    }
    for (const a of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []) {
      try {
        const pol = await iam.send(new GetPolicyCommand({ PolicyArn: a.PolicyArn }));
        const ver = await iam.send(new GetPolicyVersionCommand({ PolicyArn: a.PolicyArn, VersionId: pol.Policy!.DefaultVersionId! }));
        st.push(...statementsOf(ver.PolicyVersion!.Document!));
      } catch {
        /* an AWS managed policy the emulator does not hold: not needed for the agent's calls */
      }
    }
    roles[role] = st;
  }
  const addrTags: Record<string, Record<string, string>> = {};
  for (const a of (await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? [])
    if (a.AllocationId) addrTags[a.AllocationId] = tagsOf(a.Tags);
  const instTags: Record<string, Record<string, string>> = {};
  const ids = instances.map((i) => i.id);
  for (const r of (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }] }))).Reservations ?? [])
    for (const i of r.Instances ?? []) instTags[i.InstanceId!] = tagsOf(i.Tags);
  const groupOf = Object.fromEntries(instances.map((i) => [i.id, i.group]));
  // an instance's group as the auto scaling group knows it (for SetInstanceHealth's resource tags)
  const asgOfInstance: Record<string, string> = {};
  for (let k = 0; k < ids.length; k += 50) {
    const out = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ids.slice(k, k + 50) })).catch(() => undefined);
    for (const a of out?.AutoScalingInstances ?? [])
      asgOfInstance[a.InstanceId!] = Object.keys(asgNames).find((g) => asgNames[g] === a.AutoScalingGroupName) ?? '';
  }
  const lookups = {
    region,
    account,
    asgTagsOfInstance: (id: string) => asgTags[asgOfInstance[id] ?? groupOf[id] ?? ''] ?? {},
    addressTags: (id: string) => addrTags[id] ?? {},
    instanceTags: (id: string) => instTags[id] ?? {},
  };
  return {
    roles,
    calls: calls.map((c) => ({
      instanceId: c.instanceId,
      group: groupOf[c.instanceId] ?? '',
      agentRole: c.role,
      iamRole: roleOfGroup[groupOf[c.instanceId] ?? ''] ?? '',
      call: `${c.service} ${c.method} ${c.url}${c.form?.Action ? ` Action=${c.form.Action}` : ''}`,
      request: iamRequest(c, lookups) ?? null,
    })),
  };
}
