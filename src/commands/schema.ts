import { specJsonSchema } from '../spec/docs.js';
import { respond } from '../operations/envelope.js';

/**
 * kubeaz schema: the JSON Schema of cluster.yaml on stdout (no AWS, no spec needed); with
 * `--output json`, inside the JSON envelope as `schema`.
 */
export async function schemaCommand(opts: { output?: string } = {}): Promise<number> {
  if (opts.output === 'json') return respond(0, { schema: specJsonSchema() }, { cluster: null });
  process.stdout.write(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
  return 0;
}
