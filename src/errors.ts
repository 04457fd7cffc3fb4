/**
 * The one error model, below every layer (it imports nothing): every failure kubeaz reports on
 * purpose is a KubeazFailure carrying the exit code it ends the command with and where it comes
 * from. cli/main.ts maps them by class, never by name strings.
 *
 * - user: the spec, a flag, a refusal the user can act on (exit 2 for usage and spec problems)
 * - aws: AWS (or the network) answered with something we cannot get past
 * - internal: a bug in kubeaz (a graph that does not hold together)
 */
export type ErrorSource = 'user' | 'aws' | 'internal';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class KubeazFailure extends Error {
  constructor(
    message: string,
    readonly source: ErrorSource,
    readonly exitCode: number = EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A flag or argument the command cannot take: exit 2, with a pointer to --help. */
export class UsageError extends KubeazFailure {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'user', EXIT_USAGE, options);
  }
}
