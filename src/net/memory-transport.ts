import { backgroundClock, type Clock, type TimerHandle } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import { type Logger, silentLogger } from "../observe/logger.ts";
import type { Connection } from "./connection.ts";
import { resolveConnectionLimits } from "./connection-limits.ts";
import type { Frame } from "./frame.ts";
import type { FrameLink, FrameLinkEvents } from "./frame-link.ts";
import { establishConnection } from "./framed-connection.ts";
import type { Message } from "./messages.ts";
import { NetError } from "./net-error.ts";
import { handshakePolicyFrom, type Listener, type Transport, type TransportOptions } from "./transport.ts";

/** One frame in flight between two in-memory endpoints, as routing hooks see it. */
export interface MemoryPacket {
  readonly fromNodeId: NodeId;
  readonly toNodeId: NodeId;
  readonly fromAddress: string;
  readonly toAddress: string;
  readonly message: Message<unknown>;
  /** Encoded body size: what the frame would weigh on a socket, minus the 5 header bytes. */
  readonly bodyBytes: number;
}

/**
 * A frame's fate: delivered after this many ms, after each of these delays (duplicated: the peer
 * reads it once per entry), or dropped.
 */
export type MemoryRoute = number | readonly number[] | "drop";

/** When a route drops a Hello or HelloAck, it arrives this much later instead (TCP's initial retransmission timeout). */
const HANDSHAKE_RETRANSMIT_MS = 1_000;

export interface MemoryNetworkOptions {
  /** Time for delivery delays and every connection's timeouts; tests and the simulator pass a VirtualClock. */
  readonly clock?: Clock;
  /**
   * Decides each frame's fate (see MemoryRoute). Default: delay 0. Frames of one direction of one
   * connection are still delivered in order (a delayed frame holds back later ones), as on a TCP
   * stream, unless `inOrder` is false; a dropped frame is lost like data on a connection that broke.
   */
  readonly route?: (packet: MemoryPacket) => MemoryRoute;
  /**
   * false: each frame is delivered after its own delay, so a later frame may overtake an earlier
   * one (the simulator's reordering); a graceful close still arrives after every frame. Default true.
   * The handshake (Hello, HelloAck) still travels as on a stream, once and in order: no frame
   * overtakes it and it overtakes none, a route's duplicates of it are delivered once, and a
   * route's drop of it delays it by HANDSHAKE_RETRANSMIT_MS instead. Frames
   * after it (the session the sync protocol runs) are reordered and duplicated as routed.
   */
  readonly inOrder?: boolean;
  /** Decides whether a dial reaches its listener; false refuses it (a partition). Default: always. */
  readonly canConnect?: (fromNodeId: NodeId, toNodeId: NodeId) => boolean;
}

export interface MemoryTransportOptions<Op> extends TransportOptions<Op> {
  readonly nodeId: NodeId;
  /** How this node's outbound connections appear as `remoteAddress` to listeners; default the NodeId. */
  readonly name?: string;
}

/**
 * An in-process network for tests. Transports made from it run the same handshake, keepalive,
 * timeouts and codecs as the socket transports (every frame is really encoded and decoded); only
 * the bytes move through memory. NodeIds are claimed, as on plain TCP.
 * Senders get no backpressure (frames queue in memory). With a virtual clock, deliveries, timeouts
 * and graceful closes happen only as the test advances its clock.
 *
 * @example
 * const clock = createVirtualClock(); // src/clock/virtual-clock.ts
 * const network = createMemoryNetwork({ clock, route: () => 5 });
 * const a = network.transport({ nodeId: idA, codec, versionVector: () => syncA.versionVector() });
 * await a.listen("a", (connection) => syncA.adopt(connection));
 */
export interface MemoryNetwork {
  transport<Op>(options: MemoryTransportOptions<Op>): Transport<Op>;
  /**
   * Breaks every open connection whose ends satisfy `predicate` (checked in both orders): both
   * sides see NET_CONNECTION_LOST. Returns how many connections broke.
   */
  breakConnections(predicate: (a: NodeId, b: NodeId) => boolean): number;
}

interface Endpoint {
  readonly nodeId: NodeId;
  readonly accept: (link: MemoryFrameLink) => void;
}

