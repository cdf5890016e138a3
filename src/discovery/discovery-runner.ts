import type { NodeId } from "../identity/node-id.ts";
import { NetError } from "../net/net-error.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeDiscovery } from "./create-peer-discovery.ts";
import { type CandidateSink, DiscoveryFeed } from "./discovery-feed.ts";
import type { PeerCandidate } from "./peer-discovery.ts";

/**
 * A node's discoveries and their feeds into the peer manager, started and stopped together:
 * `start` before the peer manager starts (the first candidates are dialled as it starts, like
 * `--peer` always was), `announce` once it listens, `stop` before it stops.
 */
export class DiscoveryRunner {
  readonly #entries: readonly NodeDiscovery[];
  readonly #feeds: DiscoveryFeed[];
  #started: NodeDiscovery[] = [];

  constructor(
    entries: readonly NodeDiscovery[],
    sink: CandidateSink,
    ownNodeId: NodeId,
    allowedPeers: readonly NodeId[] | undefined,
    logger: Logger,
  ) {
    this.#entries = entries;
    this.#feeds = entries.map(
      ({ discovery, dropRefused }) =>
        new DiscoveryFeed({ discovery, sink, ownNodeId, allowedPeers, dropRefused, logger }),
    );
  }

  /** Starts every discovery and hands its first set to the peer manager; on failure, stops those started. */
  async start(signal?: AbortSignal): Promise<void> {
    try {
      for (const entry of this.#entries) {
        await entry.discovery.start(signal);
        this.#started.push(entry);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    for (const feed of this.#feeds) feed.start();
  }

  /** Tells every discovery this node's address and NodeId (mdns answers for it; all stop reporting it). */
  async announce(self: PeerCandidate): Promise<void> {
    await Promise.all(this.#started.map(({ discovery }) => discovery.announce(self)));
  }

  /** A dial of `address` failed; one refused for good is dropped by the feeds that drop refused candidates. */
  dialFailed(address: string, error: unknown): void {
    if (!(error instanceof NetError) || error.retryable) return;
    for (const feed of this.#feeds) feed.refused(address, error.message);
  }

  async stop(): Promise<void> {
    for (const feed of this.#feeds) feed.stop();
    const started = this.#started;
    this.#started = [];
    await Promise.all(started.map(({ discovery }) => discovery.stop()));
  }
}
