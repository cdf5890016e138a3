/**
 * SWIM's period: one member is probed per interval (stretched by local health, see
 * SwimOptions.localHealthMax). 1 s, as SWIM and memberlist's LAN profile: a crash is first
 * suspected within about two intervals, at one probe per node per second.
 */
export const SWIM_PROBE_INTERVAL_MS = 1000;

/**
 * How long a direct probe waits for its ack before asking helpers (indirect probes). Half the
 * interval leaves the other half for the helpers' round trip; an RTT on a LAN or a region is a
 * few milliseconds, so only a lost message or a stalled node lets it pass.
 */
export const SWIM_PROBE_TIMEOUT_MS = 500;

/** Helpers asked to probe a member that missed its direct ack (SWIM's k). */
export const SWIM_INDIRECT_PROBES = 3;

/**
 * Lifeguard's α: a suspicion lasts at least α·max(1, log10 N) probe intervals before the member is
 * declared dead, and at most β times that (SWIM_SUSPICION_MAX_MULT) when no one confirms it.
 */
export const SWIM_SUSPICION_MULT = 4;

/** Lifeguard's β: see SWIM_SUSPICION_MULT. */
export const SWIM_SUSPICION_MAX_MULT = 6;

/** Lifeguard's K: independent confirmations that shrink a suspicion's timeout to its minimum. */
export const SWIM_SUSPICION_CONFIRMATIONS = 3;

/** λ: each membership update is piggybacked λ·ceil(log10(N + 1)) times before it is dropped from the queue. */
export const SWIM_RETRANSMIT_MULT = 4;

/**
 * Lifeguard's local health multiplier ceiling: a node that misses acks and nacks (its own event
 * loop or network is the slow part) stretches its probe interval and timeout up to this many times,
 * so an overloaded node does not accuse healthy ones.
 */
export const SWIM_LOCAL_HEALTH_MAX = 8;

/**
 * An event-loop delay longer than this (measured by the I/O half: monitorEventLoopDelay and the
 * tick's own lateness) counts against local health, and the time it lasted does not count towards
 * any probe or suspicion deadline: an ack or a refutation may have sat unread meanwhile. A fifth of
 * the probe timeout: shorter stalls leave the probe time to see its ack.
 */
export const SWIM_LOOP_LAG_MAX_MS = 100;

/**
 * How long a dead or left member stays in the table (and in `/v1/node`) before it is forgotten: long
 * enough for operators to see it and for every gossip about it to have died out, short enough
 * that a cluster with churn does not fill MEMBERS_MAX with the departed.
 */
export const SWIM_DEAD_MEMBER_RETAIN_MS = 10 * 60_000;

/**
 * SWIM's anti-entropy (memberlist's push/pull): about this often (jittered between half and one and
 * a half times it) a node sends its member table to one random connected member, which merges it and
 * answers with its own. Piggybacked gossip stops after λ·log N sends, so over a bounded set of
 * connections an update can die out before it reaches every node; this exchange bounds how long a
 * node can miss it. With SWIM_PUSH_PULL_MEMBERS_MAX it costs about what the probes of a calm
 * cluster do (about 100 bytes a second per node against 80 to 135 on SwimCluster), far less than
 * the probes of a cluster whose members change (each carries up to 8 updates).
 */
export const SWIM_PUSH_PULL_INTERVAL_MS = 20_000;

/**
 * Most entries one push-pull exchange carries, this node's own included: a larger table goes in
 * parts (the latest changes first, then the others in turn), so the bytes per second do not grow
 * with the cluster: at most 2 × 8 entries of about 127 bytes per exchange. A cluster of up to 8
 * members sends its whole table each time.
 */
export const SWIM_PUSH_PULL_MEMBERS_MAX = 8;

/**
 * A refutation goes straight to every connected member at most this often: a peer that keeps
 * accusing this node (each accusation of its current incarnation is refuted with a higher one)
 * made one MemberSync per connected member per accusation. Within the interval the accuser alone
 * gets it at once (one message per accusation it sent) and the others the latest one when the
 * interval ends; the gossip carries each meanwhile. A probe interval: far below the shortest
 * suspicion timeout (about 5 s), which the straight send is there to beat.
 */
export const SWIM_REFUTATION_BROADCAST_INTERVAL_MS = 1000;

/** Indirect probes this node runs for others at once; more requests are ignored (their requester sees no nack). */
export const SWIM_PENDING_RELAYS_MAX = 64;

export interface SwimOptions {
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly indirectProbes: number;
  readonly suspicionMult: number;
  readonly suspicionMaxMult: number;
  readonly suspicionConfirmations: number;
  readonly retransmitMult: number;
  readonly localHealthMax: number;
  readonly loopLagMaxMs: number;
  readonly deadMemberRetainMs: number;
  readonly pushPullIntervalMs: number;
  readonly pushPullMembersMax: number;
}

export const DEFAULT_SWIM_OPTIONS: SwimOptions = {
  probeIntervalMs: SWIM_PROBE_INTERVAL_MS,
  probeTimeoutMs: SWIM_PROBE_TIMEOUT_MS,
  indirectProbes: SWIM_INDIRECT_PROBES,
  suspicionMult: SWIM_SUSPICION_MULT,
  suspicionMaxMult: SWIM_SUSPICION_MAX_MULT,
  suspicionConfirmations: SWIM_SUSPICION_CONFIRMATIONS,
  retransmitMult: SWIM_RETRANSMIT_MULT,
  localHealthMax: SWIM_LOCAL_HEALTH_MAX,
  loopLagMaxMs: SWIM_LOOP_LAG_MAX_MS,
  deadMemberRetainMs: SWIM_DEAD_MEMBER_RETAIN_MS,
  pushPullIntervalMs: SWIM_PUSH_PULL_INTERVAL_MS,
  pushPullMembersMax: SWIM_PUSH_PULL_MEMBERS_MAX,
};

/**
 * Lifeguard's suspicion timeout for a cluster of `members` (live ones, this node included) after
 * `confirmations` independent accusers beyond the first: from β·min down to min on a log scale
 * as confirmations reach K (at most members − 2: the accused and this node cannot confirm).
 */
export function suspicionTimeoutMs(options: SwimOptions, members: number, confirmations: number): number {
  const minMs =
    options.suspicionMult * Math.max(1, Math.log10(Math.max(1, members))) * options.probeIntervalMs;
  const maxMs = options.suspicionMaxMult * minMs;
  const expected = Math.min(options.suspicionConfirmations, members - 2);
  if (expected < 1) return minMs;
  const fraction = Math.log(Math.min(confirmations, expected) + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * fraction));
}

/** How many times one update is piggybacked in a cluster of `members`. */
export function retransmitLimit(options: SwimOptions, members: number): number {
  return options.retransmitMult * Math.max(1, Math.ceil(Math.log10(members + 1)));
}