export function createMemoryNetwork(networkOptions: MemoryNetworkOptions = {}): MemoryNetwork {
  const clock = networkOptions.clock ?? backgroundClock;
  const listeners = new Map<string, Endpoint>();
  // The dialer side of every open connection.
  const openConnections = new Set<MemoryFrameLink>();
  let dialCount = 0;

  const network: MemoryNetwork = {
    transport<Op>(options: MemoryTransportOptions<Op>): Transport<Op> {
      const policy = handshakePolicyFrom(options.nodeId, options);
      const limits = resolveConnectionLimits(options.limits);
      const logger: Logger = options.logger ?? silentLogger;
      const name = options.name ?? options.nodeId;
      const connectionClock = options.clock ?? clock;
      const establish = (link: MemoryFrameLink, role: "dialer" | "listener", signal?: AbortSignal) =>
        establishConnection({
          link,
          role,
          policy,
          versionVector: options.versionVector,
          codec: options.codec,
          limits,
          clock: connectionClock,
          logger,
          traffic: options.traffic,
          signal,
        });

      return {
        localNodeId: options.nodeId,
        authenticated: false,

        async listen(address, onConnection) {
          if (address.length === 0 || listeners.has(address)) {
            throw new NetError(
              "NET_LISTEN_FAILED",
              `cannot listen on ${JSON.stringify(address)}: ${address.length === 0 ? "empty address" : "address already in use"}`,
            );
          }
          const connections = new Set<Connection<Op>>();
          let closing = false;
          listeners.set(address, {
            nodeId: options.nodeId,
            accept(link) {
              establish(link, "listener").then(
                (connection) => {
                  if (closing) {
                    void connection.close("listener closed");
                    return;
                  }
                  connections.add(connection);
                  void connection.closed.then(() => connections.delete(connection));
                  onConnection(connection);
                },
                (error: NetError) =>
                  logger.warn(`refused inbound connection from ${link.remoteAddress}: ${error.message}`, {
                    address: link.remoteAddress,
                    code: error.code,
                  }),
              );
            },
          });
          return {
            address,
            async close() {
              if (closing) return;
              closing = true;
              listeners.delete(address);
              await Promise.all([...connections].map((connection) => connection.close("listener closed")));
            },
          } satisfies Listener;
        },

        async dial(address, signal) {
          if (signal?.aborted) {
            throw new NetError("NET_ABORTED", `connecting to ${address} was aborted`, {
              cause: signal.reason,
            });
          }
          const endpoint = listeners.get(address);
          if (
            endpoint === undefined ||
            !(networkOptions.canConnect?.(options.nodeId, endpoint.nodeId) ?? true)
          ) {
            throw new NetError(
              "NET_DIAL_FAILED",
              `cannot connect to ${address}: connection refused (is the peer running?)`,
            );
          }
          dialCount++;
          const dialerAddress = `${name}#${dialCount}`;
          const route = networkOptions.route ?? (() => 0);
          const inOrder = networkOptions.inOrder ?? true;
          const dialerSide = new MemoryFrameLink(
            address,
            options.nodeId,
            endpoint.nodeId,
            clock,
            route,
            inOrder,
          );
          const listenerSide = new MemoryFrameLink(
            dialerAddress,
            endpoint.nodeId,
            options.nodeId,
            clock,
            route,
            inOrder,
          );
          dialerSide.pairWith(listenerSide);
          listenerSide.pairWith(dialerSide);
          openConnections.add(dialerSide);
          void dialerSide.closedSignal.then(() => openConnections.delete(dialerSide));
          endpoint.accept(listenerSide);
          return establish(dialerSide, "dialer", signal);
        },
      };
    },

    breakConnections(predicate) {
      let broken = 0;
      for (const link of [...openConnections]) {
        if (
          predicate(link.localNodeId, link.remoteNodeId) ||
          predicate(link.remoteNodeId, link.localNodeId)
        ) {
          link.breakBothSides();
          broken++;
        }
      }
      return broken;
    },
  };
  return network;
}

type Delivery = { readonly kind: "frame"; readonly frame: Frame } | { readonly kind: "end" };

/** One end of an in-memory connection. Frames to the peer go through a FIFO pipe with routed delays. */
class MemoryFrameLink implements FrameLink {
  readonly remoteAddress: string;
  readonly provenNodeId = undefined;
  readonly localNodeId: NodeId;
  readonly remoteNodeId: NodeId;
  readonly #clock: Clock;
  readonly #route: (packet: MemoryPacket) => MemoryRoute;
  readonly #inOrder: boolean;
  #resolveClosedSignal: () => void = () => {};
  /** Resolves when this side has closed. */
  readonly closedSignal = new Promise<void>((resolve) => {
    this.#resolveClosedSignal = resolve;
  });
  #peer: MemoryFrameLink | undefined;
  #events: FrameLinkEvents | undefined;
  readonly #inbox: Frame[] = [];
  #paused = false;
  #closed = false;
  #closeError: NetError | undefined;
  #endSent = false;
  readonly #endWaiters: Array<() => void> = [];
  // Outgoing pipe, sorted by delivery time (in order: each no earlier than the one before it).
  readonly #outgoing: Array<{ at: number; delivery: Delivery }> = [];
  #lastDeliveryAt = Number.NEGATIVE_INFINITY;
  /** When the latest handshake frame is delivered: out of order, later frames still come after it. */
  #lastBarrierAt = Number.NEGATIVE_INFINITY;
  #pumpTimer: TimerHandle | undefined;

  constructor(
    remoteAddress: string,
    localNodeId: NodeId,
    remoteNodeId: NodeId,
    clock: Clock,
    route: (packet: MemoryPacket) => MemoryRoute,
    inOrder: boolean,
  ) {
    this.remoteAddress = remoteAddress;
    this.localNodeId = localNodeId;
    this.remoteNodeId = remoteNodeId;
    this.#clock = clock;
    this.#route = route;
    this.#inOrder = inOrder;
  }

