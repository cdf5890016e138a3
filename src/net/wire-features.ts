import type { NodeId } from "../identity/node-id.ts";

/**
 * Optional parts of the protocol a node announces in its Hello / HelloAck. A message that
 * belongs to a feature is sent only to peers that announced it; everything else (ops, state)
 * works with every peer of the same protocol version.
 *
 * - `pubsub`: the peer accepts `Publish` messages (module messages, docs/design/event-model.md).
 * - `peer-exchange`: the peer accepts `PeerAddresses` messages (docs/design/peer-discovery.md).
 * - `membership`: the peer takes part in SWIM membership: `MemberPing`, `MemberAck`,
 *   `MemberPingReq`, `MemberNack` and `MemberSync` (docs/design/peer-discovery.md#membership).
 *   A change to these messages is a new feature (a new bit), never an edit of this one.
 * - `state-transfer`: the peer replaces its state with a `PushState` marked `replace`
 *   (docs/design/compaction.md: a node back after the tombstone horizon).
 * - `rga-ghosts`: the peer decodes the RGA cells tombstone collection leaves (a ghost, an
 *   anchored element) in a `PushState`; a peer without it gets them as plain elements
 *   (`withoutRgaGhosts`, docs/design/compaction.md).
 * - `map-batch`: the peer decodes `lww_map_batch` ops (op kind 11: many LWW-Map fields in one op,
 *   made by nodes with `[sync] coalesce_map_writes`). Unlike the others this is not a message
 *   that can be left out for a peer without it: ops are numbered per origin and version vectors are
 *   contiguous, so such an op can be neither skipped nor split for that peer. A session that would
 *   have to carry one to such a peer ends instead (`op-feature-guard.ts`, docs/design/compatibility.md).
 */
export type WireFeature =
  | "pubsub"
  | "peer-exchange"
  | "membership"
  | "state-transfer"
  | "rga-ghosts"
  | "map-batch";

/** Every feature this build speaks, in bit order: feature `i` is bit `2^i` of the announcement (at most 31). */
export const WIRE_FEATURES: readonly WireFeature[] = [
  "pubsub",
  "peer-exchange",
  "membership",
  "state-transfer",
  "rga-ghosts",
  "map-batch",
];

/**
 * Where the features travel: an entry of the Hello/HelloAck version vector under this reserved
 * key, holding a bit set. Version 3 decoders refuse any field they do not know, but accept any
 * NodeId → count entry in a version vector and use a peer's announced vector only to look up
 * their own NodeId, so an older build of version 3 takes this Hello as it is and ignores the
 * entry. No node has this NodeId (it would need a key whose SHA-256 starts with 16 zero bytes).
 */
export const FEATURES_VECTOR_KEY = "00000000000000000000000000000000" as NodeId;

/**
 * Where a node's `max_message_size` travels: an entry of the Hello/HelloAck version vector under
 * this reserved key, the largest frame the sender reads, written after the features. Like the
 * features, a version 3 decoder of an older build takes it as one more NodeId → count entry and
 * ignores it; no node has this NodeId either. A peer sends a node no frame over it (a frame over
 * a receiver's limit ends the connection, and the same batch sent after the reconnect ended it
 * again).
 */
export const MESSAGE_SIZE_VECTOR_KEY = "00000000000000000000000000000001" as NodeId;

/**
 * A `PushState` marked `replace` carries this entry (value 1) in its version vector, the same
 * reserved NodeId: sent only to peers that announced `state-transfer`, so no older build sees it.
 */
export const REPLACE_STATE_VECTOR_KEY = FEATURES_VECTOR_KEY;

/** The bit set announcing `features`. */
export function featureBits(features: readonly WireFeature[]): number {
  let bits = 0;
  for (const feature of features) bits |= 1 << WIRE_FEATURES.indexOf(feature);
  return bits;
}

/** The features of a bit set this build knows; bits of later features are ignored. */
export function featuresOfBits(bits: number): WireFeature[] {
  return WIRE_FEATURES.filter((_, i) => Math.floor(bits / 2 ** i) % 2 === 1);
}
