import type { NodeId } from "../identity/node-id.ts";

/**
 * A place to dial that a discovery mechanism found. Only a candidate: the connection proves who
 * answers (mutual TLS, `tls.allowed_peers`). `nodeId`, when the mechanism reports one (mDNS TXT,
 * a peer's address list), is a hint used only to skip a dial (this node itself, a NodeId the
 * allowlist would refuse), never as an identity.
 */
export interface PeerCandidate {
  /** `host:port` (`[ipv6]:port`), port never 0. */
  readonly address: string;
  readonly nodeId?: NodeId;
}

/**
 * How a node finds peer candidates (docs/design/peer-discovery.md). Implementations: `static`,
 * `bootstrap`, `file`, `dns-srv`, `mdns` (src/discovery/); each runs the contract suite
 * `peer-discovery.contract.ts`. The node starts one after its peer listener is bound, hands every
 * set it reports to the peer manager (`DiscoveryFeed`), and stops it before the peer manager.
 *
 * A user adds a mechanism by implementing these five members.
 *
 * @example
 * const discovery = createStaticDiscovery(["10.0.0.2:9000", "10.0.0.3:9000"]);
 * await discovery.start();
 * discovery.discover(); // [{ address: "10.0.0.2:9000" }, { address: "10.0.0.3:9000" }]
 * const unwatch = discovery.watch((candidates) => console.log(candidates.length));
 * await discovery.announce({ address: "10.0.0.1:9000", nodeId });
 * unwatch();
 * await discovery.stop();
 */
export interface PeerDiscovery {
  /** The mechanism's name, also the source the peer manager records for its candidates. */
  readonly name: string;
  /**
   * Acquires the mechanism's resources and makes its first attempt (reads the file, resolves the
   * name, opens the multicast socket); resolves once `discover()` holds that first result. A
   * source that fails there (a missing file, an unreachable DNS server) is logged, not thrown:
   * it may come back. Rejects only for what a retry cannot fix (a socket that cannot be bound).
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Releases everything; idempotent. No `watch` listener is called once it resolved. */
  stop(): Promise<void>;
  /** The current candidates: deduplicated, never this node's own announced address or NodeId. */
  discover(): readonly PeerCandidate[];
  /**
   * Makes this node findable where the mechanism can (mDNS answers queries for it); also tells
   * the mechanism which address and NodeId are this node's own, so it never reports them.
   */
  announce(self: PeerCandidate): Promise<void>;
  /** Calls `listener` with the whole new set after every change; returns the unsubscribe function. */
  watch(listener: (candidates: readonly PeerCandidate[]) => void): () => void;
}
