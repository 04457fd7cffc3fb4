// Placeholder while this command is being written (see the open issue); it refuses clearly.
import { UsageError } from './session.js';

export async function planCommand(_opts: Record<string, unknown>): Promise<number> {
  throw new UsageError('kubeaz plan is not available in this build yet');
}
