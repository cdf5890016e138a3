/**
 * Exponential backoff with full jitter for redialing a configured peer, and the peer's health
 * as the failures add up. Pure: randomness is passed in.
 */
export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failures after which a peer counts as dead (it is still retried, at the longest delay). */
  deadAfterFailures: number;
}

export type PeerHealth = "healthy" | "suspect" | "dead";

export function peerHealth(consecutiveFailures: number, policy: BackoffPolicy): PeerHealth {
  if (consecutiveFailures === 0) return "healthy";
  return consecutiveFailures >= policy.deadAfterFailures ? "dead" : "suspect";
}

/**
 * Delay before the next dial after `consecutiveFailures` failures; `random01` in [0, 1).
 * `retryable` false: the last failure was a refusal the peer said a retry does not fix (its Error
 * frame, or our own check of its certificate): the longest delay, not the quick climb, so an
 * operator's fix is still picked up but a refusing peer is not redialed in a loop.
 */
export function reconnectDelayMs(
  consecutiveFailures: number,
  policy: BackoffPolicy,
  random01: number,
  retryable = true,
): number {
  if (!retryable || peerHealth(consecutiveFailures, policy) === "dead") return policy.maxDelayMs;
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** Math.max(0, consecutiveFailures - 1),
  );
  // Half fixed, half jitter: never hammer, and never let a whole cluster redial in lockstep.
  return Math.round(ceiling / 2 + (ceiling / 2) * random01);
}
