import type { Op as CrdtOp } from "../crdt/op.ts";
import type { RequiredWireFeature } from "../net/missing-feature.ts";
import type { WireFeature } from "../net/wire-features.ts";

/**
 * The wire feature a peer must announce to decode `op`, or undefined when every peer of this wire
 * version decodes it. For the node's CRDT ops: `map-batch` for an `lww_map_batch` op.
 */
export type OpFeature<Op> = (op: Op) => RequiredWireFeature | undefined;

/**
 * What of `ops` goes to a peer announcing `peerFeatures`: `ops` itself when it decodes them all;
 * without the ops it cannot decode but holds already (`peerHolds`: its version vector covers
 * them, as after a snapshot), which it would skip as duplicates; undefined when it lacks one it
 * cannot decode. Such an op can be neither left out nor split for the peer (ops are numbered per
 * origin and a version vector is contiguous): the caller ends the session instead of sending.
 */
export function opsForPeer<Op>(
  ops: readonly Op[],
  peerFeatures: readonly WireFeature[],
  featureOf: OpFeature<Op>,
  peerHolds: (op: Op) => boolean,
): readonly Op[] | undefined {
  let kept: Op[] | undefined;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index]!;
    const feature = featureOf(op);
    if (feature === undefined || peerFeatures.includes(feature)) kept?.push(op);
    else if (!peerHolds(op)) return undefined;
    else kept ??= ops.slice(0, index);
  }
  return kept ?? ops;
}

/** The node's CRDT ops: every kind but `lww_map_batch` (op kind 11, `map-batch`) is read by every peer of wire version 3. */
export const crdtOpFeature: OpFeature<CrdtOp> = (op) =>
  op.kind.type === "lww_map_batch" ? "map-batch" : undefined;
