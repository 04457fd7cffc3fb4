import { SpecError } from '../spec/load.js';
import { loadCheckedSpec } from '../operations/spec.js';
import { clusterIdOf } from '../spec/schema.js';
import { subnetLayout } from '../spec/cidr.js';
import { respond } from '../operations/envelope.js';

export async function validateCommand(opts: { file: string; output?: string }): Promise<number> {
  if (opts.output === 'json') {
    // Terraform's `validate -json`: the verdict on stdout either way; exit 2 when invalid.
    try {
      const { spec, warnings, file } = await loadCheckedSpec(opts.file);
      return respond(0, { valid: true, file, warnings, issues: [] }, { cluster: clusterIdOf(spec) });
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      const issues = e.issues.map((i) => ({
        path: i.path,
        line: i.line ?? null,
        ...(i.column !== undefined ? { column: i.column } : {}),
        message: i.message,
      }));
      return respond(
        e.exitCode,
        { valid: false, file: e.file, issues, warnings: [] },
        { cluster: null, error: { code: 'invalid-spec', message: e.message } },
      );
    }
  }
  const { spec, warnings, file } = await loadCheckedSpec(opts.file);
  const s = spec.spec;
  const layout = subnetLayout(s.network.vpcCidr, s.zones.length)!;
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${file}: valid — cluster ${clusterIdOf(spec)} in ${s.region}, ${s.zones.length} zones (subnets /${layout.prefix}), NAT ${s.network.nat}, ` +
      `${s.nodeGroups.length} node group${s.nodeGroups.length === 1 ? '' : 's'}, Kubernetes ${s.kubernetesVersion}\n`,
  );
  return 0;
}
