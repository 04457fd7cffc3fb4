/**
 * iam-policy: the least-privilege IAM policy a USER needs to run every kubeaz command on this
 * cluster (operations/iam-policy.ts), on stdout, ready for `aws iam create-policy
 * --policy-document file://policy.json`. No AWS call. A managed policy holds 6,144 characters:
 * a larger policy comes in parts (`--part N`), one managed policy each. With --output json: the
 * envelope every command prints, the whole policy under `policy`, the parts under `parts`, and why
 * each statement beyond kubeaz's own calls is there under `sources`.
 */
import { respond, watch } from '../operations/envelope.js';
import { UsageError } from '../errors.js';
import { loadOperatorPolicy, MANAGED_POLICY_QUOTA, policyParts } from '../operations/iam-policy.js';

export interface IamPolicyOptions {
  file: string;
  state?: string;
  output?: string;
  part?: string;
}

export async function iamPolicyCommand(opts: IamPolicyOptions): Promise<number> {
  const { clusterId, policy } = await loadOperatorPolicy(opts.file, opts.state);
  // the envelope (and an error's, printed by the CLI: a --part past the last) names the cluster; iam-policy makes no AWS call
  watch.opened(clusterId);
  const parts = policyParts(policy.policy);
  const part = opts.part === undefined ? undefined : Number(opts.part);
  if (part !== undefined && part > parts.length)
    throw new UsageError(`--part ${part}: the policy of ${clusterId} has ${parts.length} part${parts.length === 1 ? '' : 's'}`);
  if (opts.output === 'json') {
    // the one envelope (operations/envelope.ts)
    return respond(0, {
      policy: part === undefined ? policy.policy : parts[part - 1],
      parts,
      sources: policy.sources,
    });
  }
  const doc = part === undefined ? policy.policy : parts[part - 1]!;
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  const actions = new Set(policy.policy.Statement.flatMap((s) => s.Action));
  const split =
    parts.length > 1
      ? part === undefined
        ? `; larger than the ${MANAGED_POLICY_QUOTA} characters a managed policy holds: create one per part, --part 1 to --part ${parts.length}`
        : `; part ${part} of ${parts.length}`
      : '';
  process.stderr.write(
    `(${policy.policy.Statement.length} statements, ${actions.size} actions for ${clusterId}${split}; ` +
      `the source of each statement beyond kubeaz's own calls: --output json, sources)\n`,
  );
  return 0;
}
