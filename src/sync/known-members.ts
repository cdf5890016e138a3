import type { NodeId } from "../identity/node-id.ts";

/**
 * Where this node learns of the other nodes of its cluster. SWIM membership is one source among
 * them: an older peer that does not speak it is known only through the others.
 */
export interface MemberSources {
  /** Configured peers (`network.peers` and those added since); a NodeId once one was reached. */
  readonly configured: readonly { readonly nodeId: NodeId | undefined; readonly self: boolean }[];
  /** Connected peers, inbound ones included. */
  readonly connected: readonly { readonly nodeId: NodeId }[];
  /** Peers discovery and peer exchange told this node about. */
  readonly discovered: readonly { readonly nodeId?: NodeId }[];
  /** SWIM members (src/membership/); one that left cleanly is not waited for. */
  readonly members: readonly { readonly nodeId: string; readonly state: string }[];
}

/**
 * The NodeIds of the other members of this node's cluster, sorted: every node that must have
 * seen a remove before its tombstone is collected (docs/design/compaction.md). A configured peer
 * never reached has no NodeId yet and is not among them.
 *
 * @example
 * knownMembers({ configured: peers.configuredPeers(), connected: peers.connectedPeers(), discovered: known.candidates(), members: membership.members() }, self)
 */
export function knownMembers(sources: MemberSources, self: NodeId): readonly NodeId[] {
  const members = new Set<NodeId>();
  for (const peer of sources.configured)
    if (peer.nodeId !== undefined && !peer.self) members.add(peer.nodeId);
  for (const peer of sources.connected) members.add(peer.nodeId);
  for (const peer of sources.discovered) if (peer.nodeId !== undefined) members.add(peer.nodeId);
  // A dead member stays: should it come back, it must have seen the removes (or get state).
  for (const member of sources.members) if (member.state !== "left") members.add(member.nodeId as NodeId);
  members.delete(self);
  return [...members].sort();
}
