import { NetError } from "./net-error.ts";
import { FORMAT_TAGS, type WireFormat } from "./wire-format.ts";

/**
 * A frame on the wire: `u32 big-endian length | u8 format tag | body`, where the length counts the
 * tag byte and the body (length = 1 + body bytes), as in the seed protocol. A length of 0 is
 * malformed; a length above the node's `max_message_size` is refused before anything is allocated.
 */
export interface Frame {
  readonly format: WireFormat;
  readonly body: Uint8Array;
}

export const FRAME_LENGTH_BYTES = 4;
export const FRAME_TAG_BYTES = 1;
export const FRAME_HEADER_BYTES = FRAME_LENGTH_BYTES + FRAME_TAG_BYTES;

/**
 * Default of `[limits] max_message_size`: the largest length prefix a node accepts or sends.
 * Bounds the memory one connection can make this node allocate; a PushOps batch must fit in it.
 */
export const DEFAULT_MAX_MESSAGE_SIZE_BYTES = 16 * 1024 * 1024;

/**
 * The smallest `[limits] max_message_size` a node may have, and so may announce: a Hello announcing
 * less (0, say) is malformed, since every frame to that peer would be refused.
 */
export const MAX_MESSAGE_SIZE_MIN_BYTES = 4096;

/** The length prefix a frame with `bodyBytes` of body carries. */
export function frameLength(bodyBytes: number): number {
  return FRAME_TAG_BYTES + bodyBytes;
}

/** The 5 header bytes of a frame; throws NET_FRAME_TOO_LARGE when the frame would exceed the limit. */
export function encodeFrameHeader(
  format: WireFormat,
  bodyBytes: number,
  maxMessageSizeBytes: number,
): Uint8Array {
  const length = frameLength(bodyBytes);
  if (length > maxMessageSizeBytes) {
    throw new NetError(
      "NET_FRAME_TOO_LARGE",
      `message of ${length} bytes exceeds max_message_size (${maxMessageSizeBytes} bytes); send smaller batches`,
    );
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, length, false);
  header[FRAME_LENGTH_BYTES] = FORMAT_TAGS[format];
  return header;
}

/** A whole frame in one buffer (header then body). */
export function encodeFrame(frame: Frame, maxMessageSizeBytes: number): Uint8Array {
  const header = encodeFrameHeader(frame.format, frame.body.byteLength, maxMessageSizeBytes);
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + frame.body.byteLength);
  bytes.set(header, 0);
  bytes.set(frame.body, FRAME_HEADER_BYTES);
  return bytes;
}
