import { NumaxError } from "../errors/numax-error.ts";
import type { ErrorCode } from "./messages.ts";

/**
 * Stable codes of every networking failure. Tests and the sync layer match on these; the message
 * is the one line a user reads.
 */
export type NetErrorCode =
  /** A frame's length prefix exceeds `maxMessageSizeBytes` (received or about to be sent). */
  | "NET_FRAME_TOO_LARGE"
  /** A PushOps carries more ops than PUSH_OPS_OPS_MAX (refused before its ops are decoded). */
  | "NET_BATCH_TOO_LARGE"
  /** A frame is structurally impossible (zero length). */
  | "NET_FRAME_MALFORMED"
  /** A frame's format tag names no format this node knows. */
  | "NET_UNKNOWN_FORMAT"
  /** A payload does not decode, or a decoded message breaks the schema. */
  | "NET_MESSAGE_MALFORMED"
  /**
   * A well-formed Publish with an invalid topic or a payload over MESSAGE_PAYLOAD_MAX_BYTES: that
   * message is dropped (and counted), the connection stays open.
   */
  | "NET_PUBLISH_REFUSED"
  /** A message or op could not be encoded (a bug in the caller or the op codec). */
  | "NET_ENCODE_FAILED"
  /** The peer speaks another protocol version (or no common format). */
  | "NET_PROTOCOL_MISMATCH"
  /** The peer's NodeId is not allowed, or its Hello claims a NodeId its certificate does not prove. */
  | "NET_NOT_AUTHORIZED"
  /** The peer answered with an Error frame (see `wireCode` and `retryable`). */
  | "NET_PEER_REFUSED"
  /** A message arrived where the protocol does not allow it (a second Hello, a HelloAck to a listener). */
  | "NET_UNEXPECTED_MESSAGE"
  /** Both ends of the connection are the same node. */
  | "NET_SELF_CONNECTION"
  /**
   * The peer does not announce a wire feature this node needs it to read: ops it cannot decode
   * (`map-batch`), which can be neither skipped nor split for it (src/net/missing-feature.ts).
   */
  | "NET_FEATURE_MISSING"
  | "NET_HANDSHAKE_TIMEOUT"
  /** No complete frame arrived within the read timeout: a silent or slow-dripping peer. */
  | "NET_READ_TIMEOUT"
  /** The peer did not take our bytes within the write timeout. */
  | "NET_WRITE_TIMEOUT"
  /** The connection is closed (or closing): nothing more can be sent. */
  | "NET_CONNECTION_CLOSED"
  /** The socket failed underneath: reset, broken pipe. */
  | "NET_CONNECTION_LOST"
  /** The TLS layer failed: certificate refused by either side, non-TLS peer. */
  | "NET_TLS_FAILED"
  | "NET_DIAL_FAILED"
  | "NET_LISTEN_FAILED"
  | "NET_ADDRESS_INVALID"
  | "NET_ABORTED"
  /** Certificate, key or CA files are missing, unreadable or do not belong together. */
  | "NET_TLS_MATERIAL";

/** Codes after which dialing again later can succeed without anyone changing configuration. */
const RETRYABLE_CODES: ReadonlySet<NetErrorCode> = new Set<NetErrorCode>([
  "NET_HANDSHAKE_TIMEOUT",
  "NET_READ_TIMEOUT",
  "NET_WRITE_TIMEOUT",
  "NET_CONNECTION_CLOSED",
  "NET_CONNECTION_LOST",
  "NET_DIAL_FAILED",
  "NET_ABORTED",
]);

export interface NetErrorOptions {
  cause?: unknown;
  /** For NET_PEER_REFUSED and refusals the peer sent: the code of its Error frame. */
  wireCode?: ErrorCode;
  /** Overrides the default derived from `code` (a peer's Error frame says it itself). */
  retryable?: boolean;
}

/** Every operating error of `net/`: one class, a stable `code`, and whether a retry can help. */
export class NetError extends NumaxError {
  declare readonly code: NetErrorCode;
  readonly retryable: boolean;
  readonly wireCode: ErrorCode | undefined;

  constructor(code: NetErrorCode, message: string, options: NetErrorOptions = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? RETRYABLE_CODES.has(code);
    this.wireCode = options.wireCode;
  }
}

/** The Error frame code that tells a peer why we end its connection because of `error`. */
export function wireCodeFor(error: NetError): ErrorCode {
  switch (error.code) {
    case "NET_FRAME_TOO_LARGE":
    case "NET_FRAME_MALFORMED":
    case "NET_UNKNOWN_FORMAT":
    case "NET_MESSAGE_MALFORMED":
    case "NET_UNEXPECTED_MESSAGE":
      return "malformed";
    case "NET_PROTOCOL_MISMATCH":
      return "protocol_mismatch";
    case "NET_NOT_AUTHORIZED":
      return "not_authorized";
    case "NET_SELF_CONNECTION":
    case "NET_BATCH_TOO_LARGE":
    case "NET_FEATURE_MISSING":
      return "rejected";
    default:
      return "internal";
  }
}

/** Wraps anything thrown below us (a codec, a socket) into a NetError with `code`, keeping NetErrors. */
export function asNetError(error: unknown, code: NetErrorCode, context: string): NetError {
  if (error instanceof NetError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new NetError(code, `${context}: ${detail}`, { cause: error });
}
