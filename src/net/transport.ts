import type { Clock } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { Logger } from "../observe/logger.ts";
import type { Connection } from "./connection.ts";
import type { ConnectionLimits } from "./connection-limits.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "./frame.ts";
import type { HandshakePolicy } from "./handshake.ts";
import type { MessageCodec } from "./message-codec.ts";
import type { VersionVector } from "./messages.ts";
import type { MapBatchNeed } from "./missing-feature.ts";
import { WIRE_FEATURES, type WireFeature } from "./wire-features.ts";
import { WIRE_FORMATS, type WireFormat } from "./wire-format.ts";

/**
 * The network seam: TLS over TCP (`createTlsTransport`), plain TCP for `--tls-insecure`
 * (`createTcpTransport`), in-memory for tests and the simulator (`createMemoryNetwork`). All pass
 * the same contract suite (test/net/transport-contract.ts).
 *
 * A Connection exists only after its handshake succeeded; refused and failed inbound handshakes
 * are logged and never reach `onConnection`.
 *
 * @example
 * const transport = createTlsTransport({ tls, codec, versionVector: () => sync.versionVector() });
 * const listener = await transport.listen("0.0.0.0:9000", (connection) => sync.adopt(connection));
 * const outbound = await transport.dial("10.0.0.2:9000", AbortSignal.timeout(10_000));
 */
export interface Transport<Op> {
  /** This node's NodeId as the transport announces it in every handshake. */
  readonly localNodeId: NodeId;
  /** Whether peers' NodeIds are proven by the channel (TLS) rather than claimed. */
  readonly authenticated: boolean;
  /** Starts accepting at `address` (`host:port`; port 0 picks a free one). Rejects with NET_LISTEN_FAILED. */
  listen(address: string, onConnection: (connection: Connection<Op>) => void): Promise<Listener>;
  /**
   * Connects and runs the handshake. Rejects with a NetError: NET_DIAL_FAILED (nobody there),
   * NET_TLS_FAILED, NET_HANDSHAKE_TIMEOUT, NET_PROTOCOL_MISMATCH, NET_NOT_AUTHORIZED,
   * NET_PEER_REFUSED (the peer's Error frame), NET_ABORTED. `error.retryable` says whether to retry.
   */
  dial(address: string, signal?: AbortSignal): Promise<Connection<Op>>;
}

export interface Listener {
  /** The bound address, `host:port` with the actual port. */
  readonly address: string;
  /** Stops accepting and closes every connection accepted through this listener. */
  close(): Promise<void>;
}

/** What every transport is built from. */
export interface TransportOptions<Op> {
  /** Messages ⇄ bytes, built around the CRDT op codec: `createMessageCodec(opCodec)`. */
  readonly codec: MessageCodec<Op>;
  /** The local per-origin version vector, announced in every Hello and HelloAck. */
  readonly versionVector: () => VersionVector;
  /** Format this node asks for: "msgpack" (default) or "json" (`--debug-protocol`). */
  readonly preferredFormat?: WireFormat;
  /** Formats this node accepts; default both. */
  readonly formats?: readonly WireFormat[];
  /** `allowed_peers`: when given, every other NodeId is refused with `not_authorized`. */
  readonly allowedPeers?: Iterable<NodeId>;
  /**
   * IP addresses of configured peers: their inbound connections may use the pending-handshake
   * slots kept for known peers and are not held to the per-address limits (see `ConnectionAdmission`).
   */
  readonly knownPeerAddresses?: Iterable<string>;
  readonly limits?: Partial<ConnectionLimits>;
  readonly logger?: Logger;
  /** Time for handshake, read and write timeouts and keepalives; `backgroundClock` by default. */
  readonly clock?: Clock;
  /** Told of every frame sent or received on an established or handshaking connection. */
  readonly traffic?: WireTraffic;
  /** Optional messages this node announces that it reads; default every one this build speaks. */
  readonly features?: readonly WireFeature[];
  /** Whether this node needs a peer to read multi-field map ops (HandshakePolicy.mapBatchNeed); default never. */
  readonly mapBatchNeed?: (peerVector: VersionVector) => MapBatchNeed | undefined;
}

/** Counts what crosses the wire (the node's `numax_wire_bytes_total`). */
export interface WireTraffic {
  /** One frame: its message type (`PushOps`, `Ping` ...) and its whole length with the header. */
  frame(direction: "sent" | "received", messageType: string, bytes: number): void;
  /** A received message dropped without ending the connection (a Publish refused: NET_PUBLISH_REFUSED). */
  refused?(messageType: string): void;
}

/** The handshake policy a transport's options describe; throws RangeError on inconsistent formats. */
export function handshakePolicyFrom<Op>(localNodeId: NodeId, options: TransportOptions<Op>): HandshakePolicy {
  const formats = options.formats ?? WIRE_FORMATS;
  const preferredFormat = options.preferredFormat ?? "msgpack";
  if (formats.length === 0 || new Set(formats).size !== formats.length) {
    throw new RangeError(`formats must be non-empty and without duplicates, got [${formats.join(", ")}]`);
  }
  if (!formats.includes(preferredFormat)) {
    throw new RangeError(`preferredFormat ${preferredFormat} is not one of formats [${formats.join(", ")}]`);
  }
  const allowedPeers = options.allowedPeers === undefined ? undefined : new Set(options.allowedPeers);
  return {
    localNodeId,
    formats,
    preferredFormat,
    allowedPeers,
    features: options.features ?? WIRE_FEATURES,
    maxMessageSizeBytes: options.limits?.maxMessageSizeBytes ?? DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    mapBatchNeed: options.mapBatchNeed,
  };
}
