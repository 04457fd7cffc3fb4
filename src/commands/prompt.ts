/** The one question a command asks before it changes anything (create, destroy, rollout). */
import { UsageError } from '../errors.js';

/** On a terminal, ask; without one, refuse unless --yes. Returns whether to go on. */
export async function confirm(question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new UsageError('refusing without a terminal to confirm on; pass --yes to proceed');
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
