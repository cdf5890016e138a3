import type { NodeId } from "../identity/node-id.ts";
import type { VersionVector } from "../net/messages.ts";

/**
 * How far this node's own ops, as its peers announced them in their handshakes, run ahead of
 * what its datastore holds: 0 when it holds all of them (the normal case). More means the
 * datastore lost ops this node made (wiped, or restored from an old copy) while its NodeId, which
 * comes from its certificate, stayed the same. Such a node must get those ops back before it makes
 * new ones: a new op would reuse a sequence number, and peers would drop it as a duplicate. Pure.
 */
export function ownOpsBehindPeers(
  self: NodeId,
  ownSequence: number,
  peers: readonly { readonly announcedVector: VersionVector }[],
): number {
  let highest = 0;
  for (const peer of peers) highest = Math.max(highest, peer.announcedVector.get(self) ?? 0);
  return Math.max(0, highest - ownSequence);
}
