import type { Clock, TimerHandle } from "../clock/clock.ts";
import type { KnownPeers } from "../discovery/known-peers.ts";
import type { NodeId } from "../identity/node-id.ts";
import { formatHostPort, isUnspecifiedHost, parseHostPort } from "../net/host-port.ts";
import { PEER_ADDRESSES_MAX, type PeerAddressesMessage, type SessionMessage } from "../net/messages.ts";
import type { PeerInfo } from "./peer-manager.ts";

/**
 * Least time between two rounds of PeerAddresses to every peer: a node joining a cluster of N
 * costs O(N) messages spread over seconds, never a storm of rounds.
 */
export const PEER_EXCHANGE_INTERVAL_MS = 1000;

type Entries = PeerAddressesMessage["peers"];

/** What peer exchange needs of the peer manager. */
export interface PeerExchangePeers {
  connectedPeers(): PeerInfo[];
  sendTo(peer: NodeId, message: SessionMessage<never>): void;
  listenAddress(): string | undefined;
}

/**
 * Peer exchange (until membership exists): tells peers that announced `peer-exchange` where this
 * node and the peers it is connected to can be dialled, and records what they tell it in
 * `known` (docs/design/peer-discovery.md). A newly connected peer gets the list at once; every
 * peer gets it again when it changed, at most once per PEER_EXCHANGE_INTERVAL_MS.
 */
export class PeerExchange {
  readonly #ownNodeId: NodeId;
  readonly #peers: PeerExchangePeers;
  readonly #known: KnownPeers;
  #lastRound = "";
  #lastRoundAtMs = Number.NEGATIVE_INFINITY;
  #timer: TimerHandle | undefined;
  readonly #clock: Clock;
  #stopped = false;

  constructor(ownNodeId: NodeId, peers: PeerExchangePeers, known: KnownPeers, clock: Clock) {
    this.#ownNodeId = ownNodeId;
    this.#peers = peers;
    this.#known = known;
    this.#clock = clock;
  }

  /** A peer connected: it gets the list now, the others at the next round. */
  connected(peer: NodeId): void {
    const info = this.#peers.connectedPeers().find((p) => p.nodeId === peer);
    if (info?.outbound === true) this.#known.learn([{ nodeId: peer, address: info.address }]);
    if (info?.features.includes("peer-exchange") === true) {
      this.#peers.sendTo(peer, { type: "PeerAddresses", peers: this.entries() });
    }
    this.#scheduleRound();
  }

  /** A PeerAddresses from `from`: the sender's own entry gets the host its connection comes from when it listens on an unspecified one. */
  received(from: NodeId, entries: Entries): void {
    const fromHost = this.#connectionHost(from);
    const learned: { nodeId: NodeId; address: string }[] = [];
    for (const { nodeId, address } of entries) {
      if (nodeId === this.#ownNodeId) continue;
      const { host, port } = parseHostPort(address);
      if (!isUnspecifiedHost(host)) learned.push({ nodeId, address });
      else if (nodeId === from && fromHost !== undefined)
        learned.push({ nodeId, address: formatHostPort(fromHost, port) });
    }
    if (this.#known.learn(learned)) this.#scheduleRound();
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }

  /** This node's listen address, then each connected peer's listen address as far as known (also where a refused peer is sent). */
  entries(): Entries {
    const entries: { nodeId: NodeId; address: string }[] = [];
    const own = this.#peers.listenAddress();
    if (own !== undefined) entries.push({ nodeId: this.#ownNodeId, address: own });
    for (const peer of this.#peers.connectedPeers()) {
      if (entries.length >= PEER_ADDRESSES_MAX) break;
      const address = this.#known.addressOf(peer.nodeId);
      if (address !== undefined) entries.push({ nodeId: peer.nodeId, address });
    }
    return entries;
  }

  #scheduleRound(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const waitMs = Math.max(0, this.#lastRoundAtMs + PEER_EXCHANGE_INTERVAL_MS - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#round();
    }, waitMs);
  }

  /** Sends the list to every peer that reads it, when it differs from the last round's. */
  #round(): void {
    if (this.#stopped) return;
    const entries = this.entries();
    const text = JSON.stringify(entries);
    if (text === this.#lastRound) return;
    this.#lastRound = text;
    this.#lastRoundAtMs = this.#clock.now();
    for (const peer of this.#peers.connectedPeers()) {
      if (peer.features.includes("peer-exchange"))
        this.#peers.sendTo(peer.nodeId, { type: "PeerAddresses", peers: entries });
    }
  }

  #connectionHost(peer: NodeId): string | undefined {
    const info = this.#peers.connectedPeers().find((p) => p.nodeId === peer);
    if (info === undefined) return undefined;
    try {
      return parseHostPort(info.address).host;
    } catch {
      return undefined;
    }
  }
}
