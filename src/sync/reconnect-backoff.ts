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

/**
 * Delay before redialing a peer that refused this node for a reason a retry does not fix: an Error
 * frame with `retryable: false` (not in its allowlist, another wire protocol version, an identity
 * its certificate does not prove) or a certificate refused by TLS. Redialing it at the backoff's
 * pace would only repeat the refusal every few seconds on both sides; once per this delay still
 * finds an operator's fix on the other side, and the peer dialing this node in the meantime
 * connects at once.
 */
export const REFUSED_PEER_REDIAL_DELAY_MS = 10 * 60_000;

export type PeerHealth = "healthy" | "suspect" | "dead";

export function peerHealth(consecutiveFailures: number, policy: BackoffPolicy): PeerHealth {
  if (consecutiveFailures === 0) return "healthy";
  return consecutiveFailures >= policy.deadAfterFailures ? "dead" : "suspect";
}

/**
 * Delay before the next dial after `consecutiveFailures` failures; `random01` in [0, 1). `refused`:
 * the last failure was a refusal a retry does not fix (see REFUSED_PEER_REDIAL_DELAY_MS).
 */
export function reconnectDelayMs(
  consecutiveFailures: number,
  policy: BackoffPolicy,
  random01: number,
  refused: boolean,
): number {
  if (refused) return Math.max(policy.maxDelayMs, REFUSED_PEER_REDIAL_DELAY_MS);
  if (peerHealth(consecutiveFailures, policy) === "dead") return policy.maxDelayMs;
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * 2 ** Math.max(0, consecutiveFailures - 1),
  );
  // Half fixed, half jitter: never hammer, and never let a whole cluster redial in lockstep.
  return Math.round(ceiling / 2 + (ceiling / 2) * random01);
}
