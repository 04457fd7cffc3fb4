import { loadSpecFile } from '../spec/load.js';
import { clusterIdOf } from '../spec/schema.js';
import { subnetLayout } from '../model/cidr.js';

export async function validateCommand(opts: { file: string; output?: string }): Promise<number> {
  const { spec, warnings, file } = await loadSpecFile(opts.file);
  const s = spec.spec;
  const layout = subnetLayout(s.network.vpcCidr, s.zones.length)!;
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ valid: true, file, cluster: clusterIdOf(spec), warnings, issues: [] }, null, 2)}\n`);
    return 0;
  }
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${file}: valid — cluster ${clusterIdOf(spec)} in ${s.region}, ${s.zones.length} zones (subnets /${layout.prefix}), NAT ${s.network.nat}, ` +
      `${s.nodeGroups.length} node group${s.nodeGroups.length === 1 ? '' : 's'}, Kubernetes ${s.kubernetesVersion}\n`,
  );
  return 0;
}
