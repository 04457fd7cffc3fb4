/**
 * `-f` defaults to `./cluster.yaml` when that file exists (every command taking a spec), as
 * kubectl finds its kubeconfig: `kubeaz plan` in a cluster's directory needs no flag. Neither
 * given nor there is a usage error naming both ways out. PURE: the file system is asked through `exists`.
 */
import path from 'node:path';

export const DEFAULT_SPEC_FILE = 'cluster.yaml';

export type SpecFileChoice = { file: string } | { error: string };

export function specFileOf(given: string | undefined, cwd: string, exists: (file: string) => boolean): SpecFileChoice {
  if (given !== undefined) return { file: given };
  const file = path.join(cwd, DEFAULT_SPEC_FILE);
  if (exists(file)) return { file: DEFAULT_SPEC_FILE };
  return { error: `no spec file: pass -f FILE, or run where ./${DEFAULT_SPEC_FILE} is (there is none in ${cwd})` };
}
