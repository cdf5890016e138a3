import { FRAME_HEADER_BYTES, FRAME_LENGTH_BYTES, type Frame } from "./frame.ts";
import { NetError } from "./net-error.ts";
import { formatOfTag, type WireFormat } from "./wire-format.ts";

/** The first buffer of a frame that spans chunks; it doubles up to the announced length. */
export const FRAME_BODY_INITIAL_CAPACITY_BYTES = 64 * 1024;

/**
 * Cuts a byte stream, arriving in chunks split anywhere, into frames.
 *
 * Memory is bounded by one frame and by the bytes that really arrived: the header is validated
 * (length within the limit, known tag) first, and a partial frame's buffer starts at
 * {@link FRAME_BODY_INITIAL_CAPACITY_BYTES} and doubles as bytes come, so a peer's header that
 * announces 16 MiB and sends nothing more costs 64 KiB, not 16 MiB, on each of its connections
 * (`bufferedBytes <= FRAME_HEADER_BYTES + min(frame length, max(64 KiB, 2 × bytes received))`).
 * Frames wholly inside a chunk are returned as views of it without copying. After the first error the decoder stays failed: the
 * stream cannot be resynchronised, so the connection must end.
 *
 * @example
 * const decoder = new FrameDecoder(16 * 1024 * 1024);
 * socket.on("data", (chunk) => { for (const frame of decoder.push(chunk)) handle(frame); });
 */
export class FrameDecoder {
  #maxMessageSizeBytes: number;
  #limitName = "max_message_size";
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFilled = 0;
  #body: Uint8Array | undefined;
  #bodyBytes = 0;
  #bodyFilled = 0;
  #bodyFormat: WireFormat = "msgpack";
  #failure: NetError | undefined;

  constructor(maxMessageSizeBytes: number) {
    if (
      !Number.isInteger(maxMessageSizeBytes) ||
      maxMessageSizeBytes < 1 ||
      maxMessageSizeBytes > 0xffffffff
    ) {
      throw new RangeError(`maxMessageSizeBytes must be an integer in 1..2^32-1, got ${maxMessageSizeBytes}`);
    }
    this.#maxMessageSizeBytes = maxMessageSizeBytes;
  }

  /**
   * Changes the largest frame length accepted, from the next frame header on (a body already
   * allocated is kept); `name` is the limit that errors name.
   */
  limit(maxMessageSizeBytes: number, name: string): void {
    this.#maxMessageSizeBytes = maxMessageSizeBytes;
    this.#limitName = name;
  }

  /** Bytes held for the frame in progress (header bytes plus the body buffer allocated so far). */
  get bufferedBytes(): number {
    return this.#headerFilled + (this.#body?.byteLength ?? 0);
  }

  /** True while a frame has started but not completed. */
  get hasPartialFrame(): boolean {
    return this.#headerFilled > 0;
  }

  /** Feeds a chunk; returns the frames it completed, in order. Throws NetError on a bad header. */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure) throw this.#failure;
    const frames: Frame[] = [];
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#body !== undefined) {
        offset = this.#fillBody(chunk, offset, frames);
        continue;
      }
      if (this.#headerFilled === 0 && chunk.byteLength - offset >= FRAME_HEADER_BYTES) {
        // Fast path: the whole header is in this chunk; a whole frame is returned as a view.
        const length = readLength(chunk, offset);
        const format = this.#check(length, chunk[offset + FRAME_LENGTH_BYTES]);
        const bodyStart = offset + FRAME_HEADER_BYTES;
        const bodyBytes = length - 1;
        if (chunk.byteLength - bodyStart >= bodyBytes) {
          frames.push({ format, body: chunk.subarray(bodyStart, bodyStart + bodyBytes) });
          offset = bodyStart + bodyBytes;
          continue;
        }
        this.#header.set(chunk.subarray(offset, bodyStart));
        this.#headerFilled = FRAME_HEADER_BYTES;
        this.#startBody(format, bodyBytes);
        offset = this.#fillBody(chunk, bodyStart, frames);
        continue;
      }
      const take = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, chunk.byteLength - offset);
      this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
      this.#headerFilled += take;
      offset += take;
      if (this.#headerFilled === FRAME_HEADER_BYTES) {
        const length = readLength(this.#header, 0);
        const format = this.#check(length, this.#header[FRAME_LENGTH_BYTES]);
        this.#startBody(format, length - 1);
        if (length === 1) this.#finishBody(frames);
      }
    }
    return frames;
  }

  #check(length: number, tag: number): WireFormat {
    if (length === 0) {
      throw this.#fail(
        new NetError("NET_FRAME_MALFORMED", "frame with length 0 (a frame holds at least its format tag)"),
      );
    }
    if (length > this.#maxMessageSizeBytes) {
      throw this.#fail(
        new NetError(
          "NET_FRAME_TOO_LARGE",
          `frame length ${length} exceeds ${this.#limitName} (${this.#maxMessageSizeBytes} bytes)`,
        ),
      );
    }
    const format = formatOfTag(tag);
    if (format === undefined) {
      throw this.#fail(
        new NetError(
          "NET_UNKNOWN_FORMAT",
          `unknown frame format tag 0x${tag.toString(16).padStart(2, "0")} (not a Numax peer, or a newer protocol)`,
        ),
      );
    }
    return format;
  }

  #fail(error: NetError): NetError {
    this.#failure = error;
    this.#body = undefined;
    this.#headerFilled = 0;
    return error;
  }

  #startBody(format: WireFormat, bodyBytes: number): void {
    this.#bodyFormat = format;
    this.#bodyBytes = bodyBytes;
    this.#body = new Uint8Array(Math.min(bodyBytes, FRAME_BODY_INITIAL_CAPACITY_BYTES));
    this.#bodyFilled = 0;
  }

  #fillBody(chunk: Uint8Array, offset: number, frames: Frame[]): number {
    const take = Math.min(this.#bodyBytes - this.#bodyFilled, chunk.byteLength - offset);
    const body = this.#reserve(this.#bodyFilled + take);
    body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
    this.#bodyFilled += take;
    if (this.#bodyFilled === this.#bodyBytes) this.#finishBody(frames);
    return offset + take;
  }

  /** The body buffer, grown (doubling, capped at the frame's length) to hold `bytes`. */
  #reserve(bytes: number): Uint8Array {
    const body = this.#body!;
    if (bytes <= body.byteLength) return body;
    let capacity = Math.max(body.byteLength, 1) * 2;
    while (capacity < bytes) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, this.#bodyBytes));
    grown.set(body.subarray(0, this.#bodyFilled));
    this.#body = grown;
    return grown;
  }

  #finishBody(frames: Frame[]): void {
    frames.push({ format: this.#bodyFormat, body: this.#body! });
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#headerFilled = 0;
  }
}

function readLength(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0
  );
}
