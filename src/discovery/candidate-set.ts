import type { Logger } from "../observe/logger.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

/**
 * Most candidates one discovery reports; a larger set is cut to its first entries (one warning).
 * `limits.max_peers` is at most 1024, so more could never all be connected anyway.
 */
export const DISCOVERY_CANDIDATES_MAX = 1024;

/**
 * The state every PeerDiscovery keeps: the current candidates, this node's own address and
 * NodeId (never reported), the watchers. Implementations feed it whole sets with `replace`; it
 * normalizes (dedupes by address, drops self, bounds) and tells watchers only on a real change.
 */
export class CandidateSet implements Pick<PeerDiscovery, "discover" | "watch"> {
  readonly #logger: Logger;
  readonly #listeners = new Set<(candidates: readonly PeerCandidate[]) => void>();
  #raw: readonly PeerCandidate[] = [];
  #current: readonly PeerCandidate[] = [];
  #self: PeerCandidate | undefined;
  #closed = false;
  #warnedTooMany = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  discover(): readonly PeerCandidate[] {
    return this.#current;
  }

  watch(listener: (candidates: readonly PeerCandidate[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** This node's own candidate: filtered out from now on. */
  setSelf(self: PeerCandidate): void {
    this.#self = self;
    this.replace(this.#raw);
  }

  /** Replaces the whole set with what the mechanism found now. */
  replace(candidates: readonly PeerCandidate[]): void {
    if (this.#closed) return;
    this.#raw = candidates;
    const next = this.#normalize(candidates);
    if (sameCandidates(next, this.#current)) return;
    this.#current = next;
    for (const listener of [...this.#listeners]) listener(next);
  }

  /** After this, `replace` changes nothing and no watcher is called (the discovery stopped). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }

  #normalize(candidates: readonly PeerCandidate[]): PeerCandidate[] {
    const byAddress = new Map<string, PeerCandidate>();
    for (const candidate of candidates) {
      if (this.#isSelf(candidate)) continue;
      const known = byAddress.get(candidate.address);
      // The entry with a NodeId hint wins: it lets the feed skip a dial.
      if (known === undefined || (known.nodeId === undefined && candidate.nodeId !== undefined)) {
        byAddress.set(candidate.address, candidate);
      }
    }
    // Sorted: a DNS server rotating its answers is no change.
    const all = [...byAddress.values()].sort((a, b) =>
      a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
    );
    if (all.length <= DISCOVERY_CANDIDATES_MAX) return all;
    if (!this.#warnedTooMany) {
      this.#warnedTooMany = true;
      this.#logger.warn(
        `discovery found ${all.length} candidates; only the first ${DISCOVERY_CANDIDATES_MAX} (DISCOVERY_CANDIDATES_MAX) are used`,
      );
    }
    return all.slice(0, DISCOVERY_CANDIDATES_MAX);
  }

  #isSelf(candidate: PeerCandidate): boolean {
    const self = this.#self;
    if (self === undefined) return false;
    return (
      candidate.address === self.address ||
      (candidate.nodeId !== undefined && candidate.nodeId === self.nodeId)
    );
  }
}

/** Same addresses and hints in the same order. */
function sameCandidates(a: readonly PeerCandidate[], b: readonly PeerCandidate[]): boolean {
  return a.length === b.length && a.every((c, i) => c.address === b[i].address && c.nodeId === b[i].nodeId);
}
