import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, MAX_MESSAGE_SIZE_MIN_BYTES } from "./frame.ts";
import { PUSH_OPS_OPS_MAX } from "./messages.ts";

/**
 * The bounds of one connection. Defaults follow the seed's `[limits]` (docs/LIMITS.md):
 * `max_message_size = "16MiB"`, `socket_timeout_secs = 30`.
 */
export interface ConnectionLimits {
  /** Largest frame length accepted or sent (`max_message_size`). */
  readonly maxMessageSizeBytes: number;
  /**
   * Read and write timeout (`socket_timeout_secs`): a peer that completes no frame for this long
   * (silent, or dripping bytes), or does not take our bytes for this long, is dropped.
   */
  readonly socketTimeoutMs: number;
  /** From the first byte to a completed Hello/HelloAck exchange (TLS handshake included). */
  readonly handshakeTimeoutMs: number;
  /**
   * A Ping is sent after this long without sending anything, so that an idle but healthy peer
   * never trips the other side's read timeout. Must be below `socketTimeoutMs`; 0 disables.
   */
  readonly keepaliveIntervalMs: number;
  /** Received messages held for a consumer that is behind before reading from the peer pauses. */
  readonly maxQueuedMessages: number;
  /**
   * Ops in received PushOps messages held for a consumer that is behind before reading from the
   * peer pauses: a peer that floods without waiting for acks waits in its own socket buffers,
   * not in this node's memory.
   */
  readonly maxQueuedOps: number;
  /**
   * Inbound sockets in their handshake at once, counted from the TCP accept (before TLS) to the
   * end of the Hello exchange; more are closed at accept. See `ConnectionAdmission`.
   */
  readonly maxPendingHandshakes: number;
  /** Of `maxPendingHandshakes`, how many only known peer addresses (configured, or proven allowed) may use. */
  readonly pendingHandshakesReservedForKnownPeers: number;
  /** Pending handshakes from one address that is not a known peer's. */
  readonly maxPendingHandshakesPerAddress: number;
  /** Inbound sockets open at once (pending or established) from one address that is not a known peer's. */
  readonly maxConnectionsPerAddress: number;
}

export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
/**
 * The largest frame a listener takes before the handshake is done (a Hello: its version vector
 * holds some 25 000 origins in 1 MiB). A frame's buffer is allocated when its header arrives, so
 * with `max_message_size` here a stranger's 5-byte header would cost 16 MiB per pending socket.
 */
export const HANDSHAKE_MESSAGE_SIZE_MAX_BYTES = 1024 * 1024;
export const MAX_PENDING_HANDSHAKES = 128;
/**
 * The share of the pending slots kept for known peers by default (16 of 128): room for every
 * member of a large cluster to redial at once while strangers hold the rest.
 */
export const PENDING_HANDSHAKES_SHARE_RESERVED_FOR_KNOWN_PEERS = 1 / 8;
/** A busy host runs a few nodes; 16 lets them all (re)connect at once, and one host takes an eighth at most. */
export const MAX_PENDING_HANDSHAKES_PER_ADDRESS = 16;
/** Half the default `max_peers`: one host's nodes fit, one host cannot hold every peer slot. */
export const MAX_CONNECTIONS_PER_ADDRESS = 32;

/**
 * Default of `maxQueuedOps`: two full batches, enough to keep the consumer busy while reading
 * resumes, and few enough that the frames decoded in one turn of the event loop stay few.
 */
export const DEFAULT_MAX_QUEUED_OPS = 2 * PUSH_OPS_OPS_MAX;

/** Fills in defaults: the handshake timeout defaults to the socket timeout, keepalive to a third of it. */
export function resolveConnectionLimits(limits: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const socketTimeoutMs = limits.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS;
  const maxPendingHandshakes = limits.maxPendingHandshakes ?? MAX_PENDING_HANDSHAKES;
  const resolved: ConnectionLimits = {
    maxMessageSizeBytes: limits.maxMessageSizeBytes ?? DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    socketTimeoutMs,
    handshakeTimeoutMs: limits.handshakeTimeoutMs ?? socketTimeoutMs,
    keepaliveIntervalMs: limits.keepaliveIntervalMs ?? Math.floor(socketTimeoutMs / 3),
    maxQueuedMessages: limits.maxQueuedMessages ?? 256,
    maxQueuedOps: limits.maxQueuedOps ?? DEFAULT_MAX_QUEUED_OPS,
    maxPendingHandshakes,
    pendingHandshakesReservedForKnownPeers:
      limits.pendingHandshakesReservedForKnownPeers ??
      Math.floor(maxPendingHandshakes * PENDING_HANDSHAKES_SHARE_RESERVED_FOR_KNOWN_PEERS),
    maxPendingHandshakesPerAddress:
      limits.maxPendingHandshakesPerAddress ?? MAX_PENDING_HANDSHAKES_PER_ADDRESS,
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`connection limit ${name} must be a non-negative integer, got ${value}`);
    }
  }
  // Below the minimum, every peer would refuse this node's Hello as malformed.
  if (
    resolved.maxMessageSizeBytes < MAX_MESSAGE_SIZE_MIN_BYTES ||
    resolved.maxMessageSizeBytes > 0xffffffff
  ) {
    throw new RangeError(
      `maxMessageSizeBytes must be within ${MAX_MESSAGE_SIZE_MIN_BYTES}..2^32-1, got ${resolved.maxMessageSizeBytes}`,
    );
  }
  if (
    resolved.socketTimeoutMs < 1 ||
    resolved.handshakeTimeoutMs < 1 ||
    resolved.maxQueuedMessages < 1 ||
    resolved.maxQueuedOps < 1
  ) {
    throw new RangeError(
      "socketTimeoutMs, handshakeTimeoutMs, maxQueuedMessages and maxQueuedOps must be at least 1",
    );
  }
  if (resolved.pendingHandshakesReservedForKnownPeers > resolved.maxPendingHandshakes) {
    throw new RangeError(
      `pendingHandshakesReservedForKnownPeers (${resolved.pendingHandshakesReservedForKnownPeers}) must not exceed maxPendingHandshakes (${resolved.maxPendingHandshakes})`,
    );
  }
  if (resolved.keepaliveIntervalMs >= resolved.socketTimeoutMs) {
    throw new RangeError(
      `keepaliveIntervalMs (${resolved.keepaliveIntervalMs}) must be below socketTimeoutMs (${resolved.socketTimeoutMs})`,
    );
  }
  return resolved;
}
