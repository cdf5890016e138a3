import type { NodeId } from "../identity/node-id.ts";
import type { Logger } from "../observe/logger.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

/**
 * Where candidates go: the peer manager's two candidate methods. A target is dialled while at
 * least one source names it; removing the last source stops the dialling, and an open connection
 * is kept until it ends.
 */
export interface CandidateSink {
  addCandidate(address: string, source: string): void;
  removeCandidate(address: string, source: string): void;
}

export interface DiscoveryFeedOptions {
  readonly discovery: PeerDiscovery;
  readonly sink: CandidateSink;
  readonly ownNodeId: NodeId;
  /** `tls.allowed_peers` when not empty: a candidate whose NodeId hint is outside it is not dialled. */
  readonly allowedPeers: readonly NodeId[] | undefined;
  /**
   * Drop a candidate refused for a reason a retry does not fix, until it leaves discovery and
   * comes back (mdns, bootstrap: anyone on the LAN or any peer can put one forward). False for
   * lists the operator wrote (static, file, dns-srv): those are redialled like `--peer`.
   */
  readonly dropRefused: boolean;
  readonly logger: Logger;
}

/**
 * Hands one discovery's candidate sets to the peer manager, as additions and removals under the
 * discovery's name (docs/design/peer-discovery.md#from-candidates-to-connections).
 */
export class DiscoveryFeed {
  readonly #options: DiscoveryFeedOptions;
  /** Addresses this feed added to the sink and has not removed. */
  readonly #added = new Set<string>();
  /** Refused addresses, ignored until a set arrives without them. */
  readonly #quarantined = new Set<string>();
  #unwatch: (() => void) | undefined;

  constructor(options: DiscoveryFeedOptions) {
    this.#options = options;
  }

  get source(): string {
    return this.#options.discovery.name;
  }

  /** Applies the discovery's current set, then every set it reports until `stop`. */
  start(): void {
    this.#unwatch = this.#options.discovery.watch((candidates) => this.#apply(candidates));
    this.#apply(this.#options.discovery.discover());
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /**
   * The peer manager refused `address` for good (another CA, an allowlist): with `dropRefused`,
   * one of this feed's candidates is removed and ignored until discovery loses it and finds it again.
   */
  refused(address: string, reason: string): void {
    if (!this.#options.dropRefused || !this.#added.has(address)) return;
    this.#added.delete(address);
    this.#quarantined.add(address);
    this.#options.sink.removeCandidate(address, this.source);
    this.#options.logger.warn("dropped a discovered peer that refused this node (or that it refused)", {
      address,
      source: this.source,
      reason,
    });
  }

  #apply(candidates: readonly PeerCandidate[]): void {
    const { sink, logger } = this.#options;
    const wanted = new Set<string>();
    for (const candidate of candidates) {
      const skip = this.#skipReason(candidate);
      if (skip !== undefined) {
        logger.debug("not dialling a discovered candidate", {
          address: candidate.address,
          source: this.source,
          reason: skip,
        });
        continue;
      }
      wanted.add(candidate.address);
    }
    for (const address of this.#quarantined) if (!wanted.has(address)) this.#quarantined.delete(address);
    for (const address of [...this.#added]) {
      if (wanted.has(address)) continue;
      this.#added.delete(address);
      sink.removeCandidate(address, this.source);
    }
    for (const address of wanted) {
      if (this.#added.has(address) || this.#quarantined.has(address)) continue;
      this.#added.add(address);
      sink.addCandidate(address, this.source);
    }
  }

  #skipReason(candidate: PeerCandidate): string | undefined {
    const { nodeId } = candidate;
    if (nodeId === undefined) return undefined;
    if (nodeId === this.#options.ownNodeId) return "this node itself";
    const allowed = this.#options.allowedPeers;
    if (allowed !== undefined && allowed.length > 0 && !allowed.includes(nodeId))
      return "NodeId not in tls.allowed_peers";
    return undefined;
  }
}
