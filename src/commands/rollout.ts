// Placeholder while this command is being written (see the open issue); it refuses clearly.
import { UsageError } from './session.js';

export async function rolloutCommand(_opts: Record<string, unknown>): Promise<number> {
  throw new UsageError('kubeaz rollout is not available in this build yet');
}
