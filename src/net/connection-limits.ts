import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "./frame.ts";
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
  /** Inbound connections still in their handshake at once; more are closed at accept. */
  readonly maxPendingHandshakes: number;
}

export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;

/**
 * Default of `maxQueuedOps`: two full batches, enough to keep the consumer busy while reading
 * resumes, and few enough that the frames decoded in one turn of the event loop stay few.
 */
export const DEFAULT_MAX_QUEUED_OPS = 2 * PUSH_OPS_OPS_MAX;

/** Fills in defaults: the handshake timeout defaults to the socket timeout, keepalive to a third of it. */
export function resolveConnectionLimits(limits: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const socketTimeoutMs = limits.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS;
  const resolved: ConnectionLimits = {
    maxMessageSizeBytes: limits.maxMessageSizeBytes ?? DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    socketTimeoutMs,
    handshakeTimeoutMs: limits.handshakeTimeoutMs ?? socketTimeoutMs,
    keepaliveIntervalMs: limits.keepaliveIntervalMs ?? Math.floor(socketTimeoutMs / 3),
    maxQueuedMessages: limits.maxQueuedMessages ?? 256,
    maxQueuedOps: limits.maxQueuedOps ?? DEFAULT_MAX_QUEUED_OPS,
    maxPendingHandshakes: limits.maxPendingHandshakes ?? 128,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`connection limit ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (resolved.maxMessageSizeBytes < 1 || resolved.maxMessageSizeBytes > 0xffffffff) {
    throw new RangeError(`maxMessageSizeBytes must be within 1..2^32-1, got ${resolved.maxMessageSizeBytes}`);
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
  if (resolved.keepaliveIntervalMs >= resolved.socketTimeoutMs) {
    throw new RangeError(
      `keepaliveIntervalMs (${resolved.keepaliveIntervalMs}) must be below socketTimeoutMs (${resolved.socketTimeoutMs})`,
    );
  }
  return resolved;
}
