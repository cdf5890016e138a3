import type { NodeId } from "../identity/node-id.ts";
import { NetError } from "./net-error.ts";

/**
 * Wire features a node may require of a peer, rather than only use with peers that have them: a
 * feature whose absence cannot be worked around by leaving a message out. `map-batch` is one: an
 * `lww_map_batch` op is numbered in its origin's sequence like any op, so a peer that cannot
 * decode it can be neither sent it nor sent the ops after it (version vectors are contiguous).
 */
export type RequiredWireFeature = "map-batch";

/**
 * Why a node needs a peer to read multi-field map ops (announce `map-batch`): `switch`, it makes
 * them (`[sync] coalesce_map_writes = true`), so it refuses a peer without the feature at the
 * handshake; `held-op`, its op-log holds one (made by a node with the switch on) that the
 * version vector the peer announced lacks, so the peer would be sent it: a session ends at the
 * first such op, and a handshake is refused while the op-log holds one the peer lacks (an older
 * build redials a session that ended at its backoff's start, at once, but a refused dial at a
 * growing delay).
 */
export type MapBatchNeed = "switch" | "held-op";

/**
 * A node logs a peer's refusal for a missing feature at most once per this interval per peer (and
 * direction), however often an older build redials: as long as a dialer of this build waits after
 * such a refusal (REFUSED_PEER_REDIAL_DELAY_MS).
 */
export const FEATURE_REFUSAL_LOG_INTERVAL_MS = 10 * 60_000;

/**
 * The refusal of `peer` (at `address`) for not announcing `map-batch`: NET_FEATURE_MISSING, not
 * retryable (the peer's redial waits REFUSED_PEER_REDIAL_DELAY_MS, not a backoff loop). Its message
 * is the one line both ends log (the peer gets it in the `Error` frame), naming the peer and the fix.
 */
export function missingMapBatchError(
  local: NodeId,
  peer: NodeId,
  address: string,
  need: MapBatchNeed,
): NetError {
  // Read on both ends (the peer logs it after "refused the connection"): it names both nodes.
  const cannotRead = `peer ${peer} at ${address} runs a build that cannot read multi-field map ops (lww_map_batch; it does not announce the wire feature map-batch, as Numax 0.1.0 does not): upgrade it to a Numax build that announces map-batch`;
  const message =
    need === "switch"
      ? `${cannotRead}; node ${local} has [sync] coalesce_map_writes = true, so it makes such ops and refuses that peer until then (or set coalesce_map_writes = false on every node until every node runs such a build)`
      : `${cannotRead}; node ${local} holds such an op (made by a node with [sync] coalesce_map_writes = true) that the peer must get next, so their session ends: the op stays in the op-log and goes once the peer is upgraded`;
  return new NetError("NET_FEATURE_MISSING", message);
}
