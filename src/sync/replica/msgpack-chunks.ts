/** Bytes of a fresh chunk; a value longer than that gets a chunk of its own size. */
const CHUNK_BYTES = 64 * 1024;

const MSGPACK_NIL = 0xc0;
const MSGPACK_BIN8 = 0xc4;
const MSGPACK_BIN16 = 0xc5;
const MSGPACK_BIN32 = 0xc6;
const MSGPACK_UINT8 = 0xcc;
const MSGPACK_UINT16 = 0xcd;
const MSGPACK_UINT32 = 0xce;
const MSGPACK_FLOAT64 = 0xcb;
const MSGPACK_ARRAY16 = 0xdc;
const MSGPACK_ARRAY32 = 0xdd;

/** Bytes of msgpackr's bin of `length` bytes. */
export function binBytes(length: number): number {
  return (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5) + length;
}

/** Bytes of msgpackr's form of a non-negative number (without records, without float32). */
export function numberBytes(value: number): number {
  if (value >>> 0 !== value) return 9;
  return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
}

/** Bytes of msgpackr's header of an array of `length` items. */
export function arrayHeaderBytes(length: number): number {
  return length < 0x10 ? 1 : length < 0x10000 ? 3 : 5;
}

/**
 * Writes MessagePack values exactly as `crdtPackr` (msgpackr) packs them, straight into chunks
 * of bytes, for the replica's store records of a fixed shape: `reserve` the record's exact
 * length, then write its parts from the offset it returns. A record handed out is a view of a
 * chunk this never writes again (as msgpackr's output is), so a store may keep it.
 */
export class MsgpackChunks {
  #chunk = new Uint8Array(0);
  #view = new DataView(this.#chunk.buffer);
  #at = 0;

  /** The chunk `reserve` last made room in. */
  get chunk(): Uint8Array {
    return this.#chunk;
  }

  /** Room for `length` bytes at the returned offset of `chunk`. */
  reserve(length: number): number {
    if (this.#at + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, length));
      this.#view = new DataView(this.#chunk.buffer);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at += length;
    return start;
  }

  /** The `length` bytes from `start` of `chunk`. */
  view(start: number, length: number): Uint8Array {
    return new Uint8Array(this.#chunk.buffer, start, length);
  }

  /** `bytes` as it is, at `at`; returns the offset after it. */
  raw(at: number, bytes: Uint8Array): number {
    this.#chunk.set(bytes, at);
    return at + bytes.length;
  }

  byte(at: number, value: number): number {
    this.#chunk[at] = value;
    return at + 1;
  }

  nil(at: number): number {
    return this.byte(at, MSGPACK_NIL);
  }

  arrayHeader(at: number, length: number): number {
    const chunk = this.#chunk;
    if (length < 0x10) {
      chunk[at] = 0x90 | length;
      return at + 1;
    }
    if (length < 0x10000) {
      chunk[at] = MSGPACK_ARRAY16;
      chunk[at + 1] = length >> 8;
      chunk[at + 2] = length & 0xff;
      return at + 3;
    }
    chunk[at] = MSGPACK_ARRAY32;
    this.#view.setUint32(at + 1, length);
    return at + 5;
  }

  bin(at: number, bytes: Uint8Array): number {
    const chunk = this.#chunk;
    const length = bytes.length;
    if (length < 0x100) {
      chunk[at++] = MSGPACK_BIN8;
      chunk[at++] = length;
    } else if (length < 0x10000) {
      chunk[at++] = MSGPACK_BIN16;
      chunk[at++] = length >> 8;
      chunk[at++] = length & 0xff;
    } else {
      chunk[at++] = MSGPACK_BIN32;
      this.#view.setUint32(at, length);
      at += 4;
    }
    chunk.set(bytes, at);
    return at + length;
  }

  /** As msgpackr packs a non-negative number: the smallest uint up to 32 bits, else a float64. */
  number(at: number, value: number): number {
    const chunk = this.#chunk;
    if (value >>> 0 !== value) {
      chunk[at] = MSGPACK_FLOAT64;
      this.#view.setFloat64(at + 1, value);
      return at + 9;
    }
    if (value < 0x80) {
      chunk[at] = value;
      return at + 1;
    }
    if (value < 0x100) {
      chunk[at] = MSGPACK_UINT8;
      chunk[at + 1] = value;
      return at + 2;
    }
    if (value < 0x10000) {
      chunk[at] = MSGPACK_UINT16;
      chunk[at + 1] = value >> 8;
      chunk[at + 2] = value & 0xff;
      return at + 3;
    }
    chunk[at] = MSGPACK_UINT32;
    this.#view.setUint32(at + 1, value);
    return at + 5;
  }
}
