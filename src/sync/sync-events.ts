import { type CrdtFamily, FAMILY_OF_OP_TYPE, type Op } from "../crdt/op.ts";
import type { NodeId } from "../identity/node-id.ts";

/**
 * What sync tells the node's reactive modules (docs/design/event-model.md): keys peers changed,
 * peers coming and going, and module messages from peers. The node sets one sink on its
 * SyncService (`setEventSink`); the sink queues the events (bounded) for the modules.
 */

/** One key a peer changed: one per (family, key) per dispatch; origin = node of the last op on it in the dispatch. */
export interface RemoteChange {
  readonly key: string;
  readonly family: CrdtFamily;
  readonly origin: NodeId;
}

/** What the node's reactive modules learn from sync (set with SyncService.setEventSink). */
export interface SyncEventSink {
  /** After a peer's ops (or a state snapshot's objects) were applied here; never for local ops. */
  remoteChanges(changes: readonly RemoteChange[]): void;
  /**
   * A peer's connection was established / ended (the same moments the PeerManager's onPeerEvent
   * reports, except that a connection replacing another to the same peer is not reported again:
   * events for one peer alternate, starting with `connected`).
   */
  peer(event: "connected" | "disconnected", nodeId: NodeId): void;
  /** A `Publish` from a connected peer (already validated: topic by isValidTopic, payload <= MESSAGE_PAYLOAD_MAX_BYTES). */
  message(from: NodeId, topic: string, payload: Uint8Array): void;
}

/** An object a state snapshot changed here: its origin is the peer that sent the snapshot. */
export interface ChangedObject {
  readonly key: string;
  readonly family: CrdtFamily;
}

/**
 * The changes one dispatch of new remote ops makes: one per (family, key), in the order each key
 * first appears, with the origin of the last op on that key. Pure.
 */
export function remoteChangesOf(ops: readonly Op[]): RemoteChange[] {
  const byKey = new Map<string, { key: string; family: CrdtFamily; origin: NodeId }>();
  for (const op of ops) {
    const family = FAMILY_OF_OP_TYPE[op.kind.type];
    // A family name holds no space, so "family key" names one object.
    const id = `${family} ${op.key}`;
    const change = byKey.get(id);
    if (change === undefined) byKey.set(id, { key: op.key, family, origin: op.origin });
    else change.origin = op.origin;
  }
  return [...byKey.values()];
}
