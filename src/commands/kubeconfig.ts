// Placeholder while this command is being written (see the open issue); it refuses clearly.
import { UsageError } from './session.js';

export async function kubeconfigCommand(_opts: Record<string, unknown>): Promise<number> {
  throw new UsageError('kubeaz kubeconfig is not available in this build yet');
}
