/**
 * The bounded, random set of connections a node keeps when `network.max_connections` is below
 * `limits.max_peers` (docs/design/peer-discovery.md#a-bounded-set-of-connections). Pure: the
 * PeerManager applies these decisions to its dial targets and connections.
 */

/**
 * `network.max_connections` by default: a node dials 5 and holds about 10, so that every member
 * is within three hops (membership probes go through neighbours) up to several hundred nodes.
 * Measured in the whole-node simulator (20 nodes, 5 calm minutes, seeds 2 and 3): with 8 (about
 * 6 each) some members were four hops away and were suspected 36 and 60 times; with 10, once
 * and never; with 12, never. See docs/design/peer-discovery.md#a-bounded-set-of-connections.
 * Clusters of up to 13 nodes stay a full mesh.
 */
export const MAX_CONNECTIONS_DEFAULT = 12;

/**
 * The least `network.max_connections`: with 5 a node dials 2 random members, and random graphs
 * where every node picks 2 are connected, with paths of a few hops. With 1 (a bound of 3 or 4)
 * the overlay is a forest of chains: it splits whenever a link is lost, and members more than
 * three hops away cannot be probed (false suspicions, measured with 7 processes and a bound of 3).
 */
export const MAX_CONNECTIONS_MIN = 5;

/**
 * How often a node with a bound looks at its connections: dials a candidate when it has fewer
 * than `outboundTarget`, redials a departed member, rotates. A lost connection or a failed dial
 * looks at once; this is the catch-all, cheap (no I/O unless a dial is due).
 */
export const OVERLAY_TICK_MS = 1000;

/**
 * A connection to a discovered candidate that ends within this long of opening was most likely
 * refused (the peer's bound was reached): each one in a row doubles the wait before that
 * candidate is picked again (the redial backoff), while the others are picked instead.
 */
export const OVERLAY_SHORT_CONNECTION_MS = 2_000;

/**
 * Mean time between two rotations: one new connection to a random candidate, then one old
 * outbound connection closed, so that the overlay stays random as members come and go (jittered
 * ±50 %). A minute: rotation is for randomness over time, not for repair (lost connections are
 * replaced at once).
 */
export const OVERLAY_ROTATION_INTERVAL_MS = 60_000;

/**
 * How often a node with a bound dials one departed (`dead`) member's address once: after a
 * partition heals, the halves have declared each other dead and hold no connection across, and
 * these dials are what joins them again (SWIM's refutation follows the first connection). 5 s per
 * node is a dial a second for a five-node half and about 10 a second in a 50-node cluster whose
 * other half is away: the first one after the heal lands within a fraction of a second.
 */
export const DEPARTED_REDIAL_INTERVAL_MS = 5_000;

/**
 * How long a member this node refused for lack of room counts among its candidates
 * (`outboundTarget`'s count) although no discovery names it yet. A node that dials every
 * candidate because they fit in the bound (a cluster of up to bound + 1 nodes, a full mesh) is
 * full once the cluster is bound + 1 nodes; a node that joins then is refused by every member,
 * learns of none of them by membership (it holds no connection) and, without this, nobody learns
 * of it: the mesh never made room (churn with 8 nodes under a bound of 5). Counted, the refused
 * member shows the candidates no longer fit, so the full nodes dial only
 * floor((bound − 1) / 2) and trim the rest. A minute outlasts the refused node's redial backoff
 * at its default ceiling (`limits.reconnect_max_delay`, 30 s): by then it holds a connection and
 * membership has brought its address.
 */
export const REFUSED_PEER_COUNTED_MS = 60_000;

/**
 * How many connections a node dials until it holds (those others opened to it count). When the
 * discovered candidates fit in the bound, the bound itself: it dials every one of them (a
 * cluster of up to `bound` + 1 nodes stays a full mesh, and a connection to a peer that is no
 * candidate any more does not stand in for one that is). Otherwise floor((bound − 1) / 2), at
 * least 1, so that two ends never need more than the bound between them: every node dials fewer
 * than half its slots, so some node always has room for one more, and a node refused by a full
 * one is told where else to go.
 *
 * @example
 * outboundTarget(12, 5); // 12: all five candidates
 * outboundTarget(12, 49); // 5: about 10 connections each, at most 12
 */
export function outboundTarget(bound: number, candidates: number): number {
  if (candidates <= bound) return bound;
  return Math.max(1, Math.floor((bound - 1) / 2));
}

/** A random element of `items` (undefined when empty); `random01` in [0, 1). */
export function pickRandom<T>(items: readonly T[], random01: number): T | undefined {
  if (items.length === 0) return undefined;
  return items[Math.min(items.length - 1, Math.floor(random01 * items.length))];
}

/** One outbound connection a rotation may close. */
export interface RotationCandidate<Id> {
  readonly peer: Id;
  /** When it was opened (ms). */
  readonly sinceMs: number;
  /** How many nodes the peer says it is connected to, this one included (peer exchange); undefined when it has not said. */
  readonly peerLinks: number | undefined;
}

/**
 * The connection a rotation closes once its new connection is up: the oldest of those whose peer
 * is connected to at least one other node, so that closing it never leaves that peer without a
 * path (this node itself keeps its new connection). Undefined when none qualifies.
 */
export function rotationVictim<Id>(candidates: readonly RotationCandidate<Id>[]): Id | undefined {
  let oldest: RotationCandidate<Id> | undefined;
  for (const candidate of candidates) {
    if (candidate.peerLinks === undefined || candidate.peerLinks < 2) continue;
    if (oldest === undefined || candidate.sinceMs < oldest.sinceMs) oldest = candidate;
  }
  return oldest?.peer;
}
