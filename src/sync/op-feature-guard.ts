import type { Op as CrdtOp } from "../crdt/op.ts";
import type { RequiredWireFeature } from "../net/missing-feature.ts";
import type { WireFeature } from "../net/wire-features.ts";

/**
 * The wire feature a peer must announce to decode `op`, or undefined when every peer of this wire
 * version decodes it. For the node's CRDT ops: `map-batch` for an `lww_map_batch` op.
 */
export type OpFeature<Op> = (op: Op) => RequiredWireFeature | undefined;

/**
 * The first of `ops` that a peer announcing `peerFeatures` cannot decode, or undefined when it
 * reads them all. Such an op can be neither left out nor split for the peer (ops are numbered per
 * origin and a version vector is contiguous): the caller ends the session instead of sending.
 */
export function firstUnreadableOp<Op>(
  ops: readonly Op[],
  peerFeatures: readonly WireFeature[],
  featureOf: OpFeature<Op>,
): Op | undefined {
  for (const op of ops) {
    const feature = featureOf(op);
    if (feature !== undefined && !peerFeatures.includes(feature)) return op;
  }
  return undefined;
}

/** The node's CRDT ops: every kind but `lww_map_batch` (op kind 11, `map-batch`) is read by every peer of wire version 3. */
export const crdtOpFeature: OpFeature<CrdtOp> = (op) =>
  op.kind.type === "lww_map_batch" ? "map-batch" : undefined;
