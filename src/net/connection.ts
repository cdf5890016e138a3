import type { NodeId } from "../identity/node-id.ts";
import type { SessionMessage, VersionVector } from "./messages.ts";
import type { NetError } from "./net-error.ts";
import type { WireFeature } from "./wire-features.ts";
import type { WireFormat } from "./wire-format.ts";

/**
 * An authenticated, framed, message-level duplex with one peer, handed out only after the
 * handshake succeeded (protocol version, format, NodeId and allowlist all checked).
 *
 * Receive by async iteration (one consumer): it yields PushOps, PushOpsAck, PushState, PullSince,
 * Publish, PeerAddresses and Error messages in arrival order and ends when the connection closes, after every message that arrived
 * was yielded. Breaking out of the loop closes the connection. Ping and Pong are the connection's
 * own keepalive and are never yielded. Inbound messages are bounded (`maxQueuedMessages`): a
 * consumer that falls behind pauses reading from the peer, and a peer that stops reading is dropped
 * after the write timeout.
 *
 * @example
 * const connection = await transport.dial("127.0.0.1:9000", AbortSignal.timeout(5000));
 * await connection.send({ type: "PullSince", versionVector: myVector, limit: 1000 });
 * for await (const message of connection) {
 *   if (message.type === "PushOps") apply(message.ops);
 * }
 * const { error } = await connection.closed;
 */
export interface Connection<Op> extends AsyncIterable<SessionMessage<Op>> {
  /** The peer's NodeId: proven by its certificate under TLS, as claimed in its Hello otherwise. */
  readonly remoteNodeId: NodeId;
  /** `host:port` of the peer's socket (or the in-memory peer's name). */
  readonly remoteAddress: string;
  /** Whether `remoteNodeId` is proven by the channel (TLS) rather than just claimed. */
  readonly authenticated: boolean;
  /** Whether this node dialed (true) or accepted (false) the connection. */
  readonly outbound: boolean;
  /** The format both sides send in, chosen at the handshake. */
  readonly format: WireFormat;
  /** The version vector the peer announced in its Hello or HelloAck. */
  readonly remoteVersionVector: VersionVector;
  /** The optional messages the peer announced it reads (empty for a build older than features). */
  readonly remoteFeatures: readonly WireFeature[];
  /**
   * The largest frame the peer reads (its `max_message_size`, announced in its handshake);
   * undefined from builds before the announcement. `send` refuses a frame over it, as over this
   * node's own limit.
   */
  readonly remoteMaxMessageSizeBytes: number | undefined;
  /**
   * Round trip of the latest keepalive Ping answered by a Pong, in ms; undefined until one was.
   * A Ping goes out only after a quiet keepalive interval, so a busy connection keeps its last figure.
   */
  readonly rttMs: number | undefined;
  /**
   * Sends one message. Resolves when the transport can take more (await it to respect
   * backpressure). Rejects with a NetError: NET_CONNECTION_CLOSED after close, NET_FRAME_TOO_LARGE
   * or NET_ENCODE_FAILED for a message that cannot be sent (the connection stays open).
   */
  send(message: SessionMessage<Op>): Promise<void>;
  /** Flushes what was sent, closes, and resolves once closed. Idempotent. */
  close(reason?: string): Promise<void>;
  /** Resolves (never rejects) once the connection is closed, saying how it ended. */
  readonly closed: Promise<ConnectionClose>;
}

export interface ConnectionClose {
  /** Undefined for an orderly close; otherwise what went wrong (a timeout, a violation, a reset, the peer's Error frame). */
  readonly error: NetError | undefined;
  /** Who ended it: this node (`close`, a timeout or a violation it detected) or the peer. */
  readonly initiator: "local" | "remote";
  /** One line for logs. */
  readonly reason: string;
}
