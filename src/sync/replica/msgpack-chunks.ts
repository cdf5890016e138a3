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

  /** Room for `length` bytes from the returned offset on, in the current chunk. */
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

  /** The `length` bytes from `start` of the current chunk. */
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
    if (length < 0x10) return this.byte(at, 0x90 | length);
    return length < 0x10000
      ? this.#sized(at, MSGPACK_ARRAY16, length, 2)
      : this.#sized(at, MSGPACK_ARRAY32, length, 4);
  }

  bin(at: number, bytes: Uint8Array): number {
    return this.raw(this.#binHeader(at, bytes.length), bytes);
  }

  /** The bytes `key` (a `bytesKey`) names, as it is, at `at`; returns the offset after it. */
  rawOfKey(at: number, key: string): number {
    const chunk = this.#chunk;
    for (let i = 0; i < key.length; i++) chunk[at + i] = key.charCodeAt(i);
    return at + key.length;
  }

  /** `bin` of the bytes `key` (a `bytesKey`) names. */
  binOfKey(at: number, key: string): number {
    return this.rawOfKey(this.#binHeader(at, key.length), key);
  }

  #binHeader(at: number, length: number): number {
    if (length < 0x100) return this.byte(this.byte(at, MSGPACK_BIN8), length);
    return this.#sized(
      at,
      length < 0x10000 ? MSGPACK_BIN16 : MSGPACK_BIN32,
      length,
      length < 0x10000 ? 2 : 4,
    );
  }

  /** As msgpackr packs a non-negative number: the smallest uint up to 32 bits, else a float64. */
  number(at: number, value: number): number {
    if (value >>> 0 !== value) {
      this.#chunk[at] = MSGPACK_FLOAT64;
      this.#view.setFloat64(at + 1, value);
      return at + 9;
    }
    if (value < 0x80) return this.byte(at, value);
    if (value < 0x100) return this.byte(this.byte(at, MSGPACK_UINT8), value);
    return value < 0x10000
      ? this.#sized(at, MSGPACK_UINT16, value, 2)
      : this.#sized(at, MSGPACK_UINT32, value, 4);
  }

  /** `code`, then `value` in `bytes` (2 or 4) big-endian bytes. */
  #sized(at: number, code: number, value: number, bytes: 2 | 4): number {
    this.#chunk[at] = code;
    if (bytes === 2) {
      this.#chunk[at + 1] = value >> 8;
      this.#chunk[at + 2] = value & 0xff;
    } else {
      this.#view.setUint32(at + 1, value);
    }
    return at + 1 + bytes;
  }
}
