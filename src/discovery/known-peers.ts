import type { NodeId } from "../identity/node-id.ts";
import type { PeerCandidate } from "./peer-discovery.ts";

/**
 * Most learned addresses kept; past it the least recently announced one is forgotten. Every
 * address costs a dial target, and `limits.max_peers` is at most 1024.
 */
export const KNOWN_PEERS_MAX = 1024;

/**
 * The addresses this node learned from its peers, by NodeId: what each peer says its own listen
 * address is, and the addresses of the peers it is connected to (peer exchange, `PeerAddresses`).
 * Membership (SWIM, planned) will feed the same book. The bootstrap discovery reports seeds ∪ this.
 * A later announcement for a NodeId replaces the earlier one (a node restarted on another port).
 */
export class KnownPeers {
  readonly #byNodeId = new Map<NodeId, string>();
  readonly #listeners = new Set<() => void>();

  /** Records `entries`; true when the book changed. */
  learn(entries: readonly { nodeId: NodeId; address: string }[]): boolean {
    let changed = false;
    for (const { nodeId, address } of entries) {
      const known = this.#byNodeId.get(nodeId);
      // Re-inserted: a Map keeps insertion order, so the first entry is the least recently announced.
      this.#byNodeId.delete(nodeId);
      this.#byNodeId.set(nodeId, address);
      if (known !== address) changed = true;
    }
    while (this.#byNodeId.size > KNOWN_PEERS_MAX) {
      this.#byNodeId.delete(this.#byNodeId.keys().next().value!);
      changed = true;
    }
    if (changed) this.#notify();
    return changed;
  }

  /** Forgets an address (it failed to answer repeatedly); a peer announcing it again brings it back. */
  forgetAddress(address: string): void {
    let changed = false;
    for (const [nodeId, known] of this.#byNodeId) {
      if (known !== address) continue;
      this.#byNodeId.delete(nodeId);
      changed = true;
    }
    if (changed) this.#notify();
  }

  /** The address a NodeId announced, if any. */
  addressOf(nodeId: NodeId): string | undefined {
    return this.#byNodeId.get(nodeId);
  }

  candidates(): PeerCandidate[] {
    return [...this.#byNodeId].map(([nodeId, address]) => ({ address, nodeId }));
  }

  /** `listener` runs after every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
