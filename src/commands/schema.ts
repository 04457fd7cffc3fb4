import { specJsonSchema } from '../spec/docs.js';

/** kubeaz schema: the JSON Schema of cluster.yaml on stdout (no AWS, no spec needed). */
export async function schemaCommand(): Promise<number> {
  process.stdout.write(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
  return 0;
}
