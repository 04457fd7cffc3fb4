/**
 * kubeaz get-spec NAME-ENV [--region R] [--output json]: the spec the cluster was last created
 * from, as create keeps it in the cluster's bucket — after a destroy too, while the backups are
 * kept (`kubeaz get-spec demo-dev > cluster.yaml`). The operation: src/operations/get-spec.ts.
 */
import { parse } from 'yaml';
import { CallCounter } from '../aws/clients.js';
import { storedSpec } from '../operations/get-spec.js';
import { respond, watch } from '../operations/envelope.js';

export interface GetSpecOptions {
  region?: string;
  profile?: string;
  output?: string;
}

export async function getSpecCommand(clusterId: string, opts: GetSpecOptions): Promise<number> {
  const json = opts.output === 'json';
  const counter = new CallCounter();
  // the envelope (and an error's, printed by the CLI) names the cluster asked for and counts the calls
  watch.opened(clusterId, counter);
  const s = await storedSpec({
    clusterId,
    counter,
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
  });
  if (json)
    return respond(0, {
      region: s.region,
      accountId: s.accountId,
      location: `s3://${s.bucket}/${s.key}`,
      lastModified: s.lastModified,
      spec: parse(s.text) as unknown,
    });
  else {
    // the spec alone on stdout (> cluster.yaml); where it came from on stderr
    process.stdout.write(s.text);
    process.stderr.write(`(the spec of ${clusterId} from s3://${s.bucket}/${s.key}, written ${s.lastModified ?? 'at an unknown time'})\n`);
  }
  return 0;
}
