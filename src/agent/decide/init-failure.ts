/**
 * A failed `kubeadm init` (finding 5 of issue 19). PURE. The master that won init.json (or the
 * restore claim) resets and retries up to `maxAttempts` times; then it marks its instance
 * Unhealthy (SetInstanceHealth) so the auto scaling group replaces it: the instance terminates,
 * the records name only gone instances, and another master takes the turn through the restore
 * claim of the cluster this one never finished (decideMaster's lost-for-good rule).
 */
export type InitFailureDecision =
  { action: 'reset-and-retry'; nextAttempt: number; reason: string } | { action: 'mark-unhealthy'; reason: string };

/** `attempt`: the 1-based attempt that just failed. */
export function afterInitFailure(attempt: number, maxAttempts: number): InitFailureDecision {
  if (attempt < maxAttempts)
    return {
      action: 'reset-and-retry',
      nextAttempt: attempt + 1,
      reason: `kubeadm init failed (attempt ${attempt} of ${maxAttempts}): kubeadm reset -f, then again`,
    };
  return {
    action: 'mark-unhealthy',
    reason: `kubeadm init failed ${attempt} time(s): marking this instance Unhealthy so the auto scaling group replaces it and another master takes the turn`,
  };
}
