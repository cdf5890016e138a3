import { isNodeId, type NodeId, randomNodeId } from "../../identity/node-id.ts";
import type { KvBackend } from "../../store/kv-backend.ts";
import { NODE_ID_KEY, ReplicaStoreError, recordPayload, withVersion } from "./replica-layout.ts";

/**
 * The identity a store's node id record (`__nx/node/id`) holds: null when there is no record or
 * its text is not a NodeId. A record of another format throws ReplicaStoreError.
 *
 * @example
 * const nodeId = storedNodeIdOf(backend.get(NODE_ID_KEY)); // "0123...cdef" or null
 */
export function storedNodeIdOf(record: Uint8Array | undefined): NodeId | null {
  if (record === undefined) return null;
  const text = Buffer.from(recordPayload(record, "node id")).toString("latin1");
  return isNodeId(text) ? text : null;
}

/**
 * The NodeId of a node without TLS: read from the store, or made from `randomBytes` and stored
 * (durably, before this resolves) on first start. A TLS node passes its certificate-derived id
 * to the replica instead and never calls this.
 *
 * @example
 * const nodeId = await loadOrCreateNodeId(store, (n) => crypto.getRandomValues(new Uint8Array(n)));
 */
export async function loadOrCreateNodeId(
  backend: KvBackend,
  randomBytes: (n: number) => Uint8Array,
): Promise<NodeId> {
  const stored = backend.get(NODE_ID_KEY);
  if (stored !== undefined) {
    const nodeId = storedNodeIdOf(stored);
    if (nodeId === null)
      throw new ReplicaStoreError(`stored node id is not a NodeId (${stored.length - 1} characters)`);
    return nodeId;
  }
  const nodeId = randomNodeId(randomBytes);
  backend.put(NODE_ID_KEY, withVersion(Buffer.from(nodeId, "latin1")));
  await backend.flushed();
  return nodeId;
}

/**
 * Records the identity of the node opening the store when it is not the one stored (a TLS node's
 * comes from its certificate), so that a snapshot of the store says whose it is. Not awaited to
 * disk: the next commit carries it.
 */
export function recordNodeId(backend: KvBackend, nodeId: NodeId): void {
  if (storedNodeIdOf(backend.get(NODE_ID_KEY)) !== nodeId)
    backend.put(NODE_ID_KEY, withVersion(Buffer.from(nodeId, "latin1")));
}