  pairWith(peer: MemoryFrameLink): void {
    this.#peer = peer;
  }

  start(events: FrameLinkEvents): void {
    this.#events = events;
    if (this.#closed) {
      events.closed(this.#closeError);
      return;
    }
    this.#drainInbox();
  }

  send(frame: Frame, message: Message<unknown>): Promise<void> {
    if (this.#closed || this.#endSent) {
      return Promise.reject(
        new NetError("NET_CONNECTION_CLOSED", `connection to ${this.remoteAddress} is closed`),
      );
    }
    const decision = this.#route({
      fromNodeId: this.localNodeId,
      toNodeId: this.remoteNodeId,
      fromAddress: this.#peer?.remoteAddress ?? "",
      toAddress: this.remoteAddress,
      message,
      bodyBytes: frame.body.byteLength,
    });
    // The handshake relies on its stream's order (a Hello twice, or a session frame before the
    // HelloAck, is a protocol violation that ends the connection): reordering and duplication
    // model what the session above it must take, not a stream that TCP never delivers. A stream
    // does not lose a handshake frame and deliver the next either: a lost one arrives late, once
    // retransmitted.
    const handshake = message.type === "Hello" || message.type === "HelloAck";
    if (decision === "drop" && !handshake) return Promise.resolve();
    const delays =
      decision === "drop" ? [HANDSHAKE_RETRANSMIT_MS] : typeof decision === "number" ? [decision] : decision;
    for (const delayMs of handshake ? delays.slice(0, 1) : delays) {
      this.#enqueue(Math.max(0, delayMs), { kind: "frame", frame }, handshake);
    }
    return Promise.resolve();
  }

  limitFrameSize(): void {}

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#drainInbox();
  }

  end(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const ended = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (!this.#endSent) {
      this.#endSent = true;
      this.#enqueue(0, { kind: "end" });
    }
    return ended;
  }

  destroy(error?: NetError): void {
    if (this.#closed) return;
    this.#closeLocally(error);
    const peer = this.#peer;
    if (peer === undefined) return;
    this.#clock.setTimeout(
      () =>
        peer.#closeLocally(
          new NetError("NET_CONNECTION_LOST", `connection to ${peer.remoteAddress} was reset by the peer`),
        ),
      0,
    );
  }

  breakBothSides(): void {
    const lost = (link: MemoryFrameLink) =>
      new NetError("NET_CONNECTION_LOST", `connection to ${link.remoteAddress} broke (network fault)`);
    this.#closeLocally(lost(this));
    if (this.#peer) this.#peer.#closeLocally(lost(this.#peer));
  }

  /** `barrier`: delivered after every earlier frame, and no later frame before it (see `inOrder`). */
  #enqueue(delayMs: number, delivery: Delivery, barrier = false): void {
    const due = this.#clock.now() + delayMs;
    const at =
      this.#inOrder || barrier || delivery.kind === "end"
        ? Math.max(due, this.#lastDeliveryAt)
        : Math.max(due, this.#lastBarrierAt);
    if (barrier) this.#lastBarrierAt = at;
    this.#lastDeliveryAt = Math.max(at, this.#lastDeliveryAt);
    const outgoing = this.#outgoing;
    let index = outgoing.length;
    while (index > 0 && outgoing[index - 1].at > at) index--;
    outgoing.splice(index, 0, { at, delivery });
    if (index === 0) {
      this.#clock.clearTimeout(this.#pumpTimer);
      this.#schedulePump();
    }
  }

  #schedulePump(): void {
    const head = this.#outgoing[0];
    if (head === undefined) return;
    this.#pumpTimer = this.#clock.setTimeout(() => this.#pump(), Math.max(0, head.at - this.#clock.now()));
  }

  #pump(): void {
    this.#pumpTimer = undefined;
    const now = this.#clock.now();
    while (this.#outgoing.length > 0 && this.#outgoing[0].at <= now) {
      const { delivery } = this.#outgoing.shift()!;
      const peer = this.#peer;
      if (peer === undefined || peer.#closed) continue;
      if (delivery.kind === "frame") {
        peer.#inbox.push(delivery.frame);
        peer.#drainInbox();
      } else {
        // The peer has read everything we sent before ending: both sides close in order.
        peer.#closeLocally(undefined);
        this.#closeLocally(undefined);
      }
    }
    this.#schedulePump();
  }

  #drainInbox(): void {
    while (this.#events && !this.#paused && !this.#closed && this.#inbox.length > 0) {
      this.#events.frame(this.#inbox.shift()!);
    }
  }

  #closeLocally(error: NetError | undefined): void {
    if (this.#closed) return;
    // Frames that arrived before the close are still handed over (a socket's receive buffer would be).
    if (!this.#paused) this.#drainInbox();
    this.#closed = true;
    this.#closeError = error;
    this.#clock.clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    this.#outgoing.length = 0;
    this.#resolveClosedSignal();
    for (const done of this.#endWaiters.splice(0)) done();
    this.#events?.closed(error);
  }
}
