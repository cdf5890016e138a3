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

/** Delay before the next dial after `consecutiveFailures` failures; `random01` in [0, 1). */
export function reconnectDelayMs(
  consecutiveFailures: number,
  policy: BackoffPolicy,
  random01: number,
): number {
  if (peerHealth(consecutiveFailures, policy) === "dead") return policy.maxDelayMs;
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** Math.max(0, consecutiveFailures - 1),
  );
  // Half fixed, half jitter: never hammer, and never let a whole cluster redial in lockstep.
  return Math.round(ceiling / 2 + (ceiling / 2) * random01);
}
