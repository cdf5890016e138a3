import type { NodeId } from "../identity/node-id.ts";
import type { MemberUpdate } from "../net/messages.ts";

/**
 * SWIM's piggyback buffer: the membership updates still to be spread, one per member (a newer
 * update about a member replaces the older one and starts its count again). Each message takes
 * the least-sent ones first; an update is dropped once it went out `limit` times.
 */
export class GossipQueue {
  readonly #entries = new Map<NodeId, { update: MemberUpdate; sent: number }>();

  push(update: MemberUpdate): void {
    this.#entries.delete(update.nodeId);
    this.#entries.set(update.nodeId, { update, sent: 0 });
  }

  /** Up to `max` updates for one message, least sent first (the newest among equals); each counts as sent once. */
  take(max: number, limit: number): MemberUpdate[] {
    if (this.#entries.size === 0) return [];
    const chosen = [...this.#entries.values()]
      .reverse()
      .sort((a, b) => a.sent - b.sent)
      .slice(0, max);
    for (const entry of chosen) {
      entry.sent++;
      if (entry.sent >= limit) this.#entries.delete(entry.update.nodeId);
    }
    return chosen.map((entry) => entry.update);
  }

  get size(): number {
    return this.#entries.size;
  }
}
